-- test-rig hunt: wrong-result found by the tlp-where oracle on mariadb 10.11.19-MariaDB-0+deb12u1
-- signature: wrong-result|tlp-where|mariadb-10.11|CROSS+IS+JOIN+LEFT+NOT+UNION|<=>|DATETIME+DECIMAL+FLOAT+TINYINT UNSIGNED
-- id: h57736a1eaa
-- seed 404, worker 1, generator version 2
-- the query and the union of its partitions by WHERE p, NOT p, p IS NULL differ: 4 rows against 6; only in the second: (3.14159,), (3.14159,)
-- Run on a fresh, empty database: mariadb -h HOST -P PORT -u USER DATABASE < this-file.sql

CREATE TABLE t0 (c0 FLOAT NOT NULL, c1 DECIMAL(10,2), c2 DATETIME NOT NULL, c3 DATE, c4 CHAR(5) CHARACTER SET latin1 COLLATE latin1_swedish_ci, c5 TINYINT UNSIGNED, PRIMARY KEY (c2));
INSERT IGNORE INTO t0 (c0, c1, c2, c3, c4, c5) VALUES (3.14159, NULL, '2024-02-29 23:59:59', '1970-01-01', '', 11);
CREATE TABLE t1 (c0 FLOAT, c1 DATETIME, c2 DECIMAL(30,4), c3 INT NOT NULL, c4 TEXT CHARACTER SET latin1 COLLATE latin1_swedish_ci, INDEX i1 (c2));
INSERT IGNORE INTO t1 (c0, c1, c2, c3, c4) VALUES (-2.25, '2023-06-15 12:30:00', NULL, 16, ' ');
INSERT IGNORE INTO t1 (c0, c1, c2, c3, c4) VALUES (7, NULL, -1359.0699, 2147483647, NULL);
SET SESSION join_cache_level = 8;

-- The results of these 2 queries must agree (tlp-where):
-- the query returned 4 rows: (NULL), (NULL), (NULL), (NULL)
SELECT a2.c0 AS r2 FROM t1 AS a0 CROSS JOIN t1 AS a1 LEFT JOIN t0 AS a2 ON ((a2.c1) <=> (a1.c2));
-- the union of its partitions by WHERE p, NOT p, p IS NULL returned 6 rows: (3.14159), (3.14159), (NULL), (NULL), (NULL), (NULL)
(SELECT a2.c0 AS r2 FROM t1 AS a0 CROSS JOIN t1 AS a1 LEFT JOIN t0 AS a2 ON ((a2.c1) <=> (a1.c2)) WHERE (a2.c5)) UNION ALL (SELECT a2.c0 AS r2 FROM t1 AS a0 CROSS JOIN t1 AS a1 LEFT JOIN t0 AS a2 ON ((a2.c1) <=> (a1.c2)) WHERE (NOT (a2.c5))) UNION ALL (SELECT a2.c0 AS r2 FROM t1 AS a0 CROSS JOIN t1 AS a1 LEFT JOIN t0 AS a2 ON ((a2.c1) <=> (a1.c2)) WHERE ((a2.c5) IS NULL));
