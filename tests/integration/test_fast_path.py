"""The fast load path against the sandbox servers: point selects and SELECT 1 counted second by second, errors by
the server's code, connections killed by the server and dropped by the op-timeout watchdog reconnected, TLS, and the
connection handed back to the driver afterwards."""

from __future__ import annotations

import asyncio

import pytest

from test_rig.coordinator import Coordinator, FreeRunResult
from test_rig.db import Target, connect
from test_rig.environment import run_async
from test_rig.load.bench import TABLE, prepare_table
from test_rig.load.fast import FastStatement, run_statement
from test_rig.resilience import ResilientConnectionManager, RetryConfig, create_db_circuit_breaker_config
from test_rig.servers.sandbox import SandboxState


def target(state: SandboxState, **kw: object) -> Target:
    return Target("fast", state.host, state.port, "root", "", "test", 5, **kw)  # type: ignore[arg-type]


def manager() -> ResilientConnectionManager:
    # the breaker opens after three lost connections in a row; it tries again soon, as under a nemesis
    return ResilientConnectionManager(None, create_db_circuit_breaker_config(recovery_timeout=0.2),
                                      RetryConfig(max_attempts=1_000_000, base_delay=0.05, max_delay=0.5))


def run(t: Target, statement: FastStatement, *, duration: float, connections: int = 4,
        op_timeout: float | None = None, kill_at_second: int | None = None,
        check: str | None = None) -> tuple[FreeRunResult, list[object]]:
    """A fast run of `statement`; at the end of second `kill_at_second` another session kills every connection of
    the run. Returns the result and what `check` (a statement run on each connection afterwards) returned."""

    async def main() -> tuple[FreeRunResult, list[object]]:
        m = manager()
        if statement.values is not None:
            await prepare_table(t, 1000, m)
        coordinator = Coordinator([t] * connections)
        await coordinator.open(manager=m)
        kills: list[asyncio.Task[None]] = []

        async def kill_all() -> None:
            admin = await connect(t)
            try:
                for conn in list(coordinator.connections.values()):
                    await admin.execute(f"KILL CONNECTION {int(conn.thread_id or 0)}")
            finally:
                await admin.close()

        def on_second(second: int, _ops: int, _errors: int) -> None:
            if second == kill_at_second:
                kills.append(asyncio.ensure_future(kill_all()))

        try:
            result = await run_statement(coordinator, statement, duration=duration, manager=m, op_timeout=op_timeout,
                                         on_second=on_second if kill_at_second else None)
            await asyncio.gather(*kills)
            after = [await c.scalar(check) for c in coordinator.connections.values()] if check else []
            return result, after
        finally:
            await coordinator.close()

    return run_async(main)


def point_select() -> FastStatement:
    return FastStatement(f"SELECT c FROM {TABLE} WHERE id=%s", range(1, 1001))


@pytest.mark.parametrize("statement", [point_select(), FastStatement("SELECT 1")], ids=["point-select", "select-1"])
def test_statements_are_counted_second_by_second_and_the_driver_gets_its_connection_back(
        any_server: SandboxState, statement: FastStatement) -> None:
    result, after = run(target(any_server), statement, duration=2, check="SELECT 6*7")
    assert result.errors == 0 and result.errors_by_code == {}
    assert result.operations > 0 and result.complete
    assert [s["t"] for s in result.timeline] == [1, 2]
    assert sum(s["ops"] for s in result.timeline) == result.operations
    assert result.histogram.get_total_count() == result.operations
    assert all(0 < len(samples) <= 2048 for samples in result.second_samples)
    assert after == [42, 42, 42, 42]  # asyncmy reads its connections again after the run


def test_a_server_error_is_counted_by_its_code(sandbox: SandboxState) -> None:
    result, after = run(target(sandbox), FastStatement("SELECT * FROM no_such_table_here"), duration=1,
                        check="SELECT 1")
    assert result.operations == 0 and result.errors > 0
    assert result.errors_by_code == {"1146": result.errors}
    assert result.reconnects == 0 and result.breaker["state"] == "closed"
    assert after == [1, 1, 1, 1]


def test_connections_killed_by_the_server_are_reconnected(sandbox: SandboxState) -> None:
    result, _ = run(target(sandbox), FastStatement("SELECT 1"), duration=3, kill_at_second=1)
    assert result.reconnects == 4
    assert set(result.errors_by_code) <= {"1927", "2013"} and sum(result.errors_by_code.values()) == 4
    assert result.errors == 4
    assert result.timeline[-1]["ops"] > 0  # the load came back on the new connections


def test_the_op_timeout_watchdog_drops_a_statement_that_does_not_answer(sandbox: SandboxState) -> None:
    result, _ = run(target(sandbox), FastStatement("SELECT SLEEP(5)"), duration=1.5, op_timeout=0.4)
    assert result.operations == 0
    assert result.errors_by_code == {"2013": result.errors}
    assert result.reconnects >= 4  # every connection was dropped at least once inside the run and opened again
    assert result.reconnects <= result.errors <= result.reconnects + 4


def test_tls_connections_run_on_the_fast_path(tls_box: SandboxState) -> None:
    t = target(tls_box, ssl_mode="verify-identity", ssl_ca=tls_box.ssl_ca)
    result, ciphers = run(t, FastStatement("SELECT 1"), duration=1,
                          check="SELECT VARIABLE_VALUE FROM information_schema.SESSION_STATUS "
                                "WHERE VARIABLE_NAME = 'Ssl_cipher'")
    assert result.errors == 0 and result.operations > 0
    assert len(ciphers) == 4 and all(str(c).startswith("TLS_") for c in ciphers)


def test_a_run_of_a_number_of_operations_takes_the_ordinary_loop(sandbox: SandboxState) -> None:
    """run_free hands only timed runs to the fast path; a FastStatement is an ordinary workload otherwise."""

    async def main() -> FreeRunResult:
        m = manager()
        await prepare_table(target(sandbox), 1000, m)
        async with Coordinator([target(sandbox)] * 2) as coordinator:
            await coordinator.open(manager=m)
            return await coordinator.run_free(point_select(), operations=50, manager=m)

    result = run_async(main)
    assert (result.operations, result.errors) == (50, 0)
    assert result.histogram.get_total_count() == 50
