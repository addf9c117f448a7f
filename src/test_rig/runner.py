"""`test-rig run`: user handlers registered for one state of the standard flow, each run and judged."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from .basic import STANDARD_STATES, run_basic
from .db import Target
from .machine import MachineResult, StateHandler
from .plugins import LoadedHandler
from .report import Case, Suite
from .resilience import ResilientConnectionManager

__all__ = ["STANDARD_STATES", "HandlerRun", "junit_suites", "run_handler"]


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
    def message(self) -> str | None:
        if self.error:
            return self.error
        return None if self.result is None or self.result.ok else self.result.error

    def to_dict(self) -> dict[str, Any]:
        return {"handler": self.handler.source, "suite": self.handler.suite, "ok": self.ok,
                "error": self.message, "seconds": round(self.seconds, 3),
                "states": [v.to_dict() for v in self.result.path] if self.result else []}


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


def junit_suites(runs: list[HandlerRun]) -> list[Suite]:
    suites: dict[str, Suite] = {}
    for run in runs:
        suite = suites.setdefault(run.handler.suite, Suite(run.handler.suite))
        path = " -> ".join(run.result.path_names) if run.result else ""
        suite.add(Case(run.handler.name, run.handler.source, run.seconds,
                       failure=None if run.ok else f"{run.message}\nstates: {path}"))
    return list(suites.values())
