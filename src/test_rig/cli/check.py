"""`test-rig check`: check a recorded history (test-rig's JSONL, Elle's JSON, Jepsen's EDN) again
(history.check.check_file), render its verdict, write the reports. Loads no configuration: a small history's
check costs little more than the interpreter's start."""

from __future__ import annotations

from typing import Any

import click

from test_rig.cli.common import VERBOSE, command, command_name, conclude
from test_rig.environment import Environment, check_report_paths
from test_rig.history import report
from test_rig.history.check import CheckOptions, check_file
from test_rig.options import field_options, opt, take


@command("check")
@click.argument("history_path", metavar="HISTORY", type=click.Path(dir_okay=False))
@field_options(CheckOptions, "workload", "fmt", "models", "anomalies", "wfr_keys", "total", "time_limit")
@opt("--json json_path", metavar="FILE")
@opt("--junit junit_path", metavar="FILE")
@opt("--html html_path", metavar="FILE", help="A self-contained HTML report.")
@VERBOSE
def check_cmd(ctx: click.Context, /, history_path: str, json_path: str | None, junit_path: str | None,
              html_path: str | None, verbose: bool, **params: Any) -> None:
    """Check a recorded history (test-rig's JSONL, Elle's JSON or Jepsen's EDN); exit 0 when valid, 1 when
    invalid or undecided, 2 for a file that cannot be read as a history (the reports say so too)."""
    check_report_paths(json_path, junit_path, html_path)
    options = take(params, CheckOptions)
    # the command's Environment (ctx.obj) before the check: an interrupt's report and verdict line are the run's
    ctx.obj = env = Environment.without_config(command_name(ctx), verbose=verbose, json_path=json_path,
                                               junit_path=junit_path, html_path=html_path)
    result = check_file(history_path, options)
    conclude(env, result, report.console_lines, lambda data: [report.junit_suite(data, "check",
                                                                              env.elapsed())])
