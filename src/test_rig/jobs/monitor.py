"""The monitor loop: poll the sources every interval for a duration, re-reading the job list each time,
keep each watched job's samples, ride out a lost connection or a server restart (recorded as a gap),
and decide the exit status from what the jobs really did.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from ..db import Connection, Target, connect
from ..errors import DatabaseError, RigError, UsageError
from ..resilience import ResilientConnectionManager
from .model import CANCELLED, FAILED, FINISHED, UNKNOWN, Job
from .sources import JobSource, sources_for

log = logging.getLogger("test_rig.jobs")

EXIT_OK, EXIT_FAILED, EXIT_STILL_RUNNING = 0, 1, 3


@dataclass
class Sample:
    t: float  # seconds since the monitor started
    progress: float | None
    rows: int | None
    bytes: int | None
    status: str

    def to_dict(self) -> dict[str, Any]:
        return {"t": round(self.t, 3), "progress": None if self.progress is None else round(self.progress, 4),
                "rows": self.rows, "bytes": self.bytes, "status": self.status}


@dataclass
class Watched:
    source: str
    job: Job
    samples: list[Sample] = field(default_factory=list)
    elapsed: float | None = None  # seconds, in the server's clock


@dataclass
class Gap:
    start: float
    end: float | None
    error: str

    def to_dict(self) -> dict[str, Any]:
        return {"from": round(self.start, 3), "to": None if self.end is None else round(self.end, 3),
                "error": self.error}


@dataclass
class MonitorSettings:
    duration: float
    interval: float
    job_ids: Sequence[str] = ()
    until_done: bool = False
    source: str | None = None
    #: The id of a job this monitor started itself: it may not be listed yet at the first poll.
    own_job_id: str | None = None


@dataclass
class MonitorRun:
    """What the monitor saw, filled in as it goes (a caller that is interrupted still holds it)."""

    settings: MonitorSettings
    server: dict[str, Any] = field(default_factory=dict)
    jobs: dict[str, Watched] = field(default_factory=dict)
    gaps: list[Gap] = field(default_factory=list)
    polls: int = 0
    complete: bool = False
    stopped_because: str = ""

    def watched(self) -> list[Watched]:
        return list(self.jobs.values())

    @property
    def exit_status(self) -> int:
        """0: every watched job finished (or, without --until-done, none failed); 1: a job failed, was
        cancelled or ended without evidence that it succeeded; 3: time ran out with jobs still running
        (or, with --until-done, before any job appeared)."""
        jobs = [w.job for w in self.watched()]
        if any(j.status in (FAILED, CANCELLED, UNKNOWN) for j in jobs):
            return EXIT_FAILED
        if self.settings.until_done and (not jobs or any(not j.ended for j in jobs)):
            return EXIT_STILL_RUNNING
        return EXIT_OK

    def to_dict(self) -> dict[str, Any]:
        return {"server": self.server, "settings": {"monitor_duration": self.settings.duration,
                                                    "update_interval": self.settings.interval,
                                                    "job_ids": list(self.settings.job_ids),
                                                    "until_done": self.settings.until_done},
                "jobs": [{"id": w.job.id, "kind": w.job.kind, "source": w.source, "target": w.job.target,
                          "status": w.job.status, "elapsed_seconds": w.elapsed,
                          "samples": [s.to_dict() for s in w.samples], "final": w.job.to_dict()}
                         for w in self.watched()],
                "gaps": [g.to_dict() for g in self.gaps], "polls": self.polls, "complete": self.complete,
                "stopped_because": self.stopped_because, "exit_status": self.exit_status}


Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]


async def monitor_jobs(target: Target, manager: ResilientConnectionManager, run: MonitorRun, *,
                       on_update: Callable[[MonitorRun], None] | None = None,
                       started_job: Callable[[], Job | None] | None = None,
                       clock: Clock = time.monotonic, sleep: Sleep = asyncio.sleep) -> MonitorRun:
    """Poll until the duration runs out or, with until_done, every watched job has ended.

    A poll that fails with a lost connection (or a server that is down) is a gap: it is recorded and
    the next poll reconnects through `manager`. Raises UsageError when a --job-id is unknown to the
    server at the first successful poll. `started_job`, when given, reports the final state of a job
    the monitor started itself (its own connection knows how it ended).
    """
    settings = run.settings
    start = clock()
    conn: Connection | None = None
    sources: list[JobSource] | None = None
    checked_ids = False
    try:
        while True:
            t = clock() - start
            remaining = settings.duration - t
            try:
                if conn is None:
                    retry = replace(manager.retry_config, overall_timeout=max(0.2, remaining))
                    conn = await manager.execute_with_resilience(f"connect to {target.address}",
                                                                 lambda: connect(target), retry=retry)
                    if sources is None:
                        run.server.update(conn.server.to_dict())
                        sources = sources_for(conn.server, settings.source)
                assert sources is not None
                await _poll(conn, sources, run, t, checked_ids, started_job)
                checked_ids = True
                if run.gaps and run.gaps[-1].end is None:
                    run.gaps[-1].end = t
                    log.info("monitoring resumed after %.1f s without answers", t - run.gaps[-1].start)
            except UsageError:
                raise
            except (DatabaseError, RigError, OSError) as e:
                if not (run.gaps and run.gaps[-1].end is None):  # a gap already open just goes on
                    run.gaps.append(Gap(t, None, str(e)))
                    log.warning("poll failed, monitoring goes on: %s", e)
                if conn is not None:
                    conn.abort()
                    conn = None
            run.polls += 1
            if on_update is not None:
                on_update(run)
            if settings.until_done and run.jobs and all(w.job.ended for w in run.jobs.values()):
                run.stopped_because = "every watched job ended"
                break
            t = clock() - start
            if t >= settings.duration:
                run.stopped_because = f"the monitor duration of {settings.duration:g} s ran out"
                break
            await sleep(min(settings.interval, settings.duration - t))
        run.complete = True
        return run
    finally:
        if conn is not None:
            await conn.close()


async def _poll(conn: Connection, sources: Sequence[JobSource], run: MonitorRun, t: float, checked_ids: bool,
                started_job: Callable[[], Job | None] | None) -> None:
    now = await conn.scalar("SELECT NOW(6)")
    if not isinstance(now, dt.datetime):
        raise DatabaseError(f"the server answered NOW(6) with {now!r}", code=None)
    settings = run.settings
    seen: dict[str, tuple[str, Job]] = {}
    if settings.job_ids:
        for job_id in settings.job_ids:
            for source in sources:
                job = await source.get_job(conn, job_id, now)
                if job is not None:
                    seen[f"{source.name}:{job.id}"] = (source.name, job)
                    break
            else:
                if (not checked_ids and job_id != settings.own_job_id
                        and job_id not in {k.split(":", 1)[1] for k in run.jobs}):
                    names = ", ".join(s.name for s in sources)
                    raise UsageError(f"Job {job_id} is not known to the server (looked in: {names}); check the id "
                                     "with `test-rig job-monitor` without --job-id.")
    else:
        for source in sources:
            for job in await source.list_jobs(conn, now):
                seen[f"{source.name}:{job.id}"] = (source.name, job)
    for key, (source_name, job) in seen.items():
        watched = run.jobs.get(key)
        if watched is None:
            if job.ended and not settings.job_ids:
                continue  # history from before the monitor started: not watched
            watched = run.jobs[key] = Watched(source_name, job)
        watched.job = job
    # Jobs that were running and are no longer listed have ended: ask their source how.
    by_name = {s.name: s for s in sources}
    for key, watched in run.jobs.items():
        if key not in seen and not watched.job.ended and watched.source in by_name:
            watched.job = await by_name[watched.source].ended(conn, watched.job, now)
    if started_job is not None:
        own = started_job()
        if own is not None and own.ended:
            mine = [w for w in run.jobs.values() if w.job.id == own.id]
            if not mine and settings.job_ids:  # ended before any poll listed it
                run.jobs[f"own:{own.id}"] = Watched("own", own)
            for watched in mine:
                # Its own connection saw how it ended: better evidence than the processlist.
                watched.job = replace(watched.job, status=own.status, message=own.message,
                                      progress=1.0 if own.status == FINISHED else watched.job.progress)
    for watched in run.jobs.values():
        last = watched.samples[-1] if watched.samples else None
        if last is not None and last.status == watched.job.status and watched.job.ended:
            continue  # an ended job gets one final sample, not one per poll
        job = watched.job
        watched.samples.append(Sample(t, job.progress, job.rows_done, job.bytes_done, job.status))
        watched.elapsed = job.elapsed(now)
        if job.eta_seconds is None and job.progress and 0 < job.progress < 1 and watched.elapsed:
            job.eta_seconds = watched.elapsed * (1 - job.progress) / job.progress
