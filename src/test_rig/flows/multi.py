"""simple-multi-connection and multi-connection: N basic machines, alone or under the coordinator, and the console
lines of their result."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from test_rig.coordinator import ConnState, EventListener, EventLog, Readiness, SharedState
from test_rig.db import Target, targets_for
from test_rig.flows.basic import BasicOutcome, ConnectingHandler, run_basic, timed_out
from test_rig.machine import State, StateContext, StateVisit
from test_rig.resilience import CircuitBreaker, ResilientConnectionManager, create_db_circuit_breaker_config
from test_rig.results import RunResult, as_dict

if TYPE_CHECKING:
    from test_rig.config import AppConfig
    from test_rig.environment import Environment
    from test_rig.report.files import Suite

#: A resilience manager around one circuit breaker (Environment.manager with the breaker given).
ManagerFactory = Callable[[CircuitBreaker], ResilientConnectionManager]


async def run_simple(targets: list[Target], manager: Callable[[Target], ResilientConnectionManager],
                     *, timeout: float) -> list[BasicOutcome]:
    """Each target runs the basic flow on its own, all at once; `manager(target)` gives its resilience."""
    return list(await asyncio.gather(*(run_basic(t, manager(t), timeout=timeout, connection_id=i + 1)
                                       for i, t in enumerate(targets))))


class CoordinatedConnecting(ConnectingHandler):
    """Connects, tells the coordinator, then waits until every connection is ready or failed."""

    def __init__(self, name: str, events: EventLog, readiness: Readiness, shared: SharedState,
                 coordination_timeout: float) -> None:
        self.name = name
        self.events = events
        self.readiness = readiness
        self.shared = shared
        self.coordination_timeout = coordination_timeout

    async def execute(self, ctx: StateContext) -> State:
        self.shared.connections[self.name] = ConnState.Connecting
        try:
            nxt = await super().execute(ctx)
        except Exception as e:
            self.shared.connections[self.name] = ConnState.Error
            self.events.fire("ConnectionFailed", self.name, str(e))
            self.readiness.arrive(False)
            raise
        self.shared.connections[self.name] = ConnState.Connected
        self.events.fire("ConnectionEstablished", self.name, ctx.server.version if ctx.server else None)
        self.readiness.arrive(True)
        if not await self.readiness.wait(self.coordination_timeout):
            return State.error(f"not every connection was ready within {self.coordination_timeout:g} s")
        self.shared.connections[self.name] = ConnState.Testing
        return nxt


@dataclass
class CoordinatedRun:
    names: list[str]
    outcomes: list[BasicOutcome]
    events: EventLog
    shared: SharedState

    def to_dict(self) -> dict[str, Any]:
        return {
            "events": [e.to_dict() for e in self.events.events],
            "shared_state": self.shared.to_dict(),
            "connections": [dict(o.to_dict(), name=n) for n, o in zip(self.names, self.outcomes, strict=True)],
        }


async def run_coordinated(targets: list[Target], names: list[str],
                          manager: Callable[[Target], ResilientConnectionManager],
                          *, timeout: float, coordination_timeout: float,
                          events: EventLog | None = None) -> CoordinatedRun:
    events = events or EventLog()
    shared = SharedState({n: ConnState.Disconnected for n in names})
    readiness = Readiness(len(targets), events)

    async def one(i: int, name: str, target: Target) -> BasicOutcome:
        def on_visit(visit: StateVisit) -> None:
            if visit.state == "Error":
                shared.connections[name] = ConnState.Error

        handler = CoordinatedConnecting(name, events, readiness, shared, coordination_timeout)
        outcome = await run_basic(target, manager(target), timeout=timeout, listener=on_visit, connection_id=i + 1,
                                  overrides={"Connecting": handler}, services={"shared": shared, "events": events})
        if outcome.result.ok:
            shared.connections[name] = ConnState.Disconnected
            shared.data[name] = {"server_version": outcome.ctx.server_version}
        else:
            shared.data[name] = {"error": outcome.result.error}
        return outcome

    outcomes = list(await asyncio.gather(*(one(i, n, t) for i, (n, t) in enumerate(zip(names, targets,
                                                                                       strict=True)))))
    ok = sum(o.result.ok for o in outcomes)
    events.fire("TestCompleted", detail=f"{ok} passed, {len(outcomes) - ok} failed")
    return CoordinatedRun(names, outcomes, events, shared)


def named_targets(cfg: AppConfig, count: int | None) -> tuple[list[Target], list[str]]:
    """`count` targets (default: the configured `connections`, else 5) and their names: the configured
    connections' names in turn (the second round `name-2`, ...), else conn-1, conn-2, ..."""
    n = count if count is not None else (len(cfg.connections) or 5)
    targets = targets_for(cfg, n)
    if cfg.connections:
        size = len(cfg.connections)
        names = [cfg.connections[i % size].name + ("" if i < size else f"-{i // size + 1}") for i in range(n)]
    else:
        names = [f"conn-{i + 1}" for i in range(n)]
    return targets, names


#: option parameter → (the connections' field that overrides it, how the user spells the option)
_PER_CONNECTION = {"host": ("host", "-H/--host"), "user": ("username", "-u/--user"),
                   "database": ("database", "-d/--database"), "password": ("password", "--password")}


def unused_options(cfg: AppConfig, typed: Collection[str]) -> list[str]:
    """A note for each option typed on the command line (`typed`: host, user, database, password) that no
    connection will use, because every configured `connections` entry sets its own value."""
    if not cfg.connections:
        return []
    return [f"note: {flag} is not used: every entry of `connections` in the configuration sets its own {field}"
            for param, (field, flag) in _PER_CONNECTION.items()
            if param in typed and all(getattr(c, field) is not None for c in cfg.connections)]


def breakers(manager: ManagerFactory) -> Callable[[Target], ResilientConnectionManager]:
    """One circuit breaker per server address, shared by every connection to it."""
    made: dict[str, CircuitBreaker] = {}

    def for_target(target: Target) -> ResilientConnectionManager:
        if target.address not in made:
            made[target.address] = CircuitBreaker(create_db_circuit_breaker_config(), name=target.address)
        return manager(made[target.address])

    return for_target


def _connections(names: list[str], outcomes: list[BasicOutcome]) -> tuple[list[dict[str, Any]], int, int]:
    """Each connection's result (a timed-out one says `undecided`), and how many failed and were undecided."""
    rows: list[dict[str, Any]] = []
    failed = undecided = 0
    for name, outcome in zip(names, outcomes, strict=True):
        row = dict(outcome.to_dict(), name=name)
        if outcome.ctx.target is not None:
            row["target"] = outcome.ctx.target.address
        if timed_out(outcome.result):
            row["undecided"] = True
            undecided += 1
        elif not outcome.result.ok:
            failed += 1
        rows.append(row)
    return rows, failed, undecided


def _result(command: str, rows: list[dict[str, Any]], failed: int, undecided: int, **payload: Any) -> RunResult:
    """ok only when every connection completed its flow; a connection stopped by the timeout is undecided."""
    return RunResult(command, ok=failed == 0 and undecided == 0,
                     error=f"{failed} of {len(rows)} connections failed" if failed else None,
                     payload={"failed": failed, "undecided": undecided, **payload, "connections": rows})


def _managers(env: Environment) -> Callable[[Target], ResilientConnectionManager]:
    return breakers(lambda breaker: env.manager(breaker=breaker))


async def simple_multi_connection(env: Environment, count: int | None) -> RunResult:
    """The `simple-multi-connection` command's run: `count` basic flows at once (default: the configured
    `connections`, else 5), one breaker per server (`connections`, `failed`, `undecided`). Interrupted, every
    connection is closed and the result says `complete: false`."""
    from test_rig.environment import PROGRAM_STOP

    targets, names = named_targets(env.config, count)
    try:
        outcomes = await run_simple(targets, _managers(env), timeout=env.config.test.timeout_secs)
    except asyncio.CancelledError:
        return RunResult.stopped("simple-multi-connection", PROGRAM_STOP.reason())
    return _result("simple-multi-connection", *_connections(names, outcomes))


async def multi_connection(env: Environment, count: int | None, *, coordination_timeout: float,
                           on_event: EventListener | None = None) -> RunResult:
    """The `multi-connection` command's run: `count` basic flows under the coordinator (events, shared state,
    a readiness barrier; `on_event` sees each event as it fires). Interrupted, every connection is closed and
    the result keeps the events seen so far, with `complete: false`."""
    from test_rig.environment import PROGRAM_STOP

    events = EventLog()
    if on_event is not None:
        events.add_listener(on_event)
    targets, names = named_targets(env.config, count)
    try:
        run = await run_coordinated(targets, names, _managers(env), timeout=env.config.test.timeout_secs,
                                    coordination_timeout=coordination_timeout, events=events)
    except asyncio.CancelledError:
        return RunResult.stopped("multi-connection", PROGRAM_STOP.reason(),
                                 events=[ev.to_dict() for ev in events.events])
    return _result("multi-connection", *_connections(names, run.outcomes), **run.to_dict())


def connection_suites(result: dict[str, Any] | RunResult) -> list[Suite]:
    """The JUnit file of a simple-multi-connection or multi-connection result: a case per connection."""
    from test_rig.report.files import Case, Suite

    data = as_dict(result)
    command = str(data.get("command") or "multi-connection")
    suite = Suite(command)
    for row in data.get("connections") or []:
        seconds = sum(float(s.get("ms") or 0.0) for s in row.get("states") or []) / 1000
        error = str(row.get("error") or "failed")
        suite.add(Case(str(row.get("name")), f"test_rig.{command}", seconds,
                       failure=None if row.get("ok") or row.get("undecided") else error,
                       error=f"undecided: {error}" if row.get("undecided") else None))
    return [suite]


def opening(command: str, cfg: AppConfig, count: int | None, typed: Collection[str]) -> list[str]:
    """A run's first console lines: its connections (as named_targets counts them) and, for multi-connection, that
    they run under the coordinator; a note for each connection option of `typed` that no connection uses
    (unused_options); for multi-connection, the heading of the events it shows live."""
    coordinated = command == "multi-connection"
    return [f"test-rig {command}: {count or len(cfg.connections) or 5} connections"
            + (" under the coordinator" if coordinated else ""), *unused_options(cfg, typed),
            *(["events:"] if coordinated else [])]


def console_lines(result: dict[str, Any] | RunResult) -> list[Any]:
    """A finished run's lines, none for an interrupted one: one per connection (a failed one's hint under it) and
    the tally; multi-connection's under `results:`, then its final shared state. Server text is never read as
    markup (a message may hold brackets)."""
    from rich.text import Text

    data = as_dict(result)
    if data.get("complete") is False:
        return []
    coordinated = "shared_state" in data
    rows = data.get("connections") or []
    lines: list[Any] = ["results:"] if coordinated else []
    for row in rows:
        where = f"{row.get('name', ''):<12} {row.get('target') or '':<22}"
        if row.get("ok"):
            lines.append(Text.assemble("  ", ("✓", "green"), f" {where} ok      "
                                       f"{(row.get('server') or {}).get('version', '')}"))
            continue
        verdict = "UNDECIDED " if row.get("undecided") else "FAILED  "
        lines.append(Text.assemble("  ", ("✗", "red"), f" {where} {verdict}{row.get('error')}"))
        if row.get("hint"):
            lines.append(f"      hint: {row['hint']}")
    failed, undecided = int(data.get("failed") or 0), int(data.get("undecided") or 0)
    tail = f", {undecided} undecided (stopped by the timeout)" if undecided else ""
    lines.append(Text(f"{len(rows) - failed - undecided} of {len(rows)} connections succeeded, {failed} failed{tail}",
                      style="green" if failed == 0 and undecided == 0 else "red"))
    return lines + (["final shared state:", json.dumps(data.get("shared_state"), indent=2)] if coordinated else [])
