"""Worker processes on this machine, as the load and the hunt run them (one asyncio process tops out at one core):
starting them, gathering what each sends back, and stopping them all when the run is cancelled."""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import os
import queue
import signal
import threading
import time
from collections.abc import Callable, Sequence
from multiprocessing.process import BaseProcess
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from multiprocessing.queues import Queue


def spawn(worker: Callable[..., None], jobs: Sequence[tuple[Any, ...]]
          ) -> tuple[list[BaseProcess], Queue[Any], Queue[Any]]:
    """Start one process per job, each running `worker(*job, results, seconds)`: it puts `(index, outcome)` on
    `results` once, at its end, and whatever it reports while it runs on `seconds`. The processes are spawned
    (a fork would copy the parent's event loop and threads) and daemonic (they never outlive the parent).
    Returns the processes and the two queues."""
    from test_rig.report.files import console_secrets

    context = multiprocessing.get_context("spawn")
    results: Queue[Any] = context.Queue()
    seconds: Queue[Any] = context.Queue()
    secrets = console_secrets()
    processes: list[BaseProcess] = [context.Process(target=_scrubbed, args=(worker, secrets, *job, results, seconds),
                                                    daemon=True) for job in jobs]
    for p in processes:
        p.start()
    return processes, results, seconds


def _scrubbed(worker: Callable[..., None], secrets: tuple[str, ...], *args: Any) -> None:
    """A worker process's entry: its console scrubs the run's secrets (as the parent's does) before `worker` runs;
    a user task that printed or logged the password showed it on the terminal from every worker."""
    from test_rig.report.files import redact_process_console

    redact_process_console(secrets)
    worker(*args)


async def gather(processes: Sequence[BaseProcess], results: Queue[Any], got: dict[int, Any], *,
                 poll: Callable[[], None], wait: float | None, grace: float, join: float) -> None:
    """Read the `(index, outcome)` pairs from `results` into `got` until every process has sent one, every
    process has ended, or `wait` seconds have passed (None: no limit), calling `poll` between reads (to pass
    the processes' reports on while they run). One reader only: a second would steal results.

    When this is cancelled (Ctrl-C or SIGTERM to the parent), every process still running is sent SIGTERM,
    what each sends as it stops is gathered for up to `grace` seconds more, and CancelledError is raised
    again; `got` then holds the outcomes that came. Whatever the end, each process is given `join` seconds to
    exit, then killed: none is left behind."""
    stop = threading.Event()

    def collect() -> None:
        deadline = None if wait is None else time.monotonic() + wait
        while len(got) < len(processes) and not stop.is_set() and (deadline is None or time.monotonic() < deadline):
            poll()
            with contextlib.suppress(queue.Empty):
                index, outcome = results.get(timeout=0.2)
                got[index] = outcome
            if all(not p.is_alive() for p in processes) and results.empty():
                time.sleep(0.3)  # a last result may still be in the pipe
                if results.empty():
                    break

    reader = threading.Thread(target=collect, daemon=True)
    reader.start()
    try:
        await asyncio.to_thread(reader.join)
    except asyncio.CancelledError:
        for p in processes:
            if p.is_alive() and p.pid is not None:
                os.kill(p.pid, signal.SIGTERM)
        reader.join(grace)  # the reader goes on gathering what each process saw before it stopped
        stop.set()
        raise
    finally:
        for p in processes:
            p.join(join)
            if p.is_alive():
                p.kill()


__all__ = ["gather", "spawn"]
