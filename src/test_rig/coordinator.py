"""Many connections under one coordinator: events, shared state, a readiness barrier, and two modes.

Scripted mode runs steps `(connection, SQL or callable)` in a global order. A step still running
after the block-detection window is a suspected block: the server is asked whether that session is
waiting for a lock (db.lock_wait), and only then is the step recorded as blocked, with the evidence
used; a step that is merely slow is waited for. Later steps of a blocked connection queue behind it
while other connections go on, so a COMMIT elsewhere can release it. The step records (rows, error
codes, blocked flags and their evidence, completion order) are the history a judge reads afterwards.

Free-running mode runs a workload on every connection as fast as it goes, for a duration or a
number of operations, recording latency in an HDR histogram and a per-second timeline.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import logging
import math
import random
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from test_rig import timeouts
from test_rig.db import Connection, Target, connect, lock_wait, starts_transaction
from test_rig.errors import (
    MESSAGE_KEPT,
    DatabaseError,
    ErrorCategory,
    RigError,
    classify_error,
    code_key,
    is_lost_connection,
)
from test_rig.machine import State, StateContext, StateHandler, call_handler
from test_rig.resilience import ResilientConnectionManager, RetryConfig, create_db_circuit_breaker_config

log = logging.getLogger("test_rig.coordinator")


# --------------------------------------------------------------------------- events and shared state


class ConnState(enum.Enum):
    """A connection's state as the coordinator sees it (the original's vocabulary)."""

    Disconnected = "Disconnected"
    Connecting = "Connecting"
    Connected = "Connected"
    Testing = "Testing"
    Monitoring = "Monitoring"
    Error = "Error"


@dataclass(frozen=True)
class Event:
    kind: str  # ConnectionEstablished | ConnectionFailed | AllConnectionsReady | TestCompleted | ...
    t: float
    connection: str | None = None
    detail: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "t": round(self.t, 4), "connection": self.connection, "detail": self.detail}

    def __str__(self) -> str:
        who = f"{{id: {self.connection}}}" if self.connection is not None else ""
        detail = f" {self.detail}" if self.detail else ""
        return f"{self.t:8.3f}s {self.kind}{who}{detail}"


EventListener = Callable[[Event], None]


class EventLog:
    """Typed events that machines and the coordinator see, with listeners (as in Locust)."""

    def __init__(self) -> None:
        self.events: list[Event] = []
        self._listeners: list[EventListener] = []
        self._t0 = time.perf_counter()

    def add_listener(self, fn: EventListener) -> EventListener:
        self._listeners.append(fn)
        return fn

    def fire(self, kind: str, connection: str | None = None, detail: str | None = None) -> Event:
        ev = Event(kind, time.perf_counter() - self._t0, connection, detail)
        self.events.append(ev)
        for fn in self._listeners:
            fn(ev)
        return ev

    def kinds(self) -> list[str]:
        return [e.kind for e in self.events]


@dataclass
class SharedState:
    """What every machine can see: each connection's state, and free data."""

    connections: dict[str, ConnState] = field(default_factory=dict)
    data: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"connections": {k: v.value for k, v in self.connections.items()}, "data": dict(self.data)}


class Readiness:
    """A barrier that tolerates failures: it opens when every connection has connected or failed."""

    def __init__(self, expected: int, events: EventLog) -> None:
        self.expected = expected
        self.arrived = 0
        self.failed = 0
        self._open = asyncio.Event()
        self._events = events

    def arrive(self, ok: bool) -> None:
        self.arrived += 1
        if not ok:
            self.failed += 1
        if self.arrived >= self.expected and not self._open.is_set():
            self._events.fire("AllConnectionsReady", detail=f"{self.arrived - self.failed} connected, "
                                                           f"{self.failed} failed")
            self._open.set()

    async def wait(self, timeout: float | None = None) -> bool:
        try:
            # asyncio.timeout, not wait_for: 3.11's wait_for drops a Ctrl-C's cancellation that comes as the barrier
            # opens, and the run went on to its end
            async with timeouts.timeout(timeout):
                await self._open.wait()
        except TimeoutError:
            return False
        return True


# --------------------------------------------------------------------------- scripted mode

Action = Callable[[Connection], Awaitable[Any]]


@dataclass(frozen=True)
class Step:
    """One step of a script: SQL or an async callable, on the named connection."""

    conn: str
    sql: str | None = None
    action: Action | None = None
    label: str | None = None

    @property
    def text(self) -> str:
        if self.sql is not None:
            return self.sql
        return self.label or str(getattr(self.action, "__name__", "callable"))

    @property
    def starts_transaction(self) -> bool:
        return self.sql is not None and starts_transaction(self.sql)


@dataclass(frozen=True)
class StepRecord:
    index: int
    conn: str
    sql: str
    rows: list[list[Any]] | None = None
    rowcount: int | None = None
    error_code: int | None = None
    error: str | None = None
    blocked: bool = False
    #: How the block was established: the server's own lock-wait report, or timing alone.
    block_evidence: str | None = None
    skipped: bool = False
    started: float | None = None
    ended: float | None = None
    completed_order: int | None = None
    label: str | None = None

    @property
    def txn(self) -> str:
        """The connection's name; in a transaction script it names the transaction."""
        return self.conn

    @property
    def ran(self) -> bool:
        """The step was executed and did not fail."""
        return not self.skipped and self.error is None

    def to_dict(self) -> dict[str, Any]:
        return {
            "index": self.index, "txn": self.conn, "sql": self.sql, "rows": self.rows, "rowcount": self.rowcount,
            "blocked": self.blocked, "block_evidence": self.block_evidence,
            "error": self.error, "error_code": self.error_code, "skipped": self.skipped,
            # to the nanosecond: the judges compare one step's end with another's start, and a result read
            # back with from_dict must be judged again to the same verdict
            "start_ms": None if self.started is None else round(self.started * 1000, 6),
            "end_ms": None if self.ended is None else round(self.ended * 1000, 6),
            "completed_order": self.completed_order, "label": self.label,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> StepRecord:
        """The record `to_dict` wrote (a step of a JSON report), for judging it again."""
        def seconds(ms: Any) -> float | None:
            return None if ms is None else float(ms) / 1000

        return cls(int(data["index"]), str(data["txn"]), str(data["sql"]), rows=data.get("rows"),
                   rowcount=data.get("rowcount"), error_code=data.get("error_code"), error=data.get("error"),
                   blocked=bool(data.get("blocked")), block_evidence=data.get("block_evidence"),
                   skipped=bool(data.get("skipped")), started=seconds(data.get("start_ms")),
                   ended=seconds(data.get("end_ms")), completed_order=data.get("completed_order"),
                   label=data.get("label"))


@dataclass
class ScriptResult:
    steps: list[StepRecord]
    timed_out: bool = False

    def completion_order(self) -> list[int]:
        done = [s for s in self.steps if s.completed_order is not None]
        return [s.index for s in sorted(done, key=lambda s: s.completed_order or 0)]


class _Lane:
    """One connection's queue in a script: steps run one after another on it."""

    def __init__(self, name: str, conn: Connection) -> None:
        self.name = name
        self.conn = conn
        self.tail: asyncio.Task[None] | None = None
        self.aborted = False


# --------------------------------------------------------------------------- free-running mode


@dataclass
class Worker:
    """What a free-running workload sees: its index, its own random generator and scratch data."""

    index: int
    rng: random.Random
    data: dict[str, Any] = field(default_factory=dict)


Workload = Callable[[Connection, Worker], Awaitable[Any]]


class HandlerFailed(DatabaseError):
    """A handler used as a workload ended an operation in the Error state."""


def handler_workload(factory: Callable[[], StateHandler]) -> Workload:
    """Free-running mode with a handler: each worker gets its own handler and context, and every
    operation is one `enter`/`execute`/`exit` on the worker's connection. Ending in Error counts
    as a failed operation (its message is kept); the state returned otherwise is ignored."""
    async def op(conn: Connection, worker: Worker) -> None:
        handler, ctx = worker.data.get("handler"), worker.data.get("ctx")
        if handler is None or ctx is None:
            handler, ctx = factory(), StateContext.for_target(conn.target, worker.index)
            worker.data["handler"], worker.data["ctx"] = handler, ctx
        ctx.connection, ctx.server, ctx.server_version = conn, conn.server, conn.server.version
        await call_handler(handler.enter, ctx)
        nxt = State.of(await call_handler(handler.execute, ctx))
        await call_handler(handler.exit, ctx)
        if nxt.name == "Error":
            raise HandlerFailed(nxt.message or f"{type(handler).__name__} ended in Error", code=None)

    return op


@dataclass
class FreeRunResult:
    operations: int
    errors: int
    seconds: float
    histogram: Any  # hdrh HdrHistogram, microseconds
    errors_by_code: dict[str, int]
    timeline: list[dict[str, Any]]
    retries: int
    reconnects: int
    indeterminate: int
    breaker: dict[str, Any]
    complete: bool = True
    #: Each timeline second's latency samples (microseconds), to merge results of several processes.
    second_samples: list[list[int]] = field(default_factory=list)
    #: CPU seconds the worker process spent on the run (set by scale-out workers, for the benchmarks).
    cpu_seconds: float | None = None
    #: What the workload recorded itself beside the loop's figures, as plain data (a workload with a
    #: `named_stats()` method, e.g. the OLTP workloads' per-statement counts and latencies); merge_named adds up
    #: several processes' figures.
    named: dict[str, Any] | None = None
    #: The first message the server gave for each code of `errors_by_code` (at most errors.MESSAGE_KEPT characters).
    error_messages: dict[str, str] = field(default_factory=dict)

    @property
    def qps(self) -> float:
        return self.operations / self.seconds if self.seconds > 0 else 0.0

    def percentile_ms(self, p: float) -> float:
        if self.histogram.get_total_count() == 0:
            return 0.0
        return float(self.histogram.get_value_at_percentile(p)) / 1000.0

    def to_dict(self) -> dict[str, Any]:
        h = self.histogram
        return {
            "operations": self.operations, "seconds": round(self.seconds, 3), "qps": round(self.qps, 1),
            "p50_ms": round(self.percentile_ms(50), 3), "p95_ms": round(self.percentile_ms(95), 3),
            "p99_ms": round(self.percentile_ms(99), 3),
            "max_ms": round(h.get_max_value() / 1000.0, 3) if h.get_total_count() else 0.0,
            "errors": self.errors, "errors_by_code": self.errors_by_code, "error_messages": self.error_messages,
            "retries": self.retries,
            "reconnects": self.reconnects, "indeterminate": self.indeterminate, "breaker": self.breaker,
            "complete": self.complete, "timeline": self.timeline,
            "latency_histogram": latency_histogram(h),
            **({"named": self.named} if self.named is not None else {}),
        }


# --------------------------------------------------------------------------- the coordinator


#: How many operations of each second a free run keeps for that second's latency percentiles.
SECOND_SAMPLES = 2048
#: The per-second slots a free-running loop makes up front, at most (an hour's); a longer run grows them as it gets
#: there (`--duration 1e9` made them all at once and filled the memory).
SLOTS_UP_FRONT = 3600


async def supervise(workers: Sequence[Coroutine[Any, Any, Any]], ticker: Coroutine[Any, Any, None] | None,
                    watchdog: Coroutine[Any, Any, None] | None, summary: Callable[..., FreeRunResult],
                    on_interrupt: Callable[[FreeRunResult], None] | None) -> FreeRunResult:
    """The end of every free-running loop (Coordinator.run_free's and the fast path's): the workers run with the
    per-second ticker and the op-timeout watchdog beside them; a cancellation hands the figures so far to
    `on_interrupt` before it goes on; the result is `summary(complete=True)`."""
    tasks = [asyncio.create_task(c) for c in (ticker, watchdog) if c is not None]
    try:
        await asyncio.gather(*workers)
    except asyncio.CancelledError:
        if on_interrupt is not None:
            on_interrupt(summary(complete=False))
        raise
    finally:
        for task in tasks:
            task.cancel()
    return summary(complete=True)


async def tick_seconds(start: float, on_second: Callable[[int, int, int], None], ops: list[int], errors: list[int],
                       before: Callable[[], None] | None = None) -> None:
    """Call `on_second(second, operations, errors)` as each second of a free-running run ends (`ops` and `errors`:
    the run's per-second lists, grown in place); `before` brings them up to date first. Runs until cancelled."""
    second = 1
    while True:
        await asyncio.sleep(max(0.0, start + second - time.perf_counter()))
        if before is not None:
            before()
        i = second - 1
        on_second(second, ops[i] if i < len(ops) else 0, errors[i] if i < len(errors) else 0)
        second += 1


def _second_latency(samples: list[int] | None) -> dict[str, float | None]:
    """p50/p95/p99 in ms of one second's sampled operations (None for a second without any)."""
    if not samples:
        return {"p50_ms": None, "p95_ms": None, "p99_ms": None}
    ordered = sorted(samples)
    last = len(ordered) - 1
    return {f"p{p}_ms": round(ordered[min(last, math.ceil(p / 100 * len(ordered)) - 1)] / 1000.0, 3)
            for p in (50, 95, 99)}


def latency_histogram(hist: Any, buckets_per_decade: int = 10) -> list[list[float]]:
    """The overall latency distribution as [upper bound in ms, operations] in log-spaced buckets."""
    if hist.get_total_count() == 0:
        return []
    counts: Counter[int] = Counter()
    for item in hist.get_recorded_iterator():
        value = max(1, int(item.value_iterated_to))
        counts[math.ceil(math.log10(value) * buckets_per_decade)] += int(item.count_added_in_this_iter_step)
    return [[round(10 ** (b / buckets_per_decade) / 1000.0, 4), counts[b]] for b in sorted(counts)]


def merge_named(parts: Sequence[dict[str, Any] | None]) -> dict[str, Any] | None:
    """Several processes' `named` figures as one: numbers added, dicts merged key by key, and a string under
    the key "histogram" read as an encoded HDR histogram and merged as one."""
    from hdrh.histogram import HdrHistogram

    def merge(values: list[Any], key: str) -> Any:
        if key == "histogram":
            hist = HdrHistogram(1, 3_600_000_000, 3)
            for v in values:
                hist.add(HdrHistogram.decode(v))
            return hist.encode().decode("ascii")
        if isinstance(values[0], dict):
            keys = {k: None for v in values for k in v}
            return {k: merge([v[k] for v in values if k in v], k) for k in keys}
        return sum(values)

    present = [p for p in parts if p is not None]
    return merge(present, "") if present else None


def nothing_done() -> FreeRunResult:
    """The figures of a run stopped before any of its load began (worker processes still waiting for the common
    start): no operation, no second, incomplete. Said as such, not left out of the result."""
    from hdrh.histogram import HdrHistogram

    return FreeRunResult(0, 0, 0.0, HdrHistogram(1, 3_600_000_000, 3), {}, [], 0, 0, 0, {}, complete=False)


def merge_results(parts: Sequence[FreeRunResult]) -> FreeRunResult:
    """One result from several processes' results of the same run (their timelines started together):
    counts and timelines added second by second, histograms merged, each second's percentiles recomputed
    from all processes' samples."""
    from hdrh.histogram import HdrHistogram

    hist = HdrHistogram(1, 3_600_000_000, 3)
    for part in parts:
        hist.add(part.histogram)
    entries = max(len(p.timeline) for p in parts)
    timeline: list[dict[str, Any]] = []
    samples: list[list[int]] = []
    for i in range(entries):
        seconds = [p.timeline[i] for p in parts if i < len(p.timeline)]
        merged_samples = [v for p in parts if i < len(p.second_samples) for v in p.second_samples[i]]
        codes: Counter[str] = Counter()
        for sec in seconds:
            codes.update(sec.get("errors_by_code") or {})
        timeline.append({"t": i + 1, "ops": sum(sec["ops"] for sec in seconds),
                         "errors": sum(sec["errors"] for sec in seconds), **_second_latency(merged_samples),
                         "errors_by_code": dict(codes)})
        samples.append(merged_samples)
    errors_by_code: Counter[str] = Counter()
    error_messages: dict[str, str] = {}
    for part in parts:
        errors_by_code.update(part.errors_by_code)
        for code, message in part.error_messages.items():
            error_messages.setdefault(code, message)
    transitions = sorted((t for p in parts for t in p.breaker.get("transitions", [])), key=lambda t: t["at"])
    breaker = dict(parts[0].breaker, transitions=transitions,
                   total_failures=sum(p.breaker.get("total_failures", 0) for p in parts),
                   total_successes=sum(p.breaker.get("total_successes", 0) for p in parts),
                   rejected=sum(p.breaker.get("rejected", 0) for p in parts))
    return FreeRunResult(
        operations=sum(p.operations for p in parts), errors=sum(p.errors for p in parts),
        seconds=max(p.seconds for p in parts), histogram=hist, errors_by_code=dict(errors_by_code),
        timeline=timeline, retries=sum(p.retries for p in parts), reconnects=sum(p.reconnects for p in parts),
        indeterminate=sum(p.indeterminate for p in parts), breaker=breaker, complete=all(p.complete for p in parts),
        second_samples=samples, named=merge_named([p.named for p in parts]), error_messages=error_messages)


class Coordinator:
    """Owns N named connections, their shared state and events, and runs them in either mode."""

    def __init__(self, targets: Sequence[Target], *, names: Sequence[str] | None = None,
                 block_window: float = 0.3, script_timeout: float = 30.0, connect_concurrency: int = 50,
                 events: EventLog | None = None) -> None:
        if names is not None and len(names) != len(targets):
            raise ValueError("names and targets must have the same length")
        self.targets = list(targets)
        self.names = list(names) if names is not None else [str(i + 1) for i in range(len(targets))]
        self.block_window = block_window
        self.script_timeout = script_timeout
        self.connect_concurrency = connect_concurrency
        self.events = events or EventLog()
        self.shared = SharedState({n: ConnState.Disconnected for n in self.names})
        self.connections: dict[str, Connection] = {}
        self.readiness = Readiness(len(self.targets), self.events)
        self._t0 = time.perf_counter()
        self._probe: Connection | None = None

    # ------------------------------------------------------------------ connections
    async def open(self, *, database: str | bool | None = True,
                   prepare: Callable[[Connection], Awaitable[None]] | None = None,
                   manager: ResilientConnectionManager | None = None) -> dict[str, BaseException]:
        """Connect every target (at most `connect_concurrency` at once), through `manager`'s retry
        and breaker when given; then run `prepare` (never retried) on each. Returns failures by name."""
        gate = asyncio.Semaphore(self.connect_concurrency)
        failures: dict[str, BaseException] = {}

        async def one(name: str, target: Target) -> None:
            async with gate:
                self.shared.connections[name] = ConnState.Connecting
                try:
                    if manager is not None:
                        conn = await manager.execute_with_resilience(
                            f"connect {name}", lambda: connect(target, database=database))
                    else:
                        conn = await connect(target, database=database)
                    if prepare is not None:
                        await prepare(conn)
                except (DatabaseError, RigError, OSError) as e:
                    failures[name] = e
                    self.shared.connections[name] = ConnState.Error
                    self.events.fire("ConnectionFailed", name, str(e))
                    self.readiness.arrive(False)
                    return
                self.connections[name] = conn
                self.shared.connections[name] = ConnState.Connected
                self.events.fire("ConnectionEstablished", name)
                self.readiness.arrive(True)

        await asyncio.gather(*(one(n, t) for n, t in zip(self.names, self.targets, strict=True)))
        return failures

    async def session_ids(self) -> list[int]:
        """The server's ids of the open connections (for KILL CONNECTION by the nemesis)."""
        return [c.thread_id for c in self.connections.values() if c.thread_id is not None and not c.closed]

    async def close(self) -> None:
        conns = list(self.connections.values())
        if self._probe is not None:
            conns.append(self._probe)
            self._probe = None
        self.connections.clear()
        await asyncio.gather(*(c.close() for c in conns), return_exceptions=True)
        for name in self.names:
            self.shared.connections[name] = ConnState.Disconnected

    async def __aenter__(self) -> Coordinator:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # ------------------------------------------------------------------ scripted mode
    async def run_script(self, steps: Sequence[Step], *, block_window: float | None = None,
                         timeout: float | None = None) -> ScriptResult:
        """Run `steps` in their global order on the open connections; never hangs past `timeout`."""
        window = self.block_window if block_window is None else block_window
        limit = self.script_timeout if timeout is None else timeout
        missing = sorted({s.conn for s in steps} - set(self.connections))
        if missing:
            raise RigError(f"script names connection(s) {', '.join(missing)} that are not open")
        lanes = {name: _Lane(name, conn) for name, conn in self.connections.items()}
        records = [StepRecord(i, s.conn, s.text, label=s.label) for i, s in enumerate(steps)]
        order = [0]
        t0 = time.perf_counter()
        deadline = t0 + limit
        tasks: list[asyncio.Task[None]] = []
        for i, step in enumerate(steps):
            # A step the previous one may have released (a COMMIT freeing its locks) finishes, or is again shown
            # waiting by the server, before the next step is sent: as in Hermitage, where the released statement
            # returns before the next one is typed. Without this the next step raced it (OTV at read-uncommitted
            # was seen prevented on a loaded machine).
            for j, earlier in enumerate(tasks):
                if records[j].blocked and not earlier.done() and deadline > time.perf_counter():
                    await asyncio.wait({earlier}, timeout=min(window, max(0.0, deadline - time.perf_counter())))
                    if not earlier.done():
                        await self._confirm_block(earlier, records, j, lanes[steps[j].conn].conn, window, deadline)
            lane = lanes[step.conn]
            self.shared.connections[step.conn] = ConnState.Testing
            task = asyncio.create_task(self._run_step(step, records, i, lane, lane.tail, t0, order))
            lane.tail = task
            tasks.append(task)
            left = deadline - time.perf_counter()
            if left <= 0:
                break
            done, _ = await asyncio.wait({task}, timeout=min(window, left))
            if not done and records[i].started is not None:
                await self._confirm_block(task, records, i, lane.conn, window, deadline)
        pending = [t for t in tasks if not t.done()]
        timed_out = False
        if pending:
            _, still = await asyncio.wait(pending, timeout=max(0.0, deadline - time.perf_counter()))
            if still:
                timed_out = True
                await self._abandon(still, records, lanes)
        for i in range(len(tasks), len(steps)):
            records[i] = replace(records[i], skipped=True, error="not run: the script timed out")
        for name in lanes:
            if self.shared.connections.get(name) is ConnState.Testing:
                self.shared.connections[name] = ConnState.Connected
        return ScriptResult(records, timed_out)

    async def _confirm_block(self, task: asyncio.Task[None], records: list[StepRecord], i: int, conn: Connection,
                             window: float, deadline: float) -> None:
        """Decide whether a step still running after the window is blocked: ask the server whether
        its session waits for a lock. While the server says it does not, the step is merely slow and
        is waited for (re-asking every window). Where the server cannot say, timing alone decides,
        and the record says so."""
        while not task.done():
            try:
                evidence = await self._ask_lock_wait(conn)
            except DatabaseError as e:
                if not task.done():
                    records[i] = replace(records[i], blocked=True, block_evidence=(
                        f"timing only: still running after {window:g} s; the server could not be asked about lock "
                        f"waits ({e})"))
                return
            if task.done():
                return
            if evidence is not None:
                records[i] = replace(records[i], blocked=True, block_evidence=evidence)
                return
            left = deadline - time.perf_counter()
            if left <= 0:
                return
            await asyncio.wait({task}, timeout=min(window, left))

    async def _ask_lock_wait(self, conn: Connection) -> str | None:
        if conn.thread_id is None:
            raise DatabaseError("the session's connection id is unknown", code=None)
        if self._probe is None or self._probe.closed:
            self._probe = await connect(conn.target, database=False, detect=False)
        return await lock_wait(self._probe, conn.server, int(conn.thread_id))

    async def _run_step(self, step: Step, records: list[StepRecord], i: int, lane: _Lane,
                        previous: asyncio.Task[None] | None, t0: float, order: list[int]) -> None:
        """Run step `i` after the lane's previous step; its record is replaced (records are frozen) as it learns
        more: started, then its answer and end; `_confirm_block` may mark it blocked meanwhile."""
        if previous is not None and not previous.done():
            await asyncio.wait({previous})
        if lane.aborted and not step.starts_transaction:
            records[i] = replace(records[i], skipped=True)
            return
        if step.starts_transaction:
            lane.aborted = False
        records[i] = replace(records[i], started=time.perf_counter() - t0)
        try:
            if step.sql is not None:
                res = await lane.conn.execute(step.sql)
                answer: dict[str, Any] = {"rows": [list(r) for r in res.rows] if res.columns else None,
                                          "rowcount": res.rowcount}
            else:
                assert step.action is not None
                value = await step.action(lane.conn)
                answer = {"rows": [list(r) if isinstance(r, tuple | list) else [r] for r in value]} \
                    if isinstance(value, list) else {}
        except DatabaseError as e:
            self._finish(records, i, t0, order, error_code=e.code, error=e.message)
            if lane.conn.in_transaction:
                # A failed statement aborts its transaction: roll it back, skip the rest of it.
                lane.aborted = True
                with contextlib.suppress(DatabaseError):
                    await lane.conn.execute("ROLLBACK")
            return
        self._finish(records, i, t0, order, **answer)

    @staticmethod
    def _finish(records: list[StepRecord], i: int, t0: float, order: list[int], **answer: Any) -> None:
        order[0] += 1
        records[i] = replace(records[i], ended=time.perf_counter() - t0, completed_order=order[0], **answer)

    async def _abandon(self, tasks: set[asyncio.Task[None]], records: list[StepRecord],
                       lanes: dict[str, _Lane]) -> None:
        """Stop steps that outlived the script: kill their server threads, drop the connections."""
        stuck = {r.conn for r in records if r.started is not None and r.ended is None}
        # Cancel first so the records say "blocked", not the error the KILL below would cause.
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for name in stuck:
            lane = lanes[name]
            await self._kill_server_thread(lane.conn)
            lane.conn.abort()
            self.connections.pop(name, None)
            self.shared.connections[name] = ConnState.Error
        for i, r in enumerate(records):
            if r.ended is None and not r.skipped:
                records[i] = replace(r, blocked=True, error="still blocked when the script timed out") \
                    if r.started is not None else replace(r, skipped=True)

    async def _kill_server_thread(self, conn: Connection) -> None:
        if conn.thread_id is None:
            return
        try:
            admin = await connect(conn.target, database=False, detect=False)
        except DatabaseError:
            return
        try:
            await admin.execute(f"KILL {int(conn.thread_id)}")
        except DatabaseError:
            pass
        finally:
            await admin.close()

    # ------------------------------------------------------------------ free-running mode
    async def run_free(self, workload: Workload, *, duration: float | None = None, operations: int | None = None,
                       seed: int = 0, manager: ResilientConnectionManager | None = None,
                       reconnect_timeout: float = 30.0,
                       on_interrupt: Callable[[FreeRunResult], None] | None = None,
                       on_second: Callable[[int, int, int], None] | None = None,
                       start_at: float | None = None, op_timeout: float | None = None) -> FreeRunResult:
        """Run `workload` on every open connection until `duration` seconds or `operations` in all.

        A lost connection is counted as a failed operation, reported to the circuit breaker, and
        re-opened through `manager` (retry with backoff and jitter, breaker); the worker then goes on.
        Latency is recorded for successful operations only. If the run is cancelled (Ctrl-C), the
        figures so far go to `on_interrupt` before the cancellation continues. `on_second(t, ops,
        errors)` is told each second's figures as soon as that second is over (a live view).
        `start_at` (a time.perf_counter() value: the same clock in every process of this machine) makes
        several processes' timelines line up second for second. `op_timeout`: an operation still running after
        that many seconds has its connection dropped (a request lost in a network partition never gets an
        answer); it then counts as a failed operation with an unknown outcome, and the worker reconnects.
        """
        from hdrh.histogram import HdrHistogram

        named_stats: Callable[[], dict[str, Any]] | None = getattr(workload, "named_stats", None)
        # A workload may end each worker's run on its connection (a user workload's on_stop): `worker_done(conn,
        # worker)`, awaited once the run's end has come, not when it is interrupted or the connection was lost.
        worker_done: Callable[[Connection, Worker], Awaitable[None]] | None = getattr(workload, "worker_done", None)
        if duration is None and operations is None:
            raise ValueError("give a duration or a number of operations")
        # A workload that runs the whole timed loop itself gets it, with these arguments, for the same result:
        # load.fast.FastStatement (one statement, on a protocol of its own at sysbench's client CPU per query).
        own_loop = getattr(workload, "run_free", None)
        if own_loop is not None and duration is not None and operations is None:
            fast: FreeRunResult = await own_loop(
                self, duration=duration, seed=seed, manager=manager, reconnect_timeout=reconnect_timeout,
                on_interrupt=on_interrupt, on_second=on_second, start_at=start_at, op_timeout=op_timeout)
            return fast
        manager = manager or ResilientConnectionManager(
            None, create_db_circuit_breaker_config(), RetryConfig(max_attempts=1_000_000, base_delay=0.05,
                                                                  max_delay=1.0, jitter=True))
        breaker = manager.breaker
        retries_before = manager.retries
        errors_by_code: Counter[str] = Counter()
        error_messages: dict[str, str] = {}
        seconds = min(int(duration) + 2, SLOTS_UP_FRONT) if duration else 64  # `slot` grows them
        ops_per_sec = [0] * seconds
        errs_per_sec = [0] * seconds
        # Per second: latency samples (the first SECOND_SAMPLES operations of each second: an append is ten
        # times cheaper than a histogram record on this hot path, and enough for a plot) and errors by code.
        lat_per_sec: list[list[int] | None] = [None] * seconds
        codes_per_sec: list[Counter[str] | None] = [None] * seconds
        totals = {"ops": 0, "errors": 0, "reconnects": 0, "indeterminate": 0}
        budget = [operations if operations is not None else -1]
        if start_at is not None:
            await asyncio.sleep(max(0.0, start_at - time.perf_counter()))
        start = start_at if start_at is not None else time.perf_counter()
        end = start + duration if duration else float("inf")
        names = list(self.connections)
        perf = time.perf_counter
        # Each operation's latency is appended to a list, counted by value (Counter.update, C) when the list is
        # long, and the HDR histogram gets each distinct value once, at the end: recording every one in hdrh's pure
        # Python histogram cost a few microseconds an operation.
        latencies: list[int] = []
        latency_counts: Counter[int] = Counter()
        # When each worker's operation in flight began (0.0: none), for the op_timeout watchdog: a store per
        # operation on the hot path rather than a timer per operation.
        busy_since = [0.0] * len(names)
        live: dict[int, Connection] = {}

        def slot(now: float) -> int:
            nonlocal ops_per_sec, errs_per_sec, lat_per_sec, codes_per_sec
            i = int(now - start)
            if i >= len(ops_per_sec):
                grow = i + 1 - len(ops_per_sec)
                ops_per_sec += [0] * grow
                errs_per_sec += [0] * grow
                lat_per_sec += [None] * grow
                codes_per_sec += [None] * grow
            return i

        async def reconnect(name: str, target: Target) -> Connection | None:
            """A new connection for worker `name`, tried until the run ends or `reconnect_timeout` passes: an
            error the retry policy will not retry (a reset during the handshake) or an open breaker only
            pauses the attempts, so the load comes back when the server does."""
            deadline = min(end, perf() + reconnect_timeout)
            # With an op timeout, a connect that gets no answer (a partition) gives up as an operation would.
            to = replace(target, timeout_secs=min(target.timeout_secs, op_timeout)) if op_timeout else target
            while True:
                left = deadline - perf()
                if left <= 0 or budget[0] == 0:
                    return None
                # A workload wants to resume soon after the server does: cap the backoff at 1 s.
                retry = replace(manager.retry_config, max_attempts=1_000_000, overall_timeout=left,
                                max_delay=min(manager.retry_config.max_delay, 1.0))
                try:
                    conn = await manager.execute_with_resilience(f"reconnect {name}", lambda: connect(to),
                                                                 retry=retry)
                except RigError as e:
                    if deadline - perf() > 0.1:
                        log.debug("worker %s: reconnecting goes on after: %s", name, e)
                        await asyncio.sleep(min(0.5, max(0.0, deadline - perf())))
                        continue
                    if deadline < end:  # reconnect_timeout ran out before the run did
                        log.warning("worker %s gave up reconnecting: %s", name, e)
                    return None
                self.connections[name] = conn
                totals["reconnects"] += 1
                return conn

        async def run_worker(index: int, name: str) -> None:
            conn = self.connections[name]
            live[index] = conn
            worker = Worker(index, random.Random(seed * 100_003 + index))
            while True:
                t = perf()
                if budget[0] == 0 or t >= end:
                    if worker_done is not None:
                        await worker_done(conn, worker)
                    return
                if budget[0] > 0:
                    budget[0] -= 1
                busy_since[index] = t
                try:
                    await workload(conn, worker)
                except DatabaseError as e:
                    busy_since[index] = 0.0
                    now = perf()
                    totals["errors"] += 1
                    i = slot(now)
                    errs_per_sec[i] += 1
                    code = code_key(e)
                    if not errors_by_code[code]:
                        error_messages[code] = e.message[:MESSAGE_KEPT]
                    errors_by_code[code] += 1
                    per_second = codes_per_sec[i]
                    if per_second is None:
                        per_second = codes_per_sec[i] = Counter()
                    per_second[code] += 1
                    category = classify_error(e)
                    if category is ErrorCategory.Indeterminate:
                        totals["indeterminate"] += 1
                    if is_lost_connection(e) or conn.closed:
                        breaker.record_failure(e)
                        conn.abort()
                        new = await reconnect(name, conn.target)
                        if new is None:
                            return
                        conn = live[index] = new
                    continue
                busy_since[index] = 0.0
                now = perf()
                totals["ops"] += 1
                i = slot(now)
                ops_per_sec[i] += 1
                micros = int((now - t) * 1_000_000) or 1
                latencies.append(micros)
                if len(latencies) >= 65536:
                    latency_counts.update(latencies)
                    latencies.clear()
                samples = lat_per_sec[i]
                if samples is None:
                    samples = lat_per_sec[i] = []
                if len(samples) < SECOND_SAMPLES:
                    samples.append(micros)

        def summary(complete: bool) -> FreeRunResult:
            elapsed = perf() - start
            # One entry per second of the run; operations that finished just past the end count in the last one.
            entries = max(1, math.ceil(duration if duration and complete else elapsed))
            timeline: list[dict[str, Any]] = [
                {"t": i + 1, "ops": ops_per_sec[i] if i < len(ops_per_sec) else 0,
                 "errors": errs_per_sec[i] if i < len(errs_per_sec) else 0,
                 **_second_latency(lat_per_sec[i] if i < len(lat_per_sec) else None),
                 "errors_by_code": dict(codes_per_sec[i] or {}) if i < len(codes_per_sec) else {}}
                for i in range(entries)]
            timeline[-1]["ops"] += sum(ops_per_sec[entries:])
            timeline[-1]["errors"] += sum(errs_per_sec[entries:])
            latency_counts.update(latencies)
            latencies.clear()
            hist = HdrHistogram(1, 3_600_000_000, 3)
            for micros, count in latency_counts.items():
                hist.record_value(min(micros, 3_600_000_000), count)
            return FreeRunResult(
                operations=totals["ops"], errors=totals["errors"], seconds=elapsed, histogram=hist,
                errors_by_code=dict(errors_by_code), timeline=timeline, retries=manager.retries - retries_before,
                reconnects=totals["reconnects"], indeterminate=totals["indeterminate"], breaker=breaker.to_dict(),
                complete=complete,
                second_samples=[list(lat_per_sec[i] or []) if i < len(lat_per_sec) else [] for i in range(entries)],
                named=named_stats() if named_stats is not None else None, error_messages=dict(error_messages))

        async def watchdog() -> None:
            assert op_timeout is not None
            while True:
                await asyncio.sleep(min(0.25, op_timeout / 4))
                now = perf()
                for index, since in enumerate(busy_since):
                    if since and now - since > op_timeout and index in live:
                        log.info("operation on %s ran %.1f s (op timeout %g s); dropping its connection",
                                 names[index], now - since, op_timeout)
                        busy_since[index] = 0.0
                        live[index].abort()

        return await supervise([run_worker(i, n) for i, n in enumerate(names)],
                               tick_seconds(start, on_second, ops_per_sec, errs_per_sec) if on_second else None,
                               watchdog() if op_timeout else None,
                               summary, on_interrupt)

