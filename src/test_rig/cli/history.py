"""`test-rig elle` (run a random workload, record, check) and `test-rig check` (check a recorded history)."""

from __future__ import annotations

import dataclasses
import os
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
from ..history.checker import Report
from ..history.model import FORMATS, format_of
from ..history.runner import ElleRun, check, run_workload
from ..history.workloads import WORKLOADS, Spec
from ..nemesis import annotate_timeline
from ..report import Case, Suite
from ..resilience import CircuitBreaker, create_db_circuit_breaker_config
from .common import (
    build_environment,
    check_report_path,
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
    stats = ", ".join(f"{n} {kind}" for kind, n in report.stats.items())
    console.print(f"{verdict} under {escape(report.model)}; transactions: {stats or 'none'}")
    for kind in sorted(report.anomalies):
        found = report.anomalies[kind]
        allowed = "" if kind in report.violations else " (allowed by the model)"
        console.print(f"[red]{kind}[/]: {len(found)} found{allowed}")
        for a in found[:limit]:
            console.print(f"  {a['explanation']}", markup=False)
    if report.not_:
        console.print(f"not {', '.join(report.not_)}" + (f" (nor {', '.join(report.also_not)})"
                                                            if report.also_not else ""))
    for reason in report.unknown:
        console.print(f"[yellow]undecided[/]: {escape(reason)}")


def _suite(report: Report, name: str) -> Suite:
    suite = Suite(name)
    if report.valid is True:
        suite.add(Case(f"history valid under {report.model}", f"test_rig.{name}"))
    elif report.valid is False:
        suite.add(Case(f"history valid under {report.model}", f"test_rig.{name}",
                       failure="; ".join(report.violations)))
    else:
        suite.add(Case(f"history valid under {report.model}", f"test_rig.{name}",
                       error="undecided: " + "; ".join(report.unknown)))
    return suite


def exit_status(valid: bool | str) -> int:
    """One rule for `check` and `elle`: 0 only for a history shown valid; 1 for invalid or undecided."""
    return 0 if valid is True else 1


def parse_models(values: tuple[str, ...], default: str | None) -> list[str]:
    """--consistency-model (repeatable, or comma-separated): Elle's names or Adya's; unknown ones are bad input."""
    from ..history.consistency import KNOWN_NAMES, canonical

    out: list[str] = []
    for value in values:
        for part in value.split(","):
            if not part.strip():
                continue
            name = canonical(part)
            if name is None:
                raise UsageError(f"--consistency-model {part.strip()} is not a model Elle knows; use one of "
                                 f"{', '.join(KNOWN_NAMES)}.")
            out.append(name)
    if not out and default is not None:
        out.append(default)
    return out


def parse_anomalies(values: tuple[str, ...]) -> list[str]:
    from ..history.consistency import IMPLIED, PROSCRIBES, UNKNOWN_TYPES
    from ..history.graph import CYCLE_TYPES

    known = set(IMPLIED) | {a for v in IMPLIED.values() for a in v} | {a for v in PROSCRIBES.values() for a in v} \
        | set(CYCLE_TYPES) | set(UNKNOWN_TYPES)
    out: list[str] = []
    for value in values:
        for part in value.split(","):
            name = part.strip().removeprefix(":")
            if not name:
                continue
            if name not in known:
                raise UsageError(f"--anomalies {name} is not an anomaly Elle knows; use some of "
                                 f"{', '.join(sorted(known))}.")
            out.append(name)
    return out


def _guess_workload(path: str, fmt: str | None) -> str:
    """The workload a history is of, from its first transaction's micro-operations."""
    from ..history.model import iter_history

    for op in iter_history(path, fmt):
        if op.f in ("read", "transfer"):
            return "bank"
        if isinstance(op.value, list):
            for m in op.value:
                if isinstance(m, list) and m:
                    if m[0] == "append":
                        return "list-append"
                    if m[0] == "w":
                        return "rw-register"
                    if m[0] in ("read", "transfer"):
                        return "bank"
    raise UsageError(f"{path} holds no append, write or bank operation to tell its workload from; give --workload.")


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
@click.option("-v", "--verbose", is_flag=True, default=False)
@guarded
def check_cmd(history_path: str, workload: str | None, fmt: str | None, models: tuple[str, ...],
              anomaly_names: tuple[str, ...], wfr_keys: bool, total: int | None, time_limit: float,
              json_path: str | None, verbose: bool) -> None:
    """Check a recorded history (test-rig's JSONL, Elle's JSON or Jepsen's EDN); exit 0 when valid, 1 when
    invalid or undecided."""
    from ..history.model import iter_history
    from ..report import write_json

    check_report_path(json_path, "--json")
    path = Path(history_path)
    if not path.is_file() or not os.access(path, os.R_OK):
        raise UsageError(f"History {history_path} is not a readable file; check the path.")
    anomalies = parse_anomalies(anomaly_names)
    chosen = parse_models(models, None if anomalies else "serializable")
    workload = workload or _guess_workload(history_path, fmt)
    if wfr_keys and workload != "rw-register":
        raise UsageError(f"--wfr-keys applies to rw-register histories only, not {workload}.")
    if total is not None and workload != "bank":
        raise UsageError(f"--total applies to bank histories only, not {workload}.")
    report = check(workload, iter_history(history_path, fmt, raw_reads=True), chosen or None,
                   Spec(workload, total=total or 100), anomalies=anomalies, wfr_keys=wfr_keys, time_budget=time_limit)
    render(Console(highlight=False, soft_wrap=True), report)
    if json_path:
        write_json(json_path, {"command": "check", "ok": report.valid is True, "complete": True, "error": None,
                               "workload": workload, "history": history_path, "format": format_of(path, fmt),
                               **report.to_dict()})
    sys.exit(exit_status(report.valid))


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
    report = check(workload, run.history.ops(raw_reads=True), chosen, spec, anomalies=anomalies,
                   wfr_keys=wfr_keys and workload == "rw-register")
    if run.server.get("kind") not in (None, "tidb") and given(ctx, "txn_mode"):
        env.console.print(f"note: --txn-mode is ignored: this server is {run.server.get('kind')}")
    render(env.console, report)
    errors = run.free.errors_by_code if run.free else {}
    data = {"ok": error is None and report.valid is True, "complete": error is None,
            "error": error, "workload": workload, "server": run.server, "isolation_level": isolation_level,
            "session_variables": variables, "wfr_keys": wfr_keys and workload == "rw-register",
            "errors_by_code": errors, "history": history_path, **report.to_dict()}
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
    sys.exit(exit_status(report.valid))


#: The model each isolation level promises, to check a run against by default.
PROMISED = {"read-uncommitted": "read-uncommitted", "read-committed": "read-committed",
            "repeatable-read": "repeatable-read", "serializable": "serializable"}
