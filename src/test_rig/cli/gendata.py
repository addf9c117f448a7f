"""`test-rig gen-data`: write deterministic test data and its CREATE TABLE; optionally load it."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from ..environment import run_async
from .common import build_environment, common_options, guarded


@click.command("gen-data")
@common_options
@click.option("--rows", type=click.IntRange(1, 1_000_000_000), required=True, help="How many rows.")
@click.option("--format", "fmt", type=click.Choice(["csv", "tsv", "sql"]), default="csv", show_default=True)
@click.option("-o", "--output", required=True, metavar="FILE", help="Where to write the data.")
@click.option("--seed", type=int, default=0, show_default=True, help="The same seed gives the same bytes.")
@click.option("--table", default="rig_gen", show_default=True, help="Table name for CREATE TABLE and --load.")
@click.option("--load", "do_load", is_flag=True, default=False,
              help="Load the file into the target (replacing the table) and check the row count.")
@click.pass_context
@guarded
def gen_data(ctx: click.Context, /, rows: int, fmt: str, output: str, seed: int, table: str, do_load: bool,
             **params: Any) -> None:
    """Write deterministic rows (CSV, TSV or SQL) and the matching CREATE TABLE; optionally load them."""
    from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn

    from ..gendata import generate, load

    env = build_environment(ctx, params, prompt=do_load)
    path = Path(output)
    with Progress(TextColumn("{task.description}"), BarColumn(), TaskProgressColumn(), TimeElapsedColumn(),
                  console=env.console, disable=not env.console.is_terminal) as bar:
        task = bar.add_task("generating", total=rows)
        data = generate(path, rows=rows, fmt=fmt, seed=seed, table=table,
                        progress=lambda n: bar.update(task, completed=n))
    env.console.print(f"wrote {data.rows} rows ({data.bytes} bytes) to {data.path}; CREATE TABLE in "
                      f"{data.schema_path}")
    result: dict[str, Any] = {"ok": True, "complete": True, "generated": data.to_dict()}
    if do_load:
        target = env.target()
        with Progress(TextColumn("{task.description}"), BarColumn(), TaskProgressColumn(), TimeElapsedColumn(),
                      console=env.console, disable=not env.console.is_terminal) as bar:
            task = bar.add_task(f"loading into {target.database}.{table}", total=None)
            loaded = run_async(lambda: load(target, data, progress=lambda p: bar.update(
                task, total=None if p is None else 1.0, completed=p or 0)))
        result["loaded"] = loaded.to_dict()
        if loaded.note:
            env.console.print(f"note: {loaded.note}")
        ok = loaded.rows_in_table == rows
        result["ok"] = ok
        env.console.print(f"loaded with {loaded.method} in {loaded.seconds:.1f} s: {loaded.rows_in_table} rows in "
                          f"{target.database}.{table}" + ("" if ok else f", expected {rows}"))
        env.write_reports(result)
        if not ok:
            sys.exit(1)
        return
    env.write_reports(result)
