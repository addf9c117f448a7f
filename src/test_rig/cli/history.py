"""`test-rig elle`: run a random workload, record its history, check it (the checking and rendering it shares
with `check` are in cli/check.py)."""

from __future__ import annotations

import dataclasses
import time
from typing import Any

import click
from rich.markup import escape

from test_rig.cli.check import _suite, parse_anomalies, parse_models, render
from test_rig.cli.common import (
    build_environment,
    check_report_path,
    common_options,
    given,
    guarded,
    html_option,
    nemesis_options,
    nemesis_spec,
)
from test_rig.config import parse_session_var
from test_rig.db import ISOLATION_LEVELS
from test_rig.errors import UsageError
from test_rig.history.runner import run_elle
from test_rig.history.workloads import WORKLOADS, Spec


@click.command("elle")
@common_options
@html_option
@nemesis_options
@click.argument("workload", type=click.Choice(WORKLOADS))
@click.option("--connections", type=click.IntRange(1, 1000), default=4, show_default=True)
@click.option("--duration", type=click.FloatRange(0.1, None), default=10.0, show_default=True, help="Seconds.")
@click.option("--keys", type=click.IntRange(1, 100_000), default=8, show_default=True,
              help="Keys in use at once (list-append, rw-register); few keys make more contention.")
@click.option("--max-txn-len", type=click.IntRange(1, 100), default=4, show_default=True)
@click.option("--isolation-level", type=click.Choice(ISOLATION_LEVELS), default="serializable", show_default=True)
@click.option("--consistency-model", "models", multiple=True, metavar="MODEL",
              help="The model(s) to check against, Elle's names (default: the one the isolation level promises).")
@click.option("--anomalies", "anomaly_names", multiple=True, metavar="NAMES",
              help="Anomaly types that make the history invalid besides the model's (comma-separated).")
@click.option("--wfr-keys/--no-wfr-keys", default=True, show_default=True,
              help="rw-register: order a key's versions by read-then-write inside one transaction (test-rig's "
                   "client runs micro-operations in order, so this holds).")
@click.option("--session-var", "session_vars", multiple=True, metavar="NAME=VALUE")
@click.option("--txn-mode", type=click.Choice(["pessimistic", "optimistic"]), default=None, help="TiDB only.")
@click.option("--history", "history_path", default=None, metavar="FILE", help="Write the history here (JSONL).")
@click.option("--expect-valid", is_flag=True, default=False,
              help="Kept for scripts: exit 1 unless the history is valid, which is now always the rule.")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--processes", type=click.IntRange(1, 256), default=1, show_default=True,
              help="Worker processes the connections are split over; their histories are merged into one.")
@click.pass_context
@guarded
def elle_cmd(ctx: click.Context, /, workload: str, connections: int, duration: float, keys: int, max_txn_len: int,
             isolation_level: str, models: tuple[str, ...], anomaly_names: tuple[str, ...], wfr_keys: bool,
             session_vars: tuple[str, ...], txn_mode: str | None, history_path: str | None, expect_valid: bool,
             seed: int, processes: int, **params: Any) -> None:
    """Run a random transactional workload, record its history, and check it (an Elle-style checker); exit 0
    when the history is valid under the model, 1 when invalid or undecided."""
    if processes > connections:
        raise UsageError(f"--processes {processes} is more than --connections {connections}; each process needs "
                         "at least one connection.")
    if workload == "bank":
        for name, flag in (("keys", "--keys"), ("max_txn_len", "--max-txn-len")):
            if given(ctx, name):
                raise UsageError(f"{flag} does not apply to the bank workload (it moves money between "
                                 f"{Spec('bank').accounts} accounts); leave it out.")
    if workload != "rw-register" and given(ctx, "wfr_keys"):
        raise UsageError(f"--wfr-keys applies to rw-register only, not {workload}.")
    check_report_path(history_path, "--history")
    variables = dict(parse_session_var(item) for item in session_vars)
    anomalies = parse_anomalies(anomaly_names)
    chosen = parse_models(models, PROMISED[isolation_level])
    nemesis_wanted = nemesis_spec(ctx, params, seed)
    env = build_environment(ctx, params)
    if given(ctx, "database"):
        env.console.print("note: -d/--database is ignored: elle runs in a schema of its own (rig_elle_...), dropped "
                          "at the end")
    target = dataclasses.replace(env.target(), session_variables={})
    model = ",".join(chosen)
    started = time.monotonic()
    env.console.print(f"test-rig elle {workload}: {connections} connections, {duration:g} s, {keys} keys, "
                      f"{isolation_level}, checked as {model}, against {target.address}")
    env.quiet_retries = True
    outcome = run_elle(env, target, Spec(workload, keys=keys, max_txn_len=max_txn_len), connections=connections,
                       duration=duration, isolation=isolation_level, models=chosen, anomalies=anomalies,
                       session_variables=variables, txn_mode=txn_mode, history_path=history_path, seed=seed,
                       processes=processes, wfr_keys=wfr_keys and workload == "rw-register",
                       nemesis_spec=nemesis_wanted,
                       on_second=lambda t, ops, errs: env.console.print(f"  {t:>4} s: {ops} transactions, {errs} "
                                                                        "errors"))
    data, report = outcome.data, outcome.report
    if data["server"].get("kind") not in (None, "tidb") and given(ctx, "txn_mode"):
        env.console.print(f"note: --txn-mode is ignored: this server is {data['server'].get('kind')}")
    render(env.console, report)
    suites = [_suite(report, "elle", time.monotonic() - started)]
    if data["errors_by_code"]:
        env.console.print("errors by code: " + ", ".join(f"{code}: {n}" for code, n in data["errors_by_code"].items()))
    if outcome.interrupted is not None:
        env.write_reports(data, suites)
        raise outcome.interrupted
    if data["error"] is not None:
        env.console.print(f"[red]The run did not test what was asked: {escape(data['error'])}[/]")
    env.conclude(data, suites)


#: The model each isolation level promises, to check a run against by default.
PROMISED = {"read-uncommitted": "read-uncommitted", "read-committed": "read-committed",
            "repeatable-read": "repeatable-read", "serializable": "serializable"}
