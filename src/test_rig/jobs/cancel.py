"""Cancelling a job: a TiDB import job (CANCEL IMPORT JOB), a TiDB DDL job (ADMIN CANCEL DDL JOBS), or a
MariaDB/MySQL statement (KILL QUERY)."""

from __future__ import annotations

import asyncio
import datetime as dt

from test_rig.db import Target, connect
from test_rig.errors import DatabaseError, UsageError
from test_rig.jobs.model import Job
from test_rig.jobs.sources import sources_for
from test_rig.resilience import ResilientConnectionManager
from test_rig.results import RunResult

#: How long --cancel follows a DDL or import job after asking the server to cancel it.
CANCEL_WAIT_SECONDS = 60.0


async def cancel(target: Target, manager: ResilientConnectionManager, job_id: str, source: str | None) -> RunResult:
    """The job-monitor --cancel command's run: `cancel_job`, and the result that says what was done."""
    done = await cancel_job(target, manager, job_id, source)
    return RunResult("job-monitor", ok=True, payload={"cancelled": job_id, "detail": done, "exit_status": 0})


async def cancel_job(target: Target, manager: ResilientConnectionManager, job_id: str, source: str | None) -> str:
    """Cancel `job_id` in the first source (of --source, or those the server has) that knows it.
    Returns what was done; raises UsageError for a job no source knows."""
    conn = await manager.execute_with_resilience(f"connect to {target.address}", lambda: connect(target))
    try:
        now = await conn.scalar("SELECT NOW(6)")
        for src in sources_for(conn.server, source):
            job = await src.get_job(conn, job_id, now if isinstance(now, dt.datetime) else dt.datetime.now())
            if job is None:
                continue
            if job.ended:
                raise UsageError(f"{src.name} job {job_id} has already ended ({job.status}); there is nothing to "
                                 "cancel.")
            try:
                await src.cancel(conn, job_id)
            except DatabaseError as e:
                raise UsageError(f"The server refused to cancel {src.name} job {job_id}: {e}.") from None
            done = f"cancelled {src.name} job {job_id} ({job.target or 'no target'})"
            if src.name not in ("ddl", "import"):
                return done  # KILL QUERY: the statement stops at its next check, nothing to follow
            # A DDL or import job is cancelled asynchronously: say how it ended, not only that it was asked.
            final: Job | None = job
            for _ in range(int(CANCEL_WAIT_SECONDS / 0.2)):
                now = await conn.scalar("SELECT NOW(6)")
                final = await src.get_job(conn, job_id, now if isinstance(now, dt.datetime) else dt.datetime.now())
                if final is None or final.ended:
                    break
                await asyncio.sleep(0.2)
            if final is None:
                return f"{done}; it is no longer listed"
            state = final.detail.get("STATE") or final.detail.get("Status") or final.status
            if final.ended:
                return f"{done}; it ended {state}"
            return f"{done}; it was still {state} {CANCEL_WAIT_SECONDS:g} s later"
    finally:
        await conn.close()
    raise UsageError(f"Job {job_id} is not known to the server; list the jobs with `test-rig job-monitor`.")
