"""simple-multi-connection and multi-connection: N basic machines, alone or under the coordinator."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .basic import BasicOutcome, ConnectingHandler, run_basic
from .coordinator import ConnState, EventLog, Readiness, SharedState
from .db import Target
from .machine import State, StateContext, StateVisit
from .resilience import ResilientConnectionManager


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
