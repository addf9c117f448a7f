"""The coordinator against MariaDB: scripted interleavings (lost update), free-running load, commands."""

from __future__ import annotations

import asyncio
import json
import signal
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from test_rig.coordinator import Coordinator, Step, Worker
from test_rig.db import Connection, Target, connect
from test_rig.errors import QueryError
from test_rig.servers.sandbox import SandboxState
from tests.helpers import RunningCli, run_cli


def target(sandbox: SandboxState) -> Target:
    return Target("t", sandbox.host, sandbox.port, "root", "", "test", 10)


def run(fn: Callable[[], Awaitable[Any]]) -> Any:
    return asyncio.run(fn())


async def _with_table(sandbox: SandboxState, body: Callable[[str], Awaitable[Any]]) -> Any:
    table = f"lu_{uuid.uuid4().hex[:8]}"
    admin = await connect(target(sandbox))
    await admin.execute(f"CREATE TABLE {table} (id INT PRIMARY KEY, value INT)")
    await admin.execute(f"INSERT INTO {table} VALUES (1, 10), (2, 20)")
    try:
        return await body(table), await admin.query(f"SELECT id, value FROM {table} ORDER BY id")
    finally:
        await admin.execute(f"DROP TABLE {table}")
        await admin.close()


def lost_update(sandbox: SandboxState, level: str) -> tuple[Any, Any]:
    async def body(table: str) -> Any:
        co = Coordinator([target(sandbox)] * 2, names=["T1", "T2"], block_window=0.3)
        await co.open(prepare=lambda c: c.set_isolation(level))
        try:
            return await co.run_script([
                Step("T1", "BEGIN"), Step("T2", "BEGIN"),
                Step("T1", f"SELECT value FROM {table} WHERE id = 1"),
                Step("T2", f"SELECT value FROM {table} WHERE id = 1"),
                Step("T1", f"UPDATE {table} SET value = 11 WHERE id = 1"),
                Step("T2", f"UPDATE {table} SET value = 12 WHERE id = 1"),
                Step("T1", "COMMIT"), Step("T2", "COMMIT"),
            ])
        finally:
            await co.close()

    return run(lambda: _with_table(sandbox, body))


def test_lost_update_interleaving_under_repeatable_read(sandbox: SandboxState) -> None:
    result, final = lost_update(sandbox, "repeatable-read")
    steps = result.steps
    assert [s.rows for s in steps[2:4]] == [[[10]], [[10]]]
    assert [s.blocked for s in steps] == [False, False, False, False, False, True, False, False]
    assert all(s.error is None and not s.skipped for s in steps)
    # T2's update completes only after T1's commit was sent and released the row lock. Which of the two answers
    # the client reads first is the server's race (InnoDB releases the lock before the COMMIT's OK is written;
    # seen both ways under load), so the evidence is the time: the update ended after the COMMIT started.
    order = result.completion_order()
    assert (order[:5], sorted(order[5:7]), order[7:]) == ([0, 1, 2, 3, 4], [5, 6], [7])
    assert steps[5].ended is not None and steps[6].started is not None and steps[5].ended > steps[6].started
    assert final == [(1, 12), (2, 20)]  # T1's update was lost


def test_lost_update_under_serializable_is_a_deadlock(sandbox: SandboxState) -> None:
    result, final = lost_update(sandbox, "serializable")
    steps = result.steps
    assert steps[4].blocked is True and steps[4].error is None
    assert steps[5].error_code == 1213
    assert steps[6].error is None and not steps[6].skipped
    assert steps[7].skipped is True and steps[7].completed_order is None
    assert final == [(1, 11), (2, 20)]


def test_a_released_step_finishes_before_the_next_step_is_sent(sandbox: SandboxState) -> None:
    """T2's update waits for T1's lock; T1's COMMIT releases it, and the update then takes 0.6 s more. T3's read,
    the next step, is sent only after the update returned (the server said it no longer waited for a lock), so at
    read-uncommitted it sees 12, as in Hermitage; before, it raced the update and read 11."""
    async def body(table: str) -> Any:
        co = Coordinator([target(sandbox)] * 3, names=["T1", "T2", "T3"], block_window=0.2)
        await co.open(prepare=lambda c: c.set_isolation("read-uncommitted"))
        try:
            return await co.run_script([
                Step("T1", "BEGIN"), Step("T2", "BEGIN"), Step("T3", "BEGIN"),
                Step("T1", f"UPDATE {table} SET value = 11 WHERE id = 1"),
                Step("T2", f"UPDATE {table} SET value = 12 + 0 * SLEEP(0.6) WHERE id = 1"),
                Step("T1", "COMMIT"),
                Step("T3", f"SELECT value FROM {table} WHERE id = 1"),
                Step("T2", "COMMIT"), Step("T3", "COMMIT"),
            ])
        finally:
            await co.close()

    result, final = run(lambda: _with_table(sandbox, body))
    steps = result.steps
    assert steps[4].blocked is True and steps[4].error is None
    assert steps[6].rows == [[12]]
    assert steps[4].ended is not None and steps[6].started is not None and steps[4].ended <= steps[6].started
    assert result.completion_order() == [0, 1, 2, 3, 5, 4, 6, 7, 8]
    assert final == [(1, 12), (2, 20)]


def test_script_timeout_never_hangs(sandbox: SandboxState) -> None:
    async def body(table: str) -> Any:
        co = Coordinator([target(sandbox)] * 2, names=["T1", "T2"], block_window=0.05)
        await co.open(prepare=lambda c: c.execute("SET SESSION innodb_lock_wait_timeout = 50"))
        try:
            return await co.run_script([
                Step("T1", "BEGIN"), Step("T1", f"UPDATE {table} SET value = 1 WHERE id = 1"),
                Step("T2", "BEGIN"), Step("T2", f"UPDATE {table} SET value = 2 WHERE id = 1"),
                Step("T2", "COMMIT"),
            ], timeout=1.0)
        finally:
            await co.close()

    result, _ = run(lambda: _with_table(sandbox, body))
    assert result.timed_out is True
    assert result.steps[3].blocked is True
    assert result.steps[3].error == "still blocked when the script timed out"
    assert result.steps[4].skipped is True


def test_callable_steps_and_error_skips_rest_of_transaction(sandbox: SandboxState) -> None:
    async def read(conn: Connection) -> Any:
        return await conn.query("SELECT 41 + 1")

    async def body(table: str) -> Any:
        co = Coordinator([target(sandbox)], names=["T1"])
        await co.open()
        try:
            return await co.run_script([
                Step("T1", action=read, label="read the answer"), Step("T1", "BEGIN"),
                Step("T1", "SELECT * FROM no_such_table_here"), Step("T1", "SELECT 1"), Step("T1", "COMMIT"),
                Step("T1", "BEGIN"), Step("T1", "SELECT 2"), Step("T1", "COMMIT"),
            ])
        finally:
            await co.close()

    result, _ = run(lambda: _with_table(sandbox, body))
    s = result.steps
    assert (s[0].sql, s[0].rows) == ("read the answer", [[42]])
    assert s[2].error_code == 1146
    assert [x.skipped for x in s[3:5]] == [True, True]
    assert s[6].rows == [[2]] and not s[6].skipped  # a new transaction runs again


def test_free_running_counts_operations_errors_and_latency(sandbox: SandboxState) -> None:
    async def body() -> Any:
        co = Coordinator([target(sandbox)] * 4)
        await co.open()

        calls = iter(range(1, 10_000))

        async def op(conn: Connection, worker: Worker) -> None:
            if next(calls) % 10 == 0:
                await conn.execute("SELEC 1")  # every tenth call, over all workers, is a syntax error
            else:
                await conn.fetch("SELECT 1")

        try:
            return await co.run_free(op, operations=400)
        finally:
            await co.close()

    result = run(body)
    assert result.operations + result.errors == 400
    assert result.errors == 40
    assert result.errors_by_code == {"1064": 40}
    assert result.histogram.get_total_count() == 360
    data = result.to_dict()
    assert 0 < data["p50_ms"] <= data["p95_ms"] <= data["p99_ms"] <= data["max_ms"]
    assert sum(t["ops"] for t in data["timeline"]) == 360


def test_free_running_with_a_handler(sandbox: SandboxState) -> None:
    from test_rig.coordinator import handler_workload
    from test_rig.machine import State, StateContext, StateHandler

    class Counter(StateHandler):
        """A plain (thread-run) handler: every fifth operation fails its check."""

        def __init__(self) -> None:
            self.calls = 0

        def execute(self, ctx: StateContext) -> State:
            self.calls += 1
            assert ctx.connection is not None
            value = ctx.connection.execute_query(f"SELECT {self.calls}")[0][0]
            return State.error(f"call {value} failed its check") if value % 5 == 0 else State.COMPLETED

    async def body() -> Any:
        co = Coordinator([target(sandbox)])
        await co.open()
        try:
            return await co.run_free(handler_workload(Counter), operations=100)
        finally:
            await co.close()

    result = run(body)
    assert (result.operations, result.errors) == (80, 20)
    assert result.errors_by_code == {"HandlerFailed": 20}


def test_coordinator_events_and_readiness(sandbox: SandboxState) -> None:
    async def body() -> Any:
        bad = Target("bad", "127.0.0.1", 1, "root", "", "test", 2)
        co = Coordinator([target(sandbox), bad, target(sandbox)], names=["a", "b", "c"])
        failures = await co.open()
        await co.close()
        return co, failures

    co, failures = run(body)
    assert set(failures) == {"b"}
    assert sorted(co.events.kinds()) == ["AllConnectionsReady", "ConnectionEstablished", "ConnectionEstablished",
                                         "ConnectionFailed"]
    assert co.events.kinds()[-1] == "AllConnectionsReady"


def test_simple_multi_connection_five(server_env: dict[str, str], tmp_path: Path) -> None:
    r = run_cli("simple-multi-connection", "--connection-count", "5", "--no-password-prompt", "--json",
                str(tmp_path / "o.json"), env=server_env)
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout.count(" ok ") == 5
    assert "5 of 5 connections succeeded, 0 failed" in r.stdout
    data = json.loads((tmp_path / "o.json").read_text())
    assert [c["ok"] for c in data["connections"]] == [True] * 5


def test_simple_multi_connection_with_one_closed_port(sandbox: SandboxState, server_env: dict[str, str],
                                                      tmp_path: Path) -> None:
    cfg = tmp_path / "multi.toml"
    good = f"127.0.0.1:{sandbox.port}"
    cfg.write_text(f'''[database]
timeout_secs = 2

[[connections]]
name = "primary"
host = "{good}"

[[connections]]
name = "secondary"
host = "{good}"

[[connections]]
name = "backup"
host = "127.0.0.1:1"

[[connections]]
name = "replica-a"
host = "{good}"

[[connections]]
name = "replica-b"
host = "{good}"
''')
    r = run_cli("simple-multi-connection", "-c", str(cfg), "--connection-count", "5", "--no-password-prompt",
                env=server_env)
    assert r.returncode == 1
    assert "4 of 5 connections succeeded, 1 failed" in r.stdout
    backup = next(line for line in r.stdout.splitlines() if "backup" in line)
    assert "FAILED" in backup and "127.0.0.1:1" in backup and "Can't connect" in backup
    assert "Traceback" not in r.stderr


def test_multi_connection_prints_events_and_shared_state(server_env: dict[str, str], tmp_path: Path) -> None:
    r = run_cli("multi-connection", "--connection-count", "3", "--no-password-prompt", "--json",
                str(tmp_path / "m.json"), env=server_env)
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout.count("ConnectionEstablished{id: conn-") == 3
    assert "AllConnectionsReady 3 connected, 0 failed" in r.stdout
    assert "TestCompleted 3 passed, 0 failed" in r.stdout
    assert "final shared state:" in r.stdout
    data = json.loads((tmp_path / "m.json").read_text())
    assert [e["kind"] for e in data["events"]][-2:] == ["AllConnectionsReady", "TestCompleted"]
    assert set(data["shared_state"]["connections"]) == {"conn-1", "conn-2", "conn-3"}


def test_bench_point_select_json(server_env: dict[str, str], tmp_path: Path) -> None:
    out = tmp_path / "b.json"
    r = run_cli("bench", "point-select", "--connections", "4", "--duration", "2", "--table-size", "500",
                "--no-password-prompt", "--json", str(out), env=server_env)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "   1 s: " in r.stdout and "   2 s: " in r.stdout
    data = json.loads(out.read_text())
    for key in ("qps", "p50_ms", "p95_ms", "p99_ms", "errors", "timeline"):
        assert key in data
    assert data["errors"] == 0
    assert [t["t"] for t in data["timeline"]] == [1, 2]
    assert all(t["ops"] > 0 for t in data["timeline"])
    assert data["qps"] > 0


def test_bench_on_a_missing_database_says_so(server_env: dict[str, str], tmp_path: Path) -> None:
    out = tmp_path / "b.json"
    r = run_cli("bench", "point-select", "--duration", "1", "-d", "no_such_bench_db", "--no-password-prompt",
                "--json", str(out), env=server_env)
    assert r.returncode == 1
    port = server_env["TIDB_HOST"]
    assert r.stderr == (f"error: Unknown database no_such_bench_db on {port}; create it first (CREATE DATABASE "
                        "`no_such_bench_db`) or choose another with -d/--database.\n")
    data = json.loads(out.read_text())
    assert data == {"command": "bench point-select", "ok": False, "complete": False, "error": data["error"],
                    "outcome": "failed", "reason": data["error"]} \
        and data["error"].startswith("Unknown database no_such_bench_db")


def test_query_error_type(sandbox: SandboxState) -> None:
    async def body() -> None:
        conn = await connect(target(sandbox))
        try:
            await conn.execute("SELEC 1")
        finally:
            await conn.close()

    with pytest.raises(QueryError) as info:
        run(body)
    assert info.value.code == 1064


def test_bench_interrupted_keeps_partial_figures(server_env: dict[str, str], tmp_path: Path) -> None:
    out, junit = tmp_path / "b.json", tmp_path / "b.xml"
    run = RunningCli("bench", "point-select", "--connections", "2", "--duration", "30", "--table-size", "200",
                     "--no-password-prompt", "--json", str(out), "--junit", str(junit), env=server_env)
    run.wait_for("load started: 2 of 2 connections")
    run.wait_for("   1 s: ")
    run.proc.send_signal(signal.SIGINT)
    assert run.finish() == 130, run.output()
    assert "Traceback" not in run.output()
    data = json.loads(out.read_text())
    assert data["complete"] is False and data["ok"] is False
    assert data["error"] == "interrupted by SIGINT"
    assert data["operations"] > 0
    assert sum(t["ops"] for t in data["timeline"]) == data["operations"]
    assert len(data["timeline"]) < 30
    assert '<error message="the run did not finish: interrupted by SIGINT">' in junit.read_text()
