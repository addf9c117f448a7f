"""`test-rig hunt`: look for logic bugs — queries whose results disagree although they must agree (TLP,
NoREC, differential plans) and errors the server must not give — confirmed, reduced, deduplicated. Parses the
options, runs hunt/main.hunt, renders its result (console, JSON, JUnit, HTML) and ends with its verdict."""

from __future__ import annotations

import time
from typing import Any

import click

from test_rig.cli.common import build_environment, command, html_options
from test_rig.hunt.main import ORACLE_NAMES
from test_rig.options import opt
from test_rig.report.files import check_report_path


@command("hunt")
@html_options
@opt("--oracle oracle_names", metavar="NAMES",
     help=f"Oracles, comma-separated (default all): {', '.join(ORACLE_NAMES)}.")
@opt("--duration", float, None, "Seconds to hunt (default 60, or until --queries).")
@opt("--queries", click.IntRange(1, None), None, "Stop after this many checked queries (over all oracles and "
     "connections).")
@opt("--seed", int, 0, "The generator's seed: same seed, same SQL.")
@opt("--connections", click.IntRange(1, 64), 1, "Workers, each with a database of its own.")
@opt("--processes", click.IntRange(1, 64), 1, "Worker processes sharing --connections, each with databases of its "
     "own (one process uses one core).")
@opt("--reduce-time", click.FloatRange(0, None), 60.0, "Seconds to spend reducing each confirmed finding (0: report "
     "it unreduced).")
@opt("--known known_path", metavar="FILE|DIR", help="Signatures (or reduced .sql files) of bugs already reported, or a "
     "directory of reduced .sql files: counted, not reported again.")
@opt("--out out_dir", metavar="DIR", help="Write each finding's reduced .sql file here.")
@opt("--log log_path", metavar="FILE", help="Write every statement sent here.")
def hunt_cmd(ctx: click.Context, /, oracle_names: str | None, duration: float | None, queries: int | None,
             seed: int, connections: int, processes: int, reduce_time: float, known_path: str | None,
             out_dir: str | None, log_path: str | None, **params: Any) -> None:
    """Hunt for logic bugs: generated queries checked by oracles; every finding confirmed on a fresh database,
    reduced, signed. Exit 1 when a new bug was found, 0 when none, 2 for bad input."""
    from test_rig.hunt.main import hunt, spec_from_options
    from test_rig.hunt.report import junit_suite, live_line, opening, render

    spec = spec_from_options(oracle_names, duration=duration, queries=queries, seed=seed, connections=connections,
                             processes=processes, reduce_seconds=reduce_time, known_path=known_path,
                             out_dir=out_dir, log_path=log_path)
    check_report_path(log_path, "--log")
    env = build_environment(ctx, params, own="databases of its own (rig_hunt_...)")
    target, started = env.target(), time.monotonic()
    env.console.print(opening(spec, target.address))
    data = hunt(target, spec, on_second=lambda run: env.console.print(live_line(run), markup=False)).to_dict()
    render(env.console, data)
    env.conclude(data, [junit_suite(data, time.monotonic() - started)])
