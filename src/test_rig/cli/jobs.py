"""`test-rig job-monitor`: watch long-running jobs (jobs.runner.watch) or cancel one (jobs.cancel.cancel), and
render what the monitor returns (jobs.report)."""

from __future__ import annotations

from typing import Any

import click

from test_rig.cli.common import build_environment, command, html_options
from test_rig.environment import run_feature
from test_rig.jobs.options import MonitorOptions, plan
from test_rig.jobs.report import Display, junit_suite, render
from test_rig.jobs.runner import watch
from test_rig.jobs.sources import SOURCES
from test_rig.options import flag, opt, take

_SECONDS = click.FloatRange(0, None, min_open=True)


@command("job-monitor")
@html_options
@opt("-t --monitor-duration", _SECONDS, None, "Seconds to monitor (default monitor.monitor_duration, 300).")
@opt("--update-interval", _SECONDS, None, "Seconds between polls (default monitor.update_interval, 5).")
@opt("--show-details/--no-show-details", help="Print each job's full record (default monitor.show_details).")
@opt("--import-config", metavar="FILE", help="JSON or TOML with monitor_duration, update_interval, show_details and "
     "optionally a job (SQL) to start and watch.")
@opt("--job-id job_ids", multiple=True, metavar="ID", help="Watch only this job (repeatable).")
@flag("--until-done", "Stop as soon as every watched job has ended (waiting for the first one to appear).")
@opt("--source", click.Choice(SOURCES), None, "Where jobs come from (default: from the server kind; TiDB: import "
     "and ddl).")
@opt("--cancel cancel_id", metavar="ID",
     help="Cancel this job (TiDB import or DDL job, or a MariaDB/MySQL statement) and exit.")
def job_monitor(ctx: click.Context, /, **params: Any) -> None:
    """Watch TiDB import and DDL jobs, or MariaDB/MySQL statements that report progress, live."""
    options = take(params, MonitorOptions)
    imported = options.check()
    cancel_id, source = options.cancel_id, options.source
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
