"""`test-rig bench prepare | cleanup | oltp-read-write | ...`: sysbench's OLTP workloads (load/oltp.py) with
sysbench's option names and defaults (declared on load.oltp.OltpOptions' fields), on bench's free-running path
(--processes, --ray, --nemesis, --html)."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

import click

from test_rig.cli.bench_options import load_options, start
from test_rig.cli.common import build_environment, command, common_options, finish, say
from test_rig.load import oltp
from test_rig.load.bench import bench_suites, cleanup_lines, live_events, step_suites
from test_rig.options import field_options, opt, stack, take


def _flag(name: str, default: bool, text: str) -> Callable[[Any], Any]:
    """A sysbench boolean: `--skip-trx`, `--skip-trx on`, `--skip-trx=off` (click.BOOL reads on, off, true, 1...)."""
    return opt(name, click.BOOL, default, f"{text}  [default: {'on' if default else 'off'}]", is_flag=False,
               flag_value=True, metavar="on|off", show_default=None)


#: Options of OltpOptions' fields, each with the default and help text its field declares.
_fields = partial(field_options, oltp.OltpOptions, boolean=_flag)
_table_options = _fields("tables", "table_size", "auto_inc", "rand_type", "rand_spec_pct", "rand_spec_res")
_sysbench_options = stack(
    _fields("range_size", "point_selects", "simple_ranges", "sum_ranges", "order_ranges", "distinct_ranges",
            "index_updates", "non_index_updates", "delete_inserts", "range_selects", "skip_trx"),
    opt("--mysql-ignore-errors", None, oltp.DEFAULT_IGNORE_ERRORS,
        "Errors that roll the transaction back and run it again (sysbench 1.0's default: deadlock, record changed, "
        "lock wait timeout); any other error fails the transaction and, without --nemesis, the run.",
        metavar="CODES|all|none"))
_load_options = load_options(connections="Connections (sysbench's --threads).",
                             duration="Seconds (sysbench's --time).", first=[_table_options])
#: The options of the workloads that have some of their own.
_EXTRA = {"select-random-points": ("random_points",), "select-random-ranges": ("number_of_ranges", "delta")}


def _options(params: dict[str, Any]) -> oltp.OltpOptions:
    ignore = params.pop("mysql_ignore_errors", None)
    if ignore is not None:
        params["ignore_errors"] = oltp.parse_ignore_errors(ignore)
    return take(params, oltp.OltpOptions)


def _workload_command(name: str, summary: str) -> click.Command:
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
    return command(name)(_load_options(stack(_sysbench_options, _fields(*_EXTRA.get(name, ())))(run)))


@command("prepare")
@common_options
@_table_options
@_fields("create_secondary")
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


#: Every command this module adds to the `bench` group.
OLTP_COMMANDS: list[click.Command] = [prepare_cmd, cleanup_cmd] + [
    _workload_command(name, f"sysbench's {name.replace('-', '_')}: {does}") for name, does in oltp.WORKLOADS.items()]
