"""`test-rig run`: user handlers registered for one state of the standard flow, each run and judged."""

from __future__ import annotations

import sys
from typing import Any

import click

from ..environment import run_async
from ..errors import UsageError
from ..plugins import load
from ..runner import STANDARD_STATES, HandlerRun, junit_suites, run_handler
from .common import build_environment, common_options, guarded, signal_name


@click.command("run")
@common_options
@click.argument("targets", nargs=-1, required=True)
@click.option("--state", default="TestingConnection", show_default=True,
              help="The state of the standard flow each handler is registered for.")
@click.pass_context
@guarded
def run_cmd(ctx: click.Context, /, targets: tuple[str, ...], state: str, **params: Any) -> None:
    """Run Python handlers: a directory (every test_*.py), a file, module:Class or an entry-point name."""
    if state not in STANDARD_STATES:
        raise UsageError(f"--state {state} is not a state of the standard flow; use one of "
                         f"{', '.join(STANDARD_STATES)}.")
    loaded = [h for t in targets for h in load(t)]
    env = build_environment(ctx, params)
    target = env.target()
    env.console.print(f"test-rig run: {len(loaded)} handler(s) for state {state} against {target.address}")
    runs: list[HandlerRun] = []

    async def go() -> None:
        for h in loaded:
            run = await run_handler(h, target, state, env.manager(), timeout=env.config.test.timeout_secs)
            runs.append(run)
            if run.ok:
                env.console.print(f"  [green]PASS[/] {h.source}")
            else:
                path = run.result.path_summary() if run.result else "(not started)"
                env.console.print(f"  [red]FAIL[/] {h.source}: {run.message}")
                env.console.print(f"       states: {path}")

    def report(complete: bool, error: str | None = None) -> None:
        data: dict[str, Any] = {"state": state, "ok": complete and all(r.ok for r in runs), "complete": complete,
                                "results": [r.to_dict() for r in runs]}
        if error:
            data["error"] = error
        env.write_reports(data, junit_suites(runs))

    try:
        run_async(go)
    except KeyboardInterrupt as e:
        report(False, f"interrupted by {signal_name(e)} after {len(runs)} of "
                      f"{len(loaded)} handler(s)")
        raise
    report(True)
    failed = sum(not r.ok for r in runs)
    env.console.print(f"{len(runs) - failed} passed, {failed} failed")
    if failed:
        sys.exit(1)
