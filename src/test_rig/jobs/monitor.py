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

from test_rig.db import Connection, Target, connect
from test_rig.errors import DatabaseError, ErrorCategory, RigError, UsageError, classify_error
from test_rig.jobs.model import CANCELLED, FAILED, UNKNOWN, Job, capped
from test_rig.jobs.own import OwnJob
from test_rig.jobs.sources import DdlSource, ImportSource, JobSource, sources_for
from test_rig.resilience import ResilientConnectionManager
from test_rig.results import RunResult

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
    #: The monitor cancelled it when its duration ran out: it was still running then, it did not fail.
    cancelled_by_monitor: bool = False


@dataclass
class Gap:
    """Seconds in which the server did not answer: nothing is known, or claimed, about jobs in them."""

    start: float
    end: float | None  # None while it lasts; at the end of a run, when the monitor stopped
    error: str
    #: The server answered again after it (False: the gap lasted to the end of the run).
    resumed: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {"from": round(self.start, 3), "to": None if self.end is None else round(self.end, 3),
                "error": self.error, "resumed": self.resumed}


@dataclass
class MonitorSettings:
    duration: float
    interval: float
    job_ids: Sequence[str] = ()
    until_done: bool = False
    source: str | None = None


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
    #: (signal name, exit status) when SIGINT or SIGTERM ended the run.
    interrupted: tuple[str, int] | None = None
    #: What the monitor did on the server by itself (cancelling its own job), one sentence each.
    actions: list[str] = field(default_factory=list)
    #: The monitor's clock when it started, to time samples taken after the loop (a cancelled own job).
    started_at: float | None = None
    #: Where the monitor's own job is kept in `jobs` (it moves when its server job becomes known).
    own_key: str | None = None

    def watched(self) -> list[Watched]:
        return list(self.jobs.values())

    def interrupt(self, signal_name: str, exit_status: int) -> None:
        """Record that a signal ended the run: it is incomplete and exits with the signal's status."""
        self.interrupted = (signal_name, exit_status)
        self.complete = False
        self.stopped_because = f"interrupted by {signal_name}"

    @property
    def unobserved_to_end(self) -> Gap | None:
        """The gap that lasted to the end of the run, if one did."""
        return self.gaps[-1] if self.gaps and not self.gaps[-1].resumed else None

    @property
    def unobserved_seconds(self) -> float:
        return sum((g.end if g.end is not None else g.start) - g.start for g in self.gaps)

    @property
    def exit_status(self) -> int:
        """130/143: interrupted; 1: a job failed, was cancelled or ended without evidence that it succeeded,
        or the server stopped answering and never answered again (the rest of the run was not observed);
        3: time ran out with jobs still running (or, with --until-done, before any job appeared); 0: every
        watched job finished (or, without --until-done, none was seen failing)."""
        if self.interrupted is not None:
            return self.interrupted[1]
        watched = self.watched()
        if any(w.job.status in (FAILED, CANCELLED, UNKNOWN) and not w.cancelled_by_monitor for w in watched):
            return EXIT_FAILED
        if self.unobserved_to_end is not None:
            return EXIT_FAILED
        if self.settings.until_done and (not watched or any(not w.job.ended or w.cancelled_by_monitor
                                                            for w in watched)):
            return EXIT_STILL_RUNNING
        return EXIT_OK

    @property
    def problem(self) -> str | None:
        """Why the run did not pass, in one sentence (None when it passed or time merely ran out): the watched
        jobs that failed, were cancelled or ended without evidence of success, or the gap that lasted to the end."""
        bad = [w for w in self.watched()
               if w.job.status in (FAILED, CANCELLED, UNKNOWN) and not w.cancelled_by_monitor]
        if bad:
            return "; ".join(f"{w.job.kind} {w.job.id}" + (f" on {w.job.target}" if w.job.target else "")
                             + f" {w.job.status}" + (f" ({w.job.message})" if w.job.message else "") for w in bad)
        gap = self.unobserved_to_end
        if gap is not None:
            return (f"the server did not answer from {gap.start:.1f} s to the end, so the rest of the run was not "
                    "observed")
        return None

    def to_result(self) -> RunResult:
        """The command's result (its JSON keys as the README documents them): `ok` when the exit status is 0;
        time that ran out with jobs still running (exit 3) is undecided, not a pass; the error says what failed,
        or that the run was interrupted."""
        status = self.exit_status
        error = self.stopped_because if self.interrupted is not None else self.problem
        payload = self.to_dict()
        if status == EXIT_STILL_RUNNING or (error is not None and error == self.problem and not any(
                w.job.status in (FAILED, CANCELLED, UNKNOWN) for w in self.watched())):
            payload["undecided"] = 1  # time ran out with jobs running, or the server was not observed to the end
            if status == EXIT_STILL_RUNNING and error is None:
                payload["undecided_because"] = (f"{self.stopped_because}: "
                                                + ("no job appeared in time" if not self.watched() else
                                                   "a watched job was still running"))
        return RunResult("job-monitor", ok=status in (EXIT_OK, EXIT_STILL_RUNNING) and error is None,
                         complete=self.complete, error=error,
                         payload={k: v for k, v in payload.items() if k != "complete"})

    def to_dict(self) -> dict[str, Any]:
        return {"server": self.server, "settings": {"monitor_duration": self.settings.duration,
                                                    "update_interval": self.settings.interval,
                                                    "job_ids": list(self.settings.job_ids),
                                                    "until_done": self.settings.until_done},
                "jobs": [{"id": w.job.id, "kind": w.job.kind, "source": w.source, "target": w.job.target,
                          "status": w.job.status, "elapsed_seconds": w.elapsed,
                          "cancelled_by_monitor": w.cancelled_by_monitor,
                          "samples": [s.to_dict() for s in w.samples], "final": w.job.to_dict()}
                         for w in self.watched()],
                "gaps": [g.to_dict() for g in self.gaps], "unobserved_seconds": round(self.unobserved_seconds, 3),
                "polls": self.polls, "complete": self.complete, "stopped_because": self.stopped_because,
                "interrupted_by": self.interrupted[0] if self.interrupted else None, "actions": list(self.actions),
                "exit_status": self.exit_status}


Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]


async def monitor_jobs(target: Target, manager: ResilientConnectionManager, run: MonitorRun, *,
                       on_update: Callable[[MonitorRun], None] | None = None, own: OwnJob | None = None,
                       clock: Clock = time.monotonic, sleep: Sleep = asyncio.sleep) -> MonitorRun:
    """Poll until the duration runs out or, with until_done, every watched job has ended.

    A poll that fails with a lost connection (or a server that is down) is a gap: it is recorded and
    the next poll reconnects through `manager`. A gap that lasts to the end leaves the run incomplete.
    Raises UsageError when a --job-id is unknown to the server at the first successful poll. `own`, when
    given, is the job the monitor started itself: it is watched (with the --job-id jobs, not with every
    job the server lists) and its own connection tells how it ended.
    """
    settings = run.settings
    start = clock()
    run.started_at = start
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
                await _poll(conn, sources, run, t, checked_ids, own)
                checked_ids = True
                if run.gaps and run.gaps[-1].end is None:
                    run.gaps[-1].end, run.gaps[-1].resumed = t, True
                    log.info("monitoring resumed after %.1f s without answers", t - run.gaps[-1].start)
            except UsageError:
                raise
            except (DatabaseError, RigError, OSError) as e:
                if not checked_ids and classify_error(e) is ErrorCategory.Permanent:
                    # Refused, not unreachable (access denied, an unknown database, a missing privilege), before
                    # any poll answered: no later poll can answer either, so the run fails with the server's
                    # error, as every command does, instead of waiting out the duration as an outage.
                    raise
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
        gap = run.unobserved_to_end
        run.complete = gap is None
        if gap is not None:
            run.stopped_because += (f"; the server did not answer from {gap.start:.1f} s to the end, so the rest of "
                                    "the run was not observed")
        return run
    finally:
        if run.gaps and run.gaps[-1].end is None:  # it lasted to the end (or to the interruption)
            run.gaps[-1].end = max(run.gaps[-1].start, clock() - start)
        if conn is not None:
            await conn.close()


def record_final(run: MonitorRun, own: OwnJob, job: Job, *, when_time_ran_out: bool) -> None:
    """Add the final state of the monitor's own job after the monitor stopped it (one last sample)."""
    key = run.own_key or (f"{own.source}:{own.job_id}" if own.job_id is not None else f"own:{own.session_id}")
    watched = run.jobs.get(key)
    if watched is None:
        watched = run.jobs[key] = Watched(key.split(":", 1)[0], job)
    watched.job = job
    watched.cancelled_by_monitor = when_time_ran_out
    t = time.monotonic() - run.started_at if run.started_at is not None else 0.0
    watched.samples.append(Sample(t, job.progress, job.rows_done, job.bytes_done, job.status))


async def _poll(conn: Connection, sources: Sequence[JobSource], run: MonitorRun, t: float, checked_ids: bool,
                own: OwnJob | None) -> None:
    now = await conn.scalar("SELECT NOW(6)")
    if not isinstance(now, dt.datetime):
        raise DatabaseError("the server did not answer SELECT NOW(6) with a time", code=None)
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
                if not checked_ids and job_id not in {k.split(":", 1)[1] for k in run.jobs}:
                    names = ", ".join(s.name for s in sources)
                    raise UsageError(f"Job {job_id} is not known to the server (looked in: {names}); check the id "
                                     "with `test-rig job-monitor` without --job-id.")
    elif own is None:
        for source in sources:
            for job in await source.list_jobs(conn, now):
                seen[f"{source.name}:{job.id}"] = (source.name, job)
    own_key = await _poll_own(conn, sources, run, own, now) if own is not None else None
    for key, (source_name, job) in seen.items():
        if key == own_key:
            continue
        watched = run.jobs.get(key)
        if watched is None:
            if job.ended and not settings.job_ids:
                continue  # history from before the monitor started: not watched
            watched = run.jobs[key] = Watched(source_name, job)
        watched.job = job
    # Jobs that were running and are no longer listed have ended: ask their source how.
    by_name = {s.name: s for s in sources}
    for key, watched in run.jobs.items():
        if key not in seen and key != own_key and not watched.job.ended and watched.source in by_name:
            watched.job = await by_name[watched.source].ended(conn, watched.job, now)
    for watched in run.jobs.values():
        last = watched.samples[-1] if watched.samples else None
        if last is not None and last.status == watched.job.status and watched.job.ended:
            continue  # an ended job gets one final sample, not one per poll
        job = watched.job
        watched.samples.append(Sample(t, job.progress, job.rows_done, job.bytes_done, job.status))
        watched.elapsed = job.elapsed(now)
        if job.eta_seconds is None and job.progress and 0 < job.progress < 1 and watched.elapsed:
            job.eta_seconds = watched.elapsed * (1 - job.progress) / job.progress


_SESSION_SOURCES = ("processlist", "stages")


async def _poll_own(conn: Connection, sources: Sequence[JobSource], run: MonitorRun, own: OwnJob,
                    now: dt.datetime) -> str:
    """Read the monitor's own job: its server job by id (DDL, import) with the statement's outcome, or the
    statement itself (from the processlist while it reports progress, from its connection once it ended).
    Returns the key it is kept under in `run.jobs`."""
    await own.resolve(conn)
    by_name = {s.name: s for s in sources}
    job: Job | None = None
    key = ""
    if own.source is not None and own.job_id is not None:
        source = by_name.get(own.source) or (DdlSource() if own.source == "ddl" else ImportSource())
        found = await source.get_job(conn, own.job_id, now)
        if found is not None:
            job, key = own.merge(found), f"{own.source}:{own.job_id}"
    if job is None:
        statement = own.statement_job()
        job, key = statement, f"own:{own.session_id}"
        if not statement.ended:
            for name in _SESSION_SOURCES:
                listed = await by_name[name].get_job(conn, own.session_id, now) if name in by_name else None
                if listed is not None:
                    job, key = listed, f"{name}:{own.session_id}"
                    break
        if key.startswith("own:") and run.own_key and run.own_key.split(":", 1)[0] in _SESSION_SOURCES:
            # No longer listed: keep the progress last seen; its connection tells whether it has ended.
            last = run.jobs[run.own_key].job
            job = replace(last, status=statement.status, message=statement.message or last.message,
                          progress=capped(last.progress, statement.status),
                          end_time=now if statement.ended else last.end_time)
            key = run.own_key
    watched = run.jobs.pop(run.own_key, None) if run.own_key else None
    if watched is None:
        watched = Watched(key.split(":", 1)[0], job)
    watched.source, watched.job = key.split(":", 1)[0], job
    run.jobs[key] = watched
    run.own_key = key
    return key
