"""The OLTP whole-run loop (load.fast.run_transactions) against the MariaDB sandbox, where its statements fail for
real: deadlocks between its own connections on a tiny table, restarted as sysbench's --mysql-ignore-errors says,
and a write that waits on another session's row locks, dropped by the op-timeout watchdog and reconnected. Every
figure is checked against what the server itself counted (SHOW GLOBAL STATUS), not against a clock."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest

from test_rig.coordinator import Coordinator, FreeRunResult
from test_rig.db import Connection, Target, connect
from test_rig.environment import run_async
from test_rig.load.oltp import OltpOptions, OltpWorkload, prepare, summarize
from test_rig.resilience import ResilientConnectionManager, RetryConfig, create_db_circuit_breaker_config
from test_rig.servers.sandbox import SandboxState

VERBS = ("select", "update", "insert", "delete", "begin", "commit", "rollback")
#: Our statement types -> the server's counter of that statement.
COUNTER = {"point_select": "select", "simple_range": "select", "sum_range": "select", "order_range": "select",
           "distinct_range": "select", "index_update": "update", "non_index_update": "update", "delete": "delete",
           "insert": "insert", "begin": "begin", "commit": "commit", "rollback": "rollback"}
#: SELECTs a connection of ours sends as it opens (VERSION(), CONNECTION_ID()).
CONNECT_SELECTS = 2


def target(st: SandboxState, database: str | None) -> Target:
    return Target("oltp-fast", st.host, st.port, "root", "", database, 10)


def manager() -> ResilientConnectionManager:
    return ResilientConnectionManager(None, create_db_circuit_breaker_config(recovery_timeout=0.2),
                                      RetryConfig(max_attempts=1_000_000, base_delay=0.05, max_delay=0.5))


async def server_status(t: Target) -> dict[str, int]:
    """The server's statement counters (Com_<verb> as <verb>) and its count of deadlocks, read on a connection of
    its own (whose opening SELECTs are counted too: CONNECT_SELECTS)."""
    conn = await connect(t)
    try:
        rows = await conn.query("SHOW GLOBAL STATUS WHERE Variable_name IN ('Innodb_deadlocks', "
                                + ", ".join(f"'Com_{v}'" for v in VERBS) + ")")
    finally:
        await conn.close()
    return {(str(name)[4:] if str(name).startswith("Com_") else str(name)).lower(): int(value)
            for name, value in rows}


@pytest.fixture
def database(sandbox: SandboxState, request: pytest.FixtureRequest) -> Iterator[str]:
    """A database of this test's own on the sandbox, dropped afterwards."""
    name = "rig_" + request.node.name.replace("test_", "", 1)[:40]

    async def sql(statement: str) -> None:
        conn = await connect(target(sandbox, None), database=False)
        try:
            await conn.execute(statement)
        finally:
            await conn.close()

    asyncio.run(sql(f"DROP DATABASE IF EXISTS {name}"))
    asyncio.run(sql(f"CREATE DATABASE {name}"))
    yield name
    asyncio.run(sql(f"DROP DATABASE IF EXISTS {name}"))


def run(t: Target, opts: OltpOptions, *, connections: int, duration: float, op_timeout: float | None = None,
        hold_row_locks: bool = False) -> tuple[FreeRunResult, dict[str, Any], dict[str, int]]:
    """oltp_read_write on `connections` connections for `duration` seconds on the fast loop, after `prepare`.
    With `hold_row_locks`, another session holds every row of sbtest1 FOR UPDATE for the whole run. Returns the
    loop's result, the OLTP summary and what the server counted during the run (its counters before the run were
    read after the connections opened)."""

    async def main() -> tuple[FreeRunResult, dict[str, Any], dict[str, int]]:
        m = manager()
        await prepare(t, opts, manager=m)
        blocker: Connection | None = None
        if hold_row_locks:
            blocker = await connect(t)
            await blocker.execute("BEGIN")
            await blocker.query("SELECT id FROM sbtest1 FOR UPDATE")
        coordinator = Coordinator([t] * connections)
        await coordinator.open(manager=m)
        workload = OltpWorkload("oltp-read-write", opts)
        try:
            before = await server_status(t)
            result = await workload.run_free(coordinator, duration=duration, manager=m, op_timeout=op_timeout)
            after = await server_status(t)
        finally:
            await coordinator.close()
            if blocker is not None:
                await blocker.execute("ROLLBACK")
                await blocker.close()
        counted = {k: after[k] - before[k] for k in after}
        counted["select"] -= CONNECT_SELECTS  # the second reading's own connection
        summary = summarize("oltp-read-write", opts, workload.named_stats(), result.operations, result.errors,
                            result.seconds)
        return result, summary, counted

    return run_async(main)


def reported(summary: dict[str, Any]) -> dict[str, int]:
    """The statements the run says it sent, by server counter: those that succeeded and those that failed."""
    out = dict.fromkeys(VERBS, 0)
    for kind, s in summary["statements"].items():
        out[COUNTER[kind]] += s["count"] + s["errors"]
    return out


def test_deadlocks_restart_their_transaction_and_match_the_servers_count(sandbox: SandboxState,
                                                                         database: str) -> None:
    # ten rows, eight connections: their UPDATE/DELETE/INSERT of the same rows deadlock many times a second
    result, summary, counted = run(target(sandbox, database), OltpOptions(tables=1, table_size=10), connections=8,
                                   duration=2)
    deadlocks = counted["innodb_deadlocks"]
    assert deadlocks > 0, "the tiny table made no deadlock: the restarts were not exercised"
    # every deadlock was one statement's 1213, ignored (sysbench's default --mysql-ignore-errors): its transaction
    # rolled back and run again, none failed, no connection was lost
    assert summary["ignored_errors_by_code"] == {"1213": deadlocks}
    assert sum(s["errors"] for s in summary["statements"].values()) == deadlocks
    assert {code for s in summary["statements"].values() for code in s["errors_by_code"]} == {"1213"}
    assert (result.errors, result.errors_by_code, result.reconnects, result.indeterminate) == (0, {}, 0, 0)
    assert summary["failed_transactions"] == 0 and summary["transactions"] == result.operations > 0
    # the server saw exactly the statements the run reports: a ROLLBACK per deadlock, a BEGIN per attempt, a
    # COMMIT per transaction
    assert counted["rollback"] == summary["statements"]["rollback"]["count"] == deadlocks
    assert counted["begin"] == result.operations + deadlocks
    assert counted["commit"] == result.operations
    assert {v: counted[v] for v in VERBS} == reported(summary)


def test_the_watchdog_drops_a_write_that_waits_on_locks_and_reconnects(sandbox: SandboxState,
                                                                       database: str) -> None:
    # every row locked by another session: each transaction's reads answer, its first UPDATE waits, and the
    # op-timeout watchdog drops it; its connection is replaced and the next transaction waits the same way
    connections = 4
    result, summary, counted = run(target(sandbox, database), OltpOptions(tables=1, table_size=100),
                                   connections=connections, duration=2.5, op_timeout=0.8, hold_row_locks=True)
    dropped = result.errors
    assert result.operations == 0 and summary["transactions"] == 0
    assert dropped >= connections  # every connection was dropped at least once inside the run
    # a dropped UPDATE may have been applied: its outcome is unknown, and it is a lost connection (2013)
    assert result.errors_by_code == {"2013": dropped} and result.indeterminate == dropped
    assert dropped - connections <= result.reconnects <= dropped
    statements = summary["statements"]
    assert {kind: (s["count"], s["errors_by_code"]) for kind, s in statements.items()} == {
        "begin": (dropped, {}), "point_select": (10 * dropped, {}), "simple_range": (dropped, {}),
        "sum_range": (dropped, {}), "order_range": (dropped, {}), "distinct_range": (dropped, {}),
        "index_update": (0, {"2013": dropped})}
    assert summary["ignored_errors"] == 0 and summary["failed_transactions"] == dropped
    # the server received each dropped transaction's BEGIN and UPDATE, and nothing after it (no ROLLBACK on a
    # connection given up, no COMMIT)
    assert (counted["begin"], counted["update"], counted["commit"], counted["rollback"]) == (dropped, dropped, 0, 0)
    assert (counted["insert"], counted["delete"]) == (0, 0)
