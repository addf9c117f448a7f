"""`test-rig gen-data`: write deterministic test data and its CREATE TABLE, optionally load it
(load.gendata.run_gen_data), and say how it ended."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from test_rig.cli.common import CONNECTION_OPTIONS, build_environment, command, html_options, typed_flags
from test_rig.options import flag, opt


@command("gen-data")
@html_options
@opt("--rows", click.IntRange(1, 1_000_000_000), None, "How many rows.", required=True)
@opt("--format fmt", click.Choice(["csv", "tsv", "sql"]), "csv")
@opt("-o --output", None, None, "Where to write the data.", required=True, metavar="FILE")
@flag("--force", "Overwrite FILE (and FILE.schema.sql) if they exist.")
@opt("--seed", int, 0, "The same seed gives the same bytes.")
@opt("--table", None, "rig_gen", "Table name for CREATE TABLE and --load.")
@flag("--load do_load", "Load the file into a new table and swap it in for --table when the row count is exact.")
@flag("--replace", "With --load: replace an existing --table (its rows stay until the new ones are all loaded).")
def gen_data(ctx: click.Context, /, rows: int, fmt: str, output: str, force: bool, seed: int, table: str,
             do_load: bool, replace: bool, **params: Any) -> None:
    """Write deterministic rows (CSV, TSV or SQL) and the matching CREATE TABLE; optionally load them."""
    from test_rig.load.gendata import check_request, progress_bars, render, run_gen_data

    path = Path(output)
    check_request(path, force=force, load=do_load, replace=replace,
                  reports={f"--{o}": params.get(f"{o}_path") for o in ("json", "junit", "html")},
                  connection_flags=typed_flags(ctx, CONNECTION_OPTIONS))
    env = build_environment(ctx, params, prompt=do_load)
    with progress_bars(env.console) as progress:
        run = run_gen_data(path, rows=rows, fmt=fmt, seed=seed, table=table, force=force,
                           target=env.target() if do_load else None, replace=replace,
                           notify=lambda said: env.console.print(said, markup=False), progress=progress)
    render(env.console, run, f"{env.config.database.database}.{table}")
    # interrupted: the program's stop keeps this report and says so in its one line, 130/143
    env.conclude(run.to_result(), [run.junit_suite(table, loading=do_load)], ending=run.interrupted)
