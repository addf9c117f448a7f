-- test-rig hunt: error found by the errors oracle on tidb 8.0.11-TiDB-v8.4.0-this-is-a-placeholder
-- signature: error|tidb-8.4|error-1105|interface conversion: expression.Expression is *expression.ScalarFunction, not *expression.Column
-- id: h57a07ba1c1
-- seed 7, worker 0, generator version 3
-- SELECT COUNT(*) AS n FROM ((SELECT t0.c0 AS c0 FROM t0) UNION (SELECT t0.c0 AS c0 FROM t0)) AS a0 WHERE ((NULLIF((a0.c0), (1))) IN (SELECT COUNT((s1.c0)) AS x FROM t0 AS s1)): an internal error (1105: interface conversion: expression.Expression is *expression.ScalarFunction, not *expression.Column) (confirmed by the errors oracle in a NoREC query of a 45 s run, seed 7; reduced by hand: with an INT column the same query answers 0; UNION ALL panics too)
-- Run on a fresh, empty database: mariadb -h HOST -P PORT -u USER DATABASE < this-file.sql

CREATE TABLE t0 (c0 BIGINT UNSIGNED);

-- the query: error (1105, 'interface conversion: expression.Expression is *expression.ScalarFunction, not *expression.Column')
SELECT COUNT(*) AS n FROM ((SELECT t0.c0 AS c0 FROM t0) UNION (SELECT t0.c0 AS c0 FROM t0)) AS a0 WHERE ((NULLIF((a0.c0), (1))) IN (SELECT COUNT((s1.c0)) AS x FROM t0 AS s1));
