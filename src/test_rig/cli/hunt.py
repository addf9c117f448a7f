"""`test-rig hunt`: look for logic bugs — queries whose results disagree although they must agree (TLP,
NoREC, differential plans) and errors the server must not give — confirmed, reduced, deduplicated. Parses the
options, runs hunt/main.hunt, renders its result (console, JSON, JUnit, HTML) and ends with its verdict."""

from __future__ import annotations

import time
from typing import Any

import click

from test_rig.cli.common import build_environment, check_report_path, common_options, given, guarded, html_option
from test_rig.hunt.main import ORACLE_NAMES


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
    from test_rig.hunt.main import hunt, spec_from_options
    from test_rig.hunt.report import junit_suite, live_line, opening, render

    spec = spec_from_options(oracle_names, duration=duration, queries=queries, seed=seed, connections=connections,
                             processes=processes, reduce_seconds=reduce_time, known_path=known_path,
                             out_dir=out_dir, log_path=log_path)
    check_report_path(log_path, "--log")
    env = build_environment(ctx, params)
    if given(ctx, "database"):
        env.console.print("note: -d/--database is ignored: hunt runs in databases of its own (rig_hunt_...), "
                          "dropped at the end")
    target, started = env.target(), time.monotonic()
    env.console.print(opening(spec, target.address))
    data = hunt(target, spec, on_second=lambda run: env.console.print(live_line(run), markup=False)).to_dict()
    render(env.console, data)
    env.conclude(data, [junit_suite(data, time.monotonic() - started)])
