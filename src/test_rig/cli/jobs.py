"""`test-rig job-monitor`: watch long-running jobs."""

from __future__ import annotations

import json
import sys
from typing import Any

import click

from ..environment import Environment, run_async
from ..errors import UsageError
from ..jobs.importconfig import read_import_config
from ..jobs.model import Job
from ..jobs.monitor import MonitorRun, MonitorSettings
from ..jobs.runner import run_monitor
from ..jobs.sources import SOURCES
from .common import build_environment, common_options, guarded, html_option, signal_name


def _bar(progress: float | None, width: int = 20) -> str:
    if progress is None:
        return "[" + "·" * width + "]    ?"
    filled = round(progress * width)
    return "[" + "#" * filled + "-" * (width - filled) + f"] {progress * 100:5.1f}%"


def job_line(job: Job, elapsed: float | None) -> str:
    """One plain line per job: what a CI log shows at each update."""
    parts = [f"{job.kind} {job.id}", job.target or "?", job.status, _bar(job.progress)]
    if job.phase:
        parts.append(job.phase)
    if job.rows_done is not None:
        parts.append(f"rows {job.rows_done}" + (f"/{job.rows_total}" if job.rows_total else ""))
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


class Display:
    """A live rich view on a terminal (one progress bar per job), plain lines otherwise."""

    def __init__(self, env: Environment, show_details: bool) -> None:
        self.env = env
        self.show_details = show_details
        self.live: Any = None
        if env.console.is_terminal:
            from rich.live import Live

            self.live = Live(console=env.console, refresh_per_second=4, transient=False)
            self.live.start()

    def update(self, run: MonitorRun) -> None:
        if self.live is not None:
            from rich.progress_bar import ProgressBar
            from rich.table import Table
            from rich.text import Text

            table = Table(title=f"jobs (poll {run.polls}{', server not answering' if _gap_open(run) else ''})")
            for column in ("job", "target", "status", "progress", "%", "phase", "rows", "bytes", "speed", "elapsed",
                           "eta"):
                table.add_column(column)
            for w in run.watched():
                j = w.job
                bar: Any = (ProgressBar(total=1.0, completed=j.progress, width=20) if j.progress is not None
                            else ProgressBar(total=None, width=20))
                table.add_row(Text(f"{j.kind} {j.id}"), Text(j.target or "?"), Text(j.status), bar,
                              "?" if j.progress is None else f"{j.progress * 100:.1f}", Text(j.phase or ""),
                              _of(j.rows_done, j.rows_total), _of(j.bytes_done, j.bytes_total),
                              "" if j.speed is None else f"{j.speed:g}/s",
                              "" if w.elapsed is None else f"{w.elapsed:.1f} s",
                              "" if j.eta_seconds is None or j.ended else f"{j.eta_seconds:.0f} s")
            self.live.update(table)
            return
        t = f"{run.polls:>4}"
        if _gap_open(run):
            self.env.console.print(f"{t} server not answering: {run.gaps[-1].error}", markup=False)
        if not run.jobs:
            self.env.console.print(f"{t} no job running", markup=False)
        for w in run.watched():
            self.env.console.print(f"{t} {job_line(w.job, w.elapsed)}", markup=False)
            if self.show_details:
                self.env.console.print(f"       detail: {json.dumps(w.job.to_dict()['detail'], default=str)}",
                                       markup=False)

    def stop(self) -> None:
        if self.live is not None:
            self.live.stop()


def _of(done: int | None, total: int | None) -> str:
    if done is None:
        return ""
    return f"{done}/{total}" if total else str(done)


def _gap_open(run: MonitorRun) -> bool:
    return bool(run.gaps) and run.gaps[-1].end is None


@click.command("job-monitor")
@common_options
@html_option
@click.option("-t", "--monitor-duration", type=click.FloatRange(0, None, min_open=True), default=None,
              help="Seconds to monitor (default monitor.monitor_duration, 300).")
@click.option("--update-interval", type=click.FloatRange(0, None, min_open=True), default=None,
              help="Seconds between polls (default monitor.update_interval, 5).")
@click.option("--show-details/--no-show-details", default=None, help="Print each job's full record (default "
                                                                     "monitor.show_details).")
@click.option("--import-config", default=None, metavar="FILE",
              help="JSON or TOML with monitor_duration, update_interval, show_details and optionally a job "
                   "(SQL) to start and watch.")
@click.option("--job-id", "job_ids", multiple=True, metavar="ID", help="Watch only this job (repeatable).")
@click.option("--until-done", is_flag=True, default=False,
              help="Stop as soon as every watched job has ended (waiting for the first one to appear).")
@click.option("--source", type=click.Choice(SOURCES), default=None,
              help="Where jobs come from (default: from the server kind; TiDB: import and ddl).")
@click.option("--cancel", "cancel_id", default=None, metavar="ID",
              help="Cancel this job (TiDB import or DDL job, or a MariaDB/MySQL statement) and exit.")
@click.pass_context
@guarded
def job_monitor(ctx: click.Context, /, monitor_duration: float | None, update_interval: float | None,
                show_details: bool | None, import_config: str | None, job_ids: tuple[str, ...], until_done: bool,
                source: str | None, cancel_id: str | None, **params: Any) -> None:
    """Watch TiDB import and DDL jobs, or MariaDB/MySQL statements that report progress, live."""
    imported = read_import_config(import_config) if import_config else None
    env = build_environment(ctx, params)
    target = env.target()
    if cancel_id is not None:
        from ..jobs.cancel import cancel_job

        done = run_async(lambda: cancel_job(target, env.manager(), cancel_id, source))
        env.console.print(done, markup=False)
        env.write_reports({"ok": True, "complete": True, "cancelled": cancel_id, "detail": done})
        return
    cfg = env.config.monitor
    sources = env.loaded.sources()

    def pick(name: str, given: Any) -> Any:
        """CLI > environment > import config > main config file > defaults."""
        if given is not None:
            return given
        where = sources.get(f"monitor.{name}", "defaults")
        if imported is not None and name in imported.values and not where.startswith("environment"):
            return imported.values[name]
        return getattr(cfg, name)

    duration = float(pick("monitor_duration", monitor_duration))
    interval = float(pick("update_interval", update_interval))
    details = bool(pick("show_details", show_details))
    if interval > duration:
        raise UsageError(f"The update interval ({interval:g} s) is longer than the monitor duration ({duration:g} s); "
                         "shorten --update-interval or lengthen -t/--monitor-duration.")
    run = MonitorRun(MonitorSettings(duration, interval, list(job_ids), until_done, source))
    what = f"jobs {', '.join(job_ids)}" if job_ids else "every job"
    env.console.print(f"test-rig job-monitor: {what} on {target.address}, every {interval:g} s for up to "
                      f"{duration:g} s{' or until done' if until_done else ''}")
    display = Display(env, details)
    try:
        run_async(lambda: run_monitor(target, env.manager(), run, job_sql=imported.job_sql if imported else None,
                                      on_update=display.update))
    except KeyboardInterrupt as e:
        env.write_reports({"ok": False, "complete": False, "error": f"interrupted by {signal_name(e)}",
                           **run.to_dict()})
        raise
    finally:
        display.stop()
    status = run.exit_status
    data = {"ok": status == 0, **run.to_dict()}
    env.write_reports(data)
    env.console.print(f"stopped: {run.stopped_because}")
    for w in run.watched():
        env.console.print(f"  {job_line(w.job, w.elapsed)}", markup=False)
    if run.gaps:
        env.console.print(f"gaps: {len(run.gaps)} ("
                          + ", ".join(f"{g.start:.1f}–{'?' if g.end is None else f'{g.end:.1f}'} s" for g in run.gaps)
                          + ")")
    if status == 3:
        env.console.print("time ran out with jobs still running" if run.jobs else "no job appeared in time")
    sys.exit(status)

