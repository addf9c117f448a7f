"""A checked history as people and CI read it: the verdict with its anomalies on the console, and the JUnit
case; both read the result dict (`check` and `elle` write it), so a report read back renders the same."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.markup import escape

from test_rig.history.checker import UNTRUSTWORTHY, Report
from test_rig.report.files import Case, Suite


def render(console: Console, data: dict[str, Any], limit: int = 3) -> None:
    """The verdict, each anomaly type with up to `limit` explanations, and the models ruled out."""
    from test_rig.history.consistency import UNKNOWN_TYPES

    report = Report.from_dict(data)
    verdict = ("[green]valid[/]" if report.valid is True else "[red]invalid[/]" if report.valid is False
               else "[yellow]unknown[/]")
    stats = ", ".join(f"{n} {kind}" for kind, n in report.stats.items())
    console.print(f"{verdict} under {escape(report.model)}; transactions: {stats or 'none'}")
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


def junit_suite(data: dict[str, Any], name: str, seconds: float = 0.0) -> Suite:
    """The JUnit case of a verdict: passed (valid), a failure (invalid: the violations), an error (undecided:
    the reasons)."""
    report = Report.from_dict(data)
    suite = Suite(name)
    title, classname = f"history valid under {report.model}", f"test_rig.{name}"
    if report.valid is True:
        suite.add(Case(title, classname, seconds))
    elif report.valid is False:
        suite.add(Case(title, classname, seconds, failure="invalid: " + ", ".join(report.violations)))
    else:
        suite.add(Case(title, classname, seconds, error="undecided: " + "; ".join(report.unknown)))
    return suite


def render_run(console: Console, data: dict[str, Any]) -> None:
    """An `elle` run's result: the verdict (`render`), the errors by server code, and why a run that ended
    did not test what was asked."""
    render(console, data)
    if data.get("errors_by_code"):
        console.print("errors by code: " + ", ".join(f"{code}: {n}" for code, n in data["errors_by_code"].items()))
    if data.get("complete") is not False and data.get("error") is not None:
        console.print(f"[red]The run did not test what was asked: {escape(str(data['error']))}[/]")
