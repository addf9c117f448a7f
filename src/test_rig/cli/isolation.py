"""`test-rig isolation`: the Hermitage catalogue at every level the server accepts, judged from evidence
(isolation.suite.run_configured), and its summary (isolation.console)."""

from __future__ import annotations

from typing import Any

import click

from test_rig.cli.common import build_environment, command, extension_options, given, html_options
from test_rig.config import parse_session_var
from test_rig.environment import run_feature
from test_rig.isolation import console
from test_rig.isolation.report import junit_suite, load_profile
from test_rig.isolation.suite import run_configured, select_tests
from test_rig.options import opt


@command("isolation")
@html_options
@extension_options
@opt("--txn-mode", click.Choice(["pessimistic", "optimistic", "both"]), None,
     "TiDB transaction mode(s) for read-committed and repeatable-read (default both).")
@opt("--session-var session_vars", multiple=True, metavar="NAME=VALUE",
     help="A SESSION variable for every connection of the run (repeatable).")
@opt("--test only_tests", multiple=True, metavar="NAME",
     help="Run only these catalogue tests (repeatable; default: all).")
@opt("--expect expect", metavar="PROFILE",
     help="Compare with a profile of expected outcomes (mysql-innodb, tidb, or a .toml file).")
@opt("--explain explain_test", metavar="TEST",
     help="Print TEST's step log at each level as a replayable per-connection SQL script.")
@opt("--block-window", click.FloatRange(0.01, 10), None, "Seconds after which a running step is suspected blocked "
     "and the server is asked (default isolation.block_window_ms).")
def isolation_cmd(ctx: click.Context, /, txn_mode: str | None, session_vars: tuple[str, ...],
                  only_tests: tuple[str, ...], expect: str | None, explain_test: str | None,
                  block_window: float | None, **params: Any) -> None:
    """Run the Hermitage anomaly catalogue at every isolation level the server accepts."""
    tests = select_tests(only_tests, explain_test)
    profile = (expect, load_profile(expect)) if expect else None
    env = build_environment(ctx, params, own="a schema of its own (rig_iso_...)")
    variables = [parse_session_var(item) for item in session_vars]
    target = env.target()
    on_start, on_result = console.progress(env.console, tests, target.address,
                                           txn_mode if given(ctx, "txn_mode") else None)
    run = run_feature(lambda: run_configured(target, tests, env.config, manager=env.manager(), txn_mode=txn_mode,
                                             session_variables=variables, block_window=block_window,
                                             profile=profile, on_start=on_start, on_result=on_result))
    console.render(env.console, run, tests, explain_test, verbose=env.verbose)
    # a run stopped by an error: guarded prints its sentence (stderr) and exits 1, as for every error of a run
    env.conclude(run.to_result(), [junit_suite(run.results, run.differences)], ending=run.failure)
