"""The pytest plugin as a user meets it: the example suite copied outside the project, run with plain pytest
and with xdist, against a sandbox the plugin starts itself; a broken copy that fails with the interleaving to
replay; markers that skip with a reason; async tests under anyio and under a loop of the test's own."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]


def pytest_in(directory: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TIDB_", "PYTEST_"))}
    return subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", *args], cwd=directory,
                          capture_output=True, text=True, timeout=300, env=env, stdin=subprocess.DEVNULL)


def copy_examples(tmp_path: Path) -> Path:
    suite = tmp_path / "users-suite"
    shutil.copytree(ROOT / "examples" / "pytest", suite)
    return suite


def test_the_example_suite_passes_against_a_sandbox_it_starts(tmp_path: Path) -> None:
    suite = copy_examples(tmp_path)
    r = pytest_in(suite)
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout.strip().splitlines()[-1].startswith("4 passed")


def test_the_example_suite_passes_under_xdist(tmp_path: Path) -> None:
    suite = copy_examples(tmp_path)
    r = pytest_in(suite, "-n", "2")
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout.strip().splitlines()[-1].startswith("4 passed")


def test_a_broken_copy_fails_with_the_script_to_replay(tmp_path: Path) -> None:
    suite = copy_examples(tmp_path)
    test = suite / "test_lost_update.py"
    test.write_text(test.read_text().replace('assert not (committed(steps, "T1") and committed(steps, "T2"))',
                                             'assert committed(steps, "T1") and committed(steps, "T2")'))
    r = pytest_in(suite, "test_lost_update.py")
    assert r.returncode == 1
    out = r.stdout
    assert "1 failed, 1 passed" in out
    assert "test-rig: the interleaving, to replay" in out
    assert "SET SESSION TRANSACTION ISOLATION LEVEL SERIALIZABLE;" in out
    assert "UPDATE counter SET value = 11 WHERE id = 1;                -- #6 ERROR 1213: Deadlock found" in out
    assert "COMMIT;                                                    -- #8 skipped (its transaction was already " \
           "aborted)" in out


def test_markers_skip_with_a_reason_and_async_tests_work(tmp_path: Path) -> None:
    suite = tmp_path / "markers"
    suite.mkdir()
    (suite / "test_markers.py").write_text(textwrap.dedent('''
        import asyncio

        import pytest


        @pytest.mark.rig_server("tidb")
        def test_only_on_tidb(rig_connection):
            raise AssertionError("must not run on MariaDB")


        @pytest.mark.rig_server_min_version("99.0")
        def test_only_on_a_future_version(rig_connection):
            raise AssertionError("must not run")


        @pytest.mark.rig_session_vars(sql_mode="ANSI_QUOTES")
        @pytest.mark.rig_isolation("serializable")
        def test_markers_apply_to_the_connection(rig_connection, rig_server):
            assert rig_connection.scalar("SELECT @@sql_mode") == "ANSI_QUOTES"
            assert rig_connection.scalar("SELECT @@tx_isolation") == "SERIALIZABLE"
            assert rig_server.kind == "mariadb" and "serializable" in rig_server.capabilities["isolation_levels"]


        def test_a_loop_of_the_tests_own(rig_connection):
            async def main():
                return await rig_connection.aquery("SELECT 1 + 1")
            assert asyncio.run(main()) == [(2,)]


        @pytest.mark.anyio
        async def test_under_anyio(rig_connection):
            assert await rig_connection.ascalar("SELECT DATABASE()") == rig_connection.scalar("SELECT DATABASE()")


        @pytest.fixture
        def anyio_backend():
            return "asyncio"
    '''))
    r = pytest_in(suite, "-rs")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "3 passed, 2 skipped" in r.stdout
    assert "needs a tidb server; this one is mariadb 10.11" in r.stdout
    assert "needs mariadb 99.0 or newer; this one is 10.11" in r.stdout


HUNT_SUITE = '''
from dataclasses import dataclass

from test_rig.hunt import ast as A
from test_rig.hunt import render as R
from test_rig.hunt.compare import compare
from test_rig.hunt.oracles import Check, Mismatch

REGRESSIONS = {regressions!r}


def test_a_bounded_hunt_finds_no_new_bug(rig_hunt):
    run = rig_hunt(queries=300, seed=2, known=REGRESSIONS)
    assert sum(run.stats.checked.values()) >= 300 and run.new_findings == [] and run.dropped


@dataclass(frozen=True)
class Planted:
    """A planted comparison, as the hunt's own tests plant one: a query and the same query WHERE p 'must agree',
    which the real server contradicts as soon as p filters a row."""

    name: str = "planted"

    def derive(self, case, dialect, turn=0):
        q = case.base
        return Check(self.name, (R.select(q), R.select(A.Select(q.items, q.source, q.joins, where=case.predicate))),
                     ("the query", "the query WHERE p"))

    def judge(self, check, results):
        diff = compare(results[0], results[1])
        return Mismatch(self.name, 0, 1, diff) if diff is not None else None


def test_a_hunt_that_finds_a_bug_fails_with_its_reduced_sql(rig_hunt):
    rig_hunt(queries=30, seed=3, oracles=["planted"], extra_oracles={{"planted": Planted()}}, reduce_seconds=20)
'''


def test_a_bounded_hunt_runs_as_a_test_and_fails_with_the_reduced_sql(tmp_path: Path, sandbox: Any) -> None:
    suite = tmp_path / "hunt-suite"
    suite.mkdir()
    regressions = sorted(str(p) for p in (ROOT / "tests" / "regressions" / "hunt").glob("*.sql"))
    (suite / "test_hunt_as_a_test.py").write_text(HUNT_SUITE.format(regressions=regressions))
    r = pytest_in(suite, "--rig-host", f"{sandbox.host}:{sandbox.port}", "--rig-user", "root")
    assert r.returncode == 1, r.stdout + r.stderr
    out = r.stdout
    assert "1 failed, 1 passed" in out
    summary = out.split("short test summary")[1]
    assert "test_a_hunt_that_finds_a_bug_fails_with_its_reduced_sql" in summary
    assert "test_a_bounded_hunt_finds_no_new_bug" not in summary
    found = re.search(r"test-rig hunt found (\d+) new bug\(s\) in 30 checked queries \(seed 3\); each reduced "
                      r"case runs on a fresh database:", out)
    assert found is not None, out
    bugs = int(found.group(1))
    # counted in the failure's report only: with CI set, pytest repeats the whole message in its short summary
    report = out.split("short test summary")[0]
    assert bugs >= 1 and report.count("-- test-rig hunt: wrong-result found by the planted oracle on mariadb") == bugs
    assert report.count("-- the query WHERE p returned ") == bugs and report.count("\nCREATE TABLE t") >= bugs


FLOW_SUITE = '''
import dataclasses

import pytest

STATES = ["Initial", "ParsingConfig", "Connecting", "TestingConnection", "VerifyingDatabase", "GettingVersion",
          "Completed"]


def test_rig_basic_returns_the_basic_commands_result(rig_basic):
    result = rig_basic()
    assert (result.command, result.ok, result.complete, result.error) == ("basic", True, True, None)
    assert result.server["kind"] == "mariadb" and result.payload["hint"] is None
    assert [s["state"] for s in result.payload["states"]] == STATES
    assert str(result.verdict.outcome) == "passed" and result.verdict.exit_status == 0


def test_rig_multi_connection_returns_the_commands_result(rig_multi_connection):
    result = rig_multi_connection(3)
    assert (result.command, result.ok, result.payload["failed"], result.payload["undecided"]) == (
        "multi-connection", True, 0, 0)
    assert [c["name"] for c in result.payload["connections"]] == ["conn-1", "conn-2", "conn-3"]
    assert all(c["ok"] for c in result.payload["connections"])
    assert result.payload["events"][-1]["kind"] == "TestCompleted"


def test_rig_bench_returns_the_bench_commands_result(rig_bench):
    result = rig_bench("point-select", connections=2, duration=1.0, table_size=200)
    assert (result.command, result.ok, result.complete, result.error) == ("bench point-select", True, True, None)
    assert result.payload["operations"] > 0 and result.payload["errors"] == 0
    assert str(result.verdict.outcome) == "passed"
'''

FLOW_FAILS = '''
import dataclasses

import pytest


@pytest.fixture
def rig_target(rig_target):
    return dataclasses.replace(rig_target, database="rig_no_such_db")


def test_rig_basic_fails_with_the_clis_hint(rig_basic):
    result = rig_basic()
    assert (result.ok, result.complete, result.payload["states"][-1]["state"]) == (False, True, "Error")
    assert result.payload["hint"] == "Unknown database rig_no_such_db: check -d/--database or create it first."
    assert str(result.verdict.outcome) == "failed" and result.verdict.exit_status == 1
'''


def test_the_flow_fixtures_return_what_the_commands_render(tmp_path: Path, sandbox: Any) -> None:
    suite = tmp_path / "flow-suite"
    suite.mkdir()
    (suite / "test_flows.py").write_text(FLOW_SUITE)
    (suite / "test_flow_fails.py").write_text(FLOW_FAILS)
    r = pytest_in(suite, "--rig-host", f"{sandbox.host}:{sandbox.port}", "--rig-user", "root")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "4 passed" in r.stdout
