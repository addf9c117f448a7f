"""`test-rig isolation`: the Hermitage catalogue at every level the server accepts, judged from evidence
(isolation.suite.run_configured), and its summary (isolation.console)."""

from __future__ import annotations

from typing import Any

import click

from test_rig.cli.common import build_environment, command, extension_options, html_options
from test_rig.environment import run_feature
from test_rig.isolation import console
from test_rig.isolation.report import junit_suite
from test_rig.isolation.suite import IsolationOptions, run_configured
from test_rig.options import field_options, take


@command("isolation")
@html_options
@extension_options
@field_options(IsolationOptions)
def isolation_cmd(ctx: click.Context, /, **params: Any) -> None:
    """Run the Hermitage anomaly catalogue at every isolation level the server accepts."""
    options = take(params, IsolationOptions)
    tests, profile, variables = options.checked()
    env = build_environment(ctx, params, own="a schema of its own (rig_iso_...)")
    target, txn_mode = env.target(), options.txn_mode
    on_start, on_result = console.progress(env.console, tests, target.address, txn_mode)
    run = run_feature(lambda: run_configured(target, tests, env.config, manager=env.manager(), txn_mode=txn_mode,
                                             session_variables=variables, block_window=options.block_window,
                                             profile=profile, on_start=on_start, on_result=on_result))
    console.render(env.console, run, tests, options.explain_test, verbose=env.verbose)
    # a run stopped by an error: guarded prints its sentence (stderr) and exits 1, as for every error of a run
    env.conclude(run.to_result(), [junit_suite(run.results, run.differences)], ending=run.failure)
