"""`test-rig job-monitor`: watch long-running jobs (jobs.runner.watch) or cancel one (jobs.cancel.cancel), and
render what the monitor returns (jobs.report)."""

from __future__ import annotations

from typing import Any

import click

from test_rig.cli.common import build_environment, common_options, guarded, html_option, run_feature
from test_rig.jobs.options import MonitorOptions, plan
from test_rig.jobs.report import Display, junit_suite, render
from test_rig.jobs.runner import watch
from test_rig.jobs.sources import SOURCES


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
    options = MonitorOptions(monitor_duration, update_interval, show_details, import_config, job_ids, until_done,
                             source, cancel_id)
    imported = options.check()
    env = build_environment(ctx, params)
    target = env.target()
    if cancel_id is not None:  # the other mode of the command: cancel one job, say what was done
        from test_rig.jobs.cancel import cancel

        cancelled = run_feature(lambda: cancel(target, env.manager(), cancel_id, source))
        env.console.print(cancelled.payload["detail"], markup=False)
        env.conclude(cancelled)
    monitor = plan(options, imported, env.config.monitor, env.loaded.sources())
    env.console.print(monitor.describe(target.address))
    display = Display(env.console, monitor.show_details)
    try:
        run = run_feature(lambda: watch(target, env.manager(), monitor.settings, job_sql=monitor.job_sql,
                                        on_update=display.update))
    finally:
        display.stop()
    render(env.console, run)
    env.conclude(run.to_result(), [junit_suite(run)])
