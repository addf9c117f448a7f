"""`test-rig bench user TARGET`: your own workload, a Locust-style User class (load/user.py), on bench's load path,
with --processes, --ray and --nemesis as for every bench workload; each task's figures under its name."""

from __future__ import annotations

from functools import partial
from typing import Any

import click

from test_rig.cli.bench_options import load_options, start
from test_rig.cli.common import command, finish, say


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


#: The commands this module adds to the `bench` group.
USER_COMMANDS: list[click.Command] = [bench_user]
