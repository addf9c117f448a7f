"""`test-rig elle`: run a random workload, record its history and check it (history.runner.run_elle), and
render the verdict (history.report)."""

from __future__ import annotations

from functools import partial
from typing import Any

import click

from test_rig.cli.common import build_environment, command, conclude, nemesis_options, nemesis_spec, typed
from test_rig.history import report
from test_rig.history.runner import ElleOptions, elle_settings, run_elle
from test_rig.history.workloads import WORKLOADS
from test_rig.options import field_options, flag, take
from test_rig.report.files import check_report_path


@command("elle")
@nemesis_options
@click.argument("workload", type=click.Choice(WORKLOADS))
@field_options(ElleOptions, "connections", "duration", "keys", "max_txn_len", "isolation_level", "models",
               "anomaly_names", "wfr_keys", "session_vars", "txn_mode", "history_path")
@flag("--expect-valid", "Kept for scripts: exit 1 unless the history is valid, which is now always the rule.")
@field_options(ElleOptions, "seed", "processes")
def elle_cmd(ctx: click.Context, /, expect_valid: bool, **params: Any) -> None:
    """Run a random transactional workload, record its history, and check it (an Elle-style checker); exit 0
    when the history is valid under the model, 1 when invalid or undecided."""
    check_report_path(params["history_path"], "--history")
    options = take(params, ElleOptions)
    settings = elle_settings(options, typed=typed(ctx, ctx.params),
                             nemesis=nemesis_spec(ctx, params, options.seed))
    env = build_environment(ctx, params, own="a schema of its own (rig_elle_...)")
    target = env.target()
    env.say(report.opening(settings, target.address))
    result = run_elle(env, target, settings, on_second=lambda *second: env.say(report.second_line(*second)))
    conclude(env, result, partial(report.run_lines, settings),
             lambda data: [report.junit_suite(data, "elle", env.elapsed())])
