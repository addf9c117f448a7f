"""`test-rig run`: user handlers registered for one state of the standard flow, each run and judged."""

from __future__ import annotations

from typing import Any

import click

from test_rig.cli.common import build_environment, command, html_options, opt
from test_rig.environment import run_feature
from test_rig.errors import UsageError
from test_rig.flows.plugins import load
from test_rig.flows.run import STANDARD_STATES, HandlerRun, junit_suites, run_handlers


@command("run")
@html_options
@click.argument("targets", nargs=-1, required=True)
@opt("--state", None, "TestingConnection", "The state of the standard flow each handler is registered for.")
def run_cmd(ctx: click.Context, /, targets: tuple[str, ...], state: str, **params: Any) -> None:
    """Run Python handlers: a directory (every test_*.py), a file, module:Class or an entry-point name."""
    if state not in STANDARD_STATES:
        raise UsageError(f"--state {state} is not a state of the standard flow; use one of "
                         f"{', '.join(STANDARD_STATES)}.")
    loaded = [h for t in targets for h in load(t)]
    env = build_environment(ctx, params)
    env.console.print(f"test-rig run: {len(loaded)} handler(s) for state {state} against {env.target().address}")

    def show(run: HandlerRun) -> None:
        if run.ok:
            env.console.print(f"  [green]PASS[/] {run.handler.source}")
            return
        path = run.result.path_summary() if run.result else "(not started)"
        env.console.print(f"  [red]{'UNDECIDED' if run.undecided else 'FAIL'}[/] {run.handler.source}: {run.message}")
        env.console.print(f"       states: {path}")

    result = run_feature(lambda: run_handlers(env, loaded, state, on_run=show))
    if result.complete:
        failed, undecided = result.payload["failed"], result.payload["undecided"]
        env.console.print(f"{len(result.payload['results']) - failed - undecided} passed, {failed} failed"
                          + (f", {undecided} undecided" if undecided else ""))
    env.conclude(result, junit_suites(result))
