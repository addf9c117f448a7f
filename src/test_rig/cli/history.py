"""`test-rig elle`: run a random workload, record its history and check it (history.runner.run_elle), and
render the verdict (history.report)."""

from __future__ import annotations

import time
from functools import partial
from typing import Any

import click

from test_rig.cli.common import (
    build_environment,
    command,
    conclude,
    flag,
    given,
    nemesis_options,
    nemesis_spec,
    opt,
    say,
)
from test_rig.db import ISOLATION_LEVELS
from test_rig.history import report
from test_rig.history.runner import elle_settings, run_elle
from test_rig.history.workloads import WORKLOADS
from test_rig.report.files import check_report_path


@command("elle")
@nemesis_options
@click.argument("workload", type=click.Choice(WORKLOADS))
@opt("--connections", click.IntRange(1, 1000), 4)
@opt("--duration", click.FloatRange(0.1, None), 10.0, "Seconds.")
@opt("--keys", click.IntRange(1, 100_000), 8, "Keys in use at once (list-append, rw-register); few keys make more "
     "contention.")
@opt("--max-txn-len", click.IntRange(1, 100), 4)
@opt("--isolation-level", click.Choice(ISOLATION_LEVELS), "serializable")
@opt("--consistency-model models", multiple=True, metavar="MODEL",
     help="The model(s) to check against, Elle's names (default: the one the isolation level promises).")
@opt("--anomalies anomaly_names", multiple=True, metavar="NAMES",
     help="Anomaly types that make the history invalid besides the model's (comma-separated).")
@opt("--wfr-keys/--no-wfr-keys", None, True, "rw-register: order a key's versions by read-then-write inside one "
     "transaction (test-rig's client runs micro-operations in order, so this holds).")
@opt("--session-var session_vars", multiple=True, metavar="NAME=VALUE")
@opt("--txn-mode", click.Choice(["pessimistic", "optimistic"]), None, "TiDB only.")
@opt("--history history_path", metavar="FILE", help="Write the history here (JSONL).")
@flag("--expect-valid", "Kept for scripts: exit 1 unless the history is valid, which is now always the rule.")
@opt("--seed", int, 0)
@opt("--processes", click.IntRange(1, 256), 1, "Worker processes the connections are split over; their histories "
     "are merged into one.")
def elle_cmd(ctx: click.Context, /, workload: str, isolation_level: str, expect_valid: bool, **params: Any) -> None:
    """Run a random transactional workload, record its history, and check it (an Elle-style checker); exit 0
    when the history is valid under the model, 1 when invalid or undecided."""
    check_report_path(params["history_path"], "--history")
    own = {name: params.pop(name) for name in ("connections", "duration", "keys", "max_txn_len", "models",
                                               "anomaly_names", "session_vars", "txn_mode", "history_path", "seed",
                                               "processes", "wfr_keys")}
    settings = elle_settings(workload, typed={name for name in ctx.params if given(ctx, name)},
                             isolation=isolation_level, **own, nemesis=nemesis_spec(ctx, params, own["seed"]))
    env = build_environment(ctx, params, own="a schema of its own (rig_elle_...)")
    target, started = env.target(), time.monotonic()
    say(env, report.opening(settings, target.address))
    result = run_elle(env, target, settings, on_second=lambda *second: say(env, report.second_line(*second)))
    conclude(env, result, partial(report.run_lines, settings),
             lambda data: [report.junit_suite(data, "elle", time.monotonic() - started)])
