-- test-rig hunt: wrong-result found by the tlp-aggregate oracle on mariadb 10.11.19-MariaDB-0+deb12u1
-- signature: wrong-result|tlp-aggregate|mariadb-10.11|-|SELECT MAX ((c)) FROM t ; SELECT MAX (c) FROM t ( ( SELECT MAX ((c)) FROM t WHERE (((?) + (?)) <= (c)) ) UNION ALL ( SELECT MAX ((c)) FROM t WHERE (NOT (((?) + (?)) <= (c))) ) UNION ALL ( SELECT MAX ((c)) FROM t WHERE ((((?) + (?)) <= (c)) IS NULL) ) )
-- id: h7f0f087202
-- seed 101, worker 0, generator version 3
-- MAX over the query and MAX of MAX over its partitions differ: 1 rows against 1; only in the first: (10000000000.0,); only in the second: (None,)
-- Run on a fresh, empty database: mariadb -h HOST -P PORT -u USER DATABASE < this-file.sql

CREATE TABLE t0 (c0 FLOAT NOT NULL, c1 TEXT CHARACTER SET latin1 COLLATE latin1_bin, PRIMARY KEY (c0)) STATS_AUTO_RECALC=0;
INSERT IGNORE INTO t0 (c0, c1) VALUES (1e10, '10');

-- The results of these 2 queries must agree (tlp-aggregate):
-- MAX over the query returned 1 rows: (10000000000.0)
SELECT MAX((a0.c0)) AS a FROM t0 AS a0;
-- MAX of MAX over its partitions returned 1 rows: (NULL)
SELECT MAX(u.a) AS a FROM ((SELECT MAX((a0.c0)) AS a FROM t0 AS a0 WHERE (((1e10) + (100)) <= (a0.c0))) UNION ALL (SELECT MAX((a0.c0)) AS a FROM t0 AS a0 WHERE (NOT (((1e10) + (100)) <= (a0.c0)))) UNION ALL (SELECT MAX((a0.c0)) AS a FROM t0 AS a0 WHERE ((((1e10) + (100)) <= (a0.c0)) IS NULL))) AS u;
