"""`test-rig bench prepare | cleanup | oltp-read-write | ...`: sysbench's OLTP workloads (load/oltp.py) with
sysbench's option names and defaults, on bench's free-running path (--processes, --ray, --nemesis, --html)."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

import click

from test_rig.cli.bench_options import load_options, start
from test_rig.cli.common import build_environment, command, common_options, finish, opt, say, stack, take
from test_rig.load import oltp
from test_rig.load.bench import bench_suites, cleanup_lines, live_events, step_suites


def _flag(name: str, default: bool, text: str) -> Callable[[Any], Any]:
    """A sysbench boolean: `--skip-trx`, `--skip-trx on`, `--skip-trx=off` (click.BOOL reads on, off, true, 1...)."""
    return opt(name, click.BOOL, default, f"{text}  [default: {'on' if default else 'off'}]", is_flag=False,
               flag_value=True, metavar="on|off", show_default=None)


#: sysbench's defaults, as OltpOptions holds them
_SYSBENCH = oltp.OltpOptions()
_table_options = stack(
    opt("--tables", int, _SYSBENCH.tables, "Number of tables (sbtest1..N)."),
    opt("--table-size", int, _SYSBENCH.table_size, "Rows per table."),
    _flag("--auto-inc", _SYSBENCH.auto_inc, "AUTO_INCREMENT id (off: client-generated ids)."),
    opt("--rand-type", click.Choice(oltp.RAND_TYPES), _SYSBENCH.rand_type,
        "Distribution of ids and k values (sysbench 1.0's default: special)."),
    opt("--rand-spec-pct", int, _SYSBENCH.rand_spec_pct, "special: percentage of the range that gets most values."),
    opt("--rand-spec-res", int, _SYSBENCH.rand_spec_res, "special: percentage of values that fall there."))
_sysbench_options = stack(
    opt("--range-size", int, _SYSBENCH.range_size, "Rows per range SELECT."),
    opt("--point-selects", int, _SYSBENCH.point_selects, "Point SELECTs per transaction."),
    opt("--simple-ranges", int, _SYSBENCH.simple_ranges, "Simple range SELECTs per transaction."),
    opt("--sum-ranges", int, _SYSBENCH.sum_ranges, "SELECT SUM() per transaction."),
    opt("--order-ranges", int, _SYSBENCH.order_ranges, "SELECT ... ORDER BY per transaction."),
    opt("--distinct-ranges", int, _SYSBENCH.distinct_ranges, "SELECT DISTINCT per transaction."),
    opt("--index-updates", int, _SYSBENCH.index_updates, "UPDATEs of the indexed column k per transaction."),
    opt("--non-index-updates", int, _SYSBENCH.non_index_updates, "UPDATEs of c (not indexed) per transaction."),
    opt("--delete-inserts", int, _SYSBENCH.delete_inserts, "DELETE + INSERT pairs per transaction."),
    _flag("--range-selects", _SYSBENCH.range_selects, "Send the range SELECTs at all."),
    _flag("--skip-trx", _SYSBENCH.skip_trx, "No BEGIN/COMMIT: every statement in autocommit."),
    opt("--mysql-ignore-errors", None, oltp.DEFAULT_IGNORE_ERRORS,
        "Errors that roll the transaction back and run it again (sysbench 1.0's default: deadlock, record changed, "
        "lock wait timeout); any other error fails the transaction and, without --nemesis, the run.",
        metavar="CODES|all|none"))
_load_options = load_options(connections="Connections (sysbench's --threads).",
                             duration="Seconds (sysbench's --time).", first=[_table_options])


def _options(params: dict[str, Any]) -> oltp.OltpOptions:
    ignore = params.pop("mysql_ignore_errors", None)
    if ignore is not None:
        params["ignore_errors"] = oltp.parse_ignore_errors(ignore)
    return take(params, oltp.OltpOptions)


def _workload_command(name: str, summary: str, *extra: Any) -> click.Command:
    def run(ctx: click.Context, /, **params: Any) -> None:
        opts = _options(params)
        oltp.check_options(name, opts)
        env, load, spec = start(ctx, params)
        say(env, oltp.opening(name, opts, load, env.target().address))
        warn = live_events(partial(say, env), load, "connections", "tps", "failed",
                           on_warning=lambda w: say(env, f"warning: {w}"))
        finish(env, lambda: oltp.run(env, name, opts, load, nemesis=spec, events=warn), oltp.console_lines,
               bench_suites)

    run.__doc__ = summary
    return command(name)(_load_options(stack(_sysbench_options, *extra)(run)))


@command("prepare")
@common_options
@_table_options
@_flag("--create-secondary", _SYSBENCH.create_secondary, "Create the secondary index on k.")
@opt("--connections", click.IntRange(1, 1000), 1, "Tables loaded at once (sysbench's --threads for prepare).")
@opt("--seed", int, 0)
def prepare_cmd(ctx: click.Context, /, connections: int, seed: int, **params: Any) -> None:
    """Create and load sysbench's tables sbtest1..N (refused when one already exists: run cleanup first)."""
    opts = _options(params)
    oltp.check_prepare_options(opts)
    env = build_environment(ctx, params)
    say(env, oltp.prepare_opening(opts, env.target()))
    finish(env, lambda: oltp.run_prepare(env, opts, seed=seed, parallel=connections,
                                         on_table=lambda table, what: say(env, f"  {table}: {what}")),
           oltp.prepare_lines, step_suites)


@command("cleanup")
@common_options
@opt("--tables", int, 1, "Drop sbtest1..N.")
def cleanup_cmd(ctx: click.Context, /, tables: int, **params: Any) -> None:
    """Drop sysbench's tables sbtest1..N."""
    oltp.check_options(None, oltp.OltpOptions(tables=tables))
    env = build_environment(ctx, params)
    finish(env, lambda: oltp.run_cleanup(env, tables), cleanup_lines, step_suites)


_EXTRA = {"select-random-points": [opt("--random-points", int, _SYSBENCH.random_points, "Values in the IN () list.")],
          "select-random-ranges": [opt("--number-of-ranges", int, _SYSBENCH.number_of_ranges,
                                       "BETWEEN ranges per SELECT."),
                                   opt("--delta", int, _SYSBENCH.delta, "Width of each range.")]}

#: Every command this module adds to the `bench` group.
OLTP_COMMANDS: list[click.Command] = [prepare_cmd, cleanup_cmd] + [
    _workload_command(name, f"sysbench's {name.replace('-', '_')}: {does}", *_EXTRA.get(name, []))
    for name, does in oltp.WORKLOADS.items()]
