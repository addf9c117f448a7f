"""The pytest plugin as a user meets it: the example suite copied outside the project, run with plain pytest
and with xdist, against a sandbox the plugin starts itself; a broken copy that fails with the interleaving to
replay; markers that skip with a reason; async tests under anyio and under a loop of the test's own."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

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
