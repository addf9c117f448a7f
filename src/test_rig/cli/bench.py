"""`test-rig bench point-select|select-1|user`: free-running load; throughput, latency, errors, a timeline.
sysbench's OLTP workloads (bench_oltp.py) and the TPC-C-style one (bench_tpcc.py) are commands of this group too."""

from __future__ import annotations

from functools import partial
from typing import Any

import click

from test_rig.cli.bench_oltp import OLTP_COMMANDS
from test_rig.cli.bench_options import load_options, start
from test_rig.cli.bench_tpcc import TPCC_COMMANDS
from test_rig.cli.common import command, finish, say
from test_rig.options import opt

_PROCESSES = ("Worker processes the connections are split over (one process tops out at one core); with --ray, Ray "
              "actors.")
_RAY = "Run the workers as Ray actors spread over the Ray cluster at ADDRESS (needs test-rig[ray])."


@click.group()
def bench() -> None:
    """Free-running workloads that measure throughput and latency."""


def _command(name: str, table_size: bool, summary: str) -> click.Command:
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
    return command(name)(load_options(processes=_PROCESSES, ray=_RAY)(run))


@command("user")
@click.argument("target")
@load_options(connections="Virtual users, one connection each.", warmup=False,
              processes="Worker processes the users are split over; with --ray, Ray actors.")
def bench_user(ctx: click.Context, /, target: str, **params: Any) -> None:
    """Your own workload: TARGET is file.py:Class, module:Class, a file with one User class, or an entry point
    (group test_rig.users). Tasks are picked by weight; each reports its count, latency and errors."""
    from test_rig.load import user
    from test_rig.load.bench import bench_suites, live_events, opening

    user.load_user(target)  # a class that cannot be loaded is refused before anything else
    env, load, spec = start(ctx, params)
    say(env, opening(f"user {target}", load, "users", env.target().address))
    events = live_events(partial(say, env), load, "users", "tasks", "failed")
    finish(env, lambda: user.run(env, user.UserSpec(target), load, nemesis=spec, events=events), user.console_lines,
           bench_suites)


for _command_ in [_command("point-select", True, "Point selects by random id on a sysbench-like table, N connections, "
                           "for a duration."),
                  _command("select-1", False, "`SELECT 1` on N connections, for a duration: no table, almost no "
                           "server work, so the client's own cost per query is what is measured (and what more "
                           "--processes can spread over more cores)."), *OLTP_COMMANDS, *TPCC_COMMANDS, bench_user]:
    bench.add_command(_command_)
