"""Free-running load from several processes on one machine (one asyncio process tops out at one core).

The connections are split over P worker processes (spawned, each with its own event loop); every worker
starts its timed run at the same perf_counter instant, so their per-second timelines line up, and their
results (HDR histograms, counts, errors by code, per-second figures) are merged into one result of the
same shape as a one-process run (coordinator.merge_results). Ctrl-C or SIGTERM stops every worker, and the
merged partial result is still produced.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import os
import queue
import signal
import socket
import time
from collections.abc import Callable
from typing import Any

from test_rig.coordinator import FreeRunResult, merge_results, nothing_done
from test_rig.db import Target
from test_rig.errors import Interrupted, RigError, UsageError
from test_rig.workers import gather, spawn

#: Seconds between starting the workers and their common start instant (time to connect).
START_DELAY = 2.0


def split(total: int, parts: int) -> list[int]:
    """`total` connections over `parts` processes, as evenly as possible (every process gets at least one)."""
    if parts > total:
        raise RigError(f"--processes {parts} is more than --connections {total}; each process needs a connection.")
    return [total // parts + (1 if i < total % parts else 0) for i in range(parts)]


def _encode(result: FreeRunResult) -> dict[str, Any]:
    fields = {f.name: getattr(result, f.name) for f in dataclasses.fields(result) if f.name != "histogram"}
    return {**fields, "histogram": result.histogram.encode()}


def decode(data: dict[str, Any]) -> FreeRunResult:
    from hdrh.histogram import HdrHistogram

    fields = {k: v for k, v in data.items() if k != "histogram"}
    return FreeRunResult(histogram=HdrHistogram.decode(data["histogram"]), **fields)


@dataclasses.dataclass(frozen=True)
class WorkerJob:
    """What one worker (a process or a Ray actor) runs: its share of the connections, from a common start."""

    index: int
    target: Target
    connections: int
    duration: float
    table_size: int
    seed: int
    op_timeout: float | None = None
    breaker_recovery: float | None = None
    #: For an elle workload instead of a bench one: what this worker records and where.
    elle: ElleShare | None = None
    workload: Any = None  # a bench workload described as data: operation() builds it (bench.NamedWorkload, ...)


@dataclasses.dataclass(frozen=True)
class ElleShare:
    """One worker process's share of an elle run: its clients are numbered from `base` among `clients` in all,
    its written values are 1 + part, 1 + part + parts, ... (unique across processes), and its history goes to
    `history` (merged by the parent, in the machine's monotonic clock, which every process shares)."""

    spec: Any  # history.workloads.Spec
    history: str
    base: int
    clients: int
    part: int
    parts: int


def _workload(job: WorkerJob) -> tuple[Any, Callable[[], None]]:
    """The operation a worker runs, and what to do once it has run (close its history file)."""
    if job.elle is None:
        return job.workload.operation(), lambda: None
    import itertools

    from test_rig.history.model import HistoryWriter
    from test_rig.history.workloads import Shared, workload

    e = job.elle
    stream = open(e.history, "wb")  # noqa: SIM115 - closed by the returned function
    shared = Shared(e.spec, HistoryWriter(stream, keep=False), e.clients, values=itertools.count(1 + e.part, e.parts),
                    base=e.base)
    return workload(shared), stream.close


async def _work(job: WorkerJob, start_at: float, partial: list[FreeRunResult],
                on_second: Callable[[int, int, int], None] | None) -> FreeRunResult:
    """One worker's load: its connections, the point selects (or its elle share) from `start_at` (its own
    perf_counter)."""
    from test_rig.coordinator import Coordinator
    from test_rig.resilience import ResilientConnectionManager, RetryConfig, create_db_circuit_breaker_config

    coordinator = Coordinator([job.target] * job.connections, connect_concurrency=min(job.connections, 32))
    manager = ResilientConnectionManager(None, create_db_circuit_breaker_config(job.breaker_recovery),
                                         RetryConfig(max_attempts=1_000_000, base_delay=0.05, max_delay=1.0,
                                                     overall_timeout=max(job.duration, 10)), quiet=True)
    await coordinator.open(manager=manager)
    if on_second is not None:  # second 0: how many of its connections this worker opened
        on_second(0, len(coordinator.connections), job.connections - len(coordinator.connections))
    operation, done = _workload(job)
    cpu = time.process_time()
    try:
        result = await coordinator.run_free(operation, duration=job.duration,
                                          seed=job.seed + job.index * 7919, manager=manager, start_at=start_at,
                                          on_interrupt=partial.append, op_timeout=job.op_timeout,
                                          on_second=on_second)
        result.cpu_seconds = time.process_time() - cpu
        return result
    finally:
        done()
        await coordinator.close()


def _bench_worker(job: WorkerJob, start_at: float, results: Any, seconds: Any) -> None:
    """One worker process: runs `job`, reports each second's figures to `seconds` and its result to `results`."""
    from test_rig.environment import run_async

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides; it stops workers with SIGTERM
    partial: list[FreeRunResult] = []
    try:
        result = run_async(lambda: _work(job, start_at, partial,
                                         lambda t, ops, errors: seconds.put((job.index, t, ops, errors))))
    except Interrupted:
        if not partial:
            results.put((job.index, None))
            return
        result = partial[0]
    results.put((job.index, _encode(result)))


class _LiveView:
    """Adds up the workers' per-second reports and passes each second on once every worker has reported it.
    Second 0 is each worker's count of connections opened: once all are in and the common start (`ready_at`, a
    perf_counter instant) has come, `on_ready` gets the total (`tick`). Why wait for the start: "load started"
    was said seconds before any worker's load began (they connect, then wait for the common instant), and a
    Ctrl-C in between kept no figure although the console had said the load was running."""

    def __init__(self, workers: int, on_second: Callable[[int, int, int], None] | None,
                 on_ready: Callable[[int], None] | None = None, ready_at: float = 0.0) -> None:
        self.workers = workers
        self.on_second = on_second
        self.on_ready = on_ready
        self.ready_at = ready_at
        self.pending: dict[int, list[tuple[int, int]]] = {}
        self.next = 0
        self.connected: int | None = None  # the connections opened, until on_ready is told them

    def add(self, t: int, ops: int, errors: int) -> None:
        self.pending.setdefault(t, []).append((ops, errors))
        while len(self.pending.get(self.next, [])) >= self.workers:
            figures = self.pending.pop(self.next)
            total = sum(f[0] for f in figures)
            if self.next == 0:
                self.connected = total
                self.tick(time.perf_counter())
            elif self.on_second is not None:
                self.tick(float("inf"))  # a second of load was reported: the start has come
                self.on_second(self.next, total, sum(f[1] for f in figures))
            self.next += 1

    def tick(self, now: float) -> None:
        """Tell `on_ready` the connections opened, once, when every worker has reported them and `now` is past the
        common start."""
        if self.connected is not None and now >= self.ready_at:
            total, self.connected = self.connected, None
            if self.on_ready is not None:
                self.on_ready(total)


async def run_processes(target: Target, *, processes: int, connections: int, duration: float, table_size: int,
                        seed: int = 0, on_interrupt: Callable[[FreeRunResult, list[FreeRunResult]], None] | None = None,
                        op_timeout: float | None = None, breaker_recovery: float | None = None,
                        on_start: Callable[[float], None] | None = None,
                        on_second: Callable[[int, int, int], None] | None = None,
                        elle: Callable[[int, int, int], ElleShare] | None = None, workload: Any = None,
                        on_ready: Callable[[int], None] | None = None
                        ) -> tuple[FreeRunResult, list[FreeRunResult]]:
    """Run the bench `workload` (described as data: bench.NamedWorkload, load.oltp.OltpSpec, ...) from `processes`
    worker processes; return the merged result and the workers' own results (for a check of the merge).
    `on_start` is told the perf_counter instant at which every worker's timed load begins (the nemesis schedules
    its faults from it). With `elle`, each worker runs its share of an elle workload instead: `elle(part, base,
    connections)` describes worker `part`'s share."""
    start_at = time.perf_counter() + START_DELAY + 0.2 * processes
    shares = split(connections, processes)
    jobs = [WorkerJob(i, target, n, duration, table_size, seed, op_timeout, breaker_recovery,
                      elle(i, sum(shares[:i]), n) if elle is not None else None, workload)
            for i, n in enumerate(shares)]
    live = _LiveView(processes, on_second, on_ready, start_at)
    workers, results, seconds = spawn(_bench_worker, [(job, start_at) for job in jobs])
    if on_start is not None:
        on_start(start_at)
    got: dict[int, dict[str, Any] | None] = {}  # a result encoded; None: the worker stopped before its load began

    def drain() -> None:
        with contextlib.suppress(queue.Empty):
            while True:
                _, t, ops, errors = seconds.get(timeout=0.05)
                live.add(t, ops, errors)
        live.tick(time.perf_counter())

    def received() -> list[FreeRunResult]:
        return [decode(r) for _, r in sorted(got.items()) if r is not None]

    try:
        await gather(workers, results, got, poll=drain, wait=duration + START_DELAY + 0.2 * processes + 60,
                     grace=20, join=5)
    except asyncio.CancelledError:
        parts = received()
        if on_interrupt is not None:
            # no worker had begun its load: the figures are nothing done, said as such (they were left out)
            on_interrupt(merge_results(parts) if parts else nothing_done(), parts)
        raise
    drain()
    parts = received()
    if len(parts) < len(workers):
        raise RigError(f"{len(workers) - len(parts)} of {len(workers)} worker processes gave no result; run again "
                       "with -v and check the server.")
    return merge_results(parts), parts


# --------------------------------------------------------------------------- Ray: the same workers, on many machines


RAY_HOW = "pip install 'test-rig[ray]'"


def _import_ray() -> Any:
    try:
        import ray
    except ImportError:
        raise UsageError(f"--ray needs Ray, an optional extra of test-rig; install it with {RAY_HOW}.") from None
    return ray


def check_ray(address: str) -> None:
    """Refuse --ray ADDRESS with a clear UsageError when Ray is not installed or nothing listens at ADDRESS."""
    import importlib.util

    if importlib.util.find_spec("ray") is None:
        raise UsageError(f"--ray needs Ray, an optional extra of test-rig; install it with {RAY_HOW}.")
    _check_ray_address(address)


def _check_ray_address(address: str) -> None:
    """Fail fast and clearly when nothing listens at a host:port given to --ray (ray.init would retry for long)."""
    if address == "auto":
        return
    host, sep, port = address.removeprefix("ray://").rpartition(":")
    if not sep or not port.isdecimal():
        raise UsageError(f"--ray {address} is not HOST:PORT or auto; give the head node's address as printed by "
                         "`ray start --head`.")
    try:
        with socket.create_connection((host or "127.0.0.1", int(port)), timeout=3):
            pass
    except OSError as e:
        raise UsageError(f"Nothing is listening at {address} for --ray ({e.strerror or e}); start a cluster with "
                         "`ray start --head` and give its address, or use --ray auto on a node of one.") from None


class _RayWorker:
    """A Ray actor holding one worker slot. `run` blocks in the actor's thread; `stop` (a second concurrent call)
    cancels it, and `run` then returns the figures so far."""

    def __init__(self) -> None:
        self.loop: asyncio.AbstractEventLoop | None = None
        self.task: asyncio.Task[FreeRunResult] | None = None

    def clock(self) -> float:
        return time.time()

    def run(self, job: WorkerJob, start_wall: float, seconds: Any) -> dict[str, Any] | None:
        """`start_wall` is the common start instant in this machine's wall clock (the driver corrected it for
        this machine's clock offset); it becomes this process's own perf_counter instant."""
        start_at = time.perf_counter() + (start_wall - time.time())
        partial: list[FreeRunResult] = []

        def report(t: int, ops: int, errors: int) -> None:
            seconds.put_nowait((job.index, t, ops, errors))

        loop = self.loop = asyncio.new_event_loop()
        try:
            self.task = loop.create_task(_work(job, start_at, partial, report))
            try:
                result = loop.run_until_complete(self.task)
            except asyncio.CancelledError:
                if not partial:
                    return None
                result = partial[0]
        finally:
            loop.close()
        return _encode(result)

    def stop(self) -> None:
        if self.loop is not None and self.task is not None and not self.loop.is_closed():
            self.loop.call_soon_threadsafe(self.task.cancel)


def clock_offset(sent: float, remote: float, received: float) -> float:
    """The remote clock minus ours, from one round trip (Cristian's method: the remote read is taken to be
    half-way through the trip), so that an instant of ours can be named in the remote's clock."""
    return remote - (sent + received) / 2


async def run_ray(target: Target, *, address: str, slots: int, connections: int, duration: float, table_size: int,
                  seed: int = 0, on_interrupt: Callable[[FreeRunResult, list[FreeRunResult]], None] | None = None,
                  op_timeout: float | None = None, breaker_recovery: float | None = None,
                  on_start: Callable[[float], None] | None = None,
                  on_second: Callable[[int, int, int], None] | None = None, workload: Any = None,
                  on_ready: Callable[[int], None] | None = None
                  ) -> tuple[FreeRunResult, list[FreeRunResult], dict[str, Any]]:
    """The bench `workload` from `slots` Ray actors spread over the cluster at `address`, merged as for
    worker processes. Returns the merged result, the workers' own, and what the cluster was (nodes, clock
    offsets). Raises UsageError when Ray is missing, nothing listens at `address`, or the cluster has too few
    CPUs for one actor per slot."""
    _check_ray_address(address)
    if address.removeprefix("ray://").rpartition(":")[0] in ("127.0.0.1", "localhost"):
        # A cluster on loopback (`ray start --head --node-ip-address=127.0.0.1`, run with this variable set to 0)
        # is joined as this machine's loopback node; else Ray names this node by its network address and
        # finds no raylet there. Ray reads the variable when it is imported.
        os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
    ray = _import_ray()
    try:
        ray.init(address=address, logging_level="WARNING", log_to_driver=False, configure_logging=False)
    except (ConnectionError, RuntimeError, ValueError) as e:
        raise UsageError(f"Could not join the Ray cluster at {address} ({str(e).splitlines()[0]}); check the "
                         "address `ray start --head` printed.") from None
    actors: list[Any] = []
    try:
        cpus = float(ray.cluster_resources().get("CPU", 0))
        if cpus < slots:
            raise UsageError(f"The Ray cluster at {address} has {cpus:g} CPUs and --processes {slots} needs one per "
                             "worker; add nodes or ask for fewer processes.")
        from ray.util.queue import Queue

        seconds = Queue()
        actor_class = ray.remote(num_cpus=1, max_concurrency=2)(_RayWorker)
        actors = [actor_class.options(scheduling_strategy="SPREAD").remote() for _ in range(slots)]
        offsets = []
        for actor in actors:
            await asyncio.wrap_future(actor.clock.remote().future())  # the actor is up: later trips are short
            trips = []
            for _ in range(5):  # the shortest round trip bounds the error best
                sent = time.time()
                remote = await asyncio.wrap_future(actor.clock.remote().future())
                received = time.time()
                trips.append((received - sent, clock_offset(sent, remote, received)))
            offsets.append(min(trips)[1])
        jobs = [WorkerJob(i, target, n, duration, table_size, seed, op_timeout, breaker_recovery, None, workload)
                for i, n in enumerate(split(connections, slots))]
        delay = START_DELAY + 0.2 * slots
        start_wall, start_at = time.time() + delay, time.perf_counter() + delay
        refs = [actor.run.remote(job, start_wall + offset, seconds)
                for actor, job, offset in zip(actors, jobs, offsets, strict=True)]
        if on_start is not None:
            on_start(start_at)
        live = _LiveView(slots, on_second, on_ready, start_at)

        def drain() -> None:
            while not seconds.empty():
                _, t, ops, errors = seconds.get_nowait()
                live.add(t, ops, errors)
            live.tick(time.perf_counter())

        async def pump() -> None:
            while True:
                drain()
                await asyncio.sleep(0.2)

        pumping = asyncio.create_task(pump())
        try:
            raw = await asyncio.gather(*(asyncio.wrap_future(ref.future()) for ref in refs))
        except asyncio.CancelledError:
            for actor in actors:
                actor.stop.remote()
            raw = ray.get(refs, timeout=60)
            parts = [decode(r) for r in raw if r is not None]
            if on_interrupt is not None:
                on_interrupt(merge_results(parts) if parts else nothing_done(), parts)
            raise
        finally:
            pumping.cancel()
        drain()  # the last second, reported as the workers ended
        parts = [decode(r) for r in raw if r is not None]
        if len(parts) < slots:
            raise RigError(f"{slots - len(parts)} of {slots} Ray workers gave no result; run again with -v.")
        nodes = sorted({n["NodeManagerAddress"] for n in ray.nodes() if n.get("Alive")})
        cluster = {"address": address, "nodes": nodes, "actors": slots,
                   "clock_offsets_ms": [round(o * 1000, 3) for o in offsets]}
        return merge_results(parts), parts, cluster
    finally:
        for actor in actors:
            with contextlib.suppress(Exception):
                ray.kill(actor)
        ray.shutdown()
