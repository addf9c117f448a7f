-- test-rig hunt: error found by the errors oracle on tidb 8.0.11-TiDB-v8.4.0-this-is-a-placeholder
-- signature: error|tidb-8.4|error-1105|runtime error: index out of range [_] with length _
-- id: h446b369214
-- seed 1204, worker 0, generator version 4
-- SELECT DISTINCT IFNULL(c1, NULL) FROM t1 over a FLOAT column: an internal error (1105: runtime error: index out of range [7] with length 4) (found by tlp-distinct and the server's log, "copIteratorWork meet panic", in a 10-minute run, seed 1204; reduced by hand: also with COALESCE and GROUP BY, not with a DOUBLE column or plain DISTINCT c1; the hash aggregation pushed to the coprocessor writes an 8-byte value into the FLOAT column's 4-byte slot, in unistore/cophandler aggExec.getGroupKey, the store the sandbox runs on; not checked on TiKV)
-- Run on a fresh, empty database: mariadb --comments -h HOST -P PORT -u USER DATABASE < this-file.sql

SET NAMES utf8mb4;
CREATE TABLE t1 (c1 FLOAT);
INSERT INTO t1 VALUES (1.5);

-- the query: error (1105, 'runtime error: index out of range [7] with length 4')
SELECT DISTINCT IFNULL(c1, NULL) AS r FROM t1;
