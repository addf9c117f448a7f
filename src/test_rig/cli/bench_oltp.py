"""`test-rig bench prepare | cleanup | oltp-read-write | ...`: sysbench's OLTP workloads (load/oltp.py) as bench
commands, with sysbench's option names and defaults; the load itself runs on bench's free-running path, so
--processes, --ray, --nemesis, timelines and --html work as for `bench point-select`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import click

from test_rig.cli.common import (
    build_environment,
    common_options,
    guarded,
    html_option,
    nemesis_options,
    nemesis_spec,
    run_feature,
    show_nemesis,
)
from test_rig.errors import UsageError
from test_rig.load import oltp
from test_rig.report.files import Case, Suite

_ON_OFF = click.BOOL  # sysbench writes booleans as on/off; click reads on, off, true, false, 1, 0
F = TypeVar("F", bound=Callable[..., Any])


def _flag(name: str, default: bool, text: str) -> Callable[[F], F]:
    """A sysbench boolean: `--skip-trx`, `--skip-trx on`, `--skip-trx=off`."""
    return click.option(name, type=_ON_OFF, is_flag=False, flag_value=True, default=default, metavar="on|off",
                        help=f"{text}  [default: {'on' if default else 'off'}]")


def _table_options(fn: Any) -> Any:
    for option in reversed([
        click.option("--tables", type=int, default=1, show_default=True, help="Number of tables (sbtest1..N)."),
        click.option("--table-size", type=int, default=10_000, show_default=True, help="Rows per table."),
        _flag("--auto-inc", True, "AUTO_INCREMENT id (off: client-generated ids)."),
        click.option("--rand-type", type=click.Choice(oltp.RAND_TYPES), default="special", show_default=True,
                     help="Distribution of ids and k values (sysbench 1.0's default: special)."),
        click.option("--rand-spec-pct", type=int, default=1, show_default=True,
                     help="special: percentage of the range that gets most values."),
        click.option("--rand-spec-res", type=int, default=75, show_default=True,
                     help="special: percentage of values that fall there."),
    ]):
        fn = option(fn)
    return fn


def _load_options(fn: Any) -> Any:
    """What every OLTP workload takes: bench's load options and sysbench's OLTP options."""
    for option in reversed([
        common_options, html_option, nemesis_options, _table_options,
        click.option("--connections", type=click.IntRange(1, 100_000), default=8, show_default=True,
                     help="Connections (sysbench's --threads)."),
        click.option("--duration", type=click.FloatRange(0.1, None), default=10.0, show_default=True,
                     help="Seconds (sysbench's --time)."),
        click.option("--warmup", type=click.FloatRange(0, None), default=0.0, show_default=True, help="Seconds."),
        click.option("--seed", type=int, default=0, show_default=True),
        click.option("--processes", type=click.IntRange(1, 256), default=1, show_default=True,
                     help="Worker processes the connections are split over; with --ray, Ray actors."),
        click.option("--ray", "ray_address", default=None, metavar="ADDRESS|auto",
                     help="Run the workers as Ray actors on the Ray cluster at ADDRESS (needs test-rig[ray])."),
        click.option("--range-size", type=int, default=100, show_default=True, help="Rows per range SELECT."),
        click.option("--point-selects", type=int, default=10, show_default=True,
                     help="Point SELECTs per transaction."),
        click.option("--simple-ranges", type=int, default=1, show_default=True,
                     help="Simple range SELECTs per transaction."),
        click.option("--sum-ranges", type=int, default=1, show_default=True, help="SELECT SUM() per transaction."),
        click.option("--order-ranges", type=int, default=1, show_default=True,
                     help="SELECT ... ORDER BY per transaction."),
        click.option("--distinct-ranges", type=int, default=1, show_default=True,
                     help="SELECT DISTINCT per transaction."),
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
                     help="Errors that roll the transaction back and run it again (sysbench 1.0's default: "
                          "deadlock, record changed, lock wait timeout); any other error fails the transaction "
                          "and, without --nemesis, the run."),
    ]):
        fn = option(fn)
    return fn


def _options(params: dict[str, Any], **extra: Any) -> oltp.OltpOptions:
    """The OltpOptions of a command's parameters, taking them out of `params`."""
    keys = ("tables", "table_size", "auto_inc", "rand_type", "rand_spec_pct", "rand_spec_res", "range_size",
            "point_selects", "simple_ranges", "sum_ranges", "order_ranges", "distinct_ranges", "index_updates",
            "non_index_updates", "delete_inserts", "range_selects", "skip_trx", "create_secondary", "random_points",
            "number_of_ranges", "delta")
    values = {k: params.pop(k) for k in keys if k in params}
    ignore = params.pop("mysql_ignore_errors", None)
    if ignore is not None:
        values["ignore_errors"] = oltp.parse_ignore_errors(ignore)
    return oltp.OltpOptions(**values, **extra)


def _workload_command(name: str, summary: str, extra: list[Any] | None = None) -> click.Command:
    @click.pass_context
    @guarded
    def command(ctx: click.Context, /, **params: Any) -> None:
        _run(ctx, name, params)

    command.__doc__ = summary
    for option in reversed(extra or []):
        command = option(command)
    return click.command(name)(_load_options(command))


def _run(ctx: click.Context, workload: str, params: dict[str, Any]) -> None:
    from test_rig.load.bench import bench_suites

    connections, duration, processes = params.pop("connections"), params.pop("duration"), params.pop("processes")
    warmup, seed, ray_address = params.pop("warmup"), params.pop("seed"), params.pop("ray_address")
    opts = _options(params)
    oltp.check_options(workload, opts)
    if processes > connections:
        raise UsageError(f"--processes {processes} is more than --connections {connections}; each process needs "
                         "at least one connection.")
    if warmup and (processes > 1 or ray_address is not None):  # worker processes and Ray actors do not warm up
        raise UsageError(f"--warmup applies to a run in one process; with --{'ray' if ray_address else 'processes'} "
                         "leave it out (or make --duration longer and read the timeline from the warm seconds).")
    if ray_address is not None:
        from test_rig.load.processes import check_ray

        check_ray(ray_address)
    spec = nemesis_spec(ctx, params, seed)
    env = build_environment(ctx, params)
    target = env.target()
    tables = "sbtest1" if workload.startswith("select-random") else f"{opts.tables} table(s)"
    env.console.print(f"test-rig bench {workload}: {connections} connections, {duration:g} s, {tables} of "
                      f"{opts.table_size} rows, against {target.address}", markup=False)
    env.quiet_retries = True  # with many workers reconnecting, the breaker's transitions tell the story
    data = run_feature(lambda: oltp.run(
        target, workload, opts, connections=connections, duration=duration,
        manager=lambda breaker, overall: env.manager(breaker=breaker, overall_timeout=overall),
        connect_timeout=env.config.database.timeout_secs, seed=seed, warmup=warmup, processes=processes,
        ray=ray_address, nemesis=spec, on_nemesis=lambda nemesis: show_nemesis(env, nemesis),
        on_load_start=lambda n: env.console.print(f"load started: {n} of {connections} connections"),
        on_second=lambda t, ops, errors: env.console.print(f"  {t:>4} s: {ops} tps, {errors} failed"),
        on_warning=lambda w: env.console.print(f"warning: {w}", markup=False)))
    if "statements" in data:
        for line in console_lines(data):
            env.console.print(line, markup=False, highlight=False)
    env.conclude(data, bench_suites(data))


def console_lines(data: dict[str, Any]) -> list[str]:
    """The run's summary as a person reads it (the JSON holds the same figures)."""
    def codes(by_code: dict[str, int]) -> str:
        return " (" + ", ".join(f"{code}: {n}" for code, n in sorted(by_code.items())) + ")" if by_code else ""

    q = data["queries"]
    lines = [f"transactions {data['transactions']} ({data['tps']} per s)  queries {q['total']} ({q['per_second']} "
             f"per s): read {q['read']}, write {q['write']}, other {q['other']}",
             f"failed transactions {data['failed_transactions']}{codes(data['errors_by_code'])}  ignored errors "
             f"{data['ignored_errors']}{codes(data['ignored_errors_by_code'])}  reconnects {data['reconnects']}",
             f"latency per transaction: p50 {data['p50_ms']:.3f} ms  p95 {data['p95_ms']:.3f} ms  "
             f"p99 {data['p99_ms']:.3f} ms  max {data['max_ms']:.3f} ms",
             f"{'statement':<18}{'count':>10}{'per s':>11}{'errors':>8}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}"
             f"{'max ms':>9}"]
    for kind, s in data["statements"].items():
        lines.append(f"{kind:<18}{s['count']:>10}{s['per_second']:>11}{s['errors']:>8}{s['p50_ms']:>9.3f}"
                     f"{s['p95_ms']:>9.3f}{s['p99_ms']:>9.3f}{s['max_ms']:>9.3f}")
    lines.append("per transaction, as sysbench sends for these options: "
                 + ", ".join(f"{k} {n}" for k, n in data["per_transaction"].items()))
    lines.append("timeline (tps): " + " ".join(str(t["ops"]) + ("!" if t.get("faults") else "")
                                              for t in data["timeline"]))
    if data.get("nemesis"):
        lines.append(f"nemesis: {len(data['nemesis']['windows'])} fault window(s) (! marks the seconds they cover)")
    return lines


@click.command("prepare")
@common_options
@_table_options
@_flag("--create-secondary", True, "Create the secondary index on k.")
@click.option("--connections", type=click.IntRange(1, 1000), default=1, show_default=True,
              help="Tables loaded at once (sysbench's --threads for prepare).")
@click.option("--seed", type=int, default=0, show_default=True)
@click.pass_context
@guarded
def prepare_cmd(ctx: click.Context, /, connections: int, seed: int, **params: Any) -> None:
    """Create and load sysbench's tables sbtest1..N (refused when one already exists: run cleanup first)."""
    opts = _options(params)
    oltp.check_options(None, opts)
    if opts.table_size < 0:
        raise UsageError(f"--table-size {opts.table_size} is negative; give 0 (empty tables) or more.")
    env = build_environment(ctx, params)
    target = env.target()
    env.console.print(f"test-rig bench prepare: {opts.tables} table(s) of {opts.table_size} rows in "
                      f"{target.database} on {target.address}", markup=False)
    manager = env.manager()
    data = run_feature(lambda: oltp.prepare(
        target, opts, manager=manager, seed=seed, parallel=connections,
        on_table=lambda table, what: env.console.print(f"  {table}: {what}", markup=False)))
    data["ok"] = True
    env.console.print(f"prepared {', '.join(data['tables'])}: {data['rows']} rows in {data['seconds']:.1f} s")
    env.conclude(data, [Suite("bench", [Case("prepare", "test_rig.load.bench", data["seconds"])])])


@click.command("cleanup")
@common_options
@click.option("--tables", type=int, default=1, show_default=True, help="Drop sbtest1..N.")
@click.pass_context
@guarded
def cleanup_cmd(ctx: click.Context, /, tables: int, **params: Any) -> None:
    """Drop sysbench's tables sbtest1..N."""
    if tables < 1:
        raise UsageError(f"--tables {tables}: the tables are sbtest1, sbtest2, ...; give --tables 1 or more.")
    env = build_environment(ctx, params)
    target = env.target()
    data = run_feature(lambda: oltp.cleanup(target, tables, manager=env.manager()))
    data["ok"] = True
    env.console.print(f"dropped {', '.join(data['dropped']) or 'nothing'}"
                      + (f"; not there: {', '.join(data['absent'])}" if data["absent"] else "")
                      + (f"; left in place: {', '.join(data['left'])}" if data["left"] else ""), markup=False)
    env.conclude(data, [Suite("bench", [Case("cleanup", "test_rig.load.bench")])])


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
