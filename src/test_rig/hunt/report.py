"""How a hunt's result reads: the line a second, the opening line, the console summary and the JUnit suite.
All but the live line read the result dict (what `--json` holds), so a report read back renders the same."""

from __future__ import annotations

from typing import Any

from rich.markup import escape

from test_rig.hunt.runner import HuntRun, HuntSpec
from test_rig.report.files import Case, Suite
from test_rig.results import judge


def opening(spec: HuntSpec, address: str) -> str:
    """What the run is about to do, and against which server."""
    bound = f"{spec.duration:g} s" if spec.duration is not None else ""
    if spec.queries is not None:
        bound = f"{bound}{' or ' if bound else ''}{spec.queries} checked queries"
    over = f" over {spec.processes} processes" if spec.processes > 1 else ""
    return (f"test-rig hunt: {', '.join(spec.oracles)}; {spec.connections} connection(s){over}, {bound}, seed "
            f"{spec.seed}, against {address}")


def live_line(run: HuntRun) -> str:
    """The line a second: checked queries per oracle, databases, candidates, confirmed, flaky, new bugs."""
    per = ", ".join(f"{name} {n}" for name, n in run.stats.checked.items())
    return (f"  {run.seconds:>5.0f} s: {sum(run.stats.checked.values())} checked ({per}); {len(run.databases)} "
            f"databases; {run.stats.candidates} candidates, {run.stats.confirmed} confirmed, {run.stats.flaky} flaky, "
            f"{len(run.new_findings)} new bugs")


def render(console: Any, data: dict[str, Any]) -> None:
    checked = data["checked_total"]
    console.print(f"checked {checked} queries in {data['seconds']:.1f} s ({data['checked_per_second']:.0f}/s): "
                  + ", ".join(f"{k} {v}" for k, v in data["checked"].items()), markup=False)
    console.print(f"candidates {data['candidates']}, confirmed {data['confirmed']}, flaky {data['flaky']}; skipped "
                  f"(expected errors) {sum(data['skipped'].values())}; rounds {data['rounds']}", markup=False)
    for message, n in (data.get("driver_errors") or {}).items():
        console.print(f"client errors (not the server's; connection replaced) {n}x: {message}", markup=False)
    for f in data["findings"]:
        mark = "known" if f["known"] else "[red]NEW[/]"
        same = f" (same data as {', '.join(f['same_data_as'])})" if f.get("same_data_as") else ""
        shapes = f" in {f['shapes']} shapes" if f.get("shapes", 1) > 1 else ""
        console.print(f"{mark} {escape(f['kind'])} ({escape(_found_by(f))}, seen {f['count']}x{shapes}, "
                      f"id {f['id']}){same}: {escape(f['description'][:400])}")
        if f.get("file"):
            console.print(f"  reduced: {escape(f['file'])}")
    verdict = judge(data)
    if data.get("error") and data.get("exit_status") == 1:
        console.print(f"[red]the run did not finish: {escape(str(data['error']))}[/]")
    if data["new_bugs"]:
        console.print(f"[red]{data['new_bugs']} new bug(s) found[/]")
    elif verdict.outcome == "undecided":
        console.print(f"[yellow]undecided: {escape(str(data.get('reason_undecided')))}[/]")
    elif data.get("complete"):
        console.print(f"[green]no new bug found in {checked} checked queries[/]")


def _found_by(f: dict[str, Any]) -> str:
    """The oracles that found a bug, each with its count when more than one found it: `tlp-where 3, norec 2`."""
    oracles = f.get("oracles") or {f["oracle"]: f["count"]}
    if len(oracles) == 1:
        return str(next(iter(oracles)))
    return ", ".join(f"{name} {n}" for name, n in oracles.items())


def junit_suite(data: dict[str, Any], seconds: float) -> Suite:
    """A JUnit case per bug (a failure when new, skipped when known), or one passing case when none."""
    s = Suite("hunt")
    for f in data["findings"]:
        name = f"{f['kind']} {f['oracle']} {f['id']}"
        if f["known"]:
            s.add(Case(name, "test_rig.hunt", None, skipped=f"known bug, seen {f['count']} times"))
        else:
            s.add(Case(name, "test_rig.hunt", None, failure=f"{f['description']}\n\n{f['sql']}"))
    if not data["findings"] and data["checked_total"]:
        s.add(Case(f"no new bug in {data['checked_total']} checked queries", "test_rig.hunt", seconds))
    elif not data["findings"]:
        s.add(Case("hunt", "test_rig.hunt", seconds, error=str(data.get("reason_undecided"))))
    return s
