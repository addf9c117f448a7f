"""Monitor runs as people and CI read them: one plain line per job (what a log shows at each update) and the
JUnit suite, one case per watched job."""

from __future__ import annotations

from test_rig.jobs.model import CANCELLED, FAILED, UNKNOWN, Job
from test_rig.jobs.monitor import MonitorRun
from test_rig.report.files import Case, Suite


def _bar(progress: float | None, width: int = 20) -> str:
    if progress is None:
        return "[" + "·" * width + "]    ?"
    filled = round(progress * width)
    return "[" + "#" * filled + "-" * (width - filled) + f"] {progress * 100:5.1f}%"


def total_text(job: Job) -> str:
    """The rows a job works through; "~" marks the statistics' estimate, which may be stale."""
    return f"~{job.rows_total}" if job.rows_total_estimated else str(job.rows_total)


def job_line(job: Job, elapsed: float | None) -> str:
    """One plain line per job: what a CI log shows at each update."""
    parts = [f"{job.kind} {job.id}", job.target or "?", job.status, _bar(job.progress)]
    if job.phase:
        parts.append(job.phase)
    if job.rows_done is not None:
        parts.append(f"rows {job.rows_done}" + (f"/{total_text(job)}" if job.rows_total else ""))
    if job.bytes_done is not None:
        parts.append(f"bytes {job.bytes_done}" + (f"/{job.bytes_total}" if job.bytes_total else ""))
    if job.speed is not None:
        parts.append(f"speed {job.speed:g}/s")
    if elapsed is not None:
        parts.append(f"elapsed {elapsed:.1f} s")
    if job.eta_seconds is not None and not job.ended:
        parts.append(f"eta {job.eta_seconds:.0f} s")
    if job.message:
        parts.append(job.message)
    return "  ".join(parts)


def junit_suite(run: MonitorRun) -> Suite:
    """One case per watched job: a failure for one that failed, was cancelled (not by the monitor) or ended
    without evidence of success; skipped for one still running when the monitor stopped."""
    suite = Suite("job-monitor")
    for w in run.watched():
        job, name = w.job, f"{w.job.kind} {w.job.id}" + (f" on {w.job.target}" if w.job.target else "")
        bad = job.status in (FAILED, CANCELLED, UNKNOWN) and not w.cancelled_by_monitor
        suite.add(Case(name, f"job-monitor.{w.source}", w.elapsed,
                       failure=f"{job.status}" + (f": {job.message}" if job.message else "") if bad else None,
                       skipped=None if job.ended and not w.cancelled_by_monitor else
                       f"still {job.status} when the monitor stopped", output=job_line(job, w.elapsed)))
    return suite
