"""`test-rig check`: check a recorded history (test-rig's JSONL, Elle's JSON, Jepsen's EDN) again
(history.check.check_file), render its verdict, write the reports. Loads no configuration: a small history's
check costs little more than the interpreter's start."""

from __future__ import annotations

import time
from typing import Any

import click

from test_rig.cli.common import VERBOSE, command, command_name, conclude, flag, opt, take
from test_rig.environment import Environment, check_report_paths
from test_rig.history import report
from test_rig.history.check import WORKLOADS, CheckOptions, check_file
from test_rig.history.model import FORMATS


@command("check")
@click.argument("history_path", metavar="HISTORY", type=click.Path(dir_okay=False))
@opt("--workload", click.Choice(WORKLOADS), None, "The workload the history is of (default: told from its first "
     "operations).")
@opt("--format fmt", click.Choice(FORMATS), None, "jsonl, json (Elle's) or edn (Jepsen's history.edn); default: "
     "from the file name.")
@opt("--consistency-model models", multiple=True, metavar="MODEL", help="The model(s) the history must satisfy, "
     "Elle's names (default: serializable, or none with --anomalies).")
@opt("--anomalies anomaly_names", multiple=True, metavar="NAMES",
     help="Anomaly types that make the history invalid (comma-separated), as Elle's :anomalies.")
@flag("--wfr-keys", "rw-register: a transaction that reads a key and then writes it orders the two versions "
      "(Elle's :wfr-keys?).")
@opt("--total", int, None, "bank: the fixed total of all balances (default 100).")
@opt("--time-limit", click.FloatRange(0.1, None), 60.0, "Seconds the cycle search may take; past it the verdict is "
     "unknown unless already invalid.")
@opt("--json json_path", metavar="FILE")
@opt("--junit junit_path", metavar="FILE")
@opt("--html html_path", metavar="FILE", help="A self-contained HTML report.")
@VERBOSE
def check_cmd(ctx: click.Context, /, history_path: str, json_path: str | None, junit_path: str | None,
              html_path: str | None, verbose: bool, **params: Any) -> None:
    """Check a recorded history (test-rig's JSONL, Elle's JSON or Jepsen's EDN); exit 0 when valid, 1 when
    invalid or undecided."""
    check_report_paths(json_path, junit_path, html_path)
    started = time.monotonic()
    result = check_file(history_path, take(params, CheckOptions, anomalies="anomaly_names"))
    env = Environment.without_config(command_name(ctx), verbose=verbose, json_path=json_path, junit_path=junit_path,
                                     html_path=html_path)
    conclude(env, result, report.console_lines, lambda data: [report.junit_suite(data, "check",
                                                                              time.monotonic() - started)])
