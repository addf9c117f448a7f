-- test-rig hunt: wrong-result found by the tlp-having oracle on mariadb 10.11.19-MariaDB-0+deb12u1
-- signature: wrong-result|tlp-having|mariadb-10.11|-|SELECT c, c FROM t GROUP BY c, c ; ( SELECT c, c FROM t GROUP BY c, c HAVING ((c) >= (c)) ) UNION ALL ( SELECT c, c FROM t GROUP BY c, c HAVING (NOT ((c) >= (c))) ) UNION ALL ( SELECT c, c FROM t GROUP BY c, c HAVING (((c) >= (c)) IS NULL) )
-- id: hc7db8419c6
-- seed 404, worker 0, generator version 3
-- the GROUP BY query and the union of its partitions by HAVING h, NOT h, h IS NULL differ: 1 rows against 0; only in the first: (-7, -5)
-- Run on a fresh, empty database: mariadb -h HOST -P PORT -u USER DATABASE < this-file.sql

CREATE TABLE t0 (c0 SMALLINT NOT NULL, c1 SMALLINT, c2 INT UNSIGNED NOT NULL, PRIMARY KEY (c0, c2), INDEX i713 (c1, c0, c2)) STATS_AUTO_RECALC=0;
INSERT IGNORE INTO t0 (c0, c1, c2) VALUES (-7, -5, 2);

-- The results of these 2 queries must agree (tlp-having):
-- the GROUP BY query returned 1 rows: (-7, -5)
SELECT a1.c0 AS g0, a0.c1 AS g1 FROM t0 AS a0 JOIN t0 AS a1 GROUP BY a1.c0, a0.c1;
-- the union of its partitions by HAVING h, NOT h, h IS NULL returned 0 rows: 
(SELECT a1.c0 AS g0, a0.c1 AS g1 FROM t0 AS a0 JOIN t0 AS a1 GROUP BY a1.c0, a0.c1 HAVING ((a0.c1) >= (a1.c0))) UNION ALL (SELECT a1.c0 AS g0, a0.c1 AS g1 FROM t0 AS a0 JOIN t0 AS a1 GROUP BY a1.c0, a0.c1 HAVING (NOT ((a0.c1) >= (a1.c0)))) UNION ALL (SELECT a1.c0 AS g0, a0.c1 AS g1 FROM t0 AS a0 JOIN t0 AS a1 GROUP BY a1.c0, a0.c1 HAVING (((a0.c1) >= (a1.c0)) IS NULL));
