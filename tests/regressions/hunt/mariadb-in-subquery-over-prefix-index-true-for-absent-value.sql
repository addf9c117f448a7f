-- test-rig hunt: wrong-result found by the tlp-where oracle on mariadb 10.11.19-MariaDB-0+deb12u1
-- signature: wrong-result|tlp-where|mariadb-10.11|IN+IS+LPAD+NOT+UNION||DATETIME+TEXT/latin1_swedish_ci
-- id: h9395de19f1
-- seed 101, worker 1, generator version 2
-- the query and the union of its partitions by WHERE p, NOT p, p IS NULL differ: 13 rows against 9; only in the first: ('2000-01-01 00:00:00',), ('2000-01-01 00:00:00',), ('2023-06-15 12:30:00',), ('2024-02-29 23:59:59',)
-- Run on a fresh, empty database: mariadb -h HOST -P PORT -u USER DATABASE < this-file.sql

CREATE TABLE t0 (c0 CHAR(5) CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci, c1 DATETIME, c2 BIGINT UNSIGNED, c3 TEXT CHARACTER SET latin1 COLLATE latin1_swedish_ci, c4 BIGINT NOT NULL, INDEX i546 (c3(1)), INDEX i547 (c1));
INSERT IGNORE INTO t0 (c0, c1, c2, c3, c4) VALUES (NULL, NULL, 14, 'Z', 5);
INSERT IGNORE INTO t0 (c0, c1, c2, c3, c4) VALUES (' 12', '2000-01-01 00:00:00', 17, '-1', 6);
INSERT IGNORE INTO t0 (c0, c1, c2, c3, c4) VALUES ('Z', '2024-02-29 23:59:59', 9223372036854775808, 'a', -0);
INSERT IGNORE INTO t0 (c0, c1, c2, c3, c4) VALUES ('B', '1970-01-01 00:00:01', 11, 'Z', 1);
INSERT IGNORE INTO t0 (c0, c1, c2, c3, c4) VALUES ('-1', '2023-06-15 12:30:00', 8, ' 12', -9223372036854775808);
INSERT IGNORE INTO t0 (c0, c1, c2, c3, c4) VALUES ('1e2', '2024-02-29 23:59:59', 1, '-1', 0);
INSERT IGNORE INTO t0 (c0, c1, c2, c3, c4) VALUES ('ab', '1970-01-01 00:00:01', 9223372036854775808, 'A', 20);
INSERT IGNORE INTO t0 (c0, c1, c2, c3, c4) VALUES ('0', '2000-01-01 00:00:00', 1, NULL, -1);
INSERT IGNORE INTO t0 (c0, c1, c2, c3, c4) VALUES ('b', '2023-06-15 12:30:00', NULL, NULL, 18);
CREATE INDEX i554 ON t0 (c3(2), c2, c0);
INSERT IGNORE INTO t0 (c0, c1, c2, c3, c4) VALUES ('Z', '1970-01-01 00:00:01', 18446744073709551615, 'b', -2);
INSERT IGNORE INTO t0 (c0, c1, c2, c3, c4) VALUES ('a', '2023-06-15 12:30:00', 10, 'a', 18);
INSERT IGNORE INTO t0 (c0, c1, c2, c3, c4) VALUES ('', '2000-01-01 00:00:00', NULL, 'A', -14);
INSERT IGNORE INTO t0 (c0, c1, c2, c3, c4) VALUES ('Abc', '2000-01-01 00:00:00', 4, '-1', 3);

-- The results of these 2 queries must agree (tlp-where):
-- the query returned 13 rows: (NULL), (1970-01-01 00:00:01), (1970-01-01 00:00:01), (1970-01-01 00:00:01), (2000-01-01 00:00:00), (2000-01-01 00:00:00), (2000-01-01 00:00:00), (2000-01-01 00:00:00), (2023-06-15 12:30:00), (2023-06-15 12:30:00), (2023-06-15 12:30:00), (2024-02-29 23:59:59), (2024-02-29 23:59:59)
SELECT a0.c1 AS r2 FROM t0 AS a0;
-- the union of its partitions by WHERE p, NOT p, p IS NULL returned 9 rows: (NULL), (2024-02-29 23:59:59), (1970-01-01 00:00:01), (1970-01-01 00:00:01), (1970-01-01 00:00:01), (2023-06-15 12:30:00), (2000-01-01 00:00:00), (2000-01-01 00:00:00), (2023-06-15 12:30:00)
(SELECT a0.c1 AS r2 FROM t0 AS a0 WHERE ((LPAD((a0.c3), (1), ('x'))) IN (SELECT s559.c3 AS x FROM t0 AS s559))) UNION ALL (SELECT a0.c1 AS r2 FROM t0 AS a0 WHERE (NOT ((LPAD((a0.c3), (1), ('x'))) IN (SELECT s559.c3 AS x FROM t0 AS s559)))) UNION ALL (SELECT a0.c1 AS r2 FROM t0 AS a0 WHERE (((LPAD((a0.c3), (1), ('x'))) IN (SELECT s559.c3 AS x FROM t0 AS s559)) IS NULL));
