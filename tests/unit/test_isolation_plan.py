"""Level planning per server kind, profiles and their comparison, replayable scripts: no database."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from test_rig.db import ServerInfo
from test_rig.errors import UsageError
from test_rig.isolation.catalogue import ALL_TESTS, CATALOGUE, StepLog
from test_rig.isolation.report import available_profiles, check_coverage, compare, explain, load_profile
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


@pytest.mark.parametrize(("text", "message"), [
    ('[cells."read-commited"]\nG0 = "anomaly"\n', "has [cells.read-commited], which is not a level: name one of "
     "read-uncommitted, read-committed, repeatable-read, serializable, optionally with /pessimistic or /optimistic "
     "(TiDB)."),
    ('[cells."repeatable-read/pesimistic"]\nG0 = "prevented"\n', "has [cells.repeatable-read/pesimistic], which "
     "is not a level"),
    ('[cells.serializable]\nG0x = "prevented"\n', "states an unknown test 'G0x' in [cells.serializable]; tests are "
     "G0, "),
    ('[cells.serializable]\nG0 = "prevent"\n', "states an unknown outcome 'prevent' for G0 in [cells.serializable];"),
])
def test_a_profile_naming_what_no_run_has_is_a_usage_error(tmp_path: Path, text: str, message: str) -> None:
    """A misspelled level, test or outcome states a cell no run has: it was compared with nothing and the run
    passed (`isolation --expect` with a profile of `[cells."read-commited"]`)."""
    path = tmp_path / "typo.toml"
    path.write_text(text)
    with pytest.raises(UsageError) as info:
        load_profile(str(path))
    assert info.value.message.startswith(f"Profile {path} {message}"), info.value.message


def test_a_profile_that_states_no_cell_of_the_run_is_a_usage_error() -> None:
    """The tidb profile states read-committed and repeatable-read per transaction mode: a MariaDB run of those
    levels (no mode) compared nothing with it and said that every cell it states agrees."""
    tidb = load_profile("tidb")
    check_coverage("tidb", tidb, [Level("repeatable-read", "pessimistic")], ALL_TESTS)  # TiDB's own levels: fine
    check_coverage("tidb", tidb, [Level("repeatable-read"), Level("serializable")], ALL_TESTS)  # one level stated
    with pytest.raises(UsageError) as info:
        check_coverage("tidb", tidb, [Level("repeatable-read")], ALL_TESTS)
    assert info.value.message == (
        "Profile tidb states no cell of this run (repeatable-read; its levels: read-uncommitted, "
        "read-committed/pessimistic, read-committed/optimistic, repeatable-read/pessimistic, "
        "repeatable-read/optimistic, serializable); choose the profile for this server, or other levels.")
    with pytest.raises(UsageError):  # the level is stated, but none of the tests run
        check_coverage("x", {"serializable": {"G0": "prevented"}}, [Level("serializable")], [CATALOGUE["P4"]])


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
