"""`test-rig bench prepare | cleanup | oltp-read-write | ...`: sysbench's OLTP workloads (load/oltp.py) as bench
commands, with sysbench's option names and defaults; the load itself runs on bench's free-running path, so
--processes, --ray, --nemesis, timelines and --html work as for `bench point-select`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import fields
from typing import Any, TypeVar

import click

from test_rig.cli.bench_options import bench_command, finish, live, load_options, say, stack, start
from test_rig.cli.common import build_environment, common_options
from test_rig.load import oltp
from test_rig.load.bench import bench_suites, cleanup_lines, step_suites

_ON_OFF = click.BOOL  # sysbench writes booleans as on/off; click reads on, off, true, false, 1, 0
F = TypeVar("F", bound=Callable[..., Any])


def _flag(name: str, default: bool, text: str) -> Callable[[F], F]:
    """A sysbench boolean: `--skip-trx`, `--skip-trx on`, `--skip-trx=off`."""
    return click.option(name, type=_ON_OFF, is_flag=False, flag_value=True, default=default, metavar="on|off",
                        help=f"{text}  [default: {'on' if default else 'off'}]")


_table_options = stack(
    click.option("--tables", type=int, default=1, show_default=True, help="Number of tables (sbtest1..N)."),
    click.option("--table-size", type=int, default=10_000, show_default=True, help="Rows per table."),
    _flag("--auto-inc", True, "AUTO_INCREMENT id (off: client-generated ids)."),
    click.option("--rand-type", type=click.Choice(oltp.RAND_TYPES), default="special", show_default=True,
                 help="Distribution of ids and k values (sysbench 1.0's default: special)."),
    click.option("--rand-spec-pct", type=int, default=1, show_default=True,
                 help="special: percentage of the range that gets most values."),
    click.option("--rand-spec-res", type=int, default=75, show_default=True,
                 help="special: percentage of values that fall there."))


_load_options = load_options(connections="Connections (sysbench's --threads).",
                             duration="Seconds (sysbench's --time).", first=[_table_options])
_sysbench_options = [
    click.option("--range-size", type=int, default=100, show_default=True, help="Rows per range SELECT."),
    click.option("--point-selects", type=int, default=10, show_default=True, help="Point SELECTs per transaction."),
    click.option("--simple-ranges", type=int, default=1, show_default=True,
                 help="Simple range SELECTs per transaction."),
    click.option("--sum-ranges", type=int, default=1, show_default=True, help="SELECT SUM() per transaction."),
    click.option("--order-ranges", type=int, default=1, show_default=True, help="SELECT ... ORDER BY per transaction."),
    click.option("--distinct-ranges", type=int, default=1, show_default=True, help="SELECT DISTINCT per transaction."),
    click.option("--index-updates", type=int, default=1, show_default=True,
                 help="UPDATEs of the indexed column k per transaction."),
    click.option("--non-index-updates", type=int, default=1, show_default=True,
                 help="UPDATEs of c (not indexed) per transaction."),
    click.option("--delete-inserts", type=int, default=1, show_default=True,
                 help="DELETE + INSERT pairs per transaction."),
    _flag("--range-selects", True, "Send the range SELECTs at all."),
    _flag("--skip-trx", False, "No BEGIN/COMMIT: every statement in autocommit."),
    click.option("--mysql-ignore-errors", default=oltp.DEFAULT_IGNORE_ERRORS, show_default=True,
                 metavar="CODES|all|none",
                 help="Errors that roll the transaction back and run it again (sysbench 1.0's default: deadlock, "
                      "record changed, lock wait timeout); any other error fails the transaction and, without "
                      "--nemesis, the run."),
]


def _options(params: dict[str, Any]) -> oltp.OltpOptions:
    """The OltpOptions of a command's parameters (each option is named as its field), taking them out of `params`."""
    values = {f.name: params.pop(f.name) for f in fields(oltp.OltpOptions) if f.name in params}
    ignore = params.pop("mysql_ignore_errors", None)
    if ignore is not None:
        values["ignore_errors"] = oltp.parse_ignore_errors(ignore)
    return oltp.OltpOptions(**values)


def _workload_command(name: str, summary: str, extra: list[Any] | None = None) -> click.Command:
    def command(ctx: click.Context, /, **params: Any) -> None:
        opts = _options(params)
        oltp.check_options(name, opts)
        env, load, spec = start(ctx, params)
        tables = "sbtest1" if name.startswith("select-random") else f"{opts.tables} table(s)"
        say(env, f"test-rig bench {name}: {load.connections} connections, {load.duration:g} s, {tables} of "
                 f"{opts.table_size} rows, against {env.target().address}")
        warn = live(env, load, "connections", "tps", "failed", on_warning=lambda w: say(env, f"warning: {w}"))
        finish(env, lambda: oltp.run(env, name, opts, load, nemesis=spec, events=warn), oltp.console_lines,
               bench_suites)

    command.__doc__ = summary
    return bench_command(name)(_load_options(stack(*_sysbench_options, *(extra or []))(command)))


@bench_command("prepare")
@common_options
@_table_options
@_flag("--create-secondary", True, "Create the secondary index on k.")
@click.option("--connections", type=click.IntRange(1, 1000), default=1, show_default=True,
              help="Tables loaded at once (sysbench's --threads for prepare).")
@click.option("--seed", type=int, default=0, show_default=True)
def prepare_cmd(ctx: click.Context, /, connections: int, seed: int, **params: Any) -> None:
    """Create and load sysbench's tables sbtest1..N (refused when one already exists: run cleanup first)."""
    opts = _options(params)
    oltp.check_prepare_options(opts)
    env = build_environment(ctx, params)
    target = env.target()
    say(env, f"test-rig bench prepare: {opts.tables} table(s) of {opts.table_size} rows in {target.database} on "
             f"{target.address}")
    finish(env, lambda: oltp.run_prepare(env, opts, seed=seed, parallel=connections,
                                         on_table=lambda table, what: say(env, f"  {table}: {what}")),
           oltp.prepare_lines, step_suites)


@bench_command("cleanup")
@common_options
@click.option("--tables", type=int, default=1, show_default=True, help="Drop sbtest1..N.")
def cleanup_cmd(ctx: click.Context, /, tables: int, **params: Any) -> None:
    """Drop sysbench's tables sbtest1..N."""
    oltp.check_options(None, oltp.OltpOptions(tables=tables))
    env = build_environment(ctx, params)
    finish(env, lambda: oltp.run_cleanup(env, tables), cleanup_lines, step_suites)


_SUMMARIES = {
    "oltp-read-only": "sysbench's oltp_read_only: point and range SELECTs in a transaction.",
    "oltp-read-write": "sysbench's oltp_read_write: SELECTs, UPDATEs, a DELETE and an INSERT in a transaction.",
    "oltp-write-only": "sysbench's oltp_write_only: UPDATEs, a DELETE and an INSERT in a transaction.",
    "oltp-insert": "sysbench's oltp_insert: one INSERT per event.",
    "oltp-update-index": "sysbench's oltp_update_index: UPDATEs of the indexed k, autocommit.",
    "oltp-update-non-index": "sysbench's oltp_update_non_index: UPDATEs of c, autocommit.",
    "oltp-delete": "sysbench's oltp_delete: one DELETE per event.",
    "oltp-point-select": "sysbench's oltp_point_select: one point SELECT per event.",
    "select-random-points": "sysbench's select_random_points: SELECT ... WHERE k IN (random points) on sbtest1.",
    "select-random-ranges": "sysbench's select_random_ranges: SELECT count(k) over random k ranges on sbtest1.",
}
_EXTRA = {
    "select-random-points": [click.option("--random-points", type=int, default=10, show_default=True,
                                          help="Values in the IN () list.")],
    "select-random-ranges": [click.option("--number-of-ranges", type=int, default=10, show_default=True,
                                          help="BETWEEN ranges per SELECT."),
                             click.option("--delta", type=int, default=5, show_default=True,
                                          help="Width of each range.")],
}

#: Every command this module adds to the `bench` group.
OLTP_COMMANDS: list[click.Command] = [prepare_cmd, cleanup_cmd] + [
    _workload_command(name, _SUMMARIES[name], _EXTRA.get(name)) for name in oltp.WORKLOADS]
