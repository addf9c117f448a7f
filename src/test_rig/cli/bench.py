"""`test-rig bench point-select|select-1`: free-running load; throughput, latency, errors, a timeline."""

from __future__ import annotations

from typing import Any

import click
from rich.markup import escape

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
from test_rig.environment import Environment
from test_rig.errors import UsageError
from test_rig.load.bench import bench as run_bench_command
from test_rig.load.bench import bench_suites


@click.group()
def bench() -> None:
    """Free-running workloads that measure throughput and latency."""


def _bench_options(fn: Any) -> Any:
    """What every bench workload takes."""
    for option in reversed([
        common_options, html_option, nemesis_options,
        click.option("--connections", type=click.IntRange(1, 100_000), default=8, show_default=True),
        click.option("--duration", type=click.FloatRange(0.1, None), default=10.0, show_default=True,
                     help="Seconds."),
        click.option("--warmup", type=click.FloatRange(0, None), default=0.0, show_default=True, help="Seconds."),
        click.option("--seed", type=int, default=0, show_default=True),
        click.option("--processes", type=click.IntRange(1, 256), default=1, show_default=True,
                     help="Worker processes the connections are split over (one process tops out at one core); "
                          "with --ray, Ray actors."),
        click.option("--ray", "ray_address", default=None, metavar="ADDRESS|auto",
                     help="Run the workers as Ray actors spread over the Ray cluster at ADDRESS (needs "
                          "test-rig[ray])."),
    ]):
        fn = option(fn)
    return fn


@bench.command("point-select")
@_bench_options
@click.option("--table-size", type=click.IntRange(1, 100_000_000), default=10_000, show_default=True)
@click.pass_context
@guarded
def bench_point_select(ctx: click.Context, /, table_size: int, **params: Any) -> None:
    """Point selects by random id on a sysbench-like table, N connections, for a duration."""
    _bench(ctx, "point-select", table_size=table_size, **params)


@bench.command("select-1")
@_bench_options
@click.pass_context
@guarded
def bench_select_one(ctx: click.Context, /, **params: Any) -> None:
    """`SELECT 1` on N connections, for a duration: no table, almost no server work, so the client's own cost
    per query is what is measured (and what more --processes can spread over more cores)."""
    _bench(ctx, "select-1", table_size=0, **params)


def _bench(ctx: click.Context, workload: str, /, connections: int, duration: float, table_size: int, warmup: float,
           seed: int, processes: int, ray_address: str | None, **params: Any) -> None:
    if processes > connections:
        raise UsageError(f"--processes {processes} is more than --connections {connections}; each process needs "
                         "at least one connection.")
    if warmup and (processes > 1 or ray_address is not None):  # worker processes and Ray actors do not warm up
        raise UsageError(f"--warmup applies to a run in one process; with --{'ray' if ray_address else 'processes'} "
                         "leave it out (or make --duration longer and read the timeline from the warm seconds).")
    if ray_address is not None:
        from test_rig.load.processes import check_ray

        check_ray(ray_address)  # bad input is refused before anything runs
    spec = nemesis_spec(ctx, params, seed)
    env = build_environment(ctx, params)
    target = env.target()
    env.console.print(f"test-rig bench {workload}: {connections} connections, {duration:g} s, "
                      + (f"{table_size} rows, " if table_size else "") + f"against {target.address}")
    env.quiet_retries = True  # with many workers reconnecting, the breaker's transitions tell the story
    data = run_feature(lambda: run_bench_command(
        target, workload=workload, connections=connections, duration=duration, table_size=table_size,
        manager=lambda breaker, overall: env.manager(breaker=breaker, overall_timeout=overall),
        connect_timeout=env.config.database.timeout_secs, seed=seed, warmup=warmup, processes=processes,
        ray=ray_address, nemesis=spec, on_nemesis=lambda nemesis: show_nemesis(env, nemesis),
        on_load_start=lambda n: env.console.print(f"load started: {n} of {connections} connections"),
        on_second=lambda t, ops, errors: env.console.print(f"  {t:>4} s: {ops} ops, {errors} errors")))
    if "qps" in data:
        show_figures(env, data)
    if data.get("complete") is not False and data.get("error"):
        env.console.print(f"[red]The run did not test what was asked: {escape(str(data['error']))}[/]")
    for reason in data.get("unknown") or []:
        env.console.print(f"[yellow]not decided[/]: {escape(str(reason))}")
    env.conclude(data, bench_suites(data))


def show_figures(env: Environment, data: dict[str, Any]) -> None:
    """A bench result's figures: throughput, latency, errors, the per-second timeline, the nemesis windows."""
    env.console.print(f"qps {data['qps']:.1f}  operations {data['operations']}  errors {data['errors']}  "
                      f"p50 {data['p50_ms']:.3f} ms  p95 {data['p95_ms']:.3f} ms  p99 {data['p99_ms']:.3f} ms  "
                      f"max {data['max_ms']:.3f} ms")
    if data["errors"]:
        codes = ", ".join(f"{code}: {n}" for code, n in data["errors_by_code"].items())
        env.console.print(f"errors by code: {codes}; reconnects {data['reconnects']}", markup=False)
    env.console.print("timeline (ops/s): " + " ".join(str(t["ops"]) + ("!" if t.get("faults") else "")
                                                      for t in data["timeline"]))
    if data.get("nemesis"):
        env.console.print(f"nemesis: {len(data['nemesis']['windows'])} fault window(s) (! marks the seconds they "
                          "cover)")


# sysbench's OLTP workloads (cli/bench_oltp.py), the TPC-C-style one (cli/bench_tpcc.py) and the user's own
# (cli/bench_user.py) are commands of this group too.
from test_rig.cli.bench_oltp import OLTP_COMMANDS  # noqa: E402
from test_rig.cli.bench_tpcc import TPCC_COMMANDS  # noqa: E402
from test_rig.cli.bench_user import USER_COMMANDS  # noqa: E402

for _command in OLTP_COMMANDS + TPCC_COMMANDS + USER_COMMANDS:
    bench.add_command(_command)
