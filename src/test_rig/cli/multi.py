"""`simple-multi-connection` and `multi-connection`: N basic machines, alone or under the coordinator."""

from __future__ import annotations

import json
from typing import Any

import click

from test_rig.cli.common import build_environment, common_options, given, guarded, html_option, run_feature
from test_rig.coordinator import EventLog
from test_rig.environment import Environment
from test_rig.flows import multi as flows

_count_option = click.option("--connection-count", type=click.IntRange(1, 10_000), default=None,
                             help="Connections (default: the configured `connections`, else 5).")


def start(ctx: click.Context, params: dict[str, Any], count: int | None, what: str) -> Environment:
    """The run's Environment, its first line, and a note for each connection option no connection uses."""
    env = build_environment(ctx, params)
    env.console.print(f"test-rig {ctx.info_name}: {count or len(env.config.connections) or 5} connections{what}")
    for note in flows.unused_options(env.config, {p for p in ("host", "user", "database", "password")
                                                  if given(ctx, p)}):
        env.console.print(note, markup=False)
    return env


def print_connections(env: Environment, data: dict[str, Any]) -> None:
    """One line per connection and the tally, from the result."""
    rows = data.get("connections") or []
    for row in rows:
        server = row.get("server") or {}
        where = f"{row.get('name', ''):<12} {row.get('target') or '':<22}"
        if row.get("ok"):
            env.console.print(f"  [green]✓[/] {where} ok      {server.get('version', '')}")
        else:
            word = "UNDECIDED" if row.get("undecided") else "FAILED  "
            env.console.print(f"  [red]✗[/] {where} {word}{row.get('error')}")
            if row.get("hint"):
                env.console.print(f"      hint: {row['hint']}")
    undecided = int(data.get("undecided") or 0)
    failed = int(data.get("failed") or 0)
    colour = "green" if failed == 0 and undecided == 0 else "red"
    tail = f", {undecided} undecided (stopped by the timeout)" if undecided else ""
    env.console.print(f"[{colour}]{len(rows) - failed - undecided} of {len(rows)} connections succeeded, "
                      f"{failed} failed{tail}[/]")


@click.command("simple-multi-connection")
@common_options
@html_option
@_count_option
@click.pass_context
@guarded
def simple_multi_connection(ctx: click.Context, /, connection_count: int | None, **params: Any) -> None:
    """N state machines each run the basic flow concurrently; one result line per connection."""
    env = start(ctx, params, connection_count, "")
    data = run_feature(lambda: flows.simple_multi_connection(
        env.config, connection_count, lambda breaker: env.manager(breaker=breaker),
        timeout=env.config.test.timeout_secs))
    if data.get("complete") is not False:
        print_connections(env, data)
    env.conclude(data, flows.connection_suites(data))


@click.command("multi-connection")
@common_options
@html_option
@_count_option
@click.option("--coordination-timeout", type=click.FloatRange(0.1, None), default=30.0, show_default=True,
              help="Seconds to wait for all connections to be ready.")
@click.pass_context
@guarded
def multi_connection(ctx: click.Context, /, connection_count: int | None, coordination_timeout: float,
                         **params: Any) -> None:
    """N state machines under the coordinator: events, shared state, a readiness barrier."""
    env = start(ctx, params, connection_count, " under the coordinator")
    env.console.print("events:")
    events = EventLog()
    events.add_listener(lambda ev: env.console.print(f"  {ev}", markup=False))
    data = run_feature(lambda: flows.multi_connection(
        env.config, connection_count, lambda breaker: env.manager(breaker=breaker),
        timeout=env.config.test.timeout_secs, coordination_timeout=coordination_timeout, events=events))
    if data.get("complete") is not False:
        env.console.print("results:")
        print_connections(env, data)
        env.console.print("final shared state:")
        env.console.print(json.dumps(data.get("shared_state"), indent=2), markup=False)
    env.conclude(data, flows.connection_suites(data))
