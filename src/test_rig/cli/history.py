"""`test-rig elle`: run a random workload, record its history and check it (history.runner.run_elle), and
render the verdict (history.report)."""

from __future__ import annotations

import time
from typing import Any

import click

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
from test_rig.db import ISOLATION_LEVELS
from test_rig.history.report import junit_suite, render_run
from test_rig.history.runner import elle_settings, run_elle
from test_rig.history.workloads import WORKLOADS


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
    check_report_path(history_path, "--history")
    settings = elle_settings(workload, typed={name for name in ctx.params if given(ctx, name)},
                             connections=connections, duration=duration, keys=keys, max_txn_len=max_txn_len,
                             isolation=isolation_level, models=models, anomaly_names=anomaly_names,
                             session_vars=session_vars, txn_mode=txn_mode, history_path=history_path, seed=seed,
                             processes=processes, wfr_keys=wfr_keys, nemesis=nemesis_spec(ctx, params, seed))
    env = build_environment(ctx, params)
    if given(ctx, "database"):
        env.console.print("note: -d/--database is ignored: elle runs in a schema of its own (rig_elle_...), dropped "
                          "at the end")
    target, started = env.target(), time.monotonic()
    env.console.print(f"test-rig elle {workload}: {connections} connections, {duration:g} s, {keys} keys, "
                      f"{isolation_level}, checked as {','.join(settings.models)}, against {target.address}")
    env.quiet_retries = True
    data = run_elle(env, target, settings, on_second=lambda t, ops, errs: env.console.print(
        f"  {t:>4} s: {ops} transactions, {errs} errors")).to_dict()
    if data["server"].get("kind") not in (None, "tidb") and given(ctx, "txn_mode"):
        env.console.print(f"note: --txn-mode is ignored: this server is {data['server'].get('kind')}")
    render_run(env.console, data)
    env.conclude(data, [junit_suite(data, "elle", time.monotonic() - started)])
