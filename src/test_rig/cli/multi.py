"""`simple-multi-connection` and `multi-connection`: N basic machines, alone or under the coordinator."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from typing import Any

import click

from ..coordinator import EventLog
from ..db import Target, targets_for
from ..environment import Environment, run_async
from ..multi import run_coordinated, run_simple
from ..report import Case, Suite
from ..resilience import CircuitBreaker, ResilientConnectionManager, create_db_circuit_breaker_config
from .common import build_environment, common_options, guarded, html_option, signal_name

_count_option = click.option("--connection-count", type=click.IntRange(1, 10_000), default=None,
                             help="Connections (default: the configured `connections`, else 5).")


def named_targets(env: Environment, count: int | None) -> tuple[list[Target], list[str]]:
    cfg = env.config
    n = count if count is not None else (len(cfg.connections) or 5)
    targets = targets_for(cfg, n)
    if cfg.connections:
        names = [cfg.connections[i % len(cfg.connections)].name + ("" if i < len(cfg.connections)
                                                                    else f"-{i // len(cfg.connections) + 1}")
                 for i in range(n)]
    else:
        names = [f"conn-{i + 1}" for i in range(n)]
    return targets, names


def breakers(env: Environment) -> Callable[[Target], ResilientConnectionManager]:
    """One circuit breaker per server address, shared by every connection to it."""
    made: dict[str, CircuitBreaker] = {}

    def for_target(target: Target) -> ResilientConnectionManager:
        if target.address not in made:
            made[target.address] = CircuitBreaker(create_db_circuit_breaker_config(), name=target.address)
        return env.manager(breaker=made[target.address])

    return for_target


def print_outcomes(env: Environment, names: list[str], outcomes: list[Any]) -> int:
    failed = 0
    for name, o in zip(names, outcomes, strict=True):
        t = o.ctx.target
        where = t.address if t else "?"
        if o.result.ok:
            env.console.print(f"  [green]✓[/] {name:<12} {where:<22} ok      {o.ctx.server_version}")
        else:
            failed += 1
            env.console.print(f"  [red]✗[/] {name:<12} {where:<22} FAILED  {o.result.error}")
            if o.hint:
                env.console.print(f"      hint: {o.hint}")
    total = len(outcomes)
    colour = "green" if failed == 0 else "red"
    env.console.print(f"[{colour}]{total - failed} of {total} connections succeeded, {failed} failed[/]")
    return failed


def outcome_suite(suite_name: str, names: list[str], outcomes: list[Any]) -> Suite:
    suite = Suite(suite_name)
    for name, o in zip(names, outcomes, strict=True):
        suite.add(Case(name, f"test_rig.{suite_name}", sum(v.ms for v in o.result.path) / 1000,
                       failure=None if o.result.ok else o.result.error))
    return suite


@click.command("simple-multi-connection")
@common_options
@_count_option
@click.pass_context
@guarded
def simple_multi_connection(ctx: click.Context, /, connection_count: int | None, **params: Any) -> None:
    """N state machines each run the basic flow concurrently; one result line per connection."""
    env = build_environment(ctx, params)
    targets, names = named_targets(env, connection_count)
    managers = breakers(env)
    env.console.print(f"test-rig simple-multi-connection: {len(targets)} connections")
    outcomes = run_async(lambda: run_simple(targets, managers, timeout=env.config.test.timeout_secs))
    failed = print_outcomes(env, names, outcomes)
    env.write_reports({"ok": failed == 0, "complete": True,
                       "connections": [dict(o.to_dict(), name=n) for n, o in zip(names, outcomes, strict=True)]},
                      [outcome_suite("simple-multi-connection", names, outcomes)])
    if failed:
        sys.exit(1)


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
    env = build_environment(ctx, params)
    targets, names = named_targets(env, connection_count)
    managers = breakers(env)
    env.console.print(f"test-rig multi-connection: {len(targets)} connections under the coordinator")
    env.console.print("events:")
    events = EventLog()
    events.add_listener(lambda ev: env.console.print(f"  {ev}"))
    try:
        run = run_async(lambda: run_coordinated(
            targets, names, managers, timeout=env.config.test.timeout_secs,
            coordination_timeout=coordination_timeout, events=events))
    except KeyboardInterrupt as e:  # keep the events seen so far
        env.write_reports({"ok": False, "complete": False, "error": f"interrupted by {signal_name(e)}",
                           "events": [ev.to_dict() for ev in events.events]})
        raise
    env.console.print("results:")
    failed = print_outcomes(env, names, run.outcomes)
    env.console.print("final shared state:")
    env.console.print(json.dumps(run.shared.to_dict(), indent=2), markup=False)
    env.write_reports({"ok": failed == 0, "complete": True, **run.to_dict()},
                      [outcome_suite("multi-connection", names, run.outcomes)])
    if failed:
        sys.exit(1)
