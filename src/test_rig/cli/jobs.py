"""`test-rig job-monitor`: watch long-running jobs (jobs.runner.watch) or cancel one (jobs.cancel.cancel), and
render what the monitor returns (jobs.report)."""

from __future__ import annotations

from typing import Any

import click

from test_rig.cli.common import build_environment, command, finish, html_options
from test_rig.environment import run_feature
from test_rig.jobs.options import MonitorOptions, plan
from test_rig.jobs.report import Display, junit_suite, render
from test_rig.jobs.runner import watch
from test_rig.options import field_options, take


@command("job-monitor")
@html_options
@field_options(MonitorOptions)
def job_monitor(ctx: click.Context, /, **params: Any) -> None:
    """Watch TiDB import and DDL jobs, or MariaDB/MySQL statements that report progress, live."""
    options = take(params, MonitorOptions)
    imported = options.check()
    env = build_environment(ctx, params)
    if (cancel_id := options.cancel_id) is not None:  # the other mode of the command: cancel one job, say so
        from test_rig.jobs.cancel import cancel

        finish(env, lambda: cancel(env.target(), env.manager(), cancel_id, options.source),
               lambda data: [data["detail"]])
    monitor = plan(options, imported, env.config.monitor, env.loaded.sources())
    env.console.print(monitor.describe(env.target().address))
    with Display(env.console, monitor.show_details) as display:
        run = run_feature(lambda: watch(env.target(), env.manager(), monitor.settings, job_sql=monitor.job_sql,
                                        on_update=display.update))
    render(env.console, run)
    env.conclude(run.to_result(), [junit_suite(run)])
