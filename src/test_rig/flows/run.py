"""`test-rig run`: user handlers registered for one state of the standard flow, each run and judged."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from test_rig.db import Target
from test_rig.errors import UsageError
from test_rig.flows.basic import STANDARD_STATES, run_basic, timed_out
from test_rig.flows.plugins import LoadedHandler
from test_rig.machine import MachineResult, StateHandler
from test_rig.report.files import Case, Suite
from test_rig.resilience import ResilientConnectionManager
from test_rig.results import RunResult, as_dict

if TYPE_CHECKING:
    from rich.text import Text

    from test_rig.environment import Environment

__all__ = ["STANDARD_STATES", "HandlerRun", "check_state", "console_lines", "handler_lines", "junit_suites", "opening",
           "run_handler", "run_handlers"]


@dataclass
class HandlerRun:
    handler: LoadedHandler
    result: MachineResult | None
    seconds: float
    error: str | None = None
    server: dict[str, Any] | None = field(default=None)

    @property
    def ok(self) -> bool:
        return self.error is None and self.result is not None and self.result.ok

    @property
    def undecided(self) -> bool:
        """The handler's flow was stopped by the timeout before a state ended it: neither passed nor failed."""
        return self.error is None and self.result is not None and timed_out(self.result)

    @property
    def message(self) -> str | None:
        if self.error:
            return self.error
        return None if self.result is None or self.result.ok else self.result.error

    def to_dict(self) -> dict[str, Any]:
        out = {"handler": self.handler.source, "name": self.handler.name, "suite": self.handler.suite, "ok": self.ok,
               "error": self.message, "seconds": round(self.seconds, 3),
               "states": [v.to_dict() for v in self.result.path] if self.result else []}
        if self.undecided:
            out["undecided"] = True
        return out


def check_state(state: str) -> None:
    """Refuse (UsageError) a state that is not one of the standard flow's, before any handler is loaded."""
    if state not in STANDARD_STATES:
        raise UsageError(f"--state {state} is not a state of the standard flow; use one of "
                         f"{', '.join(STANDARD_STATES)}.")


async def run_handler(loaded: LoadedHandler, target: Target, state: str, manager: ResilientConnectionManager,
                      *, timeout: float, max_iterations: int = 1000) -> HandlerRun:
    started = time.perf_counter()
    try:
        handler: StateHandler = loaded.cls()
    except Exception as e:
        return HandlerRun(loaded, None, time.perf_counter() - started,
                          error=f"{loaded.name}() could not be created: {type(e).__name__}: {e}")
    overrides: dict[str, StateHandler] = {state: handler}
    extra = getattr(handler, "additional_handlers", None)
    if callable(extra):  # a handler may bring the custom states it moves to
        overrides.update(extra())
    outcome = await run_basic(target, manager, timeout=timeout, overrides=overrides, transitions=None,
                              max_iterations=max_iterations)
    server = outcome.ctx.server
    return HandlerRun(loaded, outcome.result, time.perf_counter() - started,
                      server=server.to_dict() if server else None)


async def run_handlers(env: Environment, handlers: Sequence[LoadedHandler], state: str, *,
                       on_run: Callable[[HandlerRun], None] | None = None) -> RunResult:
    """The `run` command's run: each handler registered for `state` of the standard flow, in turn, against the
    environment's target (`results`, `failed`, `undecided`: a handler stopped by the timeout). Interrupted, the
    handler running closes its connection and the result keeps the handlers that ended, with `complete: false`."""
    from test_rig.environment import PROGRAM_STOP

    runs: list[HandlerRun] = []
    stopped: str | None = None
    target = env.target()
    try:
        for loaded in handlers:
            run = await run_handler(loaded, target, state, env.manager(), timeout=env.config.test.timeout_secs)
            runs.append(run)
            if on_run is not None:
                on_run(run)
    except asyncio.CancelledError:
        stopped = f"{PROGRAM_STOP.reason()} after {len(runs)} of {len(handlers)} handler(s)"
    failed = sum(not r.ok and not r.undecided for r in runs)
    undecided = sum(r.undecided for r in runs)
    error = stopped or (f"{failed} of {len(runs)} handler(s) failed" if failed else None)
    return RunResult("run", ok=error is None and undecided == 0, complete=stopped is None,
                     error=error, payload={"state": state, "failed": failed, "undecided": undecided,
                                           "results": [r.to_dict() for r in runs]})


def junit_suites(result: dict[str, Any] | RunResult) -> list[Suite]:
    """The JUnit file of a `run` result: a suite per handler file, a case per handler."""
    data = as_dict(result)
    suites: dict[str, Suite] = {}
    for row in data.get("results") or []:
        suite = suites.setdefault(str(row["suite"]), Suite(str(row["suite"])))
        path = " -> ".join(str(s["state"]) for s in row.get("states") or [])
        name = str(row.get("name") or row["handler"])
        message = f"{row.get('error')}\nstates: {path}"
        suite.add(Case(name, str(row["handler"]), float(row.get("seconds") or 0.0),
                       failure=None if row.get("ok") or row.get("undecided") else message,
                       error=f"undecided: {message}" if row.get("undecided") else None))
    return list(suites.values())


def opening(handlers: Sequence[LoadedHandler], state: str, address: str) -> str:
    """`run`'s first line: how many handlers, for which state, against which server."""
    return f"test-rig run: {len(handlers)} handler(s) for state {state} against {address}"


def handler_lines(run: HandlerRun) -> list[str | Text]:
    """The lines of one handler as it ends: PASS, or FAIL / UNDECIDED with why and the states it went through."""
    from rich.text import Text

    if run.ok:
        return [Text.assemble("  ", ("PASS", "green"), f" {run.handler.source}")]
    path = run.result.path_summary() if run.result else "(not started)"
    return [Text.assemble("  ", ("UNDECIDED" if run.undecided else "FAIL", "red"),
                          f" {run.handler.source}: {run.message}"), f"       states: {path}"]


def console_lines(result: dict[str, Any] | RunResult) -> list[str]:
    """A `run` result's tally (none for an interrupted run: the handlers that ended were shown as they ended and
    its verdict line says where it stopped)."""
    data = as_dict(result)
    if data.get("complete") is False:
        return []
    failed, undecided = data["failed"], data["undecided"]
    return [f"{len(data['results']) - failed - undecided} passed, {failed} failed"
            + (f", {undecided} undecided" if undecided else "")]
