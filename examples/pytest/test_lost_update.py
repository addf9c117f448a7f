"""A lost update, shown with test-rig's pytest plugin: two read-modify-write transactions on one row.

Copy this directory, `pip install test-rig`, run `pytest`: the plugin starts a sandbox MariaDB for the session
(or use --rig-host HOST:PORT --rig-user U with TIDB_PASSWORD for a server of your own).
"""

import pytest

SETUP = ["CREATE TABLE counter (id INT PRIMARY KEY, value INT) ENGINE=InnoDB", "INSERT INTO counter VALUES (1, 10)"]
# Both read 10, both write 10 + 1: if both commit, one increment is lost.
INTERLEAVING = [
    ("T1", "BEGIN"), ("T2", "BEGIN"),
    ("T1", "SELECT value FROM counter WHERE id = 1"), ("T2", "SELECT value FROM counter WHERE id = 1"),
    ("T1", "UPDATE counter SET value = 11 WHERE id = 1"), ("T2", "UPDATE counter SET value = 11 WHERE id = 1"),
    ("T1", "COMMIT"), ("T2", "COMMIT"),
]


def committed(steps, txn):
    return all(s.error is None and not s.skipped for s in steps if s.conn == txn)


@pytest.mark.rig_isolation("read-committed")
def test_read_committed_lets_an_update_be_lost(rig_script):
    steps = rig_script(INTERLEAVING, setup=SETUP)
    assert steps[2].rows == [[10]] and steps[3].rows == [[10]]  # both read the same value
    assert steps[5].blocked  # T2's update waited for T1's row lock ...
    assert committed(steps, "T1") and committed(steps, "T2")  # ... and then both committed: an update was lost


@pytest.mark.rig_isolation("serializable")
def test_serializable_prevents_it(rig_script):
    steps = rig_script(INTERLEAVING, setup=SETUP)
    assert not (committed(steps, "T1") and committed(steps, "T2"))
    assert {s.error_code for s in steps if s.error_code is not None} <= {1213, 1205}  # a deadlock ended one
