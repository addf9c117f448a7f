"""`test-rig bench user TARGET`: your own workload, a Locust-style User class (load/user.py), on bench's load path,
with --processes, --ray and --nemesis as for every bench workload; each task's figures under its name."""

from __future__ import annotations

from typing import Any

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


@click.command("user")
@click.argument("target")
@common_options
@html_option
@nemesis_options
@click.option("--connections", type=click.IntRange(1, 100_000), default=8, show_default=True,
              help="Virtual users, one connection each.")
@click.option("--duration", type=click.FloatRange(0.1, None), default=10.0, show_default=True, help="Seconds.")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--processes", type=click.IntRange(1, 256), default=1, show_default=True,
              help="Worker processes the users are split over; with --ray, Ray actors.")
@click.option("--ray", "ray_address", default=None, metavar="ADDRESS|auto",
              help="Run the workers as Ray actors on the Ray cluster at ADDRESS (needs test-rig[ray]).")
@click.pass_context
@guarded
def bench_user(ctx: click.Context, /, target: str, connections: int, duration: float, seed: int, processes: int,
               ray_address: str | None, **params: Any) -> None:
    """Your own workload: TARGET is file.py:Class, module:Class, a file with one User class, or an entry point
    (group test_rig.users). Tasks are picked by weight; each reports its count, latency and errors."""
    from test_rig.load import user
    from test_rig.load.bench import bench_suites

    user.load_user(target)  # a class that cannot be loaded is refused before anything else
    if processes > connections:
        raise UsageError(f"--processes {processes} is more than --connections {connections}; each process needs "
                         "at least one connection.")
    if ray_address is not None:
        from test_rig.load.processes import check_ray

        check_ray(ray_address)
    spec = nemesis_spec(ctx, params, seed)
    env = build_environment(ctx, params)
    db = env.target()
    env.console.print(f"test-rig bench user {target}: {connections} users, {duration:g} s, against {db.address}",
                      markup=False)
    env.quiet_retries = True
    data = run_feature(lambda: user.run(
        db, user.UserSpec(target), connections=connections, duration=duration,
        manager=lambda breaker, overall: env.manager(breaker=breaker, overall_timeout=overall),
        connect_timeout=env.config.database.timeout_secs, seed=seed, processes=processes, ray=ray_address,
        nemesis=spec, on_nemesis=lambda nemesis: show_nemesis(env, nemesis),
        on_load_start=lambda n: env.console.print(f"load started: {n} of {connections} users"),
        on_second=lambda t, ops, errors: env.console.print(f"  {t:>4} s: {ops} tasks, {errors} failed")))
    if "tasks" in data:
        for line in console_lines(data):
            env.console.print(line, markup=False, highlight=False)
    env.conclude(data, bench_suites(data))


def console_lines(data: dict[str, Any]) -> list[str]:
    """Per task and in all: count, rate, errors, latency percentiles."""
    lines = [f"{'task':<24}{'count':>10}{'per s':>11}{'errors':>8}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}"
             f"{'max ms':>9}"]
    for name, t in data["tasks"].items():
        lines.append(f"{name:<24}{t['count']:>10}{t['per_second']:>11}{t['errors']:>8}{t['p50_ms']:>9.3f}"
                     f"{t['p95_ms']:>9.3f}{t['p99_ms']:>9.3f}{t['max_ms']:>9.3f}")
    lines.append(f"{'all':<24}{data['operations']:>10}{data['qps']:>11}{data['errors']:>8}{data['p50_ms']:>9.3f}"
                 f"{data['p95_ms']:>9.3f}{data['p99_ms']:>9.3f}{data['max_ms']:>9.3f}")
    for name, t in data["tasks"].items():
        for failure in t["failures"]:
            lines.append(f"task {name} failed: {failure}")
    lines.append("timeline (tasks/s): " + " ".join(str(t["ops"]) + ("!" if t.get("faults") else "")
                                                  for t in data["timeline"]))
    return lines


#: The commands this module adds to the `bench` group.
USER_COMMANDS: list[click.Command] = [bench_user]
