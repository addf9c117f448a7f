"""Cancelling a job: a TiDB import job (CANCEL IMPORT JOB), a TiDB DDL job (ADMIN CANCEL DDL JOBS), or a
MariaDB/MySQL statement (KILL QUERY)."""

from __future__ import annotations

from ..db import Target, connect
from ..errors import DatabaseError, UsageError
from ..resilience import ResilientConnectionManager
from .sources import sources_for


async def cancel_job(target: Target, manager: ResilientConnectionManager, job_id: str, source: str | None) -> str:
    """Cancel `job_id` in the first source (of --source, or those the server has) that knows it.
    Returns what was done; raises UsageError for a job no source knows."""
    conn = await manager.execute_with_resilience(f"connect to {target.address}", lambda: connect(target))
    try:
        import datetime as dt

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
            return f"cancelled {src.name} job {job_id} ({job.target or 'no target'})"
    finally:
        await conn.close()
    raise UsageError(f"Job {job_id} is not known to the server; list the jobs with `test-rig job-monitor`.")
