"""Monitor runs as people and CI read them: one plain line per job (what a log shows at each update), the
live view (a table of progress bars on a terminal, those lines otherwise), the summary at the end, and the
JUnit suite, one case per watched job."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from test_rig.jobs.model import CANCELLED, FAILED, UNKNOWN, Job
from test_rig.jobs.monitor import EXIT_STILL_RUNNING, MonitorRun
from test_rig.report.files import Case, Suite

if TYPE_CHECKING:
    from rich.console import Console


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


class Display:
    """A live rich view on a terminal (one progress bar per job), plain lines otherwise; `update` is the
    monitor's `on_update`."""

    def __init__(self, console: Console, show_details: bool) -> None:
        self.console = console
        self.show_details = show_details
        self.live: Any = None
        if console.is_terminal:
            from rich.live import Live

            self.live = Live(console=console, refresh_per_second=4, transient=False)
            self.live.start()

    def update(self, run: MonitorRun) -> None:
        if self.live is not None:
            self.live.update(_table(run))
            return
        t = f"{run.polls:>4}"
        gap = _gap_open(run)
        if gap:
            # Nothing is known about jobs while the server does not answer: show only what was last seen.
            self.console.print(f"{t} server not answering since {run.gaps[-1].start:.1f} s: {run.gaps[-1].error}",
                               markup=False)
        elif not run.jobs:
            self.console.print(f"{t} no job running", markup=False)
        for w in run.watched():
            seen = f"last seen at {w.samples[-1].t:.1f} s: " if gap and w.samples else ""
            self.console.print(f"{t} {seen}{job_line(w.job, w.elapsed)}", markup=False)
            if self.show_details:
                self.console.print(f"       detail: {json.dumps(w.job.to_dict()['detail'], default=str)}",
                                   markup=False)

    def __enter__(self) -> Display:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.live is not None:
            self.live.stop()


def _table(run: MonitorRun) -> Any:
    from rich.progress_bar import ProgressBar
    from rich.table import Table
    from rich.text import Text

    table = Table(title=f"jobs (poll {run.polls}{', server not answering' if _gap_open(run) else ''})")
    for column in ("job", "target", "status", "progress", "%", "phase", "rows", "bytes", "speed", "elapsed", "eta"):
        table.add_column(column)
    for w in run.watched():
        j = w.job
        bar: Any = (ProgressBar(total=1.0, completed=j.progress, width=20) if j.progress is not None
                    else ProgressBar(total=None, width=20))
        table.add_row(Text(f"{j.kind} {j.id}"), Text(j.target or "?"), Text(j.status), bar,
                      "?" if j.progress is None else f"{j.progress * 100:.1f}", Text(j.phase or ""),
                      _of(j.rows_done, total_text(j) if j.rows_total else None), _of(j.bytes_done, j.bytes_total),
                      "" if j.speed is None else f"{j.speed:g}/s", "" if w.elapsed is None else f"{w.elapsed:.1f} s",
                      "" if j.eta_seconds is None or j.ended else f"{j.eta_seconds:.0f} s")
    return table


def _of(done: int | None, total: int | str | None) -> str:
    if done is None:
        return ""
    return f"{done}/{total}" if total else str(done)


def _gap_open(run: MonitorRun) -> bool:
    return bool(run.gaps) and run.gaps[-1].end is None


def render(console: Console, run: MonitorRun) -> None:
    """The console summary of a monitor run, from what it returns."""
    if run.interrupted is None:
        console.print(f"stopped: {run.stopped_because}", markup=False)
    for action in run.actions:  # interrupted: only what the monitor did on the way out; the rest was shown live
        console.print(action, markup=False)
    if run.interrupted is not None:
        return
    for w in run.watched():
        console.print(f"  {job_line(w.job, w.elapsed)}", markup=False)
    if run.gaps:
        console.print(f"not observed: {len(run.gaps)} gap(s) of {run.unobserved_seconds:.1f} s in all ("
                      + ", ".join(f"{g.start:.1f}–{'the end' if not g.resumed else f'{g.end:.1f} s'}"
                                  for g in run.gaps)
                      + "); nothing is claimed about jobs in them", markup=False)
    if run.exit_status == EXIT_STILL_RUNNING:
        console.print("time ran out with jobs still running" if run.jobs else "no job appeared in time")
