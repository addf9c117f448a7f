-- test-rig hunt: wrong-result found by the norec oracle on mariadb 10.11.19-MariaDB-0+deb12u1
-- signature: wrong-result|norec|mariadb-10.11|COALESCE+COUNT+IS+JOIN+RIGHT+STRAIGHT_JOIN+SUM+TRUE|* - =|BOOL+TEXT/latin1_swedish_ci+VARCHAR/latin1_swedish_ci
-- id: h2651894e59
-- seed 101, worker 0, generator version 1
-- COUNT(*) WHERE p and SUM(p IS TRUE) over every row differ: 1 rows against 1; only in the first: (1,); only in the second: (0,)
-- Run on a fresh, empty database: mariadb -h HOST -P PORT -u USER DATABASE < this-file.sql

CREATE TABLE t0 (c0 TEXT CHARACTER SET latin1 COLLATE latin1_swedish_ci, c1 DATETIME NOT NULL);
INSERT IGNORE INTO t0 (c0, c1) VALUES ('1e2', '1970-01-01 00:00:01');
CREATE TABLE t1 (c0 VARCHAR(10) CHARACTER SET latin1 COLLATE latin1_swedish_ci NOT NULL, c1 VARCHAR(10) CHARACTER SET latin1 COLLATE latin1_bin, c2 BOOL NOT NULL, c3 SMALLINT NOT NULL, PRIMARY KEY (c2, c0));
INSERT IGNORE INTO t1 (c0, c1, c2, c3) VALUES ('0', '10', -2, -32768);

-- The results of these 2 queries must agree (norec):
-- COUNT(*) WHERE p returned 1 rows: (1)
SELECT COUNT(*) AS n FROM t1 AS a0 STRAIGHT_JOIN t0 AS a1 RIGHT JOIN t1 AS a2 ON ((a2.c2) = (-2.25)) WHERE (a1.c0);
-- SUM(p IS TRUE) over every row returned 1 rows: (0)
SELECT COALESCE(SUM(u.f), 0) AS n FROM (SELECT (a1.c0) IS TRUE AS f FROM t1 AS a0 STRAIGHT_JOIN t0 AS a1 RIGHT JOIN t1 AS a2 ON ((a2.c2) = (-2.25))) AS u;
