"""`test-rig isolation`: the Hermitage catalogue at every level the server accepts, judged from evidence
(isolation.suite.run_configured), and its summary (isolation.console)."""

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
from test_rig.isolation import console
from test_rig.isolation.report import junit_suite, load_profile
from test_rig.isolation.suite import run_configured, select_tests


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
    tests = select_tests(only_tests, explain_test)
    profile = (expect, load_profile(expect)) if expect else None
    env = build_environment(ctx, params)
    if given(ctx, "database"):
        env.console.print("note: -d/--database is ignored: isolation runs in a schema of its own (rig_iso_...), "
                          "dropped at the end")
    variables = [parse_session_var(item) for item in session_vars]
    target = env.target()
    on_start, on_result = console.progress(env.console, tests, target.address,
                                           txn_mode if given(ctx, "txn_mode") else None)
    run = run_feature(lambda: run_configured(target, tests, env.config, manager=env.manager(), txn_mode=txn_mode,
                                             session_variables=variables, block_window=block_window,
                                             profile=profile, on_start=on_start, on_result=on_result))
    console.render(env.console, run, tests, explain_test, verbose=env.verbose)
    result, suites = run.to_result(), [junit_suite(run.results, run.differences)]
    if run.failure is not None:  # guarded prints its sentence (stderr) and exits 1, as for every error of a run
        env.write_reports(result, suites)
        raise run.failure
    env.conclude(result, suites)
