"""Monitoring with an optional job of the monitor's own: the statement from the import config runs on a
connection of its own while the monitor watches it, so its outcome is known from that connection."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
from collections.abc import Callable
from dataclasses import replace

from ..db import Connection, Target, connect
from ..errors import DatabaseError, RigError
from ..resilience import ResilientConnectionManager
from .model import FAILED, FINISHED, Job, statement_target
from .monitor import MonitorRun, monitor_jobs


async def run_monitor(target: Target, manager: ResilientConnectionManager, run: MonitorRun, *,
                      job_sql: str | None = None,
                      on_update: Callable[[MonitorRun], None] | None = None) -> MonitorRun:
    """Start `job_sql` (if any) on its own connection, then monitor; the statement is killed if the
    monitor stops (Ctrl-C, SIGTERM) while it still runs, so nothing is left running on the server."""
    if job_sql is None:
        return await monitor_jobs(target, manager, run, on_update=on_update)
    conn = await manager.execute_with_resilience(f"connect to {target.address}",
                                                 lambda: connect(target, local_infile=True))
    # The job's start in the server's clock: elapsed times are never local time against server time.
    started = await conn.scalar("SELECT NOW(6)")
    task = asyncio.create_task(conn.execute(job_sql))
    own_id = str(conn.thread_id)
    # A detached TiDB IMPORT INTO answers at once with its job row: watch that job id instead.
    done, _ = await asyncio.wait({task}, timeout=0.5)
    if done and not task.exception():
        result = task.result()
        if result.columns and "Job_ID" in result.columns and result.rows:
            own_id = str(result.rows[0][result.columns.index("Job_ID")])
            run.settings = replace(run.settings, job_ids=[*run.settings.job_ids, own_id], own_job_id=own_id)
    if run.settings.own_job_id is None and conn.server.kind != "tidb":
        run.settings = replace(run.settings, job_ids=[*run.settings.job_ids, own_id], own_job_id=own_id)

    def own_job() -> Job | None:
        if not task.done() or own_id != str(conn.thread_id):
            return None
        error = task.exception()
        status, message = (FAILED, f"the statement failed: {error}") if error else (FINISHED, "the statement "
                                                                                    "completed on the monitor's "
                                                                                    "own connection")
        return Job(own_id, "statement", statement_target(job_sql, target.database), status, message=message,
                   start_time=started if isinstance(started, dt.datetime) else None, detail={"info": job_sql})

    try:
        return await monitor_jobs(target, manager, run, on_update=on_update, started_job=own_job)
    finally:
        await _stop(task, conn, target)


async def _stop(task: asyncio.Task[object], conn: Connection, target: Target) -> None:
    if not task.done():
        with contextlib.suppress(DatabaseError, RigError):
            admin = await connect(target, database=False, detect=False)
            try:
                await admin.execute(f"KILL QUERY {int(conn.thread_id or 0)}")
            finally:
                await admin.close()
        task.cancel()
    with contextlib.suppress(asyncio.CancelledError, Exception):  # its outcome is already recorded
        await task
    if task.cancelled():
        conn.abort()
    else:
        await conn.close()

