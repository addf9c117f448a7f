"""A pytest plugin: test-rig's sandbox, connections, coordinator and scripted interleavings as fixtures,
for a team's own database tests. Registered through the `pytest11` entry point, so installing test-rig
is enough; it does nothing until a test asks for one of its fixtures.

Options (and ini keys): --rig-host (rig_host), --rig-user (rig_user), --rig-password (or TIDB_PASSWORD),
--rig-config FILE (rig_config), --rig-server mariadb|mysql|tidb (rig_server). With no host, one sandbox of
that server is started for the session (per xdist worker) and stopped at its end.

Fixtures: rig_target, rig_server, rig_connection, rig_coordinator, rig_script, rig_run, rig_environment (the
Environment a command builds for the target), rig_basic and rig_multi_connection (the `basic` and
`multi-connection` commands' features, returning the RunResult the CLI renders), rig_bench (the `bench`
command's feature, in this process), rig_hunt (a bounded
logic-bug hunt as a test: it fails with each new bug's reduced SQL). Markers:
rig_isolation(level), rig_server(kind, ...), rig_server_min_version("8.0"), rig_session_vars(name=value).

All database work runs on one event loop of the plugin's own, in a thread, so synchronous tests work
without an async plugin, and async tests (pytest-asyncio, anyio) can await the `a*` methods from theirs.
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
import threading
import uuid
from collections.abc import Awaitable, Callable, Iterator, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any, TypeVar

import pytest

from test_rig.coordinator import Coordinator, ScriptResult, Step, StepRecord
from test_rig.db import ISOLATION_LEVELS, Connection, Result, Row, ServerInfo, Target, connect, quote_ident, sql_literal
from test_rig.environment import Environment
from test_rig.report.replay import replay_script
from test_rig.results import RunResult

T = TypeVar("T")
SERVERS = ("mariadb", "mysql", "tidb")


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("test-rig", "database tests with test-rig")
    group.addoption("--rig-host", default=None, help="HOST:PORT of the server to test (default: start a sandbox).")
    group.addoption("--rig-user", default=None, help="User name (default root).")
    group.addoption("--rig-password", default=None, help="Password (prefer TIDB_PASSWORD).")
    group.addoption("--rig-config", default=None, help="A test-rig config file (JSON or TOML).")
    group.addoption("--rig-server", default=None, choices=SERVERS,
                    help="Which server a sandbox runs (default mariadb).")
    for name, text in (("rig_host", "HOST:PORT of the server to test"), ("rig_user", "user name"),
                       ("rig_config", "test-rig config file"), ("rig_server", "server the sandbox runs")):
        parser.addini(name, text, default=None)


def pytest_configure(config: pytest.Config) -> None:
    for line in ("rig_isolation(level): every connection of the test runs at this isolation level",
                 "rig_server(*kinds): skip unless the server is one of these kinds (mariadb, mysql, tidb)",
                 "rig_server_min_version(version): skip unless the server's version is at least this",
                 "rig_session_vars(**variables): SET SESSION these on every connection of the test"):
        config.addinivalue_line("markers", line)


def _option(config: pytest.Config, name: str) -> str | None:
    value = config.getoption(f"--{name.replace('_', '-')}")
    if value is None and name != "rig_password":
        value = config.getini(name)
    return str(value) if value else None


# --------------------------------------------------------------------------- the plugin's event loop


class RigLoop:
    """An event loop in a thread of its own; `run` blocks on a coroutine, `submit` hands back a future."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="test-rig-loop", daemon=True)
        self.thread.start()

    def submit(self, coro: Awaitable[T]) -> Future[T]:
        return asyncio.run_coroutine_threadsafe(coro, self.loop)  # type: ignore[arg-type]

    def run(self, coro: Awaitable[T]) -> T:
        return self.submit(coro).result()

    async def wait(self, coro: Awaitable[T]) -> T:
        """Await, from any other event loop, a coroutine that runs on this one."""
        return await asyncio.wrap_future(self.submit(coro))

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)


@pytest.fixture(scope="session")
def rig_loop() -> Iterator[RigLoop]:
    loop = RigLoop()
    yield loop
    loop.close()


@pytest.fixture
def rig_run(rig_loop: RigLoop) -> Callable[[Awaitable[T]], T]:
    """Run one of test-rig's coroutines (or your own that use its connections) from a synchronous test."""
    return rig_loop.run


# --------------------------------------------------------------------------- where to connect


@pytest.fixture(scope="session")
def rig_target(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Target]:
    """Where the tests connect: --rig-host (with --rig-user, --rig-password, --rig-config), else a sandbox
    this session starts (and stops at its end)."""
    from test_rig.config import load_config

    config = request.config
    host, config_file = _option(config, "rig_host"), _option(config, "rig_config")
    if host or config_file:
        values: dict[str, Any] = {}
        if host:
            values["database.host"] = host
        if (user := _option(config, "rig_user")) is not None:
            values["database.username"] = user
        password = _option(config, "rig_password") or os.environ.get("TIDB_PASSWORD")
        if password is not None:
            values["database.password"] = password
        loaded = load_config(config_file, values, cli_names={"database.host": "--rig-host"})
        yield Target.from_config(loaded.config)
        return
    from test_rig.servers.sandbox import Sandbox

    box = Sandbox(tmp_path_factory.mktemp("rig-sandbox"), server=_option(config, "rig_server") or "mariadb")
    state = box.start()
    try:
        yield Target("rig-sandbox", state.host, state.port, state.user, "", state.database, 30.0)
    finally:
        box.destroy()


@dataclass(frozen=True)
class RigServer:
    """The server under test: kind (mariadb, mysql, tidb), version, and what it supports."""

    info: ServerInfo
    isolation_levels: tuple[str, ...]

    @property
    def kind(self) -> str:
        return self.info.kind

    @property
    def version(self) -> str:
        return self.info.version

    @property
    def numeric_version(self) -> tuple[int, ...]:
        return self.info.numeric_version

    @property
    def capabilities(self) -> dict[str, Any]:
        return {"isolation_levels": list(self.isolation_levels),
                "txn_modes": ["pessimistic", "optimistic"] if self.kind == "tidb" else []}


@pytest.fixture(scope="session")
def rig_server(rig_target: Target, rig_loop: RigLoop) -> RigServer:
    async def probe() -> RigServer:
        conn = await connect(rig_target, database=False)
        try:
            levels = []
            for level in ISOLATION_LEVELS:
                try:
                    await conn.execute(f"SET SESSION TRANSACTION ISOLATION LEVEL {level.replace('-', ' ').upper()}")
                    levels.append(level)
                except Exception:  # the server refuses it: not supported
                    continue
            return RigServer(conn.server, tuple(levels))
        finally:
            await conn.close()

    return rig_loop.run(probe())


@pytest.fixture(autouse=True)
def _rig_server_markers(request: pytest.FixtureRequest) -> None:
    """Skip, with the reason, a test whose rig_server / rig_server_min_version markers the server fails."""
    kinds = [m for m in request.node.iter_markers("rig_server")]
    minimum = request.node.get_closest_marker("rig_server_min_version")
    if not kinds and minimum is None:
        return
    server: RigServer = request.getfixturevalue("rig_server")
    for marker in kinds:
        if server.kind not in marker.args:
            pytest.skip(f"needs a {' or '.join(marker.args)} server; this one is {server.kind} {server.version}")
    if minimum is not None:
        wanted = tuple(int(p) for p in str(minimum.args[0]).split("."))
        if server.numeric_version < wanted:
            pytest.skip(f"needs {server.kind} {minimum.args[0]} or newer; this one is {server.version}")


# --------------------------------------------------------------------------- a database per test


def _session_sql(request: pytest.FixtureRequest, server: RigServer) -> list[str]:
    """SET statements the test's markers ask for on each of its connections."""
    out = []
    for marker in request.node.iter_markers("rig_session_vars"):
        out += [f"SET SESSION {name} = {sql_literal(value)}" for name, value in marker.kwargs.items()]
    level = request.node.get_closest_marker("rig_isolation")
    if level is not None:
        name = str(level.args[0])
        if name not in ISOLATION_LEVELS:
            raise pytest.UsageError(f"rig_isolation({name!r}): use one of {', '.join(ISOLATION_LEVELS)}")
        out.append(f"SET SESSION TRANSACTION ISOLATION LEVEL {name.replace('-', ' ').upper()}")
    return out


@pytest.fixture
def rig_database(rig_target: Target, rig_loop: RigLoop) -> Iterator[Target]:
    """A fresh database of the test's own (independent tests, safe under xdist), dropped afterwards."""
    name = f"rig_t_{uuid.uuid4().hex[:12]}"

    async def run(sql: str) -> None:
        conn = await connect(rig_target, database=False)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    rig_loop.run(run(f"CREATE DATABASE {quote_ident(name)}"))
    try:
        yield rig_target.with_database(name)
    finally:
        rig_loop.run(run(f"DROP DATABASE IF EXISTS {quote_ident(name)}"))


class RigConnection:
    """A connection for tests: `execute`, `query`, `scalar` block; `aexecute`, `aquery`, `ascalar` are awaitable
    from any event loop. `raw` is the underlying test_rig.db.Connection (it lives on the plugin's loop)."""

    def __init__(self, raw: Connection, loop: RigLoop) -> None:
        self.raw = raw
        self._loop = loop

    def execute(self, sql: str, args: Sequence[Any] | None = None) -> Result:
        return self._loop.run(self.raw.execute(sql, args))

    def query(self, sql: str, args: Sequence[Any] | None = None) -> list[Row]:
        return self._loop.run(self.raw.query(sql, args))

    def scalar(self, sql: str) -> Any:
        return self._loop.run(self.raw.scalar(sql))

    async def aexecute(self, sql: str, args: Sequence[Any] | None = None) -> Result:
        return await self._loop.wait(self.raw.execute(sql, args))

    async def aquery(self, sql: str, args: Sequence[Any] | None = None) -> list[Row]:
        return await self._loop.wait(self.raw.query(sql, args))

    async def ascalar(self, sql: str) -> Any:
        return await self._loop.wait(self.raw.scalar(sql))


@pytest.fixture
def rig_connection(request: pytest.FixtureRequest, rig_database: Target, rig_loop: RigLoop,
                   rig_server: RigServer) -> Iterator[RigConnection]:
    session = _session_sql(request, rig_server)

    async def open_() -> Connection:
        conn = await connect(rig_database)
        for sql in session:
            await conn.execute(sql)
        return conn

    conn = rig_loop.run(open_())
    try:
        yield RigConnection(conn, rig_loop)
    finally:
        rig_loop.run(conn.close())


# --------------------------------------------------------------------------- many connections, scripts


@dataclass
class RigCoordinator:
    """N named connections on the test's database under test-rig's coordinator."""

    coordinator: Coordinator
    loop: RigLoop
    session: list[str]
    scripts: list[tuple[list[str], ScriptResult]] = field(default_factory=list)

    @property
    def names(self) -> list[str]:
        return list(self.coordinator.names)

    def run_script(self, steps: Sequence[Step | tuple[str, str]], *, setup: Sequence[str] = ()) -> ScriptResult:
        """Run `setup` (on the first connection), then the steps in their global order."""
        script = [s if isinstance(s, Step) else Step(s[0], s[1]) for s in steps]

        async def go() -> ScriptResult:
            first = self.coordinator.connections[self.coordinator.names[0]]
            for sql in setup:
                await first.execute(sql)
            return await self.coordinator.run_script(script)

        result = self.loop.run(go())
        self.scripts.append((list(setup), result))
        return result

    def replay(self) -> str:
        """Every script this coordinator ran, as SQL a person can run again."""
        return "\n\n".join(replay_script(r.steps, setup=setup, session=self.session, connections=self.names,
                                         header=[f"script {i} of {len(self.scripts)}"])
                           for i, (setup, r) in enumerate(self.scripts, start=1))


@pytest.fixture
def rig_coordinator(request: pytest.FixtureRequest, rig_database: Target, rig_loop: RigLoop,
                    rig_server: RigServer) -> Iterator[Callable[..., RigCoordinator]]:
    """A factory: `rig_coordinator(2)` opens connections T1, T2 (or `names=[...]`) on the test's database,
    each with the test's markers applied; closed after the test."""
    session = _session_sql(request, rig_server)
    made: list[RigCoordinator] = []

    def make(count: int = 2, *, names: Sequence[str] | None = None, block_window: float = 0.2,
             timeout: float = 20.0) -> RigCoordinator:
        labels = list(names) if names is not None else [f"T{i + 1}" for i in range(count)]
        target = dataclasses.replace(rig_database, session_variables={})
        coordinator = Coordinator([target] * len(labels), names=labels, block_window=block_window,
                                  script_timeout=timeout)

        async def prepare(conn: Connection) -> None:
            for sql in session:
                await conn.execute(sql)

        failures = rig_loop.run(coordinator.open(prepare=prepare))
        if failures:
            rig_loop.run(coordinator.close())
            raise next(iter(failures.values()))
        made.append(RigCoordinator(coordinator, rig_loop, session))
        return made[-1]

    request.node.rig_coordinators = made
    try:
        yield make
    finally:
        for c in made:
            rig_loop.run(c.coordinator.close())


@pytest.fixture
def rig_script(rig_coordinator: Callable[..., RigCoordinator]) -> Callable[..., list[StepRecord]]:
    """Run a scripted interleaving and return its step records:
    `rig_script([("T1", "BEGIN"), ("T2", "BEGIN"), ...], setup=["CREATE TABLE ..."])`. The connections are
    named after the steps; when the test fails, its output holds the script to replay."""
    coordinators: dict[tuple[str, ...], RigCoordinator] = {}

    def run(steps: Sequence[Step | tuple[str, str]], *, setup: Sequence[str] = ()) -> list[StepRecord]:
        names = tuple(dict.fromkeys(s.conn if isinstance(s, Step) else s[0] for s in steps))
        if names not in coordinators:
            coordinators[names] = rig_coordinator(names=names)
        return coordinators[names].run_script(steps, setup=setup).steps

    return run


@pytest.fixture
def rig_environment(rig_target: Target) -> Environment:
    """The Environment a command builds, for rig_target: its configuration is the target's (address, user,
    password, database, timeout, TLS), nothing read from the process's environment or a config file."""
    from pathlib import Path

    from test_rig.config import load_config

    values: dict[str, Any] = {"database.host": rig_target.address, "database.username": rig_target.user,
                              "database.password": rig_target.password, "database.ssl_mode": rig_target.ssl_mode,
                              "database.timeout_secs": rig_target.timeout_secs}
    values.update({f"database.{key}": getattr(rig_target, key) for key in ("database", "ssl_ca", "ssl_cert",
                                                                          "ssl_key") if getattr(rig_target, key)})
    return Environment(loaded=load_config(None, values, environ={}, cwd=Path("/nonexistent")))


@pytest.fixture
def rig_basic(rig_environment: Environment, rig_loop: RigLoop) -> Callable[[], RunResult]:
    """`rig_basic()` runs the `basic` command's feature (flows.basic.basic_test) against the target and returns
    its RunResult: `ok`, `server`, the states in `payload["states"]`, a hint when it failed."""
    from test_rig.flows.basic import basic_test

    return lambda: rig_loop.run(basic_test(rig_environment))


@pytest.fixture
def rig_multi_connection(rig_environment: Environment, rig_loop: RigLoop) -> Callable[..., RunResult]:
    """`rig_multi_connection(count=5, coordination_timeout=30.0)` runs the `multi-connection` command's feature
    (the basic flow on `count` connections under the coordinator) and returns its RunResult."""
    from test_rig.flows.multi import multi_connection

    def run(count: int = 5, *, coordination_timeout: float = 30.0) -> RunResult:
        return rig_loop.run(multi_connection(rig_environment, count, coordination_timeout=coordination_timeout))

    return run


@pytest.fixture
def rig_bench(rig_environment: Environment, rig_loop: RigLoop) -> Callable[..., RunResult]:
    """`rig_bench("point-select", connections=4, duration=2.0, table_size=1000)` runs the `bench` command's feature
    (load.bench.run, in this process) and returns its RunResult: throughput, latency and the per-second timeline
    in `payload`, `ok` false when it could not measure what was asked."""
    from test_rig.load.bench import LoadSettings, run

    def bench(workload: str = "select-1", *, connections: int = 2, duration: float = 2.0, table_size: int = 1000,
              seed: int = 0) -> RunResult:
        load = LoadSettings(connections, duration, seed=seed)
        load.check()
        return rig_loop.run(run(rig_environment, workload, load, table_size=table_size))

    return bench


@pytest.fixture
def rig_hunt(rig_target: Target, rig_loop: RigLoop) -> Callable[..., Any]:
    """Run a bounded `test-rig hunt` against the target as part of the test:
    `rig_hunt(queries=2000, seed=7, oracles=("tlp-where", "norec"), known=["reported/bug.sql"])`. It returns
    the hunt's run (hunt/runner.HuntRun) when no new bug was found, and fails the test with each new bug's
    reduced, self-contained SQL when one was; it fails too when the hunt could not judge (no query checked, or
    the server stopped answering): a pass needs checked queries. `known` takes signatures, ids or reduced `.sql`
    files, as --known does; `extra_oracles` adds oracles by name (an oracle of your own, or a planted one)."""

    def hunt(queries: int = 1000, *, seed: int = 0, oracles: Sequence[str] | None = None, connections: int = 1,
             reduce_seconds: float = 30.0, known: Sequence[str | os.PathLike[str]] = (),
             extra_oracles: dict[str, Any] | None = None) -> Any:
        from pathlib import Path

        from test_rig.hunt.finding import read_known
        from test_rig.hunt.oracles import ORACLES
        from test_rig.hunt.runner import HuntRun, HuntSpec, run_hunt

        signatures: set[str] = set()
        for entry in known:
            path = Path(entry)
            signatures |= read_known(path) if path.suffix == ".sql" or path.is_file() else {str(entry)}
        names = tuple(oracles) if oracles is not None else tuple(ORACLES)
        spec = HuntSpec(names, duration=None, queries=queries, seed=seed, connections=connections,
                        reduce_seconds=reduce_seconds, known=frozenset(signatures),
                        extra_oracles=dict(extra_oracles or {}))
        run = rig_loop.run(run_hunt(dataclasses.replace(rig_target.with_database(None), session_variables={}),
                                    HuntRun(spec)))
        checked = sum(run.stats.checked.values())
        if run.new_findings:
            bugs = "\n\n".join(f"-- {f.kind} ({f.oracle}, seen {f.count}x, id {f.signature_id})\n{f.sql()}"
                                for f in run.new_findings)
            pytest.fail(f"test-rig hunt found {len(run.new_findings)} new bug(s) in {checked} checked queries "
                        f"(seed {seed}); each reduced case runs on a fresh database:\n\n{bugs}", pytrace=False)
        if run.error is not None or not run.complete:
            pytest.fail(f"test-rig hunt did not finish: {run.error or 'interrupted'}", pytrace=False)
        if checked == 0:
            pytest.fail("test-rig hunt checked no query (every generated query failed): nothing was judged",
                        pytrace=False)
        if not run.dropped:
            pytest.fail(f"test-rig hunt could not drop its databases: {', '.join(run.left)}", pytrace=False)
        return run

    return hunt


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    report: Any = yield
    made: list[RigCoordinator] = getattr(item, "rig_coordinators", [])
    if report.when == "call" and report.failed and any(c.scripts for c in made):
        report.sections.append(("test-rig: the interleaving, to replay",
                                "\n\n".join(c.replay() for c in made if c.scripts)))
    return report  # type: ignore[no-any-return]
