"""`test-rig check`: check a recorded history (test-rig's JSONL, Elle's JSON, Jepsen's EDN) again
(history.check.check_file), render its verdict, write the reports. Loads no configuration: a small history's
check costs little more than the interpreter's start."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, cast

import click

from test_rig.cli.common import check_report_path, command_name, guarded
from test_rig.environment import Environment
from test_rig.history.check import WORKLOADS, CheckOptions, check_file
from test_rig.history.model import FORMATS
from test_rig.history.report import junit_suite, render

if TYPE_CHECKING:
    from test_rig.config import LoadedConfig


@click.command("check")
@click.argument("history_path", metavar="HISTORY", type=click.Path(dir_okay=False))
@click.option("--workload", type=click.Choice(WORKLOADS), default=None,
              help="The workload the history is of (default: told from its first operations).")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default=None,
              help="jsonl, json (Elle's) or edn (Jepsen's history.edn); default: from the file name.")
@click.option("--consistency-model", "models", multiple=True, metavar="MODEL",
              help="The model(s) the history must satisfy, Elle's names (default: serializable, or none with "
                   "--anomalies).")
@click.option("--anomalies", "anomaly_names", multiple=True, metavar="NAMES",
              help="Anomaly types that make the history invalid (comma-separated), as Elle's :anomalies.")
@click.option("--wfr-keys", is_flag=True, default=False,
              help="rw-register: a transaction that reads a key and then writes it orders the two versions "
                   "(Elle's :wfr-keys?).")
@click.option("--total", type=int, default=None, help="bank: the fixed total of all balances (default 100).")
@click.option("--time-limit", type=click.FloatRange(0.1, None), default=60.0, show_default=True,
              help="Seconds the cycle search may take; past it the verdict is unknown unless already invalid.")
@click.option("--json", "json_path", default=None, metavar="FILE")
@click.option("--junit", "junit_path", default=None, metavar="FILE")
@click.option("--html", "html_path", default=None, metavar="FILE", help="A self-contained HTML report.")
@click.option("-v", "--verbose", is_flag=True, default=False)
@click.pass_context
@guarded
def check_cmd(ctx: click.Context, /, history_path: str, workload: str | None, fmt: str | None,
              models: tuple[str, ...], anomaly_names: tuple[str, ...], wfr_keys: bool, total: int | None,
              time_limit: float, json_path: str | None, junit_path: str | None, html_path: str | None,
              verbose: bool) -> None:
    """Check a recorded history (test-rig's JSONL, Elle's JSON or Jepsen's EDN); exit 0 when valid, 1 when
    invalid or undecided."""
    for given_path, option in ((json_path, "--json"), (junit_path, "--junit"), (html_path, "--html")):
        check_report_path(given_path, option)
    started = time.monotonic()
    result = check_file(history_path, CheckOptions(workload, fmt, models, anomaly_names, wfr_keys, total,
                                                   time_limit)).to_dict()
    # No configuration is loaded (pydantic-settings would double the start-up): the reports need none.
    env = Environment(loaded=cast("LoadedConfig", None), command=command_name(ctx), verbose=verbose,
                      json_path=json_path, junit_path=junit_path, html_path=html_path)
    render(env.console, result)
    env.conclude(result, [junit_suite(result, "check", time.monotonic() - started)])
