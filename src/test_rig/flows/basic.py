"""The basic connection test: the original's state flow, really connecting this time.

Initial → ParsingConfig → Connecting → TestingConnection (SELECT 1) → VerifyingDatabase (USE db)
→ GettingVersion (SELECT VERSION()) → Completed, or Error with a hint that fits the cause.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from test_rig.db import Target, connect, quote_ident
from test_rig.errors import (
    DatabaseError,
    ErrorCategory,
    RetryExhaustedError,
    RigError,
    classify_error,
    code_hint,
    error_code,
)
from test_rig.machine import Listener, MachineResult, State, StateContext, StateHandler, StateMachine, StateVisit
from test_rig.resilience import ResilientConnectionManager
from test_rig.results import RunResult, as_dict

if TYPE_CHECKING:
    from rich.text import Text

    from test_rig.environment import Environment
    from test_rig.report.files import Suite


class InitialHandler(StateHandler):
    async def execute(self, ctx: StateContext) -> State:
        return State.PARSING_CONFIG


class ParsingConfigHandler(StateHandler):
    async def execute(self, ctx: StateContext) -> State:
        if ctx.target is None:
            return State.error("no connection target is configured")
        return State.CONNECTING


class ConnectingHandler(StateHandler):
    """Connects through the resilience manager, so refused connections are retried with backoff."""

    async def execute(self, ctx: StateContext) -> State:
        assert ctx.target is not None
        target: Target = ctx.target
        manager: ResilientConnectionManager | None = ctx.services.get("manager")

        async def open_connection() -> Any:
            return await connect(target, database=False)

        conn = (await manager.execute_with_resilience(f"connect to {target.address}", open_connection)
                if manager else await open_connection())
        ctx.connection = conn
        ctx.server = conn.server
        return State.TESTING_CONNECTION


class TestingConnectionHandler(StateHandler):
    __test__ = False

    async def execute(self, ctx: StateContext) -> State:
        assert ctx.connection is not None
        rows = await ctx.connection.query("SELECT 1")
        if rows != [(1,)]:
            got = "no row" if not rows else "; ".join(", ".join(str(v) for v in row) for row in rows)
            return State.error(f"SELECT 1 returned {got} instead of one row holding 1")
        return State.VERIFYING_DATABASE


class VerifyingDatabaseHandler(StateHandler):
    async def execute(self, ctx: StateContext) -> State:
        assert ctx.connection is not None
        if ctx.database:
            await ctx.connection.execute(f"USE {quote_ident(ctx.database)}")
            current = await ctx.connection.scalar("SELECT DATABASE()")
            if current != ctx.database:
                where = "no database" if current is None else f"database {current}"
                return State.error(f"USE {ctx.database} left the session in {where}")
        return State.GETTING_VERSION


class GettingVersionHandler(StateHandler):
    async def execute(self, ctx: StateContext) -> State:
        assert ctx.connection is not None
        ctx.server_version = str(await ctx.connection.scalar("SELECT VERSION()"))
        return State.COMPLETED


BASIC_TRANSITIONS: dict[str, set[str]] = {
    "Initial": {"ParsingConfig"},
    "ParsingConfig": {"Connecting"},
    "Connecting": {"TestingConnection"},
    "TestingConnection": {"VerifyingDatabase"},
    "VerifyingDatabase": {"GettingVersion"},
    "GettingVersion": {"Completed"},
}


#: The states of the standard flow, in order; `test-rig run --state` takes one of these.
STANDARD_STATES: tuple[str, ...] = tuple(BASIC_TRANSITIONS)


def basic_handlers() -> dict[str, StateHandler]:
    return {
        "Initial": InitialHandler(),
        "ParsingConfig": ParsingConfigHandler(),
        "Connecting": ConnectingHandler(),
        "TestingConnection": TestingConnectionHandler(),
        "VerifyingDatabase": VerifyingDatabaseHandler(),
        "GettingVersion": GettingVersionHandler(),
    }


def basic_machine(*, timeout: float, listener: Listener | None = None,
                  overrides: dict[str, StateHandler] | None = None,
                  transitions: dict[str, set[str]] | None = None, max_iterations: int = 1000) -> StateMachine:
    handlers = basic_handlers()
    handlers.update(overrides or {})
    return StateMachine(handlers, transitions=transitions, timeout=timeout, listener=listener,
                        max_iterations=max_iterations)


def hint_for(err: BaseException | None, target: Target | None) -> str | None:
    """A next step that fits the cause of a failed connection test."""
    if err is None:
        return None
    if isinstance(err, RetryExhaustedError):
        err = err.last_error
    code = error_code(err)
    if code is None and isinstance(err, DatabaseError) and classify_error(err) is ErrorCategory.Transient:
        code = 2003  # refused or timed out before any server spoke: it cannot be reached
    return code_hint(code, where=target.address if target else "the server",
                     database=target.database if target else "the database")


@dataclass
class BasicOutcome:
    result: MachineResult
    ctx: StateContext
    hint: str | None

    def to_dict(self) -> dict[str, Any]:
        server = self.ctx.server.to_dict() if self.ctx.server else None
        if server is not None and self.ctx.server_version:
            server["version"] = self.ctx.server_version
        out = {"command": "basic", "ok": self.result.ok, "server": server,
               "states": [v.to_dict() for v in self.result.path]}
        out["error"] = self.result.error
        out["hint"] = self.hint
        if self.result.error_detail is not None and isinstance(self.result.error_detail, RigError):
            out["error_detail"] = self.result.error_detail.to_dict()
        return out


async def run_basic(target: Target, manager: ResilientConnectionManager | None, *, timeout: float,
                    listener: Listener | None = None, connection_id: int = 0,
                    overrides: dict[str, StateHandler] | None = None,
                    transitions: dict[str, set[str]] | None = BASIC_TRANSITIONS,
                    services: dict[str, Any] | None = None, max_iterations: int = 1000) -> BasicOutcome:
    """Run the standard flow once for `target` (with `overrides` replacing some states' handlers)
    and always close the connection it opened. `transitions=None` lets handlers move anywhere."""
    ctx = StateContext.for_target(target, connection_id)
    ctx.services.update(services or {})
    if manager is not None:
        ctx.services["manager"] = manager
    machine = basic_machine(timeout=timeout, listener=listener, overrides=overrides, transitions=transitions,
                            max_iterations=max_iterations)
    try:
        result = await machine.run(ctx)
    finally:
        if ctx.connection is not None:
            await ctx.connection.close()  # a statement an interrupt cut off is stopped on the server first
    return BasicOutcome(result, ctx, None if result.ok else hint_for(ctx.last_error, target))


#: How StateMachine.run words a machine stopped by its overall timeout (test.timeout_secs).
_TIMED_OUT = "state machine did not finish within "


def timed_out(result: MachineResult) -> bool:
    """Whether a machine was stopped by its overall timeout rather than ended by a state: its flow neither
    passed nor failed, it was not seen to the end, so the check it made is undecided (a timeout is unknown,
    never a failure: the server may yet have answered)."""
    return not result.ok and (result.error or "").startswith(_TIMED_OUT)


async def basic_test(env: Environment, *, listener: Listener | None = None) -> RunResult:
    """The `basic` command's run: the standard flow once against the environment's target, with its retries
    (`ok`: the flow completed; `undecided: 1` when test.timeout_secs stopped it before a state ended it;
    `retries`: the connection retries). Interrupted (cancelled), it closes its connection and returns
    `complete: false` with the signal's name."""
    from test_rig.environment import PROGRAM_STOP

    ended: list[StateVisit] = []  # the states that ended, as the console showed them: kept when interrupted

    def listen(visit: StateVisit) -> None:
        ended.append(visit)
        if listener is not None:
            listener(visit)

    try:
        outcome = await run_basic(env.target(), env.manager(), timeout=env.config.test.timeout_secs,
                                  listener=listen)
    except asyncio.CancelledError:
        return RunResult.stopped("basic", PROGRAM_STOP.reason(), states=[v.to_dict() for v in ended])
    row = outcome.to_dict()
    error = row.pop("error")
    payload: dict[str, Any] = {k: row[k] for k in ("states", "hint", "error_detail") if k in row}
    if timed_out(outcome.result):
        # Neither passed nor failed (results.judge reads `undecided`): why is said under `unknown`, as a history
        # checker says it, since an `error` beside ok false is a failure.
        payload.update(undecided=1, unknown=[error])
        error = None
    payload["seconds"] = round(sum(v.ms for v in outcome.result.path) / 1000, 3)
    payload["retries"] = [vars(e) for e in env.retry_events]
    if outcome.result.ok:  # basic's JSON has always said `"error": null` when the flow completed
        payload = {"error": None, **payload}
    return RunResult("basic", ok=outcome.result.ok, error=error, server=row["server"], payload=payload)


def basic_suites(result: dict[str, Any] | RunResult) -> list[Suite]:
    """The JUnit file of a `basic` result: one case, failed or errored as the result says."""
    from test_rig.report.files import Case, Suite

    data = as_dict(result)
    suite = Suite("basic")
    if data.get("complete") is not False:
        undecided = bool(data.get("undecided"))
        # an undecided run's why is in `unknown` (it has no error): "undecided: failed" said nothing
        error = data.get("error") or "; ".join(map(str, data.get("unknown") or [])) or data.get("reason") or "failed"
        suite.add(Case("basic", "test_rig.flows.basic", float(data.get("seconds") or 0.0),
                       failure=None if data.get("ok") or undecided else error,
                       error=f"undecided: {error}" if undecided else None))
    return [suite]


def opening(target: Target) -> str:
    """`basic`'s first line: who connects to what."""
    return f"test-rig basic: {target.user}@{target.address} database {target.database}"


def visit_line(visit: StateVisit) -> Text | None:
    """The line of a state as it ends, with its duration (none for the end states: the result's lines say how
    the flow ended)."""
    from rich.text import Text

    if visit.state in ("Completed", "Error"):
        return None
    mark = ("✗", "red") if visit.error else ("✓", "green")
    return Text.assemble("  ", mark, f" {visit.display or visit.state:<24} {visit.ms:9.1f} ms")


def console_lines(result: dict[str, Any] | RunResult) -> list[str | Text]:
    """A `basic` result's lines: the server reached; or, for a flow that ended otherwise, why it is undecided,
    the hint, and the states it went through (the verdict's line, which `conclude` prints last, names the
    failure). None for an interrupted run: its verdict line says so."""
    from rich.text import Text

    from test_rig.report.files import redactor

    data = as_dict(result)
    server = data.get("server") or {}
    if data.get("ok"):
        return [Text.assemble(("OK", "green"), f": connected to {server.get('kind', 'unknown')} server, version "
                                               f"{server.get('version', 'unknown')}")]
    if data.get("complete") is False:
        return []
    lines: list[str | Text] = []
    if data.get("undecided"):
        lines.append(Text.assemble(("not decided", "yellow"), f": {redactor('; '.join(data.get('unknown') or []))}"))
    if data.get("hint"):
        lines.append(f"hint: {data['hint']}")
    return [*lines, "path: " + " → ".join(s["state"] for s in data.get("states", []))]
