"""The standard flow's commands (flows/): `basic` runs it once, each state with its duration and a hint on
failure (flows.basic.basic_test); `run` runs user handlers registered for one of its states, each judged
(flows.run.run_handlers); `simple-multi-connection` and `multi-connection` run it on N connections, alone or under
the coordinator (flows.multi)."""

from __future__ import annotations

from typing import Any

import click

from test_rig.cli.common import build_environment, command, finish, html_options, typed
from test_rig.environment import Environment
from test_rig.flows import basic as basic_flow
from test_rig.flows import multi as multi_flow
from test_rig.flows import run as run_flow
from test_rig.options import opt, stack


@command("basic")
@html_options
def basic(ctx: click.Context, /, **params: Any) -> None:
    """Connect, run SELECT 1, USE the database and read the server version."""
    env = build_environment(ctx, params)
    env.say(basic_flow.opening(env.target()))
    finish(env, lambda: basic_flow.basic_test(env, listener=lambda visit: env.say(basic_flow.visit_line(visit))),
           basic_flow.console_lines, basic_flow.basic_suites)


@command("run")
@html_options
@click.argument("targets", nargs=-1, required=True)
@opt("--state", None, "TestingConnection", "The state of the standard flow each handler is registered for.")
def run_cmd(ctx: click.Context, /, targets: tuple[str, ...], state: str, **params: Any) -> None:
    """Run Python handlers: a directory (every test_*.py), a file, module:Class or an entry-point name."""
    from test_rig.flows.plugins import load

    run_flow.check_state(state)
    handlers = [h for t in targets for h in load(t)]
    env = build_environment(ctx, params)
    env.say(run_flow.opening(handlers, state, env.target().address))
    finish(env, lambda: run_flow.run_handlers(env, handlers, state,
                                              on_run=lambda run: env.say(*run_flow.handler_lines(run))),
           run_flow.console_lines, run_flow.junit_suites)


_multi_options = stack(html_options, opt("--connection-count", click.IntRange(1, 10_000), None,
                                         "Connections (default: the configured `connections`, else 5)."))


def _multi_start(ctx: click.Context, params: dict[str, Any], count: int | None) -> Environment:
    """The run's Environment and its opening lines."""
    env = build_environment(ctx, params)
    env.say(*multi_flow.opening(str(ctx.info_name), env.config, count, typed(ctx, ctx.params)))
    return env


@command("simple-multi-connection")
@_multi_options
def simple_multi_connection(ctx: click.Context, /, connection_count: int | None, **params: Any) -> None:
    """N state machines each run the basic flow concurrently; one result line per connection."""
    env = _multi_start(ctx, params, connection_count)
    finish(env, lambda: multi_flow.simple_multi_connection(env, connection_count), multi_flow.console_lines,
           multi_flow.connection_suites)


@command("multi-connection")
@_multi_options
@opt("--coordination-timeout", click.FloatRange(0.1, None), 30.0, "Seconds to wait for all connections to be ready.")
def multi_connection(ctx: click.Context, /, connection_count: int | None, coordination_timeout: float,
                     **params: Any) -> None:
    """N state machines under the coordinator: events, shared state, a readiness barrier."""
    env = _multi_start(ctx, params, connection_count)
    finish(env, lambda: multi_flow.multi_connection(env, connection_count, coordination_timeout=coordination_timeout,
                                                    on_event=lambda ev: env.say(f"  {ev}")),
           multi_flow.console_lines, multi_flow.connection_suites)
