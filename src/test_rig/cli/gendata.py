"""`test-rig gen-data`: write deterministic test data and its CREATE TABLE, optionally load it
(load.gendata.run_gen_data), and say how it ended."""

from __future__ import annotations

from typing import Any

import click

from test_rig.cli.common import CONNECTION_OPTIONS, build_environment, command, html_options, typed_flags
from test_rig.load.gendata import GenDataOptions
from test_rig.options import field_options, take


@command("gen-data")
@html_options
@field_options(GenDataOptions)
def gen_data(ctx: click.Context, /, **params: Any) -> None:
    """Write deterministic rows (CSV, TSV or SQL) and the matching CREATE TABLE; optionally load them."""
    from test_rig.load.gendata import progress_bars, render, run_gen_data

    o = take(params, GenDataOptions)
    o.check({f"--{name}": params.get(f"{name}_path") for name in ("json", "junit", "html")},
            typed_flags(ctx, CONNECTION_OPTIONS))
    env = build_environment(ctx, params, prompt=o.load)
    with progress_bars(env.console) as progress:
        run = run_gen_data(o.path, rows=int(o.rows or 0), fmt=o.fmt, seed=o.seed, table=o.table, force=o.force,
                           target=env.target() if o.load else None, replace=o.replace,
                           notify=lambda said: env.console.print(said, markup=False), progress=progress)
    render(env.console, run, f"{env.config.database.database}.{o.table}")
    # interrupted: the program's stop keeps this report and says so in its one line, 130/143
    env.conclude(run.to_result(), [run.junit_suite(o.table, loading=o.load)], ending=run.interrupted)
