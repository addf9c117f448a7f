"""`test-rig basic`: the standard flow once, each state with its duration, a hint on failure."""

from __future__ import annotations

from typing import Any

import click

from test_rig.cli.common import build_environment, command, html_options
from test_rig.environment import run_feature
from test_rig.flows.basic import basic_suites, basic_test
from test_rig.machine import StateVisit
from test_rig.report.files import redactor


@command("basic")
@html_options
def basic(ctx: click.Context, /, **params: Any) -> None:
    """Connect, run SELECT 1, USE the database and read the server version."""
    env = build_environment(ctx, params)
    target = env.target()
    env.console.print(f"test-rig basic: {target.user}@{target.address} database {target.database}")

    def show(visit: StateVisit) -> None:
        if visit.state not in ("Completed", "Error"):
            mark = "[red]✗[/]" if visit.error else "[green]✓[/]"
            env.console.print(f"  {mark} {visit.display or visit.state:<24} {visit.ms:9.1f} ms")

    result = run_feature(lambda: basic_test(env, listener=show))
    data, server = result.payload, result.server if isinstance(result.server, dict) else {}
    if result.ok:
        env.console.print(f"[green]OK[/]: connected to {server.get('kind', 'unknown')} server, version "
                          f"{server.get('version', 'unknown')}")
    elif result.complete:  # the verdict's line, last, names a failure; an undecided run's says why
        if data.get("undecided"):
            env.console.print(f"[yellow]not decided[/]: {redactor('; '.join(data.get('unknown') or []))}")
        if data.get("hint"):
            env.console.print(f"hint: {data['hint']}")
        env.console.print("path: " + " → ".join(s["state"] for s in data.get("states", [])))
    env.conclude(result, basic_suites(result))
