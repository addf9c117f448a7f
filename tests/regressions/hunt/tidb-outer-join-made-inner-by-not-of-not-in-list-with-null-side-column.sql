-- test-rig hunt: wrong-result found by the tlp-where oracle on tidb 8.0.11-TiDB-v8.4.0-this-is-a-placeholder
-- signature: wrong-result|tlp-where|tidb-8.4|-|SELECT c FROM t ; ( SELECT c FROM t WHERE ((?) NOT IN ((c) , (c))) ) UNION ALL ( SELECT c FROM t WHERE (NOT ((?) NOT IN ((c) , (c)))) ) UNION ALL ( SELECT c FROM t WHERE (((?) NOT IN ((c) , (c))) IS NULL) )
-- id: h4b1ff8da0b
-- seed 505, worker 0, generator version 3
-- the query and the union of its partitions by WHERE p, NOT p, p IS NULL differ: 1 rows against 0; only in the first: (None,)
-- Run on a fresh, empty database: mariadb -h HOST -P PORT -u USER DATABASE < this-file.sql

CREATE TABLE t1 (c0 CHAR(5) CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci, c1 CHAR(5) CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci, c2 DOUBLE NOT NULL, c3 CHAR(5) CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci, INDEX i273 (c3));
INSERT IGNORE INTO t1 (c0, c1, c2, c3) VALUES ('a', NULL, 1e10, ' ');

-- The results of these 2 queries must agree (tlp-where):
-- the query returned 1 rows: (NULL)
SELECT a0.c2 AS r1 FROM (SELECT t1.c0 AS c0, t1.c1 AS c1, t1.c2 AS c2, t1.c3 AS c3 FROM t1) AS a0 RIGHT JOIN t1 AS a1 ON ('0');
-- the union of its partitions by WHERE p, NOT p, p IS NULL returned 0 rows: 
(SELECT a0.c2 AS r1 FROM (SELECT t1.c0 AS c0, t1.c1 AS c1, t1.c2 AS c2, t1.c3 AS c3 FROM t1) AS a0 RIGHT JOIN t1 AS a1 ON ('0') WHERE (('') NOT IN ((a1.c3), (a0.c3)))) UNION ALL (SELECT a0.c2 AS r1 FROM (SELECT t1.c0 AS c0, t1.c1 AS c1, t1.c2 AS c2, t1.c3 AS c3 FROM t1) AS a0 RIGHT JOIN t1 AS a1 ON ('0') WHERE (NOT (('') NOT IN ((a1.c3), (a0.c3))))) UNION ALL (SELECT a0.c2 AS r1 FROM (SELECT t1.c0 AS c0, t1.c1 AS c1, t1.c2 AS c2, t1.c3 AS c3 FROM t1) AS a0 RIGHT JOIN t1 AS a1 ON ('0') WHERE ((('') NOT IN ((a1.c3), (a0.c3))) IS NULL));
