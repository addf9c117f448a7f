"""The command line: parses options, builds the Environment, calls one function per subcommand.

Options the user did not type never override the environment or a config file: every config
option defaults to None and only values whose click ParameterSource is the command line are
passed on.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import sys
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click
from click.core import ParameterSource

from . import __version__
from .config import (
    ConfigExtension,
    LoadedConfig,
    extension_values,
    extensions,
    load_config,
    parse_session_var,
)
from .environment import Environment, run_async
from .errors import RigError, UsageError
from .report import redactor, setup_logging, write_json

F = TypeVar("F", bound=Callable[..., Any])

#: option parameter name → (dotted config key, how the user spells it)
COMMON_KEYS: dict[str, tuple[str, str]] = {
    "host": ("database.host", "-H/--host"),
    "user": ("database.username", "-u/--user"),
    "database": ("database.database", "-d/--database"),
    "password": ("database.password", "--password"),
    "log_level": ("logging.level", "--log-level"),
    "log_file_path": ("logging.file", "--log-file-path"),
}


def common_options(fn: F) -> F:
    """The original's options, on every test subcommand, plus --json and --junit."""
    options = [
        click.option("-c", "--config", "config_file", type=str, default=None,
                     help="Configuration file (JSON or TOML). Default: ./tidb_config.json or .toml if present."),
        click.option("-H", "--host", default=None, help="Database host as HOST:PORT (default localhost:4000)."),
        click.option("-u", "--user", default=None, help="Database user name (default root)."),
        click.option("-d", "--database", default=None, help="Database name (default test)."),
        click.option("--password", default=None, help="Password (prefer TIDB_PASSWORD or the prompt)."),
        click.option("--no-password-prompt", is_flag=True, default=False,
                     help="Never prompt for a password; use an empty one when none is configured."),
        click.option("--log-level", default=None,
                     type=click.Choice(["debug", "info", "warn", "warning", "error"], case_sensitive=False),
                     help="Log level."),
        click.option("--log-file", "log_file", is_flag=True, default=False, help="Also log to a file."),
        click.option("--log-file-path", default=None, help="Log file path (implies --log-file)."),
        click.option("-v", "--verbose", is_flag=True, default=False,
                     help="Debug logging and tracebacks on errors."),
        click.option("--json", "json_path", default=None, metavar="FILE",
                     help="Write the machine-readable result here."),
        click.option("--junit", "junit_path", default=None, metavar="FILE", help="Write JUnit XML here."),
    ]
    for opt in reversed(options):
        fn = opt(fn)
    return fn


def extension_options(fn: F) -> F:
    """Add every registered config extension's options."""
    for ext in extensions.all():
        for opt in reversed(ext.cli_options()):
            fn = opt(fn)
    return fn


def _given(ctx: click.Context, /, name: str) -> bool:
    return ctx.get_parameter_source(name) is ParameterSource.COMMANDLINE


def cli_overrides(ctx: click.Context, /, params: dict[str, Any],
                  exts: list[ConfigExtension] | None = None) -> tuple[dict[str, Any], dict[str, str]]:
    values: dict[str, Any] = {}
    names: dict[str, str] = {}
    for param, (dotted, flag) in COMMON_KEYS.items():
        if param in params and params[param] is not None and _given(ctx, param):
            values[dotted] = params[param]
            names[dotted] = flag
    given = {k: v for k, v in params.items() if v is not None and k in ctx.params and _given(ctx, k)}
    for param, value in given.items():  # one at a time, so each key is named after the option that set it
        for dotted, mapped in extension_values(exts or [], {param: value}).items():
            values[dotted] = mapped
            names[dotted] = "--" + param.replace("_", "-")
    return values, names


def load_for_command(ctx: click.Context, /, params: dict[str, Any]) -> tuple[LoadedConfig, dict[str, Any],
                                                                           dict[str, str]]:
    """The effective configuration for a command's options; also the option values and names it used."""
    values, names = cli_overrides(ctx, params, extensions.all())
    return load_config(params.get("config_file"), values, cli_names=names), values, names


def build_environment(ctx: click.Context, /, params: dict[str, Any], *, prompt: bool = True) -> Environment:
    loaded, values, names = load_for_command(ctx, params)
    cfg = loaded.config
    if prompt and cfg.database.password is None and not params.get("no_password_prompt") and sys.stdin.isatty():
        secret = click.prompt(f"Password for {cfg.database.username}@{cfg.database.host}",
                              hide_input=True, default="", show_default=False)
        values["database.password"] = secret
        loaded = load_config(params.get("config_file"), values, cli_names=names)
        cfg = loaded.config
    redactor.add(cfg.database.password_value())
    for t in cfg.connections:
        if t.password is not None:
            redactor.add(t.password.get_secret_value())
    verbose = bool(params.get("verbose")) or cfg.test.verbose
    log_file = cfg.logging.file
    if params.get("log_file") and not log_file:
        log_file = "test-rig.log"
    setup_logging("debug" if verbose else cfg.logging.level, cfg.logging.format,
                  console=cfg.logging.console, file=log_file)
    return Environment(loaded=loaded, verbose=verbose, json_path=params.get("json_path"),
                       junit_path=params.get("junit_path"))


def guarded(fn: F) -> F:
    """Turn errors into one clear sentence and an exit status; tracebacks only with -v."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        verbose = bool(kwargs.get("verbose"))
        try:
            return fn(*args, **kwargs)
        except click.exceptions.Exit:
            raise
        except click.ClickException:
            raise
        except RigError as e:
            if verbose:
                traceback.print_exc()
            click.echo(redactor(f"error: {e.message}"), err=True)
            sys.exit(e.exit_status)
        except KeyboardInterrupt:
            click.echo("interrupted", err=True)
            sys.exit(130)
        except Exception as e:
            if verbose:
                traceback.print_exc()
            click.echo(redactor(f"internal error: {type(e).__name__}: {e} (run again with -v for the "
                                "traceback and please report it)"), err=True)
            sys.exit(1)

    return wrapper  # type: ignore[return-value]


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 110})
@click.version_option(__version__, prog_name="test-rig")
def main() -> None:
    """test-rig: test TiDB, MySQL and MariaDB servers — connections, concurrency, isolation, resilience."""


# --------------------------------------------------------------------------- basic


@main.command()
@common_options
@click.pass_context
@guarded
def basic(ctx: click.Context, /, **params: Any) -> None:
    """Connect, run SELECT 1, USE the database and read the server version."""
    from .basic import run_basic
    from .machine import State, StateVisit
    from .report import Case, Suite, write_junit

    env = build_environment(ctx, params)
    target = env.target()
    env.console.print(f"test-rig basic: {target.user}@{target.address} database {target.database}")

    def show(visit: StateVisit) -> None:
        if visit.state in ("Completed", "Error"):
            return
        mark = "[red]✗[/]" if visit.error else "[green]✓[/]"
        env.console.print(f"  {mark} {State(visit.state).display:<24} {visit.ms:9.1f} ms")

    outcome = None
    try:
        outcome = run_async(lambda: run_basic(target, env.manager(), timeout=env.config.test.timeout_secs,
                                              listener=show))
    finally:
        data: dict[str, Any] = (outcome.to_dict() if outcome else
                                {"command": "basic", "ok": False, "error": "interrupted"})
        data["retries"] = [vars(e) for e in env.retry_events]
        if env.json_path:
            write_json(env.json_path, data)
        if env.junit_path:
            suite = Suite("basic")
            suite.add(Case("basic", "test_rig.basic", sum(s["ms"] for s in data.get("states", [])) / 1000,
                           failure=None if data["ok"] else str(data.get("error"))))
            write_junit(env.junit_path, [suite])
    if outcome.result.ok:
        server = outcome.ctx.server
        kind = server.kind if server else "unknown"
        env.console.print(f"[green]OK[/]: connected to {kind} server, version {outcome.ctx.server_version}")
        return
    env.console.print(f"[red]FAILED[/]: {redactor(outcome.result.error or 'unknown error')}")
    if outcome.hint:
        env.console.print(f"hint: {outcome.hint}")
    env.console.print("path: " + " → ".join(outcome.result.path_names))
    sys.exit(1)


# --------------------------------------------------------------------------- many connections


def _named_targets(env: Environment, count: int | None) -> tuple[list[Any], list[str]]:
    from .db import targets_for

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


def _breakers(env: Environment) -> Callable[[Any], Any]:
    """One circuit breaker per server address, shared by every connection to it."""
    from .resilience import CircuitBreaker, create_db_circuit_breaker_config

    breakers: dict[str, CircuitBreaker] = {}

    def for_target(target: Any) -> Any:
        if target.address not in breakers:
            breakers[target.address] = CircuitBreaker(create_db_circuit_breaker_config(), name=target.address)
        return env.manager(breaker=breakers[target.address])

    return for_target


def _print_outcomes(env: Environment, names: list[str], outcomes: list[Any]) -> int:
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


def _junit_outcomes(path: str, suite_name: str, names: list[str], outcomes: list[Any]) -> None:
    from .report import Case, Suite, write_junit

    suite = Suite(suite_name)
    for name, o in zip(names, outcomes, strict=True):
        suite.add(Case(name, f"test_rig.{suite_name}", sum(v.ms for v in o.result.path) / 1000,
                       failure=None if o.result.ok else o.result.error))
    write_junit(path, [suite])


@main.command("simple-multi-connection")
@common_options
@click.option("--connection-count", type=click.IntRange(1, 10_000), default=None,
              help="Connections (default: the configured `connections`, else 5).")
@click.pass_context
@guarded
def simple_multi_connection(ctx: click.Context, /, connection_count: int | None, **params: Any) -> None:
    """N state machines each run the basic flow concurrently; one result line per connection."""
    from .multi import run_simple

    env = build_environment(ctx, params)
    targets, names = _named_targets(env, connection_count)
    managers = _breakers(env)
    env.console.print(f"test-rig simple-multi-connection: {len(targets)} connections")
    try:
        outcomes = run_async(lambda: run_simple(targets, managers,
                                                timeout=env.config.test.timeout_secs))
    except KeyboardInterrupt:
        if env.json_path:
            write_json(env.json_path, {"command": "simple-multi-connection", "ok": False, "complete": False,
                                       "error": "interrupted"})
        raise
    failed = _print_outcomes(env, names, outcomes)
    if env.json_path:
        write_json(env.json_path, {"command": "simple-multi-connection", "ok": failed == 0, "complete": True,
                                   "connections": [dict(o.to_dict(), name=n) for n, o in zip(names, outcomes,
                                                                                          strict=True)]})
    if env.junit_path:
        _junit_outcomes(env.junit_path, "simple-multi-connection", names, outcomes)
    if failed:
        sys.exit(1)


@main.command("multi-connection")
@common_options
@click.option("--connection-count", type=click.IntRange(1, 10_000), default=None,
              help="Connections (default: the configured `connections`, else 5).")
@click.option("--coordination-timeout", type=click.FloatRange(0.1, None), default=30.0, show_default=True,
              help="Seconds to wait for all connections to be ready.")
@click.pass_context
@guarded
def multi_connection(ctx: click.Context, /, connection_count: int | None, coordination_timeout: float,
                     **params: Any) -> None:
    """N state machines under the coordinator: events, shared state, a readiness barrier."""
    from .multi import run_coordinated

    env = build_environment(ctx, params)
    targets, names = _named_targets(env, connection_count)
    managers = _breakers(env)
    env.console.print(f"test-rig multi-connection: {len(targets)} connections under the coordinator")
    env.console.print("events:")
    from .coordinator import EventLog

    events = EventLog()
    events.add_listener(lambda ev: env.console.print(f"  {ev}"))
    run = None
    try:
        run = run_async(lambda: run_coordinated(
            targets, names, managers, timeout=env.config.test.timeout_secs,
            coordination_timeout=coordination_timeout, events=events))
    finally:
        if env.json_path:
            if run is not None:
                data = {"command": "multi-connection", "ok": all(o.result.ok for o in run.outcomes), "complete": True}
                data.update(run.to_dict())
            else:  # interrupted or failed: keep the events seen so far
                data = {"command": "multi-connection", "ok": False, "complete": False,
                        "events": [e.to_dict() for e in events.events]}
            write_json(env.json_path, data)
    env.console.print("results:")
    failed = _print_outcomes(env, names, run.outcomes)
    env.console.print("final shared state:")
    env.console.print(json.dumps(run.shared.to_dict(), indent=2), markup=False)
    if env.junit_path:
        _junit_outcomes(env.junit_path, "multi-connection", names, run.outcomes)
    if failed:
        sys.exit(1)


# --------------------------------------------------------------------------- plugins


@main.command("run")
@common_options
@click.argument("targets", nargs=-1, required=True)
@click.option("--state", default="TestingConnection", show_default=True,
              help="The state of the standard flow each handler is registered for.")
@click.pass_context
@guarded
def run_cmd(ctx: click.Context, /, targets: tuple[str, ...], state: str, **params: Any) -> None:
    """Run Python handlers: a directory (every test_*.py), a file, module:Class or an entry-point name."""
    from .plugins import load
    from .report import write_junit
    from .runner import STANDARD_STATES, HandlerRun, junit_suites, run_handler

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
                path = " → ".join(run.result.path_names) if run.result else "(not started)"
                env.console.print(f"  [red]FAIL[/] {h.source}: {run.message}")
                env.console.print(f"       states: {path}")

    try:
        run_async(go)
    finally:
        if env.json_path:
            write_json(env.json_path, {"command": "run", "state": state, "ok": all(r.ok for r in runs)
                                       and len(runs) == len(loaded), "results": [r.to_dict() for r in runs]})
        if env.junit_path:
            write_junit(env.junit_path, junit_suites(runs))
    failed = sum(not r.ok for r in runs)
    env.console.print(f"{len(runs) - failed} passed, {failed} failed")
    if failed:
        sys.exit(1)


# --------------------------------------------------------------------------- bench


@main.group()
def bench() -> None:
    """Free-running workloads that measure throughput and latency."""


@bench.command("point-select")
@common_options
@click.option("--connections", type=click.IntRange(1, 100_000), default=8, show_default=True)
@click.option("--duration", type=click.FloatRange(0.1, None), default=10.0, show_default=True, help="Seconds.")
@click.option("--table-size", type=click.IntRange(1, 100_000_000), default=10_000, show_default=True)
@click.option("--warmup", type=click.FloatRange(0, None), default=0.0, show_default=True, help="Seconds.")
@click.option("--seed", type=int, default=0, show_default=True)
@click.pass_context
@guarded
def bench_point_select(ctx: click.Context, /, connections: int, duration: float, table_size: int, warmup: float,
                       seed: int, **params: Any) -> None:
    """Point selects by random id on a sysbench-like table, N connections, for a duration."""
    from .bench import run_point_select
    from .report import Case, Suite, write_junit
    from .resilience import CircuitBreaker, create_db_circuit_breaker_config

    env = build_environment(ctx, params)
    target = env.target()
    breaker = CircuitBreaker(create_db_circuit_breaker_config(), name=target.address,
                             on_transition=lambda t: env.err_console.print(
                                 f"circuit {t.from_state.value} → {t.to_state.value}: {t.reason}"))
    env.console.print(f"test-rig bench point-select: {connections} connections, {duration:g} s, "
                      f"{table_size} rows, against {target.address}")
    env.quiet_retries = True  # with many workers reconnecting, the breaker's transitions tell the story
    manager = env.manager(breaker=breaker, overall_timeout=max(duration, env.config.database.timeout_secs))
    partial: list[Any] = []
    try:
        result = run_async(lambda: run_point_select(target, connections=connections, duration=duration,
                                                    table_size=table_size, manager=manager, seed=seed, warmup=warmup,
                                                    on_interrupt=partial.append))
    except KeyboardInterrupt:
        if env.json_path:  # what ran before Ctrl-C is kept
            write_json(env.json_path, partial[0].to_dict() if partial else
                       {"command": "bench", "complete": False, "error": "interrupted before the load started"})
        raise
    data = result.to_dict()
    if env.json_path:
        write_json(env.json_path, data)
    if env.junit_path:
        suite = Suite("bench")
        suite.add(Case("point-select", "test_rig.bench", result.run.seconds))
        write_junit(env.junit_path, [suite])
    env.console.print(f"qps {data['qps']:.1f}  operations {data['operations']}  errors {data['errors']}  "
                      f"p50 {data['p50_ms']:.3f} ms  p95 {data['p95_ms']:.3f} ms  p99 {data['p99_ms']:.3f} ms  "
                      f"max {data['max_ms']:.3f} ms")
    if data["errors"]:
        env.console.print(f"errors by code: {data['errors_by_code']}; reconnects {data['reconnects']}")
    env.console.print("timeline (ops/s): " + " ".join(str(t["ops"]) for t in data["timeline"]))


# --------------------------------------------------------------------------- isolation


@main.command("isolation")
@common_options
@extension_options
@click.option("--txn-mode", type=click.Choice(["pessimistic", "optimistic", "both"]), default=None,
              help="TiDB transaction mode(s) for read-committed and repeatable-read (default both).")
@click.option("--session-var", "session_vars", multiple=True, metavar="NAME=VALUE",
              help="A SESSION variable for every connection of the run (repeatable).")
@click.option("--test", "only_tests", multiple=True, metavar="NAME",
              help="Run only these catalogue tests (repeatable; default: all).")
@click.option("--expect", "expect", default=None, metavar="PROFILE",
              help="Compare with a profile of expected outcomes (mysql-innodb, tidb, or a .toml file).")
@click.option("--explain", "explain_test", default=None, metavar="TEST",
              help="Print TEST's step log at each level as a replayable per-connection SQL script.")
@click.option("--block-window", type=click.FloatRange(0.01, 10), default=None,
              help="Seconds after which a step counts as blocked (default isolation.block_window_ms).")
@click.pass_context
@guarded
def isolation_cmd(ctx: click.Context, /, txn_mode: str | None, session_vars: tuple[str, ...],
                  only_tests: tuple[str, ...], expect: str | None, explain_test: str | None,
                  block_window: float | None, **params: Any) -> None:
    """Run the Hermitage anomaly catalogue at every isolation level the server accepts."""
    from .isolation.catalogue import ALL_TESTS, CATALOGUE
    from .isolation.report import (
        LEGEND,
        compare,
        explain,
        junit_suite,
        load_profile,
        markdown_table,
        results_table,
    )
    from .isolation.runner import RunSettings, TestResult, plan_levels
    from .report import write_junit

    unknown = [t for t in (*only_tests, *([explain_test] if explain_test else [])) if t not in CATALOGUE]
    if unknown:
        raise UsageError(f"Unknown isolation test {unknown[0]!r}; choose from {', '.join(CATALOGUE)}.")
    profile = load_profile(expect) if expect else None
    env = build_environment(ctx, params)
    cfg = env.config
    variables: dict[str, Any] = dict(cfg.session_variables)
    for item in session_vars:
        name, value = parse_session_var(item)
        variables[name] = value
    tests = [CATALOGUE[t] for t in only_tests] if only_tests else list(ALL_TESTS)
    settings = RunSettings(block_window=block_window or cfg.isolation.block_window_ms / 1000,
                           lock_wait_timeout=cfg.isolation.lock_wait_timeout_secs, session_variables=variables)
    # The run applies session variables itself, per level, after its own defaults.
    target = dataclasses.replace(env.target(), session_variables={})
    results: list[TestResult] = []
    scaled: list[Any] = []
    server_info: dict[str, Any] = {}
    scaled_params = (cfg.test.rows, cfg.isolation.concurrent_connections)

    async def go() -> None:
        from .db import connect
        from .isolation.runner import run_catalogue

        manager = env.manager()
        probe = await manager.execute_with_resilience("connect", lambda: connect(target, database=False))
        server_info.update(probe.server.to_dict())
        await probe.close()
        levels = plan_levels(probe.server, cfg.isolation.isolation_level, txn_mode or cfg.isolation.txn_mode)
        env.console.print(f"test-rig isolation: {len(tests)} tests × {len(levels)} level(s) on {probe.server.kind} "
                          f"{probe.server.version} at {target.address}")
        await run_catalogue(target, tests, levels, settings, manager=manager, results=results,
                            scaled=scaled_params, scaled_results=scaled)

    interrupted = False
    try:
        run_async(go)
    except KeyboardInterrupt:
        interrupted = True
    diffs = compare(results, profile) if profile is not None else []
    if env.json_path:
        write_json(env.json_path, {
            "command": "isolation", "server": server_info, "session_variables": variables,
            "complete": not interrupted, "profile": expect, "differences": diffs,
            "results": [r.to_dict() for r in results], "scaled": [s.to_dict() for s in scaled]})
    if env.junit_path:
        write_junit(env.junit_path, [junit_suite(results, diffs)])
    if results:
        table = results_table(results, tests)
        if not env.console.is_terminal:  # a file or pipe gets the whole table, never an 80-column squeeze
            env.console.width = max(env.console.width, 40 + sum(len(t.name) + 3 for t in tests))
        env.console.print(table)
        env.console.print(LEGEND)
    for s in scaled:
        what = (f"{s.lost_updates} lost update(s)" if s.lost_updates is not None
                else f"{s.violations} shift(s) left with nobody on call")
        env.console.print(f"{s.test} at {s.isolation}{f' ({s.txn_mode})' if s.txn_mode else ''}: {s.rows} rows, "
                          f"{s.transactions} transactions, {s.committed} committed: {what}")
    if explain_test:
        for r in results:
            if r.test == explain_test:
                env.console.print(explain(r, CATALOGUE[explain_test], variables), markup=False, highlight=False)
                env.console.print()
    if interrupted:
        env.console.print("[yellow]interrupted[/]: the results above are those that finished; the run's schema "
                          "was dropped")
        sys.exit(130)
    if profile is not None:
        if diffs:
            env.console.print(f"[red]{len(diffs)} cell(s) differ from profile {expect}:[/]")
            for d in diffs:
                env.console.print(f"  {d}")
            sys.exit(1)
        env.console.print(f"[green]every cell that profile {expect} states agrees[/]")
    if env.verbose:
        env.console.print(markdown_table(results, tests), markup=False)


# --------------------------------------------------------------------------- config


@main.command("config-gen")
@click.option("-o", "--output", default=None, help="Output file (default tidb_config.json or .toml).")
@click.option("-f", "--format", "fmt", type=click.Choice(["json", "toml"]), default=None,
              help="File format (default: from the output's extension, else json).")
@click.option("--host", default=None, help="Database host HOST:PORT.")
@click.option("--username", default=None, help="Database user name.")
@click.option("--database", default=None, help="Database name.")
@click.option("--log-level", default=None, type=click.Choice(["debug", "info", "warn", "warning", "error"]))
@click.option("-v", "--verbose", is_flag=True, default=False)
@extension_options
@click.pass_context
@guarded
def config_gen(ctx: click.Context, /, output: str | None, fmt: str | None, **params: Any) -> None:
    """Write a complete configuration file (extensions add their own options; see --help)."""
    import tomli_w

    if fmt is None:
        fmt = "toml" if output and output.lower().endswith(".toml") else "json"
    output = output or f"tidb_config.{fmt}"
    values: dict[str, Any] = {}
    mapping = {"host": "database.host", "username": "database.username", "database": "database.database",
               "log_level": "logging.level"}
    names: dict[str, str] = {}
    for param, dotted in mapping.items():
        if params.get(param) is not None:
            values[dotted] = params[param]
            names[dotted] = "--" + param.replace("_", "-")
    given = {k: v for k, v in params.items() if v is not None and _given(ctx, k)}
    values.update(extension_values(extensions.all(), given))
    cfg = load_config(None, values, environ={}, cli_names=names, cwd=Path("/nonexistent")).config
    data = cfg.file_dict()
    text = tomli_w.dumps(data) if fmt == "toml" else json.dumps(data, indent=2) + "\n"
    Path(output).write_text(text, encoding="utf-8")
    click.echo(f"Configuration saved to: {output}")
    click.echo("Use it with any test, for example:")
    click.echo(f"  test-rig basic -c {output}")
    click.echo(f"  test-rig isolation -c {output}")
    click.echo(f"  test-rig show-config -c {output}")
    click.echo("Set the password with TIDB_PASSWORD or at the prompt rather than in the file.")
    for ext in extensions.all():
        click.echo(f"extension {ext.get_extension_name()}: {ext.get_help_text()}")


@main.command("show-config")
@common_options
@extension_options
@click.option("--sources", is_flag=True, default=False, help="Also show which source set each key.")
@click.pass_context
@guarded
def show_config(ctx: click.Context, /, sources: bool, **params: Any) -> None:
    """Print the effective configuration as JSON (password masked)."""
    loaded, _, _ = load_for_command(ctx, params)
    data: dict[str, Any] = loaded.config.public_dict()
    if sources:
        data = {"config": data, "config_file": str(loaded.path) if loaded.path else None,
                "sources": loaded.sources()}
    click.echo(json.dumps(data, indent=2))


# --------------------------------------------------------------------------- sandbox


@main.group()
def sandbox() -> None:
    """A throwaway local MariaDB server on a free loopback port."""


_dir_option = click.option("--dir", "directory", default=None,
                           help="Sandbox directory (default $TEST_RIG_SANDBOX_DIR or ~/.local/state/test-rig/sandbox).")


@sandbox.command("start")
@_dir_option
@click.option("--port", type=click.IntRange(1, 65535), default=None, help="Port (default: a free one).")
@click.option("--server", type=click.Choice(["mariadbd", "mysqld", "tidb-server"]), default=None)
@click.option("--max-connections", type=click.IntRange(10, 100_000), default=2000)
@click.option("--tls", is_flag=True, default=False,
              help="Serve TLS with a private CA (sandbox env then sets verify-identity and the CA file).")
@click.option("-v", "--verbose", is_flag=True, default=False)
@guarded
def sandbox_start(directory: str | None, port: int | None, server: str | None, max_connections: int, tls: bool,
                  verbose: bool) -> None:
    """Start the sandbox server (initialising it on first use)."""
    from .sandbox import Sandbox

    box = Sandbox(Path(directory) if directory else None, server=server, max_connections=max_connections, tls=tls)
    st = box.start(port)
    click.echo(f"sandbox {st.kind} running on {st.host}:{st.port} (pid {st.pid}, dir {box.dir})")
    click.echo('point test-rig at it with: eval "$(test-rig sandbox env)"')


@sandbox.command("stop")
@_dir_option
@click.option("--destroy", is_flag=True, default=False, help="Also delete the data directory.")
@click.option("-v", "--verbose", is_flag=True, default=False)
@guarded
def sandbox_stop(directory: str | None, destroy: bool, verbose: bool) -> None:
    """Stop the sandbox server."""
    from .sandbox import Sandbox

    box = Sandbox(Path(directory) if directory else None)
    was = box.stop()
    if destroy:
        box.destroy()
    click.echo("sandbox stopped" if was else "no sandbox was running")


@sandbox.command("status")
@_dir_option
@click.option("-v", "--verbose", is_flag=True, default=False)
@guarded
def sandbox_status(directory: str | None, verbose: bool) -> None:
    """Say whether the sandbox is running; exit 1 when it is not."""
    from .sandbox import Sandbox

    box = Sandbox(Path(directory) if directory else None)
    st = box.running()
    if st:
        click.echo(f"running: {st.kind} on {st.host}:{st.port} (pid {st.pid}, dir {box.dir})")
    else:
        click.echo(f"not running (dir {box.dir})")
        sys.exit(1)


@sandbox.command("env")
@_dir_option
@click.option("-v", "--verbose", is_flag=True, default=False)
@guarded
def sandbox_env(directory: str | None, verbose: bool) -> None:
    """Print shell exports that point test-rig at the sandbox."""
    from .sandbox import Sandbox

    for line in Sandbox(Path(directory) if directory else None).env_lines():
        click.echo(line)


__all__ = ["UsageError", "build_environment", "common_options", "guarded", "main"]

if __name__ == "__main__":  # pragma: no cover
    main()
