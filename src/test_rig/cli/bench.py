"""`test-rig bench ...`: free-running workloads (load/), each a command of the `bench` group: point-select,
select-1 and your own (`user`); sysbench's OLTP family with sysbench's option names and defaults (prepare,
cleanup, oltp-read-write, ...: load/oltp.py); the TPC-C-style one (tpcc-prepare, tpcc, tpcc-check, tpcc-cleanup:
load/tpcc.py; commands of their own, as sysbench's options mean nothing to TPC-C's tables). Every run command takes
the load's options (`load_options`, read into load.bench.LoadSettings) and --nemesis."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import partial
from typing import TYPE_CHECKING, Any

import click

from test_rig.cli.common import build_environment, command, common_options, finish, nemesis_options, nemesis_spec, say
from test_rig.load import oltp, tpcc
from test_rig.load.bench import bench_suites, cleanup_lines, live_events, step_suites
from test_rig.options import field_options, opt, stack, take

if TYPE_CHECKING:
    from test_rig.environment import Environment
    from test_rig.load.bench import LoadSettings
    from test_rig.nemesis import NemesisSpec

_SPREAD = "Worker processes the {} are split over; with --ray, Ray actors."


@click.group()
def bench() -> None:
    """Free-running workloads that measure throughput and latency."""


def load_options(*, connections: str | None = None, duration: str = "Seconds.", warmup: bool = True,
                 processes: str = _SPREAD.format("connections"),
                 ray: str = "Run the workers as Ray actors on the Ray cluster at ADDRESS (needs test-rig[ray]).",
                 first: Iterable[Any] = (), middle: Iterable[Any] = ()) -> Callable[[Any], Any]:
    """The options of a command that runs a free-running load (each help text as the command words it; the
    command's `first` before --connections, its `middle` after --duration), ahead of the command's own."""
    return stack(nemesis_options, *first,
                 opt("--connections", click.IntRange(1, 100_000), 8, connections),
                 opt("--duration", click.FloatRange(0.1, None), 10.0, duration), *middle,
                 *([opt("--warmup", click.FloatRange(0, None), 0.0, "Seconds.")] if warmup else []),
                 opt("--seed", int, 0), opt("--processes", click.IntRange(1, 256), 1, processes),
                 opt("--ray ray_address", metavar="ADDRESS|auto", help=ray))


def start(ctx: click.Context, params: dict[str, Any]) -> tuple[Environment, LoadSettings, NemesisSpec | None]:
    """The load's settings (checked: UsageError before anything runs), the nemesis asked for (None without
    --nemesis) and the run's Environment, taking their options out of `params`."""
    from test_rig.load.bench import LoadSettings

    load = take(params, LoadSettings, ray="ray_address")
    load.check()
    spec = nemesis_spec(ctx, params, load.seed)
    return build_environment(ctx, params), load, spec


def _builtin(name: str, table_size: bool, summary: str) -> click.Command:
    def run(ctx: click.Context, /, **params: Any) -> None:
        from test_rig.load import bench as feature

        size = params.pop("table_size", 0)
        env, load, spec = start(ctx, params)
        say(env, feature.opening(name, load, "connections", env.target().address,
                                 *([f"{size} rows"] if size else [])))
        events = feature.live_events(partial(say, env), load, "connections", "ops", "errors")
        finish(env, lambda: feature.run(env, name, load, table_size=size, nemesis=spec, events=events),
               feature.console_lines, feature.bench_suites)

    run.__doc__ = summary
    if table_size:
        run = opt("--table-size", click.IntRange(1, 100_000_000), 10_000)(run)
    return command(name)(load_options(
        processes="Worker processes the connections are split over (one process tops out at one core); with "
                  "--ray, Ray actors.",
        ray="Run the workers as Ray actors spread over the Ray cluster at ADDRESS (needs test-rig[ray]).")(run))


@command("user")
@click.argument("target")
@load_options(connections="Virtual users, one connection each.", warmup=False, processes=_SPREAD.format("users"))
def bench_user(ctx: click.Context, /, target: str, **params: Any) -> None:
    """Your own workload: TARGET is file.py:Class, module:Class, a file with one User class, or an entry point
    (group test_rig.users). Tasks are picked by weight; each reports its count, latency and errors."""
    from test_rig.load import user
    from test_rig.load.bench import opening

    user.load_user(target)  # a class that cannot be loaded is refused before anything else
    env, load, spec = start(ctx, params)
    say(env, opening(f"user {target}", load, "users", env.target().address))
    events = live_events(partial(say, env), load, "users", "tasks", "failed")
    finish(env, lambda: user.run(env, user.UserSpec(target), load, nemesis=spec, events=events), user.console_lines,
           bench_suites)


# sysbench's OLTP workloads: options of OltpOptions' fields, each with the default and help text its field declares
def _sysbench_flag(name: str, default: bool, text: str) -> Callable[[Any], Any]:
    """A sysbench boolean: `--skip-trx`, `--skip-trx on`, `--skip-trx=off` (click.BOOL reads on, off, true, 1...)."""
    return opt(name, click.BOOL, default, f"{text}  [default: {'on' if default else 'off'}]", is_flag=False,
               flag_value=True, metavar="on|off", show_default=None)


_oltp_fields = partial(field_options, oltp.OltpOptions, boolean=_sysbench_flag)
_table_options = _oltp_fields("tables", "table_size", "auto_inc", "rand_type", "rand_spec_pct", "rand_spec_res")
_sysbench_options = stack(
    _oltp_fields("range_size", "point_selects", "simple_ranges", "sum_ranges", "order_ranges", "distinct_ranges",
                 "index_updates", "non_index_updates", "delete_inserts", "range_selects", "skip_trx"),
    opt("--mysql-ignore-errors", None, oltp.DEFAULT_IGNORE_ERRORS,
        "Errors that roll the transaction back and run it again (sysbench 1.0's default: deadlock, record changed, "
        "lock wait timeout); any other error fails the transaction and, without --nemesis, the run.",
        metavar="CODES|all|none"))
#: The options of the workloads that have some of their own.
_EXTRA = {"select-random-points": ("random_points",), "select-random-ranges": ("number_of_ranges", "delta")}


def _oltp_options(params: dict[str, Any]) -> oltp.OltpOptions:
    ignore = params.pop("mysql_ignore_errors", None)
    if ignore is not None:
        params["ignore_errors"] = oltp.parse_ignore_errors(ignore)
    return take(params, oltp.OltpOptions)


def _oltp(name: str, summary: str) -> click.Command:
    def run(ctx: click.Context, /, **params: Any) -> None:
        opts = _oltp_options(params)
        oltp.check_options(name, opts)
        env, load, spec = start(ctx, params)
        say(env, oltp.opening(name, opts, load, env.target().address))
        warn = live_events(partial(say, env), load, "connections", "tps", "failed",
                           on_warning=lambda w: say(env, f"warning: {w}"))
        finish(env, lambda: oltp.run(env, name, opts, load, nemesis=spec, events=warn), oltp.console_lines,
               bench_suites)

    run.__doc__ = summary
    return command(name)(load_options(connections="Connections (sysbench's --threads).",
                                      duration="Seconds (sysbench's --time).", first=[_table_options])(
        stack(_sysbench_options, *([_oltp_fields(*_EXTRA[name])] if name in _EXTRA else []))(run)))


@command("prepare")
@common_options
@_table_options
@_oltp_fields("create_secondary")
@opt("--connections", click.IntRange(1, 1000), 1, "Tables loaded at once (sysbench's --threads for prepare).")
@opt("--seed", int, 0)
def oltp_prepare(ctx: click.Context, /, connections: int, seed: int, **params: Any) -> None:
    """Create and load sysbench's tables sbtest1..N (refused when one already exists: run cleanup first)."""
    opts = _oltp_options(params)
    oltp.check_prepare_options(opts)
    env = build_environment(ctx, params)
    say(env, oltp.prepare_opening(opts, env.target()))
    finish(env, lambda: oltp.run_prepare(env, opts, seed=seed, parallel=connections,
                                         on_table=lambda table, what: say(env, f"  {table}: {what}")),
           oltp.prepare_lines, step_suites)


@command("cleanup")
@common_options
@opt("--tables", int, 1, "Drop sbtest1..N.")
def oltp_cleanup(ctx: click.Context, /, tables: int, **params: Any) -> None:
    """Drop sysbench's tables sbtest1..N."""
    oltp.check_options(None, oltp.OltpOptions(tables=tables))
    env = build_environment(ctx, params)
    finish(env, lambda: oltp.run_cleanup(env, tables), cleanup_lines, step_suites)


# the TPC-C-style workload
_tpcc_size = field_options(tpcc.TpccOptions, "warehouses", "scale_down")


def _tpcc_options(params: dict[str, Any]) -> tpcc.TpccOptions:
    if "mix" in params:  # tpcc's --mix, spelt as text
        params["mix"] = tpcc.parse_mix(params["mix"])
    opts = take(params, tpcc.TpccOptions)
    tpcc.check_options(opts)
    return opts


@command("tpcc-prepare")
@common_options
@_tpcc_size
@opt("--seed", int, 0)
def tpcc_prepare(ctx: click.Context, /, seed: int, **params: Any) -> None:
    """Create and load the nine TPC-C tables (refused when one already exists: run tpcc-cleanup first)."""
    opts = _tpcc_options(params)
    env = build_environment(ctx, params)
    say(env, tpcc.prepare_opening(opts, env.target()))
    finish(env, lambda: tpcc.run_prepare(env, opts, seed=seed, on_table=lambda t, _n: say(env, f"  loading {t}")),
           tpcc.prepare_lines, step_suites)


@command("tpcc-cleanup")
@common_options
def tpcc_cleanup(ctx: click.Context, /, **params: Any) -> None:
    """Drop the nine TPC-C tables."""
    env = build_environment(ctx, params)
    finish(env, lambda: tpcc.run_cleanup(env), cleanup_lines, step_suites)


@command("tpcc-check")
@common_options
def tpcc_check(ctx: click.Context, /, **params: Any) -> None:
    """Judge the TPC-C consistency conditions (clause 3.3.2, 1 to 12) on the tables as they are: exit 0 when
    all hold, 1 naming the broken ones with the rows that show it."""
    env = build_environment(ctx, params)
    finish(env, lambda: tpcc.run_check(env), tpcc.console_lines, tpcc.suites)


@command("tpcc")
@load_options(connections="Terminals: connections, each running one transaction after another (no keying or think "
                          "time).", first=[_tpcc_size], middle=[opt(
                              "--mix", None, ",".join(map(str, tpcc.DEFAULT_MIX)), "Weights of new-order, payment, "
                              "order-status, delivery, stock-level (TPC-C's minimum mix by default), or name=weight "
                              "pairs with the others 0.", metavar="W,W,W,W,W|name=W,...")])
def tpcc_run(ctx: click.Context, /, **params: Any) -> None:
    """Run the TPC-C-style mix for a duration, then check the consistency conditions: tpmC, latency per
    transaction type, errors by code, and a verdict on the data."""
    opts = _tpcc_options(params)
    env, load, spec = start(ctx, params)
    say(env, tpcc.opening(opts, load, env.target().address))
    events = live_events(partial(say, env), load, "terminals", "transactions", "failed",
                         on_check=lambda: say(env, "checking the consistency conditions"))
    finish(env, lambda: tpcc.run(env, opts, load, nemesis=spec, events=events), tpcc.console_lines, tpcc.suites)


for _command in [_builtin("point-select", True, "Point selects by random id on a sysbench-like table, N connections, "
                          "for a duration."),
                 _builtin("select-1", False, "`SELECT 1` on N connections, for a duration: no table, almost no server "
                          "work, so the client's own cost per query is what is measured (and what more --processes "
                          "can spread over more cores)."),
                 oltp_prepare, oltp_cleanup, *[_oltp(name, f"sysbench's {name.replace('-', '_')}: {does}")
                                               for name, does in oltp.WORKLOADS.items()],
                 tpcc_prepare, tpcc_run, tpcc_check, tpcc_cleanup, bench_user]:
    bench.add_command(_command)
