-- test-rig hunt: wrong-result found by the norec oracle on mariadb 10.11.19-MariaDB-0+deb12u1
-- signature: wrong-result|norec|mariadb-10.11|COALESCE+COUNT+EXISTS+IS+LIKE+SUM+TRUE|*|VARCHAR/latin1_swedish_ci
-- id: h86500314cf
-- seed 11, worker 0, generator version 1
-- COUNT(*) WHERE p and SUM(p IS TRUE) over every row differ: 1 rows against 1; only in the first: (2,); only in the second: (1,)
-- Run on a fresh, empty database: mariadb -h HOST -P PORT -u USER DATABASE < this-file.sql

CREATE TABLE t0 (c0 TIME, c1 VARCHAR(10) CHARACTER SET latin1 COLLATE latin1_swedish_ci, INDEX i30 (c1(2), c0), INDEX i31 (c1(3), c0));
INSERT IGNORE INTO t0 (c0, c1) VALUES ('-01:02:03', 'a');
INSERT IGNORE INTO t0 (c0, c1) VALUES ('00:00:00', 'a ');

-- The results of these 2 queries must agree (norec):
-- COUNT(*) WHERE p returned 1 rows: (2)
SELECT COUNT(*) AS n FROM t0 AS a0 WHERE (EXISTS (SELECT 1 AS x FROM t0 AS s41 WHERE ((a0.c1) LIKE ('_'))));
-- SUM(p IS TRUE) over every row returned 1 rows: (1)
SELECT COALESCE(SUM(u.f), 0) AS n FROM (SELECT (EXISTS (SELECT 1 AS x FROM t0 AS s41 WHERE ((a0.c1) LIKE ('_')))) IS TRUE AS f FROM t0 AS a0) AS u;
