-- test-rig hunt: wrong-result found by the norec oracle on mariadb 10.11.19-MariaDB-0+deb12u1
-- signature: wrong-result|norec|mariadb-10.11|AND+BETWEEN+COALESCE+COUNT+IS+SUM+TRUE|* ~|DOUBLE
-- id: h33106b81b0
-- seed 404, worker 1, generator version 2
-- COUNT(*) WHERE p and SUM(p IS TRUE) over every row differ: 1 rows against 1; only in the first: (0,); only in the second: (1,)
-- Run on a fresh, empty database: mariadb -h HOST -P PORT -u USER DATABASE < this-file.sql

CREATE TABLE t1 (c0 DOUBLE, c1 CHAR(5) CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci, c2 VARCHAR(10) CHARACTER SET latin1 COLLATE latin1_swedish_ci, c3 VARCHAR(10) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL);
INSERT IGNORE INTO t1 (c0, c1, c2, c3) VALUES (100, 'ab', 'B', ' 12');

-- The results of these 2 queries must agree (norec):
-- COUNT(*) WHERE p returned 1 rows: (0)
SELECT COUNT(*) AS n FROM t1 AS a0 WHERE ((a0.c0) BETWEEN (0) AND (~ (2)));
-- SUM(p IS TRUE) over every row returned 1 rows: (1)
SELECT COALESCE(SUM(u.f), 0) AS n FROM (SELECT ((a0.c0) BETWEEN (0) AND (~ (2))) IS TRUE AS f FROM t1 AS a0) AS u;
