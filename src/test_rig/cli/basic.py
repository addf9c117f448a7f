"""`test-rig basic`: the standard flow once (flows.basic.basic_test), each state with its duration, a hint on
failure."""

from __future__ import annotations

from typing import Any

import click

from test_rig.cli.common import build_environment, command, finish, html_options, say
from test_rig.flows import basic as flow


@command("basic")
@html_options
def basic(ctx: click.Context, /, **params: Any) -> None:
    """Connect, run SELECT 1, USE the database and read the server version."""
    env = build_environment(ctx, params)
    say(env, flow.opening(env.target()))
    finish(env, lambda: flow.basic_test(env, listener=lambda visit: say(env, flow.visit_line(visit))),
           flow.console_lines, flow.basic_suites)
