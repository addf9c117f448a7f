"""`test-rig elle` against the sandbox MariaDB: what each isolation level allows, seen through random
workloads and the history checker; a server crash in the middle; Ctrl-C; `check` of a saved history."""

from __future__ import annotations

import asyncio
import json
import signal
from pathlib import Path
from typing import Any

import pytest

from test_rig.servers.sandbox import Sandbox, SandboxState
from tests.helpers import RunningCli, elle_schemas, env_for, run_cli
from tests.integration.test_report_any import PASSED, rerendered

FORBIDDEN_FROM_READ_COMMITTED = {"G0", "G1a", "G1b", "G1c", "dirty-update", "incompatible-order",
                                 "duplicate-elements", "garbage-read"}


def elle(st: SandboxState, tmp_path: Path, *args: str, name: str = "e") -> dict[str, Any]:
    out = tmp_path / f"{name}.json"
    r = run_cli("elle", *args, "--json", str(out), "--no-password-prompt", env=env_for(st), timeout=180)
    data: dict[str, Any] = json.loads(out.read_text())
    # One rule for elle and check: exit 0 only when the history is valid under the model, else 1.
    assert r.returncode == (0 if data["valid"] is True else 1), r.stdout + r.stderr
    assert data["ok"] is (data["valid"] is True)
    assert data["stats"]["ok"] > 100  # the run really did work
    return data


@pytest.mark.parametrize("seed", ["1", "2"])
def test_serializable_list_append_shows_no_anomaly(sandbox: SandboxState, tmp_path: Path, seed: str) -> None:
    data = elle(sandbox, tmp_path, "list-append", "--connections", "4", "--duration", "3", "--keys", "3",
                "--isolation-level", "serializable", "--seed", seed, "--expect-valid")
    assert data["valid"] is True and data["anomaly_types"] == []
    assert data["stats"]["fail"] > 0  # contention was real: the server aborted some (deadlocks)
    assert rerendered(tmp_path / "e.json") == PASSED


@pytest.mark.parametrize("level", ["repeatable-read", "read-committed"])
def test_weaker_levels_show_what_they_allow_and_nothing_they_forbid(sandbox: SandboxState, tmp_path: Path,
                                                                    level: str) -> None:
    data = elle(sandbox, tmp_path, "list-append", "--connections", "4", "--duration", "4", "--keys", "3",
                "--isolation-level", level, name=level)
    found = set(data["anomaly_types"])
    assert found & {"G-single-item", "G2-item"}, found
    assert not found & FORBIDDEN_FROM_READ_COMMITTED, found
    assert data["valid"] is (level == "read-committed" and found <= {"G-single-item", "G2-item",
                                                                      "G-nonadjacent-item", "lost-update",
                                                                      "internal"})


def test_snapshot_isolation_leaves_only_write_skew(sandbox: SandboxState, tmp_path: Path) -> None:
    data = elle(sandbox, tmp_path, "list-append", "--connections", "4", "--duration", "4", "--keys", "3",
                "--isolation-level", "repeatable-read", "--session-var", "innodb_snapshot_isolation=ON",
                "--consistency-model", "snapshot-isolation")
    assert data["anomaly_types"] == ["G2-item"]
    assert data["valid"] is True  # snapshot isolation allows write skew
    assert data["not"] == ["repeatable-read"]
    assert "1020" in data["errors_by_code"]
    assert data["error_messages"]["1020"].startswith("Record has changed since last read in table ")


@pytest.mark.parametrize(("level", "extra", "keeps_total"), [
    ("serializable", [], True), ("repeatable-read", ["--session-var", "innodb_snapshot_isolation=ON"], True),
    ("repeatable-read", [], False), ("read-committed", [], False)])
def test_bank_keeps_its_total_only_where_lost_updates_are_prevented(sandbox: SandboxState, tmp_path: Path,
                                                                   level: str, extra: list[str],
                                                                   keeps_total: bool) -> None:
    data = elle(sandbox, tmp_path, "bank", "--connections", "4", "--duration", "3", "--isolation-level", level,
                *extra, name=f"bank-{level}")
    assert ("wrong-total" not in data["anomaly_types"]) is keeps_total
    if not keeps_total:
        assert data["anomalies"]["wrong-total"][0]["explanation"].endswith("not 100: money was created or lost")


def test_a_saved_history_checks_the_same(sandbox: SandboxState, tmp_path: Path) -> None:
    history = tmp_path / "h.jsonl"
    data = elle(sandbox, tmp_path, "list-append", "--connections", "3", "--duration", "2", "--keys", "3",
                "--isolation-level", "repeatable-read", "--history", str(history))
    out = tmp_path / "again.json"
    r = run_cli("check", str(history), "--workload", "list-append", "--consistency-model", "repeatable-read",
                "--json", str(out))
    again = json.loads(out.read_text())
    assert r.returncode == (0 if again["valid"] is True else 1)
    assert (again["anomaly_types"], again["stats"], again["valid"]) == (data["anomaly_types"], data["stats"],
                                                                       data["valid"])


def test_check_refuses_a_malformed_history(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"index": 0, "process": 1, "type": "invoke", "f": "txn", "value": [], "time": 1}\nnot json\n')
    r = run_cli("check", str(bad), "--workload", "list-append")
    assert r.returncode == 2
    assert r.stderr.startswith(f"error: {bad} line 2 is not a history operation")


@pytest.mark.faults
def test_a_crash_in_the_middle_gives_info_operations_and_no_false_anomaly(own_box: Sandbox, tmp_path: Path) -> None:
    st = own_box.state()
    assert st is not None
    out = tmp_path / "crash.json"
    run = RunningCli("elle", "list-append", "--connections", "4", "--duration", "14", "--keys", "3",
                     "--isolation-level", "serializable", "--json", str(out), "--no-password-prompt", env=env_for(st))
    run.wait_for("   2 s: ")
    # Hold every commit at the server (MariaDB's BACKUP STAGE BLOCK_COMMIT lets writes go on but makes
    # COMMIT wait), wait until a COMMIT is seen waiting, and crash the server then: that COMMIT's outcome
    # is unknown to its client.
    asyncio.run(_hold_commits_until_one_waits(st))
    own_box.kill()
    run.wait_for(f"circuit 127.0.0.1:{st.port}: closed -> open")  # the workers have seen the outage
    own_box.restart()  # waits for the killed server's port to be free
    assert run.finish(timeout=120) == 0, run.output()
    assert "Traceback" not in run.output()
    data = json.loads(out.read_text())
    assert data["stats"]["info"] >= 1  # COMMITs whose answer was lost with the server
    assert data["valid"] is True and data["anomaly_types"] == []


async def _hold_commits_until_one_waits(st: SandboxState) -> None:
    from test_rig.db import Target, connect

    admin = await connect(Target("t", st.host, st.port, "root", "", None, 5))
    await admin.execute("BACKUP STAGE START")
    await admin.execute("BACKUP STAGE BLOCK_COMMIT")
    for _ in range(2000):
        waiting = await admin.scalar("SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE INFO = 'COMMIT' "
                                     "AND STATE LIKE 'Waiting for%'")
        if waiting:
            return  # the admin connection dies with the server, lock and all
        await asyncio.sleep(0.005)  # a poll interval while waiting for the event
    raise AssertionError("no COMMIT ever waited for the lock")


def test_ctrl_c_keeps_the_history_and_drops_the_schema(sandbox: SandboxState, tmp_path: Path) -> None:

    history, out = tmp_path / "h.jsonl", tmp_path / "i.json"
    run = RunningCli("elle", "list-append", "--duration", "60", "--history", str(history), "--json", str(out),
                     "--no-password-prompt", env=env_for(sandbox))
    run.wait_for("   1 s: ")
    run.proc.send_signal(signal.SIGINT)
    assert run.finish() == 130
    data = json.loads(out.read_text())
    assert data["complete"] is False and data["error"] == "interrupted by SIGINT"
    assert data["stats"]["ok"] > 0 and data["valid"] in (True, False, "unknown")
    lines = history.read_text().splitlines()
    assert len(lines) >= 2 * data["stats"]["ok"]
    assert elle_schemas(sandbox) == []


@pytest.mark.tidb
def test_tidb_optimistic_repeatable_read_is_snapshot_isolation_and_pessimistic_is_not(tidb: SandboxState,
                                                                                     tmp_path: Path) -> None:
    optimistic = elle(tidb, tmp_path, "list-append", "--connections", "4", "--duration", "4", "--keys", "3",
                      "--isolation-level", "repeatable-read", "--txn-mode", "optimistic", "--consistency-model",
                      "snapshot-isolation", name="optimistic")
    assert set(optimistic["anomaly_types"]) <= {"G2-item"}
    assert optimistic["valid"] is True
    assert "9007" in optimistic["errors_by_code"]  # first committer wins
    assert optimistic["error_messages"]["9007"].startswith("Write conflict")
    pessimistic = elle(tidb, tmp_path, "list-append", "--connections", "4", "--duration", "4", "--keys", "3",
                       "--isolation-level", "repeatable-read", "--txn-mode", "pessimistic", "--consistency-model",
                       "snapshot-isolation", name="pessimistic")
    found = set(pessimistic["anomaly_types"])
    assert found & {"lost-update", "internal", "G-single-item"}, found  # DML reads the latest version, not the snapshot
    assert not found & FORBIDDEN_FROM_READ_COMMITTED
    assert pessimistic["valid"] is False


@pytest.mark.tidb
def test_a_run_that_fails_with_an_error_ends_stdout_with_its_verdict(tidb: SandboxState, tmp_path: Path) -> None:
    """TiDB refuses SERIALIZABLE (elle's default level) once the run began: the error's sentence on stderr, exit 1,
    and stdout ends with the verdict the report holds, as every run's does (it ended with the opening line)."""
    out = tmp_path / "e.json"
    r = run_cli("elle", "list-append", "--duration", "1", "--json", str(out), "--no-password-prompt",
                env=env_for(tidb))
    said = ("The isolation level 'SERIALIZABLE' is not supported. Set tidb_skip_isolation_level_check=1 to skip this "
            "error")
    assert (r.returncode, r.stderr) == (1, f"error: {said}\n")
    assert r.stdout.splitlines()[-1] == f"FAILED: {said}"
    data = json.loads(out.read_text())
    assert (data["outcome"], data["reason"], data["ok"]) == ("failed", said, False)
    assert elle_schemas(tidb) == []
