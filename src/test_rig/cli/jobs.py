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
from test_rig.options import field_options, take


@command("job-monitor")
@html_options
@field_options(MonitorOptions)
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
