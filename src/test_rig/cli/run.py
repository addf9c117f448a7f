"""`test-rig run`: user handlers registered for one state of the standard flow (flows.run.run_handlers), each run
and judged."""

from __future__ import annotations

from typing import Any

import click

from test_rig.cli.common import build_environment, command, finish, html_options, say
from test_rig.flows import run as flow
from test_rig.flows.plugins import load
from test_rig.options import opt


@command("run")
@html_options
@click.argument("targets", nargs=-1, required=True)
@opt("--state", None, "TestingConnection", "The state of the standard flow each handler is registered for.")
def run_cmd(ctx: click.Context, /, targets: tuple[str, ...], state: str, **params: Any) -> None:
    """Run Python handlers: a directory (every test_*.py), a file, module:Class or an entry-point name."""
    flow.check_state(state)
    handlers = [h for t in targets for h in load(t)]
    env = build_environment(ctx, params)
    say(env, flow.opening(handlers, state, env.target().address))
    finish(env, lambda: flow.run_handlers(env, handlers, state, on_run=lambda run: say(env, *flow.handler_lines(run))),
           flow.console_lines, flow.junit_suites)
