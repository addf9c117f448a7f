"""`test-rig hunt`: look for logic bugs — queries whose results disagree although they must agree (TLP,
NoREC, differential plans) and errors the server must not give — confirmed, reduced, deduplicated. Parses the
options, runs hunt/main.hunt, renders its result (console, JSON, JUnit, HTML) and ends with its verdict."""

from __future__ import annotations

from typing import Any

import click

from test_rig.cli.common import build_environment, command, html_options
from test_rig.hunt.main import HuntOptions
from test_rig.options import field_options, take


@command("hunt")
@html_options
@field_options(HuntOptions)
def hunt_cmd(ctx: click.Context, /, **params: Any) -> None:
    """Hunt for logic bugs: generated queries checked by oracles; every finding confirmed on a fresh database,
    reduced, signed. Exit 0 when no new bug was found, 1 when one was (or the run failed or was undecided), 2
    for bad input."""
    from test_rig.hunt.main import hunt
    from test_rig.hunt.report import junit_suite, live_line, opening, render

    spec = take(params, HuntOptions).spec()
    env = build_environment(ctx, params, own="databases of its own (rig_hunt_...)")
    target = env.target()
    env.console.print(opening(spec, target.address))
    data = hunt(target, spec, on_second=lambda run: env.console.print(live_line(run), markup=False),
                left=env.left_on_server).to_dict()
    render(env.console, data)
    env.conclude(data, [junit_suite(data, env.elapsed())])
