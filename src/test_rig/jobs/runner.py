"""Monitoring with an optional job of the monitor's own: the statement from the import config runs on a
connection of its own while the monitor watches it (and the server job it becomes), and whatever stops the
monitor first (its duration, Ctrl-C, SIGTERM) stops that job on the server too, saying so."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable

from test_rig.db import Connection, Target, connect
from test_rig.jobs.monitor import MonitorRun, MonitorSettings, monitor_jobs, record_final
from test_rig.jobs.own import OwnJob, read_first_answer, start_own_job
from test_rig.resilience import ResilientConnectionManager


async def watch(target: Target, manager: ResilientConnectionManager, settings: MonitorSettings, *,
                job_sql: str | None = None, on_update: Callable[[MonitorRun], None] | None = None) -> MonitorRun:
    """The job-monitor command's run (`run_monitor`), returned also when SIGINT or SIGTERM cancelled it: then
    the monitor's own job has been stopped on the server and the run says it was interrupted, by which
    signal, and the status the program exits with (130, 143). `run.to_result()` is the command's result."""
    from test_rig.environment import PROGRAM_STOP

    run = MonitorRun(settings)
    try:
        await run_monitor(target, manager, run, job_sql=job_sql, on_update=on_update)
    except asyncio.CancelledError:
        name = PROGRAM_STOP.reason().rsplit(" ", 1)[-1]
        run.interrupt(name, 143 if name == "SIGTERM" else 130)
    return run


async def run_monitor(target: Target, manager: ResilientConnectionManager, run: MonitorRun, *,
                      job_sql: str | None = None,
                      on_update: Callable[[MonitorRun], None] | None = None) -> MonitorRun:
    """Start `job_sql` (if any) on its own connection, then monitor. If the monitor stops while the job still
    runs, the job is cancelled on the server (ADMIN CANCEL DDL JOBS, CANCEL IMPORT JOB, KILL QUERY) and the
    monitor waits for it to end, so nothing it started is left running; `run.actions` says what was done."""
    if job_sql is None:
        return await monitor_jobs(target, manager, run, on_update=on_update)
    conn = await manager.execute_with_resilience(f"connect to {target.address}",
                                                 lambda: connect(target, local_infile=True))
    own: OwnJob | None = None
    why = "the monitor duration ran out"
    try:
        own = await start_own_job(target, conn, job_sql)
        await read_first_answer(own)
        return await monitor_jobs(target, manager, run, on_update=on_update, own=own)
    except asyncio.CancelledError:  # SIGINT / SIGTERM (run_async cancels the main task)
        why = "the monitor was interrupted"
        raise
    except BaseException:
        why = "the monitor stopped on an error"
        raise
    finally:
        if own is not None:
            final = await own.stop(target, why)
            run.actions.extend(own.stopped)
            if final is not None:
                record_final(run, own, final, when_time_ran_out=why == "the monitor duration ran out")
        await _close(own, conn)


async def _close(own: OwnJob | None, conn: Connection) -> None:
    task = own.task if own is not None else None
    if task is not None:
        if not task.done():
            task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):  # its outcome is already recorded
            await task
    if task is not None and task.cancelled():
        conn.abort()  # the driver is mid-answer: the socket cannot be reused or closed politely
    else:
        await conn.close()
