-- test-rig hunt: wrong-result found by the tlp-where oracle on mariadb 10.11.19-MariaDB-0+deb12u1
-- signature: wrong-result|tlp-where|mariadb-10.11|ABS+CAST+DECIMAL+DOUBLE+IN+IS+JOIN+NOT+RIGHT+UNION|- <=>|BOOL+CHAR/utf8mb4_unicode_ci+DATETIME+DECIMAL+DOUBLE+FLOAT+INT+SMALLINT
-- id: h5290359a37
-- seed 101, worker 1, generator version 2
-- the query and the union of its partitions by WHERE p, NOT p, p IS NULL differ: 1 rows against 0; only in the first: (None,)
-- Run on a fresh, empty database: mariadb -h HOST -P PORT -u USER DATABASE < this-file.sql

CREATE TABLE t0 (c0 DOUBLE, c1 INT, c2 BOOL, c3 DATETIME, c4 DOUBLE, c5 SMALLINT, INDEX i956 (c5));
CREATE TABLE t1 (c0 FLOAT, c1 DECIMAL(30,0), c2 FLOAT NOT NULL, c3 CHAR(5) CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci, INDEX i957 (c1, c0), INDEX i958 (c0));
INSERT IGNORE INTO t1 (c0, c1, c2, c3) VALUES (0.1, 7577, 3.14159, 'b');

-- The results of these 2 queries must agree (tlp-where):
-- the query returned 1 rows: (NULL)
WITH cte0 AS (SELECT t0.c0 AS c0, t0.c1 AS c1, t0.c2 AS c2, t0.c3 AS c3, t0.c4 AS c4, t0.c5 AS c5 FROM t0 WHERE ((CAST((ABS((-5678.39))) AS DOUBLE)) <=> (CAST((9336.09) AS DECIMAL(20,4))))) SELECT a0.c0 AS r2 FROM cte0 AS a0 RIGHT JOIN t1 AS a2 ON (NULL);
-- the union of its partitions by WHERE p, NOT p, p IS NULL returned 0 rows: 
WITH cte0 AS (SELECT t0.c0 AS c0, t0.c1 AS c1, t0.c2 AS c2, t0.c3 AS c3, t0.c4 AS c4, t0.c5 AS c5 FROM t0 WHERE ((CAST((ABS((-5678.39))) AS DOUBLE)) <=> (CAST((9336.09) AS DECIMAL(20,4))))) (SELECT a0.c0 AS r2 FROM cte0 AS a0 RIGHT JOIN t1 AS a2 ON (NULL) WHERE ((0.1) IN (SELECT s976.c0 AS x FROM t1 AS s976))) UNION ALL (SELECT a0.c0 AS r2 FROM cte0 AS a0 RIGHT JOIN t1 AS a2 ON (NULL) WHERE (NOT ((0.1) IN (SELECT s976.c0 AS x FROM t1 AS s976)))) UNION ALL (SELECT a0.c0 AS r2 FROM cte0 AS a0 RIGHT JOIN t1 AS a2 ON (NULL) WHERE (((0.1) IN (SELECT s976.c0 AS x FROM t1 AS s976)) IS NULL));
