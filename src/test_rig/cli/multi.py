"""`simple-multi-connection` and `multi-connection`: N basic machines, alone or under the coordinator."""

from __future__ import annotations

from typing import Any

import click

from test_rig.cli.common import build_environment, command, finish, html_options, say, typed_names
from test_rig.environment import Environment
from test_rig.flows import multi as flows
from test_rig.options import opt, stack

_options = stack(html_options, opt("--connection-count", click.IntRange(1, 10_000), None,
                                   "Connections (default: the configured `connections`, else 5)."))


def start(ctx: click.Context, params: dict[str, Any], count: int | None) -> Environment:
    """The run's Environment, its first line, and a note for each connection option no connection uses."""
    env = build_environment(ctx, params)
    say(env, flows.opening(str(ctx.info_name), env.config, count))
    for note in flows.unused_options(env.config, typed_names(ctx)):
        say(env, note)
    return env


@command("simple-multi-connection")
@_options
def simple_multi_connection(ctx: click.Context, /, connection_count: int | None, **params: Any) -> None:
    """N state machines each run the basic flow concurrently; one result line per connection."""
    env = start(ctx, params, connection_count)
    finish(env, lambda: flows.simple_multi_connection(env, connection_count), flows.console_lines,
           flows.connection_suites)


@command("multi-connection")
@_options
@opt("--coordination-timeout", click.FloatRange(0.1, None), 30.0, "Seconds to wait for all connections to be ready.")
def multi_connection(ctx: click.Context, /, connection_count: int | None, coordination_timeout: float,
                     **params: Any) -> None:
    """N state machines under the coordinator: events, shared state, a readiness barrier."""
    env = start(ctx, params, connection_count)
    say(env, "events:")
    finish(env, lambda: flows.multi_connection(env, connection_count, coordination_timeout=coordination_timeout,
                                               on_event=lambda ev: say(env, f"  {ev}")),
           flows.console_lines, flows.connection_suites)
