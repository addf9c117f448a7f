"""`test-rig gen-data`: write deterministic test data and its CREATE TABLE; optionally load it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from test_rig.cli.common import build_environment, common_options, given, guarded, html_option
from test_rig.errors import UsageError
from test_rig.report.files import check_writable


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
    from rich.progress import BarColumn, Progress, TaskID, TaskProgressColumn, TextColumn, TimeElapsedColumn

    from test_rig.load.gendata import check_output, run_gen_data

    # Every input and output is checked before anything is written or loaded.
    if replace and not do_load:
        raise UsageError("--replace has no effect without --load; add --load or leave --replace out.")
    if not do_load:  # nothing is sent to a server: a connection option typed for it would be silently ignored
        for name, flag in (("host", "-H/--host"), ("user", "-u/--user"), ("database", "-d/--database"),
                           ("password", "--password")):
            if given(ctx, name):
                raise UsageError(f"{flag} has no effect without --load (gen-data alone connects to nothing); add "
                                 f"--load or leave {flag.split('/')[-1]} out.")
    path = Path(output)
    check_output(path, force=force)
    for option in ("json_path", "junit_path", "html_path"):
        report = params.get(option)
        if report and Path(report).resolve() in (path.resolve(), path.resolve().with_name(path.name + ".schema.sql")):
            raise UsageError(f"--{option.removesuffix('_path')} {report} is the data file's own path; choose "
                             "another name for one of them.")
        if report:
            check_writable(report, "--" + option.removesuffix("_path"))
    env = build_environment(ctx, params, prompt=do_load)
    with Progress(TextColumn("{task.description}"), BarColumn(), TaskProgressColumn(), TimeElapsedColumn(),
                  console=env.console, disable=not env.console.is_terminal) as bar:
        tasks: dict[str, TaskID] = {}

        def progress(phase: str, done: float | None, total: float | None) -> None:
            if phase not in tasks:
                tasks[phase] = bar.add_task(phase, total=total)
            bar.update(tasks[phase], total=total, completed=done or 0)

        run = run_gen_data(path, rows=rows, fmt=fmt, seed=seed, table=table, force=force,
                           target=env.target() if do_load else None, replace=replace,
                           notify=lambda said: env.console.print(said, markup=False), progress=progress)
    data = run.to_result().to_dict()
    loaded = run.loaded
    if loaded is not None:
        if loaded.note:
            env.console.print(f"note: {loaded.note}", markup=False)
        where = f"{env.config.database.database}.{table}"
        env.console.print(f"loaded with {loaded.method} in {loaded.seconds:.1f} s: "
                          + (f"{loaded.rows_in_table} rows in {where}" + (" (replacing the old table)"
                                                                          if loaded.replaced else "")
                             if loaded.swapped else str(data["error"])), markup=False)
    suite = run.junit_suite(table, loading=do_load)
    if run.interrupted is not None:  # the program's stop keeps this report, says so in one line, exits 130/143
        env.write_reports(data, [suite])
        raise run.interrupted
    env.conclude(data, [suite])
