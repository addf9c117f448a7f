"""`test-rig bench point-select|select-1`: free-running load; throughput, latency, errors, a timeline."""

from __future__ import annotations

import sys
from typing import Any

import click
from rich.markup import escape

from ..bench import BenchResult, run_bench
from ..environment import run_async
from ..errors import UsageError
from ..report import Case, Suite
from ..resilience import CircuitBreaker, create_db_circuit_breaker_config
from .common import (
    build_environment,
    common_options,
    guarded,
    html_option,
    nemesis_options,
    nemesis_spec,
    signal_name,
    start_nemesis,
)


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
    if ray_address is not None:
        from ..scale import check_ray

        check_ray(ray_address)  # bad input is refused before anything runs
    spec = nemesis_spec(ctx, params, seed)
    env = build_environment(ctx, params)
    target = env.target()
    breaker = CircuitBreaker(create_db_circuit_breaker_config(spec.breaker_recovery if spec else None),
                             name=target.address)  # transitions are logged
    env.console.print(f"test-rig bench {workload}: {connections} connections, {duration:g} s, "
                      + (f"{table_size} rows, " if table_size else "") + f"against {target.address}")
    nemesis = start_nemesis(env, spec, target)
    env.quiet_retries = True  # with many workers reconnecting, the breaker's transitions tell the story
    manager = env.manager(breaker=breaker, overall_timeout=max(duration, env.config.database.timeout_secs))
    partial: list[BenchResult] = []
    try:
        result = run_async(lambda: run_bench(target, workload=workload, connections=connections, duration=duration,
                                                    table_size=table_size, manager=manager, seed=seed, warmup=warmup,
                                                    on_interrupt=partial.append,
                                                    on_load_start=lambda n: env.console.print(
                                                        f"load started: {n} of {connections} connections"),
                                                    on_second=lambda t, ops, errors: env.console.print(
                                                        f"  {t:>4} s: {ops} ops, {errors} errors"),
                                                    processes=processes, nemesis=nemesis, ray=ray_address))
    except KeyboardInterrupt as e:
        if partial:  # what ran before the interrupt is kept
            data = partial[0].to_dict()
            data.update(ok=False, error=f"interrupted by {signal_name(e)}")
            if nemesis is not None:  # the windows as they ended: the fault in progress was healed meanwhile
                data["nemesis"] = nemesis.to_dict()
            env.write_reports(data)
        raise
    finally:
        if nemesis is not None:
            run_async(nemesis.close)
    data = result.to_dict()
    failure = nemesis.failure() if nemesis is not None else None
    data["ok"] = failure is None
    if failure is not None:
        data["error"] = failure
    suite = Suite("bench")
    suite.add(Case(workload, "test_rig.bench", result.run.seconds))
    env.write_reports(data, [suite])
    env.console.print(f"qps {data['qps']:.1f}  operations {data['operations']}  errors {data['errors']}  "
                      f"p50 {data['p50_ms']:.3f} ms  p95 {data['p95_ms']:.3f} ms  p99 {data['p99_ms']:.3f} ms  "
                      f"max {data['max_ms']:.3f} ms")
    if data["errors"]:
        env.console.print(f"errors by code: {data['errors_by_code']}; reconnects {data['reconnects']}")
    env.console.print("timeline (ops/s): " + " ".join(str(t["ops"]) + ("!" if t.get("faults") else "")
                                                      for t in data["timeline"]))
    if nemesis is not None:
        env.console.print(f"nemesis: {len(nemesis.windows)} fault window(s) (! marks the seconds they cover)")
    if failure is not None:
        env.console.print(f"[red]The run did not test what was asked: {escape(failure)}[/]")
        sys.exit(1)
