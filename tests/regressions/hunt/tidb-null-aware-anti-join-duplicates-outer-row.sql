-- test-rig hunt: wrong-result found by the tlp-where oracle on tidb 8.0.11-TiDB-v8.4.0-this-is-a-placeholder
-- signature: wrong-result|tlp-where|tidb-8.4|IN+IS+NOT+UNION|-|CHAR/utf8mb4_unicode_ci+FLOAT+MEDIUMINT
-- id: h0e0e538f92
-- seed 202, worker 1, generator version 2
-- the query and the union of its partitions by WHERE p, NOT p, p IS NULL differ: 1 rows against 2; only in the second: ('a',)
-- Run on a fresh, empty database: mariadb -h HOST -P PORT -u USER DATABASE < this-file.sql

CREATE TABLE t0 (c0 FLOAT, c1 MEDIUMINT, c2 CHAR(5) CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci, INDEX i1 (c0), UNIQUE INDEX i2 (c2));
INSERT IGNORE INTO t0 (c0, c1, c2) VALUES (1e10, NULL, 'a ');

-- The results of these 2 queries must agree (tlp-where):
-- the query returned 1 rows: (a)
SELECT a0.c2 AS r0 FROM t0 AS a0;
-- the union of its partitions by WHERE p, NOT p, p IS NULL returned 2 rows: (a), (a)
(SELECT a0.c2 AS r0 FROM t0 AS a0 WHERE ((-1e-5) NOT IN (SELECT s6.c0 AS x FROM t0 AS s6 WHERE (a0.c1)))) UNION ALL (SELECT a0.c2 AS r0 FROM t0 AS a0 WHERE (NOT ((-1e-5) NOT IN (SELECT s6.c0 AS x FROM t0 AS s6 WHERE (a0.c1))))) UNION ALL (SELECT a0.c2 AS r0 FROM t0 AS a0 WHERE (((-1e-5) NOT IN (SELECT s6.c0 AS x FROM t0 AS s6 WHERE (a0.c1))) IS NULL));
