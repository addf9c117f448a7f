"""`test-rig job-monitor`: watch long-running jobs."""

from __future__ import annotations

import json
import math
from typing import Any

import click

from test_rig.cli.common import build_environment, common_options, guarded, html_option, run_feature
from test_rig.environment import PROGRAM_STOP, Environment
from test_rig.errors import UsageError
from test_rig.jobs.importconfig import read_import_config
from test_rig.jobs.model import job_id_problem
from test_rig.jobs.monitor import EXIT_STILL_RUNNING, MonitorRun, MonitorSettings
from test_rig.jobs.report import job_line, junit_suite, total_text
from test_rig.jobs.runner import watch
from test_rig.jobs.sources import SOURCES


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
                              _of(j.rows_done, total_text(j) if j.rows_total else None),
                              _of(j.bytes_done, j.bytes_total),
                              "" if j.speed is None else f"{j.speed:g}/s",
                              "" if w.elapsed is None else f"{w.elapsed:.1f} s",
                              "" if j.eta_seconds is None or j.ended else f"{j.eta_seconds:.0f} s")
            self.live.update(table)
            return
        t = f"{run.polls:>4}"
        gap = _gap_open(run)
        if gap:
            # Nothing is known about jobs while the server does not answer: show only what was last seen.
            self.env.console.print(f"{t} server not answering since {run.gaps[-1].start:.1f} s: "
                                   f"{run.gaps[-1].error}", markup=False)
        elif not run.jobs:
            self.env.console.print(f"{t} no job running", markup=False)
        for w in run.watched():
            seen = f"last seen at {w.samples[-1].t:.1f} s: " if gap and w.samples else ""
            self.env.console.print(f"{t} {seen}{job_line(w.job, w.elapsed)}", markup=False)
            if self.show_details:
                self.env.console.print(f"       detail: {json.dumps(w.job.to_dict()['detail'], default=str)}",
                                       markup=False)

    def stop(self) -> None:
        if self.live is not None:
            self.live.stop()


def _of(done: int | None, total: int | str | None) -> str:
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
    for given in (*job_ids, *([cancel_id] if cancel_id is not None else [])):
        problem = job_id_problem(given)
        if problem is not None:
            raise UsageError(problem)
    if cancel_id is not None:
        _refuse_with_cancel(monitor_duration=monitor_duration, update_interval=update_interval,
                            show_details=show_details, import_config=import_config, job_ids=job_ids,
                            until_done=until_done)
    imported = read_import_config(import_config) if import_config else None
    env = build_environment(ctx, params)
    target = env.target()
    if cancel_id is not None:
        from test_rig.jobs.cancel import cancel

        result = run_feature(lambda: cancel(target, env.manager(), cancel_id, source))
        env.console.print(result.payload["detail"], markup=False)
        env.conclude(result.to_dict())
    cfg = env.config.monitor
    sources = env.loaded.sources()

    def pick(name: str, given: Any) -> tuple[Any, str]:
        """The value and where it came from: CLI > environment > import config > main config file > defaults."""
        if given is not None:
            return given, {"monitor_duration": "-t/--monitor-duration",
                           "update_interval": "--update-interval"}.get(name, f"--{name.replace('_', '-')}")
        where = sources.get(f"monitor.{name}", "defaults")
        if imported is not None and name in imported.values and not where.startswith("environment"):
            return imported.values[name], f"{name} in import config {imported.path}"
        return getattr(cfg, name), where

    duration = _seconds(*pick("monitor_duration", monitor_duration), interval=False)
    interval = _seconds(*pick("update_interval", update_interval), interval=True)
    details = bool(pick("show_details", show_details)[0])
    if interval > duration:
        raise UsageError(f"The update interval ({interval:g} s) is longer than the monitor duration ({duration:g} s); "
                         "shorten --update-interval or lengthen -t/--monitor-duration.")
    job_sql = imported.job_sql if imported else None
    what = ", ".join([*(["the job of the import config"] if job_sql else []),
                      *([f"jobs {', '.join(job_ids)}"] if job_ids else [])]) or "every job"
    env.console.print(f"test-rig job-monitor: {what} on {target.address}, every {interval:g} s for up to "
                      f"{duration:g} s{' or until done' if until_done else ''}")
    display = Display(env, details)
    try:
        run = run_feature(lambda: watch(target, env.manager(), MonitorSettings(duration, interval, list(job_ids),
                                                                               until_done, source),
                                        job_sql=job_sql, on_update=display.update))
    finally:
        display.stop()
    _render(env, run)
    suites = [junit_suite(run)]
    if run.interrupted is not None:  # the program's stop keeps this report, says so in one line, exits 130/143
        env.write_reports(run.to_result().to_dict(), suites)
        PROGRAM_STOP.raise_stop()
    env.conclude(run.to_result().to_dict(), suites)


def _render(env: Environment, run: MonitorRun) -> None:
    """The console summary of a monitor run, from what it returns."""
    if run.interrupted is not None:  # what the monitor did on the way out; the rest was shown as it came
        for action in run.actions:
            env.console.print(action, markup=False)
        return
    env.console.print(f"stopped: {run.stopped_because}", markup=False)
    for action in run.actions:
        env.console.print(action, markup=False)
    for w in run.watched():
        env.console.print(f"  {job_line(w.job, w.elapsed)}", markup=False)
    if run.gaps:
        env.console.print(f"not observed: {len(run.gaps)} gap(s) of {run.unobserved_seconds:.1f} s in all ("
                          + ", ".join(f"{g.start:.1f}–{'the end' if not g.resumed else f'{g.end:.1f} s'}"
                                      for g in run.gaps)
                          + "); nothing is claimed about jobs in them", markup=False)
    if run.exit_status == EXIT_STILL_RUNNING:
        env.console.print("time ran out with jobs still running" if run.jobs else "no job appeared in time")


#: The longest monitor duration and update interval accepted: a year, beyond which no timer is reliable.
MAX_DURATION = 365 * 24 * 3600.0
#: Polling more often than this loads the server without showing anything more.
MIN_INTERVAL = 0.1


def _seconds(value: Any, where: str, *, interval: bool) -> float:
    """A number of seconds from `where`, checked: finite, above 0 (an interval at least MIN_INTERVAL) and at
    most MAX_DURATION; otherwise one UsageError sentence naming where the value came from."""
    name = where if where != "defaults" else "the default"
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        raise UsageError(f"{name}: {value} is not a number of seconds; give one such as 5.") from None
    if not math.isfinite(seconds):
        raise UsageError(f"{name}: {value} is not a number of seconds; give a finite number such as 5.")
    if interval and 0 < seconds < MIN_INTERVAL:
        raise UsageError(f"{name}: {seconds:g} s is too short an update interval; give at least {MIN_INTERVAL:g} s "
                         "(polling more often only loads the server).")
    if seconds <= 0 or seconds > MAX_DURATION:
        raise UsageError(f"{name}: {seconds:g} s is out of range; give more than 0 and at most {MAX_DURATION:.0f} "
                         "seconds (a year).")
    return seconds


def _refuse_with_cancel(**given: Any) -> None:
    """--cancel cancels one job and exits: options that only shape monitoring do not apply to it."""
    flags = {"monitor_duration": "-t/--monitor-duration", "update_interval": "--update-interval",
             "show_details": "--show-details", "import_config": "--import-config", "job_ids": "--job-id",
             "until_done": "--until-done"}
    used = [flags[name] for name, value in given.items() if value not in (None, False, ())]
    if used:
        raise UsageError(f"--cancel cancels one job and exits, so {', '.join(used)} would be ignored; drop "
                         f"{'it' if len(used) == 1 else 'them'} or run the monitor without --cancel.")
