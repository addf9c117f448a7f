"""`test-rig gen-data`: write deterministic test data and its CREATE TABLE, optionally load it
(load.gendata.run_gen_data), and say how it ended."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from test_rig.cli.common import build_environment, common_options, given, guarded, html_option

_CONNECTION_FLAGS = {"host": "-H/--host", "user": "-u/--user", "database": "-d/--database", "password": "--password"}


@click.command("gen-data")
@common_options
@html_option
@click.option("--rows", type=click.IntRange(1, 1_000_000_000), required=True, help="How many rows.")
@click.option("--format", "fmt", type=click.Choice(["csv", "tsv", "sql"]), default="csv", show_default=True)
@click.option("-o", "--output", required=True, metavar="FILE", help="Where to write the data.")
@click.option("--force", is_flag=True, default=False, help="Overwrite FILE (and FILE.schema.sql) if they exist.")
@click.option("--seed", type=int, default=0, show_default=True, help="The same seed gives the same bytes.")
@click.option("--table", default="rig_gen", show_default=True, help="Table name for CREATE TABLE and --load.")
@click.option("--load", "do_load", is_flag=True, default=False,
              help="Load the file into a new table and swap it in for --table when the row count is exact.")
@click.option("--replace", is_flag=True, default=False,
              help="With --load: replace an existing --table (its rows stay until the new ones are all loaded).")
@click.pass_context
@guarded
def gen_data(ctx: click.Context, /, rows: int, fmt: str, output: str, force: bool, seed: int, table: str,
             do_load: bool, replace: bool, **params: Any) -> None:
    """Write deterministic rows (CSV, TSV or SQL) and the matching CREATE TABLE; optionally load them."""
    from test_rig.load.gendata import check_request, progress_bars, render, run_gen_data

    path = Path(output)
    check_request(path, force=force, load=do_load, replace=replace,
                  reports={f"--{o}": params.get(f"{o}_path") for o in ("json", "junit", "html")},
                  connection_flags=[flag for name, flag in _CONNECTION_FLAGS.items() if given(ctx, name)])
    env = build_environment(ctx, params, prompt=do_load)
    with progress_bars(env.console) as progress:
        run = run_gen_data(path, rows=rows, fmt=fmt, seed=seed, table=table, force=force,
                           target=env.target() if do_load else None, replace=replace,
                           notify=lambda said: env.console.print(said, markup=False), progress=progress)
    render(env.console, run, f"{env.config.database.database}.{table}")
    result, suites = run.to_result(), [run.junit_suite(table, loading=do_load)]
    if run.interrupted is not None:  # the program's stop keeps this report and says so in its one line, 130/143
        env.write_reports(result, suites)
        raise run.interrupted
    env.conclude(result, suites)
