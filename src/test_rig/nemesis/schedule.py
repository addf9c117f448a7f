"""The nemesis: faults on a schedule during a free-running run, each recorded as a window (start, end, what
was done, how it was healed) for the result, the history and the report.

What begins when is the plan (plan.py: the kinds take turns every interval, each held for the duration); `run`
carries it out against a clock (the real one, or a test's that advances at once). A fault still active when the
run ends, is interrupted or fails is healed before the run returns, so nothing is left behind. A fault that could
not be injected or healed is recorded with its error, and the run is then not ok: a fault that did not happen
tested nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import os
import random
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from test_rig.db import Target, connect
from test_rig.errors import DatabaseError, RigError, UsageError
from test_rig.nemesis.control import CommandControl, SandboxControl, ServerControl
from test_rig.nemesis.model import NEEDS, SERVER_KINDS, FaultWindow, NemesisSpec
from test_rig.nemesis.plan import plan
from test_rig.nemesis.toxiproxy import Toxiproxy, connect_toxiproxy
from test_rig.servers.sandbox import find_sandbox

SessionsProvider = Callable[[], Awaitable[list[int]]]
EventListener = Callable[[str, str, FaultWindow], None]


class Clock(Protocol):
    """What the schedule reads the time from and waits on, in seconds (only differences matter)."""

    def now(self) -> float: ...

    async def sleep_until(self, t: float) -> None:
        """Return once `now()` is at least `t`."""


class PerfClock:
    """The real clock: time.perf_counter, the clock the load's start instant is given in."""

    def now(self) -> float:
        return time.perf_counter()

    async def sleep_until(self, t: float) -> None:
        # The event loop's timers may fire a little early (uvloop rounds to the millisecond), so it sleeps again
        # until `t` has really come: a fault must not start, nor its window be recorded, before its second.
        while (remaining := t - time.perf_counter()) > 0:
            await asyncio.sleep(remaining)


class Nemesis:
    """Runs the schedule of `spec` against a run's server. Build it with `prepare`, give `target` (possibly the
    Toxiproxy proxy in front of the server) to the run's connections, call `run` beside the load and `close`
    after it."""

    def __init__(self, spec: NemesisSpec, server: Target, *, control: ServerControl | None = None,
                 toxiproxy: Toxiproxy | None = None, proxy: str | None = None, target: Target | None = None,
                 clock: Clock | None = None) -> None:
        self.spec = spec
        self.clock = clock or PerfClock()
        self.server = server  # the real server: KILL CONNECTION goes there directly, never through the proxy
        self.target = target or server
        self.control = control
        self.toxiproxy = toxiproxy
        self.proxy = proxy
        self.windows: list[FaultWindow] = []
        self.sessions: SessionsProvider | None = None
        #: The run's database, whose sessions of the run's user kill-connections takes when `sessions` is unset.
        self.database = self.target.database
        self.listeners: list[EventListener] = []
        self.rng = random.Random(spec.seed)
        self._stop = asyncio.Event()

    @classmethod
    def prepare(cls, spec: NemesisSpec, server: Target) -> Nemesis:
        """Check that every kind asked for can be done against `server`, and set up what it needs (the
        Toxiproxy proxy for network kinds). Raises UsageError, before the run starts, when one cannot."""
        control: ServerControl | None = None
        wanted = [k for k in spec.kinds if k in SERVER_KINDS]
        if wanted:
            needed = {c for k in wanted for c in NEEDS[k]}
            if needed <= set(spec.commands):
                control = CommandControl(spec.commands)
            else:
                box = find_sandbox(server.host, server.port)
                if box is None:
                    missing = sorted(needed - set(spec.commands))
                    raise UsageError(
                        f"--nemesis {','.join(wanted)} needs control of the server and {server.address} is not a "
                        "sandbox running on this machine; give the commands with "
                        + " ".join(f'--nemesis-command {m}="..."' for m in missing) + ".")
                control = SandboxControl(box)
        toxiproxy = None
        proxy = None
        target = server
        if spec.network:
            toxiproxy = connect_toxiproxy(spec.toxiproxy)
            proxy = f"test-rig-{os.getpid()}-{uuid.uuid4().hex[:8]}"
            try:
                host, port = toxiproxy.create_proxy(proxy, f"{server.host}:{server.port}")
            except RigError:
                toxiproxy.close()
                raise
            target = _moved(server, host, port)
        return cls(spec, server, control=control, toxiproxy=toxiproxy, proxy=proxy, target=target)

    def describe(self) -> str:
        parts = [f"{','.join(self.spec.kinds)} every {self.spec.interval:g} s for {self.spec.hold:g} s"]
        if self.control is not None:
            parts.append(f"server faults through {self.control.description}")
        if self.toxiproxy is not None:
            parts.append(f"network faults through Toxiproxy at {self.toxiproxy.url} "
                         f"(the run connects to {self.target.address})")
        return "; ".join(parts)

    def _fire(self, phase: str, window: FaultWindow) -> None:
        for listener in self.listeners:
            listener(window.kind, phase, window)

    def stop(self) -> None:
        """End the schedule early (the run ended or was interrupted); `run` heals the fault in progress."""
        self._stop.set()

    async def _pause_until(self, at: float) -> bool:
        """Wait until the clock's `at`; False if `stop` came first."""
        if self._stop.is_set():
            return False
        if self.clock.now() >= at:
            return True
        sleeping = asyncio.ensure_future(self.clock.sleep_until(at))
        stopping = asyncio.ensure_future(self._stop.wait())
        try:
            await asyncio.wait((sleeping, stopping), return_when=asyncio.FIRST_COMPLETED)
        finally:
            sleeping.cancel()
            stopping.cancel()
        return not self._stop.is_set()

    async def run(self, start_at: float, duration: float) -> None:
        """Carry out the plan of a `duration`-second run from `start_at` (in the clock's time, for the real one
        time.perf_counter) until its end or `stop`. A fault in progress is always healed before this returns, also
        when the task is cancelled."""
        for fault in plan(self.spec, duration):
            if not await self._pause_until(start_at + fault.start_s):
                return
            kind = fault.kind
            self.windows.append(FaultWindow(kind, self.clock.now() - start_at))
            index = len(self.windows) - 1
            try:
                window = self._record(index, action=await self._inject(kind))
            except asyncio.CancelledError:  # cancelled half-way: what was done is undone all the same
                self._record(index, error=f"{kind} was interrupted while being injected")
                await self._end_surely(index, start_at)
                raise
            except (RigError, DatabaseError, OSError) as e:
                self._fire("failed", self._record(index, error=f"{kind} could not be injected: {e}",
                                                  end_s=self.clock.now() - start_at))
                with contextlib.suppress(RigError, DatabaseError, OSError):
                    await self._heal(kind)  # whatever half of it happened is undone
                continue
            self._fire("start", window)
            # A fault that began late (a busy event loop) is still held for its whole duration, as planned, but
            # never past the run's end.
            late = window.start_s - fault.start_s
            try:
                await self._pause_until(start_at + min(fault.end_s + late, duration))
            finally:
                await self._end_surely(index, start_at)

    def _record(self, index: int, **changes: Any) -> FaultWindow:
        """The window at `index` with `changes`, recorded in its place."""
        self.windows[index] = dataclasses.replace(self.windows[index], **changes)
        return self.windows[index]

    async def _end_surely(self, index: int, start_at: float) -> None:
        """`_end`, carried through even if this task is cancelled meanwhile: the server must not be left killed
        or paused. A cancellation goes on once the fault is healed."""
        healing = asyncio.ensure_future(self._end(index, start_at))
        try:
            await asyncio.shield(healing)
        except asyncio.CancelledError:
            await healing
            raise

    async def _end(self, index: int, start_at: float) -> None:
        kind = self.windows[index].kind
        try:
            changes: dict[str, Any] = {"heal": await self._heal(kind)}
        except (RigError, DatabaseError, OSError) as e:
            changes = {"error": f"{kind} could not be healed: {e}"}
        self._fire("end", self._record(index, end_s=self.clock.now() - start_at, **changes))

    async def _inject(self, kind: str) -> str:
        if kind in SERVER_KINDS:
            return await self._control(kind, heal=False)
        if kind == "kill-connections":
            return await self._kill_connections()
        assert self.toxiproxy is not None and self.proxy is not None
        s = self.spec
        toxics: dict[str, list[tuple[str, dict[str, Any], str]]] = {
            "latency": [("latency", {"latency": int(s.latency_ms), "jitter": int(s.jitter_ms)}, "downstream")],
            "bandwidth": [("bandwidth", {"rate": s.bandwidth_kbps}, "downstream")],
            "reset": [("reset_peer", {"timeout": 0}, "downstream"), ("reset_peer", {"timeout": 0}, "upstream")],
            "partition": [("timeout", {"timeout": 0}, "downstream"), ("timeout", {"timeout": 0}, "upstream")],
        }
        for toxic_type, attributes, stream in toxics[kind]:
            await asyncio.to_thread(self.toxiproxy.add_toxic, self.proxy, f"{kind}-{stream}", toxic_type,
                                    attributes, stream)
        described = {"latency": f"{s.latency_ms:g} ms latency (jitter {s.jitter_ms:g} ms) on replies",
                     "bandwidth": f"replies limited to {s.bandwidth_kbps} KB/s",
                     "reset": "every connection through the proxy reset (TCP RST), new ones too",
                     "partition": "every byte both ways dropped (black hole)"}
        return f"Toxiproxy: {described[kind]}"

    async def _heal(self, kind: str) -> str:
        if kind in SERVER_KINDS:
            return await self._control(kind, heal=True)
        if kind == "kill-connections":
            return "nothing to undo: the run reconnects by itself"
        assert self.toxiproxy is not None and self.proxy is not None
        for stream in ("downstream", "upstream"):
            name = f"{kind}-{stream}"
            with contextlib.suppress(RigError):  # only the toxics this kind added exist
                await asyncio.to_thread(self.toxiproxy.remove_toxic, self.proxy, name)
        return f"Toxiproxy: {kind} toxic removed"

    async def _control(self, kind: str, *, heal: bool) -> str:
        """Inject or heal a server fault through the server's control: the action NEEDS names for it (kill, then
        start; pause, then resume), which `prepare` checked the control can do."""
        assert self.control is not None
        injects, heals = NEEDS[kind]
        action: Callable[[], Awaitable[str]] = getattr(self.control, heals if heal else injects)
        return await action()

    async def _kill_connections(self) -> str:
        admin = await connect(self.server, database=False)
        try:
            if self.sessions is not None:
                ids = await self.sessions()
            else:  # the run's sessions: this user's on the run's database, other than the admin's own
                rows = await admin.query(
                    "SELECT ID FROM information_schema.PROCESSLIST WHERE USER = %s AND DB = %s "
                    "AND ID <> CONNECTION_ID()", (self.target.user, self.database))
                ids = [int(r[0]) for r in rows]
            if not ids:
                raise RigError("the run had no open sessions to kill")
            chosen = self.rng.sample(sorted(ids), max(1, round(len(ids) * self.spec.kill_share)))
            killed = 0
            for thread_id in chosen:
                try:
                    await admin.execute(f"KILL CONNECTION {int(thread_id)}")
                    killed += 1
                except DatabaseError as e:
                    if e.code != 1094:  # 1094: unknown thread, it ended by itself meanwhile
                        raise
            return f"KILL CONNECTION of {killed} of the run's {len(ids)} sessions"
        finally:
            await admin.close()

    async def close(self) -> None:
        if self.toxiproxy is not None:
            await asyncio.to_thread(self.toxiproxy.close)

    def to_dict(self) -> dict[str, Any]:
        return {"kinds": list(self.spec.kinds), "interval_s": self.spec.interval, "duration_s": self.spec.hold,
                "description": self.describe(), "windows": [w.to_dict() for w in self.windows],
                "ok": all(w.ok for w in self.windows)}

    def failure(self) -> str | None:
        """Why the run did not test what was asked (faults not injected or not healed), or None."""
        errors = self.errors()
        return "nemesis: " + "; ".join(errors) if errors else None

    def errors(self) -> list[str]:
        return [w.error or f"{w.kind} at {w.start_s:.1f} s did not end" for w in self.windows if not w.ok]


def _moved(target: Target, host: str, port: int) -> Target:
    import dataclasses

    return dataclasses.replace(target, host=host, port=port)
