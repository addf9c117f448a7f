"""`test-rig check`: check a recorded history (test-rig's JSONL, Elle's JSON, Jepsen's EDN) again; and what
`elle` shares with it: the verdict printed, the JUnit case, the exit rule, model and anomaly names. Imports only
the checker, so that checking a small history costs little more than the interpreter's start."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click
from rich.console import Console
from rich.markup import escape

from test_rig.cli.common import check_report_path, guarded
from test_rig.errors import UsageError
from test_rig.history.checker import Report, check_history
from test_rig.history.model import FORMATS, format_of, iter_pairs
from test_rig.report.files import Case, Suite
from test_rig.results import judge, settle

WORKLOADS = ("list-append", "rw-register", "bank")


def render(console: Console, report: Report, limit: int = 3) -> None:
    """The verdict, each anomaly type with up to `limit` explanations, and the models ruled out."""
    verdict = ("[green]valid[/]" if report.valid is True else "[red]invalid[/]" if report.valid is False
               else "[yellow]unknown[/]")
    stats = ", ".join(f"{n} {kind}" for kind, n in report.stats.items())
    console.print(f"{verdict} under {escape(report.model)}; transactions: {stats or 'none'}")
    from test_rig.history.checker import UNTRUSTWORTHY
    from test_rig.history.consistency import UNKNOWN_TYPES

    for kind in sorted(report.anomalies):
        found = report.anomalies[kind]
        allowed = ("" if kind in report.violations else " (so the verdict is undecided)"
                   if kind in UNKNOWN_TYPES or kind in UNTRUSTWORTHY else " (allowed by the model)")
        console.print(f"[red]{kind}[/]: {len(found)} found{allowed}")
        for a in found[:limit]:
            console.print(f"  {a['explanation']}", markup=False)
    if report.not_:
        console.print(f"not {', '.join(report.not_)}" + (f" (nor {', '.join(report.also_not)})"
                                                            if report.also_not else ""))
    for reason in report.unknown:
        console.print(f"[yellow]undecided[/]: {escape(reason)}")


def _suite(report: Report, name: str, seconds: float = 0.0) -> Suite:
    """The JUnit case of a verdict: passed (valid), a failure (invalid: the violations), an error (undecided:
    the reasons)."""
    suite = Suite(name)
    title, classname = f"history valid under {report.model}", f"test_rig.{name}"
    if report.valid is True:
        suite.add(Case(title, classname, seconds))
    elif report.valid is False:
        suite.add(Case(title, classname, seconds, failure="invalid: " + ", ".join(report.violations)))
    else:
        suite.add(Case(title, classname, seconds, error="undecided: " + "; ".join(report.unknown)))
    return suite


def parse_models(values: tuple[str, ...], default: str | None) -> list[str]:
    """--consistency-model (repeatable, or comma-separated): Elle's names or Adya's; unknown ones are bad input."""
    from test_rig.history.consistency import KNOWN_NAMES, canonical

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
    from test_rig.history.consistency import IMPLIED, PROSCRIBES, UNKNOWN_TYPES
    from test_rig.history.graph import CYCLE_TYPES

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
    """The workload a history is of, from its micro-operations (the first append, write or bank operation).
    An empty history is list-append's: a check over nothing is undecided whatever the workload."""
    from test_rig.history.model import iter_history

    seen = False
    for op in iter_history(path, fmt):
        seen = True
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
    if not seen:
        return "list-append"
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
@click.option("--junit", "junit_path", default=None, metavar="FILE")
@click.option("--html", "html_path", default=None, metavar="FILE", help="A self-contained HTML report.")
@click.option("-v", "--verbose", is_flag=True, default=False)
@guarded
def check_cmd(history_path: str, workload: str | None, fmt: str | None, models: tuple[str, ...],
              anomaly_names: tuple[str, ...], wfr_keys: bool, total: int | None, time_limit: float,
              json_path: str | None, junit_path: str | None, html_path: str | None, verbose: bool) -> None:
    """Check a recorded history (test-rig's JSONL, Elle's JSON or Jepsen's EDN); exit 0 when valid, 1 when
    invalid or undecided."""
    import time

    from test_rig.history.model import iter_history
    from test_rig.report.files import write_json, write_junit

    for given_path, option in ((json_path, "--json"), (junit_path, "--junit"), (html_path, "--html")):
        check_report_path(given_path, option)
    started = time.monotonic()
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
    report = check_history(workload, iter_pairs(iter_history(history_path, fmt, raw_reads=True)),
                           model=chosen or None, anomalies=anomalies, total=total or 100, wfr_keys=wfr_keys,
                           time_budget=time_limit)
    render(Console(highlight=False, soft_wrap=True), report)
    # Every output from the one verdict (results.judge): `ok` is true exactly when the exit status is 0.
    data = settle({"command": "check", "ok": report.valid is True, "complete": True, "error": None,
                   "workload": workload, "history": history_path, "format": format_of(path, fmt),
                   **report.to_dict()})
    if json_path:
        write_json(json_path, data)
    if junit_path:
        write_junit(junit_path, [_suite(report, "check", time.monotonic() - started)])
    if html_path:
        from test_rig.report.html import write_html

        write_html(html_path, data)
    sys.exit(judge(data).exit_status)
