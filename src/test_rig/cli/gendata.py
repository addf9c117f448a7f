"""`test-rig gen-data`: write deterministic test data and its CREATE TABLE; optionally load it."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from ..environment import run_async
from ..errors import UsageError
from ..report import check_writable
from .common import build_environment, common_options, guarded


@click.command("gen-data")
@common_options
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
    from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn

    from ..gendata import check_output, check_table, generate, load

    # Every input and output is checked before anything is written or loaded.
    if replace and not do_load:
        raise UsageError("--replace has no effect without --load; add --load or leave --replace out.")
    path = Path(output)
    check_output(path, force=force)
    for option in ("json_path", "junit_path"):
        report = params.get(option)
        if report and Path(report).resolve() in (path.resolve(), path.resolve().with_name(path.name + ".schema.sql")):
            raise UsageError(f"--{option.removesuffix('_path')} {report} is the data file's own path; choose "
                             "another name for one of them.")
        if report:
            check_writable(report, "--" + option.removesuffix("_path"))
    env = build_environment(ctx, params, prompt=do_load)
    target = env.target() if do_load else None
    existed = False
    if target is not None:
        existed = run_async(lambda: check_table(target, table, replace=replace))
    with Progress(TextColumn("{task.description}"), BarColumn(), TaskProgressColumn(), TimeElapsedColumn(),
                  console=env.console, disable=not env.console.is_terminal) as bar:
        task = bar.add_task("generating", total=rows)
        data = generate(path, rows=rows, fmt=fmt, seed=seed, table=table, force=force,
                        progress=lambda n: bar.update(task, completed=n))
    env.console.print(f"wrote {data.rows} rows ({data.bytes} bytes) to {data.path}; CREATE TABLE in "
                      f"{data.schema_path}")
    result: dict[str, Any] = {"ok": True, "complete": True, "generated": data.to_dict()}
    if target is None:
        env.write_reports(result)
        return
    where = f"{target.database}.{table}"
    env.console.print(f"loading into a new table, swapped in for {where} once it holds all {rows} rows"
                      + (f" (the old {where} stays until then)" if existed else ""), markup=False)
    with Progress(TextColumn("{task.description}"), BarColumn(), TaskProgressColumn(), TimeElapsedColumn(),
                  console=env.console, disable=not env.console.is_terminal) as bar:
        task = bar.add_task(f"loading into {where}", total=None)
        loaded = run_async(lambda: load(
            target, data, replace_table=replace, notify=lambda said: env.console.print(said, markup=False),
            progress=lambda p: bar.update(task, total=None if p is None else 1.0, completed=p or 0)))
    result["loaded"] = loaded.to_dict()
    if loaded.note:
        env.console.print(f"note: {loaded.note}", markup=False)
    result["ok"] = loaded.swapped
    if loaded.swapped:
        env.console.print(f"loaded with {loaded.method} in {loaded.seconds:.1f} s: {loaded.rows_in_table} rows in "
                          f"{where}" + (" (replacing the old table)" if loaded.replaced else ""), markup=False)
    else:
        result["error"] = (f"the load gave {loaded.rows_loaded} rows, expected {rows}; the new rows were discarded "
                           f"and {where} " + ("was left as it was" if existed else "was not created"))
        env.console.print(f"loaded with {loaded.method} in {loaded.seconds:.1f} s: {result['error']}", markup=False)
    env.write_reports(result)
    if not loaded.swapped:
        sys.exit(1)
