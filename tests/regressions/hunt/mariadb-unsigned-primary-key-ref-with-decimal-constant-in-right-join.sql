-- test-rig hunt: wrong-result found by the tlp-where oracle on mariadb 10.11.19-MariaDB-0+deb12u1
-- signature: wrong-result|mariadb-10.11|-|FROM t JOIN ON ((?) = (c)) WHERE (c)
-- id: h30a5ab2690
-- seed 1201, worker 0, generator version 4
-- the query and the union of its partitions by WHERE p, NOT p, p IS NULL differ: 1 rows against 0; only in the first: ('-1',)
-- Why a bug: `0.1 = c` is false for c = 0 (an integer compared with a decimal is compared as a decimal), so the RIGHT JOIN must NULL-extend a0 and give r2 NULL; the server matches the row (the constant stored into the BIGINT UNSIGNED primary key for ref access, as in the composite-key file, here on a one-column key), and the three partitions, which must hold every row of the join, give none (10-minute run of stop 27, seed 1201)
-- Run on a fresh, empty database: mariadb -h HOST -P PORT -u USER DATABASE < this-file.sql

CREATE TABLE t0 (c0 TEXT CHARACTER SET latin1 COLLATE latin1_bin NOT NULL, c1 BIGINT UNSIGNED NOT NULL, PRIMARY KEY (c1), UNIQUE INDEX i12434 (c1, c0(3))) STATS_AUTO_RECALC=0;
INSERT IGNORE INTO t0 (c0, c1) VALUES ('-1', -0);

-- The results of these 2 queries must agree (tlp-where):
-- the query returned 1 rows: (-1)
SELECT a0.c0 AS r2 FROM t0 AS a0 RIGHT JOIN t0 AS a1 ON ((0.1) = (a0.c1));
-- the union of its partitions by WHERE p, NOT p, p IS NULL returned 0 rows: 
(SELECT a0.c0 AS r2 FROM t0 AS a0 RIGHT JOIN t0 AS a1 ON ((0.1) = (a0.c1)) WHERE (a0.c1)) UNION ALL (SELECT a0.c0 AS r2 FROM t0 AS a0 RIGHT JOIN t0 AS a1 ON ((0.1) = (a0.c1)) WHERE (NOT (a0.c1))) UNION ALL (SELECT a0.c0 AS r2 FROM t0 AS a0 RIGHT JOIN t0 AS a1 ON ((0.1) = (a0.c1)) WHERE ((a0.c1) IS NULL));
