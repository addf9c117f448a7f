"""Resilience against real faults: a private MariaDB is SIGKILLed and restarted, connections are KILLed.

These tests start and kill their own sandbox, never the shared one.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from test_rig.db import Connection, ConnectionPool, Target, connect
from test_rig.errors import AuthenticationError, ErrorCategory, QueryError, RetryExhaustedError, classify_error
from test_rig.resilience import (
    CircuitBreakerConfig,
    ResilientConnectionManager,
    RetryConfig,
    create_db_circuit_breaker_config,
)
from test_rig.servers.sandbox import Sandbox, SandboxState
from tests.helpers import RunningCli, browse

pytestmark = pytest.mark.faults


@pytest.fixture(params=["mariadb", "tidb"])
def own_server(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Sandbox]:
    """A private server of each kind, for a test that kills it and restarts it on the same data."""
    box = Sandbox(tmp_path / f"own-{request.param}", server=request.param)
    box.start()
    yield box
    box.destroy()


def test_server_killed_and_restarted_during_bench(own_server: Sandbox, tmp_path: Path) -> None:
    own_box = own_server
    st = own_box.state()
    assert st is not None
    out = tmp_path / "bench.json"
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    page = tmp_path / f"bench-restart-{st.kind}.html"
    run = RunningCli("bench", "point-select", "-H", f"127.0.0.1:{st.port}", "--no-password-prompt", "--connections",
                     "4", "--duration", "20", "--table-size", "1000", "--json", str(out), "--html", str(page), env=env)
    try:
        run.wait_for("   2 s: ")  # two whole seconds of load before the crash
        own_box.kill()
        # The bench has seen the outage once its breaker opens; the restart comes after that.
        run.wait_for("circuit 127.0.0.1")
        own_box.restart()  # waits for the killed server's port to be free
        code = run.finish()
    finally:
        if run.proc.poll() is None:
            run.proc.kill()
    stdout, stderr = "".join(run.stdout), "".join(run.stderr)
    assert code == 0, stdout + stderr
    assert "Traceback" not in stdout + stderr
    data = json.loads(out.read_text())
    timeline = data["timeline"]
    assert len(timeline) == 20
    assert data["errors"] >= 1
    assert set(data["errors_by_code"]) <= {"2013", "2006", "2003", "2055", "1927"}
    assert sum(data["errors_by_code"].values()) == data["errors"]
    zero = [t["t"] for t in timeline if t["ops"] == 0]
    assert zero, "the outage must show in the timeline"
    assert any(t["ops"] > 0 for t in timeline if t["t"] > max(zero)), "operations resume after the restart"
    assert data["reconnects"] >= 4
    moves = [(t["from"], t["to"]) for t in data["breaker"]["transitions"]]
    assert ("closed", "open") in moves
    assert moves[-1] == ("half_open", "closed")
    assert data["breaker"]["state"] == "closed"
    assert f"circuit 127.0.0.1:{st.port}: closed -> open" in stderr
    assert data["operations"] == sum(t["ops"] for t in timeline)
    # The report shows the outage: zero-throughput seconds in the plot, named in a note, 2013s in the error plot.
    seen = browse(page, evaluate="""() => ({ops: document.getElementById('throughput').data[0].y,
        gap: document.getElementById('gap').textContent,
        codes: document.getElementById('errors').data.map(t => t.name)})""")
    assert seen["errors"] == [] and seen["requests"] == [] and seen["blank"] is False
    assert seen["value"]["ops"] == [t["ops"] for t in timeline]
    assert seen["value"]["gap"].startswith(f"No operation completed in second(s) {', '.join(str(z) for z in zero)}")
    assert set(seen["value"]["codes"]) == set(data["errors_by_code"])


def _target(st: SandboxState, **kw: object) -> Target:
    base = {"name": "t", "host": st.host, "port": st.port, "user": "root", "password": "", "database": "test",
            "timeout_secs": 5.0}
    base.update(kw)
    return Target(**base)  # type: ignore[arg-type]


def test_killed_connection_is_reestablished_and_retried(own_box: Sandbox) -> None:
    st = own_box.state()
    assert st is not None

    async def body() -> tuple[int, int, ResilientConnectionManager]:
        pool = ConnectionPool(_target(st), size=1)
        manager = ResilientConnectionManager.with_custom_config(
            pool, create_db_circuit_breaker_config(), RetryConfig(max_attempts=3, base_delay=0.01, max_delay=0.05))
        try:
            first = await manager.execute_with_resilience("whoami", lambda c: c.scalar("SELECT CONNECTION_ID()"))
            admin = await connect(_target(st))
            await admin.execute(f"KILL CONNECTION {int(first)}")
            await admin.close()
            second = await manager.execute_with_resilience("whoami", lambda c: c.scalar("SELECT CONNECTION_ID()"))
        finally:
            await pool.close()
        return int(first), int(second), manager

    first, second, manager = asyncio.run(body())
    assert first != second
    assert manager.retries == 1
    event = manager.retry_events[0]
    assert event.code in (2013, 2006, 1927)
    assert event.category == ErrorCategory.Transient.value
    assert event.context["operation"] == "whoami"


@pytest.mark.parametrize(("change", "error", "code", "category"), [
    ({"user": "nobody", "password": "definitely-wrong"}, AuthenticationError, 1045, ErrorCategory.Permanent),
    ({"database": "no_such_database"}, QueryError, 1049, ErrorCategory.Permanent),
], ids=["wrong password", "unknown database"])
def test_permanent_errors_fail_after_exactly_one_attempt(own_box: Sandbox, change: dict[str, str],
                                                         error: type[Exception], code: int,
                                                         category: ErrorCategory) -> None:
    st = own_box.state()
    assert st is not None
    attempts = 0

    async def body() -> None:
        manager = ResilientConnectionManager(None, CircuitBreakerConfig(), RetryConfig(max_attempts=5))

        async def op() -> object:
            nonlocal attempts
            attempts += 1
            return await connect(_target(st, **change))

        await manager.execute_with_resilience("connect", op)

    with pytest.raises(error) as info:
        asyncio.run(body())
    assert attempts == 1
    assert getattr(info.value, "code", None) == code
    assert classify_error(info.value) is category


def test_closed_port_is_retried_with_backoff_within_overall_timeout() -> None:
    attempts = 0

    async def body() -> None:
        nonlocal attempts
        manager = ResilientConnectionManager(None, CircuitBreakerConfig(failure_threshold=1000),
                                             RetryConfig(max_attempts=1000, base_delay=0.05, max_delay=0.4,
                                                         overall_timeout=1.5))

        async def op() -> object:
            nonlocal attempts
            attempts += 1
            return await connect(Target("x", "127.0.0.1", 1, "root", "", None, 2.0))

        await manager.execute_with_resilience("connect", op)

    started = time.monotonic()
    with pytest.raises(RetryExhaustedError) as info:
        asyncio.run(body())
    elapsed = time.monotonic() - started
    assert attempts >= 3
    assert info.value.attempts == attempts
    assert getattr(info.value.last_error, "code", None) == 2003
    assert elapsed < 1.5 + 5  # the 1.5 s overall timeout, not the 30 s default, with room for a loaded machine


@pytest.mark.parametrize(("in_transaction", "category"), [(False, ErrorCategory.Indeterminate),
                                                          (True, ErrorCategory.Transient)],
                         ids=["autocommit write", "write inside a transaction"])
def test_write_lost_mid_statement(sandbox: SandboxState, in_transaction: bool, category: ErrorCategory) -> None:
    """An autocommit write whose connection dies before the answer may have applied; inside an
    open transaction it cannot have (the server rolls the transaction back), so it is only transient."""

    async def body() -> BaseException:
        target = _target(sandbox)
        conn = await connect(target)
        admin = await connect(target)
        await conn.execute("CREATE TABLE IF NOT EXISTS lost_writes (v INT)")
        if in_transaction:
            await conn.execute("BEGIN")
        write = asyncio.create_task(conn.execute("INSERT INTO lost_writes SELECT SLEEP(2)"))
        await _until_running(admin, conn.thread_id, "SLEEP(2)")
        await admin.execute(f"KILL CONNECTION {conn.thread_id}")
        try:
            await write
        except QueryError as e:
            raise AssertionError("expected a lost connection") from e
        except Exception as e:
            return e
        finally:
            await admin.execute("DROP TABLE IF EXISTS lost_writes")
            await admin.close()
        raise AssertionError("the killed write returned normally")

    err = asyncio.run(body())
    assert getattr(err, "code", None) in (2013, 2006, 1927)
    assert classify_error(err) is category


async def _until_running(admin: Connection, thread_id: int | None, text: str) -> None:
    """Wait until the server shows session `thread_id` executing a statement containing `text`."""
    for _ in range(2000):
        info = await admin.scalar(f"SELECT INFO FROM information_schema.PROCESSLIST WHERE ID = {int(thread_id or 0)}")
        if info is not None and text in str(info):
            return
        await asyncio.sleep(0.005)  # a poll interval while waiting for the event, not a wait for time to pass
    raise AssertionError(f"session {thread_id} never ran {text}")
