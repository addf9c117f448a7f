"""`test-rig bench ...`: the free-running workloads of load/: point-select, select-1, your own (`user`), sysbench's
OLTP family with its option names and defaults (prepare, cleanup, oltp-read-write, ...), the TPC-C-style one
(tpcc-prepare, tpcc, tpcc-check, tpcc-cleanup). Every run command takes the load's options and --nemesis."""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Iterable
from functools import partial
from typing import TYPE_CHECKING, Any, NoReturn

import click

from test_rig.cli.common import build_environment, command, common_options, finish, nemesis_options, nemesis_spec
from test_rig.load import bench as feature
from test_rig.load import oltp, tpcc
from test_rig.load.bench import LoadSettings, bench_suites, cleanup_lines, live_events, opening, step_suites
from test_rig.options import field_options, opt, stack, take

if TYPE_CHECKING:
    from test_rig.cli.common import Lines, Suites
    from test_rig.environment import Environment
    from test_rig.results import RunResult


@click.group()
def bench() -> None:
    """Free-running workloads that measure throughput and latency."""


def load_options(*, first: Iterable[Any] = (), middle: Iterable[Any] = (), warmup: bool = True,
                 **helps: str) -> Callable[[Any], Any]:
    """A load's options (LoadSettings' fields, a help text as `helps` words it), the command's `first` before
    --connections and its `middle` after --duration."""
    fields = partial(field_options, LoadSettings, helps=helps)
    return stack(nemesis_options, *first, fields("connections", "duration"), *middle,
                 fields(*(["warmup"] if warmup else []), "seed", "processes", "ray"))


def run_load(ctx: click.Context, params: dict[str, Any], opening: Callable[[LoadSettings, str], str],
             counted: tuple[str, str, str], feature: Callable[..., Coroutine[Any, Any, RunResult]], lines: Lines,
             suites: Suites = bench_suites) -> NoReturn:
    """Run `feature(env, load=, nemesis=, events=)` and end with its result (finish): the settings (checked before
    anything runs) and the nemesis taken out of `params`; the `opening` line; live lines naming a connection, a
    second's operations and its failures as `counted` says."""
    load = take(params, LoadSettings)
    load.check()
    spec = nemesis_spec(ctx, params, load.seed)
    env = build_environment(ctx, params)
    env.say(opening(load, env.target().address))
    events = live_events(env.say, load, *counted)
    finish(env, lambda: feature(env, load=load, nemesis=spec, events=events), lines, suites)


def _builtin(name: str, table_size: bool, summary: str) -> click.Command:
    def run(ctx: click.Context, /, **params: Any) -> None:
        size = params.pop("table_size", 0)
        run_load(ctx, params, lambda load, at: opening(name, load, "connections", at,
                                                       *([f"{size} rows"] if size else [])),
                 ("connections", "ops", "errors"), partial(feature.run, workload=name, table_size=size),
                 feature.console_lines)

    run.__doc__ = summary
    if table_size:
        run = opt("--table-size", click.IntRange(1, 100_000_000), 10_000)(run)
    return command(name)(load_options(
        processes="Worker processes the connections are split over (one process tops out at one core); with "
                  "--ray, Ray actors.",
        ray="Run the workers as Ray actors spread over the Ray cluster at ADDRESS (needs test-rig[ray]).")(run))


@command("user")
@click.argument("target")
@load_options(connections="Virtual users, one connection each.", warmup=False,
              processes="Worker processes the users are split over; with --ray, Ray actors.")
def bench_user(ctx: click.Context, /, target: str, **params: Any) -> None:
    """Your own workload: TARGET is file.py:Class, module:Class, a file with one User class, or an entry point
    (group test_rig.users). Tasks are picked by weight; each reports its count, latency and errors."""
    from test_rig.load import user

    user.load_user(target)  # a class that cannot be loaded is refused before anything else
    run_load(ctx, params, lambda load, at: opening(f"user {target}", load, "users", at), ("users", "tasks", "failed"),
             partial(user.run, spec=user.UserSpec(target)), user.console_lines)


# sysbench's OLTP workloads: options of OltpOptions' fields, each with the default and help text its field declares
_oltp_fields = partial(field_options, oltp.OltpOptions)
_table_options = _oltp_fields("tables", "table_size", "auto_inc", "rand_type", "rand_spec_pct", "rand_spec_res")
_sysbench_options = _oltp_fields("range_size", "point_selects", "simple_ranges", "sum_ranges", "order_ranges",
                                 "distinct_ranges", "index_updates", "non_index_updates", "delete_inserts",
                                 "range_selects", "skip_trx", "ignore_errors")
#: The options of the workloads that have some of their own.
_EXTRA = {"select-random-points": ("random_points",), "select-random-ranges": ("number_of_ranges", "delta")}


def _oltp(name: str, summary: str) -> click.Command:
    def run(ctx: click.Context, /, **params: Any) -> None:
        opts = take(params, oltp.OltpOptions)
        oltp.check_options(name, opts)
        run_load(ctx, params, partial(oltp.opening, name, opts), ("connections", "tps", "failed"),
                 partial(oltp.run, workload=name, opts=opts), oltp.console_lines)

    run.__doc__ = summary
    return command(name)(load_options(connections="Connections (sysbench's --threads).",
                                      duration="Seconds (sysbench's --time).", first=[_table_options])(
        stack(_sysbench_options, *([_oltp_fields(*_EXTRA[name])] if name in _EXTRA else []))(run)))


def _step(ctx: click.Context, params: dict[str, Any], feature: Callable[[Environment], Coroutine[Any, Any, RunResult]],
          lines: Lines = cleanup_lines, suites: Suites = step_suites) -> NoReturn:
    """Run `feature` once on the tables as they are (a prepare, a check, a cleanup) and end with its result."""
    env = build_environment(ctx, params)
    finish(env, lambda: feature(env), lines, suites)


@command("prepare")
@common_options
@_table_options
@_oltp_fields("create_secondary")
@opt("--connections", click.IntRange(1, 1000), 1, "Tables loaded at once (sysbench's --threads for prepare).")
@opt("--seed", int, 0)
def oltp_prepare(ctx: click.Context, /, connections: int, seed: int, **params: Any) -> None:
    """Create and load sysbench's tables sbtest1..N (refused when one already exists: run cleanup first)."""
    opts = take(params, oltp.OltpOptions)
    oltp.check_prepare_options(opts)
    _step(ctx, params, partial(oltp.run_prepare, opts=opts, seed=seed, parallel=connections), oltp.prepare_lines)


@command("cleanup")
@common_options
@opt("--tables", int, 1, "Drop sbtest1..N.")
def oltp_cleanup(ctx: click.Context, /, tables: int, **params: Any) -> None:
    """Drop sysbench's tables sbtest1..N."""
    oltp.check_options(None, oltp.OltpOptions(tables=tables))
    _step(ctx, params, partial(oltp.run_cleanup, tables=tables))


# the TPC-C-style workload
_tpcc_size = field_options(tpcc.TpccOptions, "warehouses", "scale_down")


def _tpcc_options(params: dict[str, Any]) -> tpcc.TpccOptions:
    opts = take(params, tpcc.TpccOptions)
    tpcc.check_options(opts)
    return opts


@command("tpcc-prepare")
@common_options
@_tpcc_size
@opt("--seed", int, 0)
def tpcc_prepare(ctx: click.Context, /, seed: int, **params: Any) -> None:
    """Create and load the nine TPC-C tables (refused when one already exists: run tpcc-cleanup first)."""
    _step(ctx, params, partial(tpcc.run_prepare, opts=_tpcc_options(params), seed=seed), tpcc.prepare_lines)


def _on_tables(name: str, summary: str, feature: Callable[[Environment], Coroutine[Any, Any, RunResult]],
               lines: Lines = cleanup_lines, suites: Suites = step_suites) -> click.Command:
    """A command of the common options only that runs `feature` once on the tables (tpcc-check, tpcc-cleanup)."""
    def run(ctx: click.Context, /, **params: Any) -> None:
        _step(ctx, params, feature, lines, suites)

    run.__doc__ = summary
    return command(name)(common_options(run))


@command("tpcc")
@load_options(connections="Terminals: connections, each running one transaction after another (no keying or think "
                          "time).", first=[_tpcc_size], middle=[field_options(tpcc.TpccOptions, "mix")])
def tpcc_run(ctx: click.Context, /, **params: Any) -> None:
    """Run the TPC-C-style mix for a duration, then check the consistency conditions: tpmC, latency per
    transaction type, errors by code, and a verdict on the data."""
    opts = _tpcc_options(params)
    run_load(ctx, params, partial(tpcc.opening, opts), ("terminals", "transactions", "failed"),
             partial(tpcc.run, opts=opts), tpcc.console_lines, tpcc.suites)


for _command in [_builtin("point-select", True, "Point selects by random id on a sysbench-like table, N connections, "
                          "for a duration."),
                 _builtin("select-1", False, "`SELECT 1` on N connections, for a duration: no table, almost no server "
                          "work, so the client's own cost per query is what is measured (and what more --processes "
                          "can spread over more cores)."),
                 oltp_prepare, oltp_cleanup, *[_oltp(name, f"sysbench's {name.replace('-', '_')}: {does}")
                                               for name, does in oltp.WORKLOADS.items()],
                 tpcc_prepare, tpcc_run, bench_user,
                 _on_tables("tpcc-check", "Judge the TPC-C consistency conditions (clause 3.3.2, 1 to 12) on the "
                            "tables as they are: exit 0 when all hold, 1 naming the broken ones with the rows that "
                            "show it.",
                            tpcc.run_check, tpcc.console_lines, tpcc.suites),
                 _on_tables("tpcc-cleanup", "Drop the nine TPC-C tables.", tpcc.run_cleanup)]:
    bench.add_command(_command)
