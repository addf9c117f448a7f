"""`test-rig elle` (run a random workload, record, check) and `test-rig check` (check a recorded history)."""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.markup import escape

from ..config import parse_session_var
from ..db import ISOLATION_LEVELS
from ..environment import run_async
from ..errors import UsageError
from ..history.checker import MODELS, Report
from ..history.model import read_history
from ..history.runner import ElleRun, check, run_workload
from ..history.workloads import WORKLOADS, Spec
from ..nemesis import annotate_timeline
from ..report import Case, Suite
from ..resilience import CircuitBreaker, create_db_circuit_breaker_config
from .common import (
    build_environment,
    common_options,
    given,
    guarded,
    html_option,
    nemesis_options,
    nemesis_spec,
    signal_name,
    start_nemesis,
)


def render(console: Console, report: Report, limit: int = 3) -> None:
    """The verdict, each anomaly type with up to `limit` explanations, and the models ruled out."""
    verdict = ("[green]valid[/]" if report.valid is True else "[red]invalid[/]" if report.valid is False
               else "[yellow]unknown[/]")
    console.print(f"{verdict} under {report.model}; transactions: {report.stats}")
    for kind in sorted(report.anomalies):
        found = report.anomalies[kind]
        console.print(f"[red]{kind}[/]: {len(found)} found")
        for a in found[:limit]:
            console.print(f"  {a['explanation']}", markup=False)
    if report.not_:
        console.print(f"not {', '.join(report.not_)}" + (f" (nor {', '.join(report.also_not)})"
                                                            if report.also_not else ""))
    for reason in report.unknown:
        console.print(f"[yellow]undecided[/]: {reason}")


def _suite(report: Report, name: str) -> Suite:
    suite = Suite(name)
    suite.add(Case(f"history valid under {report.model}", f"test_rig.{name}",
                   failure=None if report.valid is True else "; ".join(sorted(report.anomalies)) or "unknown"))
    return suite


@click.command("check")
@click.argument("history_path", metavar="HISTORY.jsonl")
@click.option("--workload", type=click.Choice(WORKLOADS), required=True)
@click.option("--consistency-model", type=click.Choice(MODELS), default="serializable", show_default=True)
@click.option("--total", type=int, default=100, show_default=True, help="bank: the fixed total of all balances.")
@click.option("--json", "json_path", default=None, metavar="FILE")
@click.option("-v", "--verbose", is_flag=True, default=False)
@guarded
def check_cmd(history_path: str, workload: str, consistency_model: str, total: int, json_path: str | None,
              verbose: bool) -> None:
    """Check a recorded history again; exit 1 when it is not valid under the model, 3 when undecided."""
    from ..report import write_json

    ops = read_history(history_path)
    report = check(workload, ops, consistency_model, Spec(workload, total=total))
    render(Console(highlight=False, soft_wrap=True), report)
    if json_path:
        write_json(json_path, {"command": "check", "workload": workload, "history": history_path,
                               **report.to_dict()})
    sys.exit(0 if report.valid is True else 1 if report.valid is False else 3)


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
@click.option("--consistency-model", type=click.Choice(MODELS), default=None,
              help="The model to check against (default: the one the isolation level promises).")
@click.option("--session-var", "session_vars", multiple=True, metavar="NAME=VALUE")
@click.option("--txn-mode", type=click.Choice(["pessimistic", "optimistic"]), default=None, help="TiDB only.")
@click.option("--history", "history_path", default=None, metavar="FILE", help="Write the history here (JSONL).")
@click.option("--expect-valid", is_flag=True, default=False, help="Exit 1 unless the history is valid.")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--processes", type=click.IntRange(1, 256), default=1, show_default=True,
              help="Worker processes the connections are split over; their histories are merged into one.")
@click.pass_context
@guarded
def elle_cmd(ctx: click.Context, /, workload: str, connections: int, duration: float, keys: int, max_txn_len: int,
             isolation_level: str, consistency_model: str | None, session_vars: tuple[str, ...], txn_mode: str | None,
             history_path: str | None, expect_valid: bool, seed: int, processes: int, **params: Any) -> None:
    """Run a random transactional workload, record its history, and check it (an Elle-style checker)."""
    if processes > connections:
        raise UsageError(f"--processes {processes} is more than --connections {connections}; each process needs "
                         "at least one connection.")
    variables = dict(parse_session_var(item) for item in session_vars)
    nemesis_wanted = nemesis_spec(ctx, params, seed)
    env = build_environment(ctx, params)
    target = dataclasses.replace(env.target(), session_variables={})
    model = consistency_model or PROMISED[isolation_level]
    spec = Spec(workload, keys=keys, max_txn_len=max_txn_len)
    run = ElleRun(spec)
    env.console.print(f"test-rig elle {workload}: {connections} connections, {duration:g} s, {keys} keys, "
                      f"{isolation_level}, checked as {model}, against {target.address}")
    env.quiet_retries = True
    error: str | None = None
    interrupted: KeyboardInterrupt | None = None
    nemesis = start_nemesis(env, nemesis_wanted, target)
    try:
        breaker = CircuitBreaker(create_db_circuit_breaker_config(
            nemesis_wanted.breaker_recovery if nemesis_wanted else None), name=target.address)
        manager = env.manager(breaker=breaker, overall_timeout=max(duration, 10))
        run_async(lambda: run_workload(target, manager, run,
                                       connections=connections, duration=duration, isolation=isolation_level,
                                       session_variables=variables, txn_mode=txn_mode,
                                       history_file=Path(history_path) if history_path else None, seed=seed,
                                       on_second=lambda t, ops, errs: env.console.print(
                                           f"  {t:>4} s: {ops} transactions, {errs} errors"), nemesis=nemesis,
                                       processes=processes))
    except KeyboardInterrupt as e:
        interrupted, error = e, f"interrupted by {signal_name(e)}"
    finally:
        if nemesis is not None:
            run_async(nemesis.close)
    failure = nemesis.failure() if nemesis is not None else None
    if failure is not None and error is None:
        error = failure
    report = check(workload, run.ops, model, spec)
    if run.server.get("kind") not in (None, "tidb") and given(ctx, "txn_mode"):
        env.console.print(f"note: --txn-mode is ignored: this server is {run.server.get('kind')}")
    render(env.console, report)
    errors = run.free.errors_by_code if run.free else {}
    data = {"ok": error is None and (report.valid is True or not expect_valid), "complete": error is None,
            "error": error, "workload": workload, "server": run.server, "isolation_level": isolation_level,
            "session_variables": variables, "errors_by_code": errors, "history": history_path, **report.to_dict()}
    if run.free is not None:
        data["timeline"] = run.free.to_dict()["timeline"]
    if run.nemesis is not None:
        data["nemesis"] = run.nemesis
        annotate_timeline(data.get("timeline", []), run.nemesis["windows"])
    env.write_reports(data, [_suite(report, "elle")])
    if errors:
        env.console.print(f"errors by code: {errors}")
    if interrupted is not None:
        raise interrupted
    if failure is not None:
        env.console.print(f"[red]The run did not test what was asked: {escape(failure)}[/]")
        sys.exit(1)
    if expect_valid and report.valid is not True:
        sys.exit(1)


#: The model each isolation level promises, to check a run against by default.
PROMISED = {"read-uncommitted": "read-uncommitted", "read-committed": "read-committed",
            "repeatable-read": "repeatable-read", "serializable": "serializable"}
