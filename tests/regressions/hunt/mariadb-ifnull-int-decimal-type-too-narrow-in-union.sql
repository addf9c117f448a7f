-- test-rig hunt: wrong-result found by the tlp-where oracle on mariadb 10.11.19-MariaDB-0+deb12u1
-- signature: wrong-result|tlp-where|mariadb-10.11|ABS+IFNULL+IS+NOT+UNION||
-- id: h44b3d463a8
-- seed 101, worker 0, generator version 2
-- the query and the union of its partitions by WHERE p, NOT p, p IS NULL differ: 1 rows against 1; only in the first: (100,); only in the second: ('99.9',)
-- Run on a fresh, empty database: mariadb -h HOST -P PORT -u USER DATABASE < this-file.sql

CREATE TABLE t0 (c0 DATE, c1 TIME, c2 DECIMAL(10,0), c3 BIGINT, c4 VARCHAR(10) CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci NOT NULL, c5 CHAR(5) CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci NOT NULL, PRIMARY KEY (c4, c5), INDEX i832 (c3, c4, c2));
INSERT IGNORE INTO t0 (c0, c1, c2, c3, c4, c5) VALUES ('1970-01-01', '23:59:59', 7807, NULL, '1e2', '10');

-- The results of these 2 queries must agree (tlp-where):
-- the query returned 1 rows: (100.0)
SELECT IFNULL((ABS((100))), (0.5)) AS r3 FROM t0 AS a0;
-- the union of its partitions by WHERE p, NOT p, p IS NULL returned 1 rows: (99.9)
(SELECT IFNULL((ABS((100))), (0.5)) AS r3 FROM t0 AS a0 WHERE (NULL)) UNION ALL (SELECT IFNULL((ABS((100))), (0.5)) AS r3 FROM t0 AS a0 WHERE (NOT (NULL))) UNION ALL (SELECT IFNULL((ABS((100))), (0.5)) AS r3 FROM t0 AS a0 WHERE ((NULL) IS NULL));
