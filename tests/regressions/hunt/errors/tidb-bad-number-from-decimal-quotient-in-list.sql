-- test-rig hunt: error found by the errors oracle on tidb 8.0.11-TiDB-v8.4.0-this-is-a-placeholder
-- signature: error|tidb-8.4|error-8029|Bad Number
-- id: h9453b57651
-- seed 1204, worker 1, generator version 4
-- SELECT ((9335.80/6272.43)/(4466.18/8970.45)) IN (9262.57, 3864.02): an unexpected error (8029: Bad Number) (found by five oracles in a 10-minute run, every oracle, 2 connections, seed 1204; reduced by hand: the quotient alone is 2.9894667226, `= 9262.57` and an IN list of one value answer 0, as MariaDB answers 0 for the list of two; a comparison of two valid decimals must not fail)
-- Run on a fresh, empty database: mariadb --comments -h HOST -P PORT -u USER DATABASE < this-file.sql

SET NAMES utf8mb4;

-- the query: error (8029, 'Bad Number')
SELECT ((9335.80/6272.43)/(4466.18/8970.45)) IN (9262.57, 3864.02) AS r;
