-- test-rig hunt: wrong-result found by the tlp-having oracle on mariadb 10.11.19-MariaDB-0+deb12u1
-- signature: wrong-result|tlp-having|mariadb-10.11|GROUP+HAVING+IS+LIKE+MIN+NOT+UNION||BOOL+VARCHAR/latin1_bin
-- id: hecba8c3e31
-- seed 404, worker 0, generator version 2
-- the GROUP BY query and the union of its partitions by HAVING h, NOT h, h IS NULL differ: 0 rows against 1; only in the second: ('',)
-- Run on a fresh, empty database: mariadb -h HOST -P PORT -u USER DATABASE < this-file.sql

CREATE TABLE t0 (c0 VARCHAR(10) CHARACTER SET latin1 COLLATE latin1_bin NOT NULL, c1 BOOL, INDEX i1453 (c0, c1), INDEX i1454 (c1, c0));
INSERT IGNORE INTO t0 (c0, c1) VALUES ('', NULL);
INSERT IGNORE INTO t0 (c0, c1) VALUES (' ', -5);
INSERT IGNORE INTO t0 (c0, c1) VALUES ('', 6);

-- The results of these 2 queries must agree (tlp-having):
-- the GROUP BY query returned 0 rows: 
SELECT a0.c0 AS g0 FROM (SELECT t0.c0 AS c0, t0.c1 AS c1 FROM t0 WHERE ((t0.c0) LIKE ('_'))) AS a0 GROUP BY a0.c0;
-- the union of its partitions by HAVING h, NOT h, h IS NULL returned 1 rows: ( )
(SELECT a0.c0 AS g0 FROM (SELECT t0.c0 AS c0, t0.c1 AS c1 FROM t0 WHERE ((t0.c0) LIKE ('_'))) AS a0 GROUP BY a0.c0 HAVING (MIN((NULL)))) UNION ALL (SELECT a0.c0 AS g0 FROM (SELECT t0.c0 AS c0, t0.c1 AS c1 FROM t0 WHERE ((t0.c0) LIKE ('_'))) AS a0 GROUP BY a0.c0 HAVING (NOT (MIN((NULL))))) UNION ALL (SELECT a0.c0 AS g0 FROM (SELECT t0.c0 AS c0, t0.c1 AS c1 FROM t0 WHERE ((t0.c0) LIKE ('_'))) AS a0 GROUP BY a0.c0 HAVING ((MIN((NULL))) IS NULL));
