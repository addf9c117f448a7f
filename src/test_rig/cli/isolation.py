"""`test-rig isolation`: the Hermitage catalogue at every level the server accepts, judged from evidence."""

from __future__ import annotations

from typing import Any

import click

from test_rig.cli.common import (
    build_environment,
    common_options,
    extension_options,
    given,
    guarded,
    html_option,
    run_feature,
)
from test_rig.config import parse_session_var
from test_rig.db import ServerInfo
from test_rig.environment import PROGRAM_STOP, Environment
from test_rig.errors import UsageError
from test_rig.isolation.catalogue import ALL_TESTS, CATALOGUE, IsolationTest
from test_rig.isolation.report import LEGEND, explain, junit_suite, load_profile, markdown_table, results_table
from test_rig.isolation.runner import Level, RunSettings, TestResult
from test_rig.isolation.suite import SuiteRun, run_isolation


@click.command("isolation")
@common_options
@html_option
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
              help="Seconds after which a running step is suspected blocked and the server is asked "
                   "(default isolation.block_window_ms).")
@click.pass_context
@guarded
def isolation_cmd(ctx: click.Context, /, txn_mode: str | None, session_vars: tuple[str, ...],
                  only_tests: tuple[str, ...], expect: str | None, explain_test: str | None,
                  block_window: float | None, **params: Any) -> None:
    """Run the Hermitage anomaly catalogue at every isolation level the server accepts."""
    unknown = [t for t in (*only_tests, *([explain_test] if explain_test else [])) if t not in CATALOGUE]
    if unknown:
        raise UsageError(f"Unknown isolation test {unknown[0]!r}; choose from {', '.join(CATALOGUE)}.")
    profile = (expect, load_profile(expect)) if expect else None
    env = build_environment(ctx, params)
    if given(ctx, "database"):
        env.console.print("note: -d/--database is ignored: isolation runs in a schema of its own (rig_iso_...), "
                          "dropped at the end")
    cfg = env.config
    variables: dict[str, Any] = dict(cfg.session_variables)
    for item in session_vars:
        name, value = parse_session_var(item)
        variables[name] = value
    tests = [CATALOGUE[t] for t in only_tests] if only_tests else list(ALL_TESTS)
    settings = RunSettings(block_window=block_window or cfg.isolation.block_window_ms / 1000,
                           lock_wait_timeout=cfg.isolation.lock_wait_timeout_secs, session_variables=variables)
    target = env.target()

    def started(server: ServerInfo, levels: list[Level]) -> None:
        env.console.print(f"test-rig isolation: {len(tests)} tests × {len(levels)} level(s) on {server.kind} "
                          f"{server.version} at {target.address}")
        if server.kind != "tidb" and given(ctx, "txn_mode"):
            env.console.print(f"note: --txn-mode {txn_mode} is ignored: transaction modes exist only on TiDB, "
                              f"and this server is {server.kind}")

    judged: dict[str, int] = {}

    def progress(result: TestResult) -> None:
        label = result.isolation + (f" ({result.txn_mode})" if result.txn_mode else "")
        judged[label] = judged.get(label, 0) + 1
        if judged[label] == len(tests):
            env.console.print(f"  {label}: {len(tests)} test(s) judged")

    run = run_feature(lambda: run_isolation(
        target, tests, cfg.isolation.isolation_level, txn_mode or cfg.isolation.txn_mode, settings,
        manager=env.manager(), profile=profile, scaled=(cfg.test.rows, cfg.isolation.concurrent_connections),
        on_start=started, on_result=progress))
    data, suites = run.to_result().to_dict(), [junit_suite(run.results, run.differences)]
    _render(env, run, tests, explain_test)
    if run.failure is not None:
        env.write_reports(data, suites)
        raise run.failure  # guarded prints its sentence and exits 1, as for every error of a run
    if not run.complete:  # interrupted: the program's stop keeps this report, says so in one line, exits 130/143
        env.write_reports(data, suites)
        PROGRAM_STOP.raise_stop()
    env.conclude(data, suites)


def _render(env: Environment, run: SuiteRun, tests: list[IsolationTest], explain_test: str | None) -> None:
    """The console summary of a run, from what it returns."""
    results = run.results
    if results:
        table = results_table(results, tests)
        if not env.console.is_terminal:  # a file or pipe gets the whole table, never an 80-column squeeze
            env.console.width = max(env.console.width, 40 + sum(len(t.name) + 3 for t in tests))
        env.console.print(table)
        env.console.print(LEGEND)
    for s in run.scaled:
        what = (f"{s.lost_updates} lost update(s)" if s.lost_updates is not None
                else f"{s.violations} shift(s) left with nobody on call")
        env.console.print(f"{s.test} at {s.isolation}{f' ({s.txn_mode})' if s.txn_mode else ''}: {s.rows} rows, "
                          f"{s.transactions} transactions, {s.committed} committed: {what}")
    if explain_test:
        for r in results:
            if r.test == explain_test:
                env.console.print(explain(r, CATALOGUE[explain_test], run.session_variables), markup=False,
                                  highlight=False)
                env.console.print()
    if not run.complete:
        if run.failure is None:
            env.console.print("[yellow]interrupted[/]: the results above are those that finished; the run's "
                              "schema was dropped")
        return
    open_cells = run.undecided
    if open_cells:
        env.console.print(f"[yellow]{len(open_cells)} cell(s) undecided[/]: the run could not observe them")
        for r in open_cells:
            env.console.print(f"  {r.test} at {r.isolation}{f' ({r.txn_mode})' if r.txn_mode else ''}: "
                              f"{r.explanation}")
    elif not run.observed:
        env.console.print("[yellow]nothing was observed[/]: the server refused every level asked for")
    if run.profile is not None:
        if run.differences:
            env.console.print(f"[red]{len(run.differences)} cell(s) differ from profile {run.profile}:[/]")
            for d in run.differences:
                env.console.print(f"  {d}")
        else:
            env.console.print(f"[green]every cell that profile {run.profile} states agrees[/]")
    if env.verbose:
        env.console.print(markdown_table(results, tests), markup=False)
