"""`simple-multi-connection` and `multi-connection`: N basic machines, alone or under the coordinator."""

from __future__ import annotations

import json
from typing import Any

import click

from test_rig.cli.common import build_environment, command, given, html_options, opt, stack
from test_rig.environment import Environment, run_feature
from test_rig.flows import multi as flows
from test_rig.results import RunResult

_options = stack(html_options, opt("--connection-count", click.IntRange(1, 10_000), None,
                                   "Connections (default: the configured `connections`, else 5)."))


def start(ctx: click.Context, params: dict[str, Any], count: int | None, what: str) -> Environment:
    """The run's Environment, its first line, and a note for each connection option no connection uses."""
    env = build_environment(ctx, params)
    env.console.print(f"test-rig {ctx.info_name}: {count or len(env.config.connections) or 5} connections{what}")
    for note in flows.unused_options(env.config, {p for p in ("host", "user", "database", "password")
                                                  if given(ctx, p)}):
        env.console.print(note, markup=False)
    return env


def print_connections(env: Environment, result: RunResult) -> None:
    """One line per connection and the tally, from the result."""
    rows = result.payload.get("connections") or []
    for row in rows:
        where = f"{row.get('name', ''):<12} {row.get('target') or '':<22}"
        if row.get("ok"):
            env.console.print(f"  [green]✓[/] {where} ok      {(row.get('server') or {}).get('version', '')}")
        else:
            env.console.print(f"  [red]✗[/] {where} {'UNDECIDED' if row.get('undecided') else 'FAILED  '}"
                              f"{row.get('error')}")
            if row.get("hint"):
                env.console.print(f"      hint: {row['hint']}")
    failed, undecided = int(result.payload.get("failed") or 0), int(result.payload.get("undecided") or 0)
    tail = f", {undecided} undecided (stopped by the timeout)" if undecided else ""
    env.console.print(f"[{'green' if failed == 0 and undecided == 0 else 'red'}]{len(rows) - failed - undecided} "
                      f"of {len(rows)} connections succeeded, {failed} failed{tail}[/]")


@command("simple-multi-connection")
@_options
def simple_multi_connection(ctx: click.Context, /, connection_count: int | None, **params: Any) -> None:
    """N state machines each run the basic flow concurrently; one result line per connection."""
    env = start(ctx, params, connection_count, "")
    result = run_feature(lambda: flows.simple_multi_connection(env, connection_count))
    if result.complete:
        print_connections(env, result)
    env.conclude(result, flows.connection_suites(result))


@command("multi-connection")
@_options
@opt("--coordination-timeout", click.FloatRange(0.1, None), 30.0, "Seconds to wait for all connections to be ready.")
def multi_connection(ctx: click.Context, /, connection_count: int | None, coordination_timeout: float,
                     **params: Any) -> None:
    """N state machines under the coordinator: events, shared state, a readiness barrier."""
    env = start(ctx, params, connection_count, " under the coordinator")
    env.console.print("events:")
    result = run_feature(lambda: flows.multi_connection(
        env, connection_count, coordination_timeout=coordination_timeout,
        on_event=lambda ev: env.console.print(f"  {ev}", markup=False)))
    if result.complete:
        env.console.print("results:")
        print_connections(env, result)
        env.console.print("final shared state:")
        env.console.print(json.dumps(result.payload.get("shared_state"), indent=2), markup=False)
    env.conclude(result, flows.connection_suites(result))
