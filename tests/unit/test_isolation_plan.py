"""Level planning per server kind, profiles and their comparison, replayable scripts: no database."""

from __future__ import annotations

from dataclasses import replace

import pytest

from test_rig.db import ServerInfo
from test_rig.errors import UsageError
from test_rig.isolation.catalogue import CATALOGUE, StepLog
from test_rig.isolation.report import available_profiles, compare, explain, load_profile
from test_rig.isolation.runner import Level, RunSettings, TestResult, plan_levels, session_setup
from test_rig.results import CELL


def test_mariadb_gets_the_four_levels_without_modes() -> None:
    levels = plan_levels(ServerInfo.from_version("10.11.19-MariaDB"), "all", "both")
    assert [(lv.isolation, lv.txn_mode) for lv in levels] == [
        ("read-uncommitted", None), ("read-committed", None), ("repeatable-read", None), ("serializable", None)]


def test_tidb_runs_rc_and_rr_in_both_modes() -> None:
    levels = plan_levels(ServerInfo.from_version("8.0.11-TiDB-v8.5.0"), "all", "both")
    assert [lv.label for lv in levels] == [
        "read-uncommitted (pessimistic)", "read-committed (pessimistic)", "read-committed (optimistic)",
        "repeatable-read (pessimistic)", "repeatable-read (optimistic)", "serializable (pessimistic)"]
    assert [lv.label for lv in plan_levels(ServerInfo.from_version("8.0.11-TiDB-v8.5.0"), "repeatable-read",
                                           "optimistic")] == ["repeatable-read (optimistic)"]


def test_session_setup_statements() -> None:
    stmts = session_setup(Level("read-committed", "optimistic"),
                          RunSettings(lock_wait_timeout=3, session_variables={"innodb_snapshot_isolation": "ON"}))
    assert stmts == ["SET SESSION innodb_lock_wait_timeout = 3", "SET SESSION innodb_snapshot_isolation = 'ON'",
                     "SET SESSION tidb_txn_mode = 'optimistic'",
                     "SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED"]


def test_isolation_variable_per_server() -> None:
    assert ServerInfo.from_version("10.11.19-MariaDB-0+deb12u1").isolation_variable == "tx_isolation"
    assert ServerInfo.from_version("11.4.2-MariaDB").isolation_variable == "transaction_isolation"
    assert ServerInfo.from_version("8.0.36").isolation_variable == "transaction_isolation"
    assert ServerInfo.from_version("8.0.11-TiDB-v8.5.0").kind == "tidb"
    assert ServerInfo.from_version("8.0.11-TiDB-v8.5.0").numeric_version == (8, 5, 0)


def test_shipped_profiles() -> None:
    assert available_profiles() == ["mysql-innodb", "tidb"]
    mysql = load_profile("mysql-innodb")
    assert mysql["read-uncommitted"]["G1a"] == "anomaly"
    assert mysql["repeatable-read"]["PMP"] == "prevented"
    assert mysql["repeatable-read"]["PMP-write"] == "anomaly"
    assert load_profile("tidb")["serializable"]["G0"] == "unsupported"
    assert all(test in CATALOGUE for cells in mysql.values() for test in cells)


def test_unknown_profile_is_a_usage_error() -> None:
    with pytest.raises(UsageError) as info:
        load_profile("oracle")
    assert info.value.message == "Unknown profile 'oracle'; use one of mysql-innodb, tidb or a .toml file."


def test_compare_lists_every_differing_cell() -> None:
    profile = {"repeatable-read": {"P4": "anomaly", "G1a": "prevented"},
               "repeatable-read/optimistic": {"P4": "prevented"}}
    results = [TestResult("P4", "repeatable-read", None, CELL.read("prevented", "T2 was aborted")),
               TestResult("G1a", "repeatable-read", None, CELL.read("prevented", "fine")),
               TestResult("P4", "repeatable-read", "optimistic", CELL.read("prevented", "first committer won")),
               TestResult("P4", "repeatable-read", "pessimistic", CELL.read("anomaly", "lost"))]
    assert compare(results, profile) == [
        "P4 at repeatable-read: expected anomaly, observed prevented — T2 was aborted"]


def test_explain_is_a_per_connection_script_in_step_order() -> None:
    test = CATALOGUE["G1a"]
    logs = [StepLog(i, s.txn, s.sql, label=s.label) for i, s in enumerate(test.steps)]
    logs[3] = replace(logs[3], rows=[[1, 101], [2, 20]])
    logs[2] = replace(logs[2], rowcount=1)
    text = explain(TestResult("G1a", "read-uncommitted", None, CELL.read("anomaly", "T2 read 1 => 101"), logs,
                              {1: 10, 2: 20}), test)
    lines = text.splitlines()
    assert lines[0] == "-- G1a (Aborted Reads (dirty reads, cascaded aborts)) at read-uncommitted: anomaly"
    t1 = lines.index("-- connection T1")
    t2 = lines.index("-- connection T2")
    assert lines[t1 + 1] == "SET SESSION TRANSACTION ISOLATION LEVEL READ UNCOMMITTED;"
    assert lines[t1 + 3].startswith("UPDATE test SET value = 101 WHERE id = 1;") and lines[t1 + 3].endswith(
        "-- #3 1 row(s) affected")
    assert lines[t2 + 3].endswith("-- #4 rows: (1, 101), (2, 20)")
    assert lines[-1] == "-- final table: (1, 10), (2, 20)"
