"""`test-rig basic`: the standard flow once, each state with its duration, a hint on failure."""

from __future__ import annotations

import sys
from typing import Any

import click

from ..basic import run_basic
from ..environment import run_async
from ..machine import StateVisit
from ..report import Case, Suite, redactor
from .common import build_environment, common_options, guarded


@click.command()
@common_options
@click.pass_context
@guarded
def basic(ctx: click.Context, /, **params: Any) -> None:
    """Connect, run SELECT 1, USE the database and read the server version."""
    env = build_environment(ctx, params)
    target = env.target()
    env.console.print(f"test-rig basic: {target.user}@{target.address} database {target.database}")

    def show(visit: StateVisit) -> None:
        if visit.state in ("Completed", "Error"):
            return
        mark = "[red]✗[/]" if visit.error else "[green]✓[/]"
        env.console.print(f"  {mark} {visit.display or visit.state:<24} {visit.ms:9.1f} ms")

    outcome = run_async(lambda: run_basic(target, env.manager(), timeout=env.config.test.timeout_secs,
                                          listener=show))
    data = outcome.to_dict()
    data["complete"] = True
    data["retries"] = [vars(e) for e in env.retry_events]
    suite = Suite("basic")
    suite.add(Case("basic", "test_rig.basic", sum(v.ms for v in outcome.result.path) / 1000,
                   failure=None if outcome.result.ok else str(outcome.result.error)))
    env.write_reports(data, [suite])
    if outcome.result.ok:
        server = outcome.ctx.server
        kind = server.kind if server else "unknown"
        env.console.print(f"[green]OK[/]: connected to {kind} server, version {outcome.ctx.server_version}")
        return
    env.console.print(f"[red]FAILED[/]: {redactor(outcome.result.error or 'unknown error')}")
    if outcome.hint:
        env.console.print(f"hint: {outcome.hint}")
    env.console.print("path: " + outcome.result.path_summary())
    sys.exit(1)
