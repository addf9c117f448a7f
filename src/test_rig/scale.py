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
import multiprocessing
import os
import queue
import signal
import threading
import time
from collections.abc import Callable
from typing import Any

from .coordinator import FreeRunResult, merge_results
from .db import Target
from .errors import Interrupted, RigError

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


def _bench_worker(index: int, target: Target, connections: int, duration: float, table_size: int, seed: int,
                  start_at: float, results: Any, op_timeout: float | None = None,
                  breaker_recovery: float | None = None) -> None:
    """One worker process: its connections, the point-select load from `start_at`, its result to `results`."""
    from .bench import point_select
    from .coordinator import Coordinator
    from .environment import run_async
    from .resilience import ResilientConnectionManager, RetryConfig, create_db_circuit_breaker_config

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides; it stops workers with SIGTERM
    partial: list[FreeRunResult] = []

    async def go() -> FreeRunResult:
        coordinator = Coordinator([target] * connections, connect_concurrency=min(connections, 32))
        breaker = (create_db_circuit_breaker_config(breaker_recovery) if breaker_recovery is not None
                   else create_db_circuit_breaker_config())
        manager = ResilientConnectionManager(None, breaker,
                                             RetryConfig(max_attempts=1_000_000, base_delay=0.05, max_delay=1.0,
                                                         overall_timeout=max(duration, 10)), quiet=True)
        await coordinator.open(manager=manager)
        try:
            return await coordinator.run_free(point_select(table_size), duration=duration, seed=seed + index * 7919,
                                              manager=manager, start_at=start_at, on_interrupt=partial.append,
                                              op_timeout=op_timeout)
        finally:
            await coordinator.close()

    try:
        result = run_async(go)
    except Interrupted:
        if not partial:
            results.put((index, None))
            return
        result = partial[0]
    results.put((index, _encode(result)))


async def run_processes(target: Target, *, processes: int, connections: int, duration: float, table_size: int,
                        seed: int = 0, on_interrupt: Callable[[FreeRunResult, list[FreeRunResult]], None] | None = None,
                        op_timeout: float | None = None, breaker_recovery: float | None = None,
                        on_start: Callable[[float], None] | None = None
                        ) -> tuple[FreeRunResult, list[FreeRunResult]]:
    """Run the point-select load from `processes` worker processes; return the merged result and the
    workers' own results (for a check of the merge). `on_start` is told the perf_counter instant at which
    every worker's timed load begins (the nemesis schedules its faults from it)."""
    context = multiprocessing.get_context("spawn")
    results = context.Queue()
    start_at = time.perf_counter() + START_DELAY + 0.2 * processes
    workers = [context.Process(target=_bench_worker, args=(i, target, n, duration, table_size, seed, start_at,
                                                            results, op_timeout, breaker_recovery), daemon=True)
               for i, n in enumerate(split(connections, processes))]
    for w in workers:
        w.start()
    if on_start is not None:
        on_start(start_at)

    got: dict[int, FreeRunResult | None] = {}  # None: the worker stopped before its load began
    stop = threading.Event()

    def collect(wait: float) -> None:
        """Gather the workers' results into `got` (one reader only: a second would steal results)."""
        deadline = time.monotonic() + wait
        while len(got) < len(workers) and time.monotonic() < deadline and not stop.is_set():
            with contextlib.suppress(queue.Empty):
                index, data = results.get(timeout=0.2)
                got[index] = decode(data) if data is not None else None
            if all(not w.is_alive() for w in workers) and results.empty():
                time.sleep(0.3)  # a last result may still be in the pipe
                if results.empty():
                    break

    reader = threading.Thread(target=collect, args=(duration + START_DELAY + 0.2 * processes + 60,), daemon=True)
    reader.start()
    try:
        await asyncio.to_thread(reader.join)
    except asyncio.CancelledError:
        for w in workers:
            if w.is_alive() and w.pid is not None:
                os.kill(w.pid, signal.SIGTERM)
        reader.join(20)  # the reader goes on gathering the workers' partial results
        stop.set()
        parts = [r for _, r in sorted(got.items()) if r is not None]
        if parts and on_interrupt is not None:
            on_interrupt(merge_results(parts), parts)
        raise
    finally:
        for w in workers:
            w.join(5)
            if w.is_alive():
                w.kill()
    parts = [r for _, r in sorted(got.items()) if r is not None]
    if len(parts) < len(workers):
        raise RigError(f"{len(workers) - len(parts)} of {len(workers)} worker processes gave no result; run again "
                       "with -v and check the server.")
    return merge_results(parts), parts
