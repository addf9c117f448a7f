"""The nemesis: faults on a schedule during a free-running run, each recorded as a window (start, end, what
was done, how it was healed) for the result, the history and the report.

Every `interval` seconds from the run's start, one fault begins; the kinds asked for take turns, so each
kind is seen. It lasts `duration` seconds (half the interval unless given), then is healed: the server is
restarted or resumed, the toxic removed. A fault still active when the run ends, is interrupted or fails is
healed before the run returns, so nothing is left behind. A fault that could not be injected or healed is
recorded with its error, and the run is then not ok: a fault that did not happen tested nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from ..db import Target, connect
from ..errors import DatabaseError, RigError, UsageError
from .toxiproxy import Toxiproxy, connect_toxiproxy

SERVER_KINDS = ("kill", "pause")
NETWORK_KINDS = ("latency", "bandwidth", "reset", "partition")
KINDS = (*SERVER_KINDS, "kill-connections", *NETWORK_KINDS)
COMMAND_KEYS = ("kill", "start", "pause", "resume")
#: What each server fault needs from --nemesis-command when the server is not a sandbox.
NEEDS = {"kill": ("kill", "start"), "pause": ("pause", "resume")}


def parse_kinds(text: str) -> tuple[str, ...]:
    kinds = tuple(k.strip() for k in text.split(",") if k.strip())
    unknown = [k for k in kinds if k not in KINDS]
    if unknown or not kinds:
        raise UsageError(f"Unknown nemesis kind {unknown[0] if unknown else text!r}; use one or more of "
                         f"{', '.join(KINDS)}, separated by commas.")
    return tuple(dict.fromkeys(kinds))


def parse_commands(items: Sequence[str]) -> dict[str, str]:
    commands: dict[str, str] = {}
    for item in items:
        key, sep, command = item.partition("=")
        if not sep or key.strip() not in COMMAND_KEYS or not command.strip():
            raise UsageError(f"--nemesis-command {item!r} is not ACTION=COMMAND with ACTION one of "
                             f"{', '.join(COMMAND_KEYS)}; for example --nemesis-command kill=\"systemctl kill ...\".")
        commands[key.strip()] = command.strip()
    return commands


@dataclass(frozen=True)
class NemesisSpec:
    kinds: tuple[str, ...]
    interval: float = 10.0
    duration: float | None = None  # how long each fault lasts; None: half the interval
    commands: Mapping[str, str] = field(default_factory=dict)
    latency_ms: float = 50.0
    jitter_ms: float = 0.0
    bandwidth_kbps: int = 64
    kill_share: float = 0.5
    toxiproxy: str | None = None
    seed: int = 0
    #: Seconds after which an operation's connection is dropped (a request lost in a partition never returns).
    op_timeout: float = 2.0

    def __post_init__(self) -> None:
        if self.interval <= 0:
            raise UsageError(f"--nemesis-interval {self.interval:g} must be a positive number of seconds.")
        if self.duration is not None and not 0 < self.duration < self.interval:
            raise UsageError(f"--nemesis-duration {self.duration:g} must be more than 0 and less than "
                             f"--nemesis-interval {self.interval:g}.")

    @property
    def hold(self) -> float:
        return self.duration if self.duration is not None else self.interval / 2

    @property
    def breaker_recovery(self) -> float:
        """The circuit breaker's recovery time under this schedule: a fifth of the interval (at most the usual
        10 s), so the load comes back between faults instead of staying refused until the next one."""
        return min(10.0, max(0.5, self.interval / 5))

    @property
    def network(self) -> bool:
        return any(k in NETWORK_KINDS for k in self.kinds)


@dataclass
class FaultWindow:
    """One fault: when it began and ended (seconds from the run's start), what was done and undone."""

    kind: str
    start_s: float
    end_s: float | None = None
    action: str = ""
    heal: str = ""
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None and self.end_s is not None

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "start_s": round(self.start_s, 3),
                "end_s": round(self.end_s, 3) if self.end_s is not None else None, "action": self.action,
                "heal": self.heal, "ok": self.ok, "error": self.error}


class ServerControl(Protocol):
    description: str

    async def kill(self) -> str: ...
    async def start(self) -> str: ...
    async def pause(self) -> str: ...
    async def resume(self) -> str: ...


class SandboxControl:
    """A sandbox server on this machine: SIGKILL and restart on the same port and data, SIGSTOP and SIGCONT."""

    def __init__(self, box: Any) -> None:
        self.box = box
        self.description = f"sandbox {box.dir}"

    async def kill(self) -> str:
        st = self.box.state()
        await asyncio.to_thread(self.box.kill)
        return f"SIGKILL to the sandbox server (pid {st.pid if st else '?'})"

    async def start(self) -> str:
        st = await asyncio.to_thread(self.box.restart)
        return f"restarted the sandbox server (pid {st.pid}, port {st.port})"

    async def pause(self) -> str:
        await asyncio.to_thread(self.box.pause)
        st = self.box.state()
        return f"SIGSTOP to the sandbox server (pid {st.pid if st else '?'}), every thread stopped"

    async def resume(self) -> str:
        await asyncio.to_thread(self.box.resume)
        return "SIGCONT to the sandbox server"


class CommandControl:
    """A server test-rig does not own: the user's shell commands (`--nemesis-command kill=... start=...`)."""

    def __init__(self, commands: Mapping[str, str]) -> None:
        self.commands = dict(commands)
        self.description = "the --nemesis-command commands"

    async def _run(self, key: str) -> str:
        command = self.commands[key]
        proc = await asyncio.create_subprocess_shell(command, stdin=asyncio.subprocess.DEVNULL,
                                                     stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        try:
            out, err = await asyncio.wait_for(proc.communicate(), 120)
        except TimeoutError:
            proc.kill()
            await proc.wait()
            raise RigError(f"the {key} command did not finish within 120 s: {command}") from None
        if proc.returncode != 0:
            tail = (err or out).decode(errors="replace").strip()[-200:]
            raise RigError(f"the {key} command exited with status {proc.returncode}: {command}"
                           + (f" ({tail})" if tail else ""))
        return f"ran {key} command: {command}"

    async def kill(self) -> str:
        return await self._run("kill")

    async def start(self) -> str:
        return await self._run("start")

    async def pause(self) -> str:
        return await self._run("pause")

    async def resume(self) -> str:
        return await self._run("resume")


def find_sandbox(host: str, port: int) -> Any | None:
    """The running sandbox on this machine that serves host:port (TEST_RIG_SANDBOX_DIR and the sandboxes in the
    user's state directory, named ones too), or None."""
    from ..sandbox import Sandbox, default_dir

    if host not in ("127.0.0.1", "localhost", "::1"):
        return None
    candidates: list[Path] = []
    env = os.environ.get("TEST_RIG_SANDBOX_DIR")
    if env:
        candidates.append(Path(env))
    parent = default_dir("any").parent  # the user's test-rig state directory, where every named sandbox lives
    if parent.is_dir():
        candidates += sorted(p for p in parent.iterdir() if p.name.startswith("sandbox"))
    for directory in candidates:
        box = Sandbox(directory)
        st = box.state()
        if st is not None and st.port == port and box.running() is not None:
            return box
    return None


SessionsProvider = Callable[[], Awaitable[list[int]]]
EventListener = Callable[[str, str, FaultWindow], None]


class Nemesis:
    """Runs the schedule of `spec` against a run's server. Build it with `prepare`, give `target` (possibly the
    Toxiproxy proxy in front of the server) to the run's connections, call `run` beside the load and `close`
    after it."""

    def __init__(self, spec: NemesisSpec, server: Target, *, control: ServerControl | None = None,
                 toxiproxy: Toxiproxy | None = None, proxy: str | None = None, target: Target | None = None) -> None:
        self.spec = spec
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
        """Wait until perf_counter `at`; False if `stop` came first."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stop.wait(), max(0.0, at - time.perf_counter()))
        return not self._stop.is_set()

    async def run(self, start_at: float, duration: float) -> None:
        """Inject faults from `start_at` (time.perf_counter) until `duration` seconds later or `stop`. A fault in
        progress is always healed before this returns, also when the task is cancelled."""
        end = start_at + duration
        n = 1
        while True:
            at = start_at + n * self.spec.interval
            if at >= end or not await self._pause_until(at):
                return
            kind = self.spec.kinds[(n - 1) % len(self.spec.kinds)]
            n += 1
            window = FaultWindow(kind, time.perf_counter() - start_at)
            self.windows.append(window)
            try:
                window.action = await self._inject(kind)
            except (RigError, DatabaseError, OSError) as e:
                window.error = f"{kind} could not be injected: {e}"
                window.end_s = time.perf_counter() - start_at
                self._fire("failed", window)
                with contextlib.suppress(RigError, DatabaseError, OSError):
                    await self._heal(kind)  # whatever half of it happened is undone
                continue
            self._fire("start", window)
            try:
                if kind != "kill-connections":
                    await self._pause_until(min(start_at + window.start_s + self.spec.hold, end))
            finally:
                healing = asyncio.ensure_future(self._end(window, start_at))
                try:
                    await asyncio.shield(healing)
                except asyncio.CancelledError:
                    await healing  # the server must not be left killed or paused
                    raise

    async def _end(self, window: FaultWindow, start_at: float) -> None:
        try:
            window.heal = await self._heal(window.kind)
        except (RigError, DatabaseError, OSError) as e:
            window.error = f"{window.kind} could not be healed: {e}"
        window.end_s = time.perf_counter() - start_at
        self._fire("end", window)

    async def _inject(self, kind: str) -> str:
        if kind == "kill":
            assert self.control is not None
            return await self.control.kill()
        if kind == "pause":
            assert self.control is not None
            return await self.control.pause()
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
        if kind == "kill":
            assert self.control is not None
            return await self.control.start()
        if kind == "pause":
            assert self.control is not None
            return await self.control.resume()
        if kind == "kill-connections":
            return "nothing to undo: the run reconnects by itself"
        assert self.toxiproxy is not None and self.proxy is not None
        for stream in ("downstream", "upstream"):
            name = f"{kind}-{stream}"
            with contextlib.suppress(RigError):  # only the toxics this kind added exist
                await asyncio.to_thread(self.toxiproxy.remove_toxic, self.proxy, name)
        return f"Toxiproxy: {kind} toxic removed"

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

    def errors(self) -> list[str]:
        return [w.error or f"{w.kind} at {w.start_s:.1f} s did not end" for w in self.windows if not w.ok]


def annotate_timeline(timeline: list[dict[str, Any]], windows: Sequence[FaultWindow]) -> None:
    """Mark each timeline second (t = 1 covers [0, 1) s) with the kinds of fault active during any of it."""
    for entry in timeline:
        lo, hi = entry["t"] - 1, entry["t"]
        active = [w.kind for w in windows if w.start_s < hi and (w.end_s if w.end_s is not None else hi) > lo]
        entry["faults"] = sorted(set(active))


def _moved(target: Target, host: str, port: int) -> Target:
    import dataclasses

    return dataclasses.replace(target, host=host, port=port)
