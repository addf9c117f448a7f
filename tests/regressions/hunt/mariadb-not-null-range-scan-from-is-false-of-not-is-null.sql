-- test-rig hunt: wrong-result found by the plans oracle on mariadb 10.11.19-MariaDB-0+deb12u1
-- signature: wrong-result|plans|mariadb-10.11|CROSS+FALSE+IS+JOIN+NOT|=|TINYINT
-- id: he1d33f1f46
-- seed 101, worker 0, generator version 2
-- the query and the query under plan switch-not_null_range_scan differ: 1 rows against 0; only in the first: (None,)
-- Run on a fresh, empty database: mariadb -h HOST -P PORT -u USER DATABASE < this-file.sql

CREATE TABLE t0 (c0 BOOL, c1 TIME, c2 TINYINT);
INSERT IGNORE INTO t0 (c0, c1, c2) VALUES (-1, '-01:02:03', NULL);
CREATE INDEX i3153 ON t0 (c2, c0);

-- The results of these 3 queries must agree (plans):
-- the query returned 1 rows: (NULL)
SELECT a1.c2 AS r1 FROM t0 AS a0 CROSS JOIN t0 AS a1 CROSS JOIN t0 AS a2 WHERE ((NOT ((a2.c2) IS NULL)) IS FALSE);
-- the query under plan switch-not_null_range_scan returned 0 rows: 
SET STATEMENT optimizer_switch='not_null_range_scan=on' FOR SELECT a1.c2 AS r1 FROM t0 AS a0 CROSS JOIN t0 AS a1 CROSS JOIN t0 AS a2 WHERE ((NOT ((a2.c2) IS NULL)) IS FALSE);
-- the query under plan join-cache-level-0 returned 1 rows: (NULL)
SET STATEMENT join_cache_level=0 FOR SELECT a1.c2 AS r1 FROM t0 AS a0 CROSS JOIN t0 AS a1 CROSS JOIN t0 AS a2 WHERE ((NOT ((a2.c2) IS NULL)) IS FALSE);
