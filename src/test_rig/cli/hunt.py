"""`test-rig hunt`: look for logic bugs — queries whose results disagree although they must agree (TLP,
NoREC, differential plans) and errors the server must not give — confirmed, reduced, deduplicated. Parses the
options, runs hunt/runner.run_hunt, renders its result (console, JSON, JUnit, HTML) from one verdict."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

import click
from rich.markup import escape

from test_rig.cli.common import build_environment, common_options, given, guarded, html_option, signal_name
from test_rig.environment import run_async
from test_rig.errors import UsageError
from test_rig.report.files import Case, Suite
from test_rig.results import judge

ORACLE_NAMES = ("tlp-where", "tlp-having", "tlp-distinct", "tlp-group-by", "tlp-aggregate", "norec", "plans",
                "errors")


def parse_oracles(value: str | None) -> tuple[str, ...]:
    """--oracle a,b: known names only (bad input otherwise), in the order given, each once."""
    if value is None:
        return ORACLE_NAMES
    names = [part.strip() for part in value.split(",") if part.strip()]
    unknown = [n for n in names if n not in ORACLE_NAMES]
    if unknown or not names:
        raise UsageError(f"--oracle {value} names {'no oracle' if not names else 'an unknown oracle: ' + unknown[0]}; "
                         f"use one or more of {', '.join(ORACLE_NAMES)}, comma-separated.")
    return tuple(dict.fromkeys(names))


def check_out_dir(path: str | None) -> Path | None:
    """--out DIR must be a directory we can write (tried, as report paths are); made when missing."""
    if path is None:
        return None
    p = Path(path)
    if p.exists() and not p.is_dir():
        raise UsageError(f"--out {path} is a file; give a directory for the reduced .sql files.")
    try:
        p.mkdir(parents=True, exist_ok=True)
        probe = p / ".test-rig-write-probe"
        probe.write_text("")
        probe.unlink()
    except OSError as e:
        raise UsageError(f"--out {path} cannot be written ({e.strerror or e}); choose another directory.") from None
    return p


def read_known_option(path: str | None) -> frozenset[str]:
    if path is None:
        return frozenset()
    from test_rig.hunt.finding import read_known

    try:
        return frozenset(read_known(Path(path)))
    except (OSError, UnicodeDecodeError) as e:
        raise UsageError(f"--known {path} cannot be read ({getattr(e, 'strerror', None) or e}); give a file of "
                         "signatures or reduced .sql files.") from None


@click.command("hunt")
@common_options
@html_option
@click.option("--oracle", "oracle_names", default=None, metavar="NAMES",
              help=f"Oracles, comma-separated (default all): {', '.join(ORACLE_NAMES)}.")
@click.option("--duration", type=float, default=None, help="Seconds to hunt (default 60, or until --queries).")
@click.option("--queries", type=click.IntRange(1, None), default=None,
              help="Stop after this many checked queries (over all oracles and connections).")
@click.option("--seed", type=int, default=0, show_default=True, help="The generator's seed: same seed, same SQL.")
@click.option("--connections", type=click.IntRange(1, 64), default=1, show_default=True,
              help="Workers, each with a database of its own.")
@click.option("--processes", type=click.IntRange(1, 64), default=1, show_default=True,
              help="Worker processes sharing --connections, each with databases of its own (one process uses one "
                   "core).")
@click.option("--reduce-time", type=click.FloatRange(0, None), default=60.0, show_default=True,
              help="Seconds to spend reducing each confirmed finding (0: report it unreduced).")
@click.option("--known", "known_path", default=None, metavar="FILE",
              help="Signatures (or reduced .sql files) of bugs already reported: counted, not reported again.")
@click.option("--out", "out_dir", default=None, metavar="DIR", help="Write each finding's reduced .sql file here.")
@click.option("--log", "log_path", default=None, metavar="FILE", help="Write every statement sent here.")
@click.pass_context
@guarded
def hunt_cmd(ctx: click.Context, /, oracle_names: str | None, duration: float | None, queries: int | None,
             seed: int, connections: int, processes: int, reduce_time: float, known_path: str | None,
             out_dir: str | None, log_path: str | None, **params: Any) -> None:
    """Hunt for logic bugs: generated queries checked by oracles; every finding confirmed on a fresh database,
    reduced, signed. Exit 1 when a new bug was found, 0 when none, 2 for bad input."""
    from test_rig.cli.common import check_report_path
    from test_rig.hunt.processes import run_hunt_processes, shares
    from test_rig.hunt.runner import HuntRun, HuntSpec, run_hunt

    oracles = parse_oracles(oracle_names)
    if duration is not None and duration <= 0:
        raise UsageError(f"--duration {duration:g} must be more than 0 seconds; give how long to hunt, e.g. "
                         "--duration 60.")
    out = check_out_dir(out_dir)
    known = read_known_option(known_path)
    check_report_path(log_path, "--log")
    shares(connections, processes, queries)  # more processes than connections is bad input
    if duration is None and queries is None:
        duration = 60.0
    env = build_environment(ctx, params)
    if given(ctx, "database"):
        env.console.print("note: -d/--database is ignored: hunt runs in databases of its own (rig_hunt_...), "
                          "dropped at the end")
    import dataclasses

    target = dataclasses.replace(env.target().with_database(None), session_variables={})
    spec = HuntSpec(oracles, duration=duration, queries=queries, seed=seed, connections=connections,
                    reduce_seconds=reduce_time, known=known, out=out, log=Path(log_path) if log_path else None,
                    processes=processes)
    run = HuntRun(spec)
    bound = f"{duration:g} s" if duration is not None else ""
    if queries is not None:
        bound = f"{bound}{' or ' if bound else ''}{queries} checked queries"
    over = f" over {processes} processes" if processes > 1 else ""
    env.console.print(f"test-rig hunt: {', '.join(oracles)}; {connections} connection(s){over}, {bound}, seed {seed}, "
                      f"against {target.address}")
    started = time.monotonic()
    interrupted: KeyboardInterrupt | None = None
    error: str | None = None

    def live(r: HuntRun) -> None:
        per = ", ".join(f"{name} {n}" for name, n in r.stats.checked.items())
        env.console.print(f"  {r.seconds:>5.0f} s: {sum(r.stats.checked.values())} checked ({per}); "
                          f"{len(r.databases)} databases; {r.stats.candidates} candidates, {r.stats.confirmed} "
                          f"confirmed, {r.stats.flaky} flaky, {len(r.new_findings)} new bugs", markup=False)

    try:
        run_async(lambda: run_hunt(target, run, on_second=live) if processes == 1 else
                  run_hunt_processes(target, run, on_second=live))
    except KeyboardInterrupt as e:
        interrupted, error = e, f"interrupted by {signal_name(e)}"
    data = result_dict(run, error)
    render(env.console, data)
    env.write_reports(data, [suite(data, time.monotonic() - started)])
    if interrupted is not None:
        raise interrupted
    sys.exit(judge(data).exit_status)


def result_dict(run: Any, error: str | None) -> dict[str, Any]:
    """The hunt's result: `failed` counts the new bugs; a run that checked nothing is undecided."""
    data: dict[str, Any] = run.to_dict()
    new = data["new_bugs"]
    data.update({"complete": error is None and run.complete, "error": error or run.error, "failed": new})
    if error is None and run.error is not None:
        data["exit_status"] = 1  # ended early without being interrupted: incomplete, exit 1 (not 130)
    if new:
        data["ok"] = False
    elif data["checked_total"] == 0:
        data["ok"], data["undecided"] = True, 1
        data["reason_undecided"] = "no query was checked: every generated query failed or the run ended first"
    else:
        data["ok"] = True
    if not run.dropped and run.databases:
        data["error"] = data["error"] or f"the run's databases could not all be dropped: {', '.join(run.databases)}"
        data["ok"] = False
    return data


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
        console.print(f"{mark} {escape(f['kind'])} ({escape(f['oracle'])}, seen {f['count']}x{shapes}, "
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


def suite(data: dict[str, Any], seconds: float) -> Suite:
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
