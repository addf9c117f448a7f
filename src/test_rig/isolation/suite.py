"""The isolation command's run: probe the server, plan its levels, run the catalogue (and the scaled
variants) at each, compare with a profile of expected outcomes, and return what was seen as the command's
result, also when the run was interrupted or stopped by an error."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from test_rig.db import ServerInfo, Target, connect
from test_rig.errors import RigError, UsageError
from test_rig.isolation.catalogue import ALL_TESTS, CATALOGUE, UNDECIDED, IsolationTest
from test_rig.isolation.report import check_coverage, compare, load_profile
from test_rig.isolation.runner import (
    Level,
    LevelSession,
    RunSettings,
    Schema,
    TestResult,
    plan_levels,
    run_catalogue,
)
from test_rig.isolation.scaled import lost_update, write_skew
from test_rig.options import option
from test_rig.resilience import ResilientConnectionManager
from test_rig.results import RunResult, Validity

if TYPE_CHECKING:
    from test_rig.config import AppConfig, SessionValue


@dataclass
class SuiteRun:
    """What `run_suite` saw: the server, the levels planned, and results as they came; `run_isolation` adds
    how the run ended and the comparison with a profile."""

    server: dict[str, Any] = field(default_factory=dict)
    levels: list[Level] = field(default_factory=list)
    results: list[TestResult] = field(default_factory=list)
    scaled: list[Any] = field(default_factory=list)
    session_variables: dict[str, Any] = field(default_factory=dict)
    #: the profile compared with (its name or path as given), and every cell that differs from it, one line each
    profile: str | None = None
    differences: list[str] = field(default_factory=list)
    complete: bool = True
    error: str | None = None
    #: the run's schema when it could not be dropped (results.judge: the run fails, and says so)
    left_on_server: list[str] = field(default_factory=list)
    #: the error that stopped the run, for the command to report as it always has (exit 1 and its sentence)
    failure: RigError | None = None

    @property
    def undecided(self) -> list[TestResult]:
        return [r for r in self.results if r.outcome == UNDECIDED]

    @property
    def observed(self) -> bool:
        """Whether any cell was decided (prevented or anomaly): a run of refused levels only observed nothing."""
        return any(r.verdict.validity is not Validity.UNKNOWN for r in self.results)

    def to_result(self) -> RunResult:
        """The command's result: `ok` is the run's own verdict on what it decided (no error, no difference from
        the profile); undecided cells, or a run that decided nothing, are counted in `undecided`."""
        open_cells = len(self.undecided)
        return RunResult("isolation", ok=self.error is None and not self.differences, complete=self.complete,
                         error=self.error, payload={
                             "server": self.server, "session_variables": self.session_variables,
                             "profile": self.profile, "differences": self.differences,
                             "failed": len(self.differences),
                             "undecided": open_cells or (0 if self.observed or not self.complete
                                                         or self.error else 1),
                             "results": [r.to_dict() for r in self.results],
                             "scaled": [s.to_dict() for s in self.scaled],
                             **({"left_on_server": self.left_on_server} if self.left_on_server else {})})


async def run_suite(target: Target, tests: Sequence[IsolationTest], requested_level: str, txn_mode: str,
                    settings: RunSettings, *, manager: ResilientConnectionManager, run: SuiteRun,
                    scaled: tuple[int, int] | None = None,
                    on_start: Callable[[ServerInfo, list[Level]], None] | None = None,
                    on_result: Callable[[TestResult], None] | None = None) -> SuiteRun:
    """Probe the server, plan the levels (TiDB: per transaction mode), run the catalogue at each.

    `run` is filled as the run goes, so a caller that is interrupted still holds what finished.
    """
    probe = await manager.execute_with_resilience(f"connect to {target.address}",
                                                  lambda: connect(target, database=False))
    try:
        server = probe.server
    finally:
        await probe.close()
    run.server.update(server.to_dict())
    run.levels[:] = plan_levels(server, requested_level, txn_mode)
    if on_start is not None:
        on_start(server, run.levels)
    async def scaled_variants(session: LevelSession) -> None:
        assert scaled is not None
        run.scaled.append(await lost_update(session, *scaled))
        run.scaled.append(await write_skew(session, *scaled))

    schema = Schema(target)
    try:
        await run_catalogue(target, tests, run.levels, settings, manager=manager, results=run.results,
                            on_result=on_result, per_level=scaled_variants if scaled else None,
                            lanes=scaled[1] if scaled else 0, schema=schema)
    finally:
        if schema.created and not schema.dropped:
            run.left_on_server.append(schema.name)
    return run


async def run_isolation(target: Target, tests: Sequence[IsolationTest], requested_level: str, txn_mode: str,
                        settings: RunSettings, *, manager: ResilientConnectionManager,
                        profile: tuple[str, dict[str, dict[str, str]]] | None = None,
                        scaled: tuple[int, int] | None = None,
                        on_start: Callable[[ServerInfo, list[Level]], None] | None = None,
                        on_result: Callable[[TestResult], None] | None = None) -> SuiteRun:
    """The isolation command's run: the catalogue at every planned level (`run_suite`; the run applies the
    session variables itself, per level, after its own defaults, so `target`'s own are not used), then the
    comparison with `profile` (its name and cells). Returns what was seen, also when it did not finish: a
    cancellation (SIGINT, SIGTERM) gives `complete=False` with "interrupted by ..." once the run's schema is
    dropped; an error of the run gives `complete=False`, its sentence in `error` and the error in `failure`.
    Bad input (UsageError) propagates."""
    from test_rig.environment import PROGRAM_STOP

    run = SuiteRun(session_variables=dict(settings.session_variables),
                   profile=profile[0] if profile is not None else None)

    def started(server: ServerInfo, levels: list[Level]) -> None:
        if profile is not None:  # a profile that states nothing of this run is bad input, before any cell runs
            check_coverage(profile[0], profile[1], levels, tests)
        if on_start is not None:
            on_start(server, levels)

    try:
        await run_suite(dataclasses.replace(target, session_variables={}), tests, requested_level, txn_mode,
                        settings, manager=manager, run=run, scaled=scaled, on_start=started, on_result=on_result)
    except asyncio.CancelledError:
        run.complete, run.error = False, PROGRAM_STOP.reason()
    except UsageError:
        raise
    except RigError as e:
        run.complete, run.error, run.failure = False, e.message, e
    if profile is not None:
        run.differences = compare(run.results, profile[1])
    return run


@dataclass(frozen=True)
class IsolationOptions:
    """What the `isolation` command is asked, as given: each field with its default and help (test_rig.options:
    the command's options are made from them)."""

    txn_mode: str | None = option(None, "TiDB transaction mode(s) for read-committed and repeatable-read (default "
                                  "both).", choices=("pessimistic", "optimistic", "both"))
    session_vars: tuple[str, ...] = option((), "A SESSION variable for every connection of the run (repeatable).",
                                           flag="--session-var", metavar="NAME=VALUE")
    only_tests: tuple[str, ...] = option((), "Run only these catalogue tests (repeatable; default: all).",
                                         flag="--test", metavar="NAME")
    expect: str | None = option(None, "Compare with a profile of expected outcomes (mysql-innodb, tidb, or a .toml "
                                "file).", metavar="PROFILE")
    explain_test: str | None = option(None, "Print TEST's step log at each level as a replayable per-connection SQL "
                                      "script.", flag="--explain", metavar="TEST")
    block_window: float | None = option(None, "Seconds after which a running step is suspected blocked and the "
                                        "server is asked (default isolation.block_window_ms).", low=0.01, high=10)

    def checked(self) -> tuple[list[IsolationTest], tuple[str, dict[str, dict[str, str]]] | None,
                               list[tuple[str, SessionValue]]]:
        """The tests, the profile to compare with (None without --expect) and the session variables asked for;
        UsageError for an unknown test, a profile that cannot be read or a variable not NAME=VALUE."""
        from test_rig.config import parse_session_var

        tests = select_tests(self.only_tests, self.explain_test)
        profile = (self.expect, load_profile(self.expect)) if self.expect else None
        return tests, profile, [parse_session_var(item) for item in self.session_vars]


def select_tests(names: Sequence[str], explain: str | None = None) -> list[IsolationTest]:
    """The catalogue tests `names` ask for (all when none), checking `explain`'s name too; raises UsageError
    for a name the catalogue does not hold."""
    unknown = [t for t in (*names, *([explain] if explain else [])) if t not in CATALOGUE]
    if unknown:
        raise UsageError(f"Unknown isolation test {unknown[0]!r}; choose from {', '.join(CATALOGUE)}.")
    return [CATALOGUE[t] for t in names] if names else list(ALL_TESTS)


async def run_configured(target: Target, tests: Sequence[IsolationTest], config: AppConfig, *,
                         manager: ResilientConnectionManager, txn_mode: str | None = None,
                         session_variables: Sequence[tuple[str, SessionValue]] = (),
                         block_window: float | None = None,
                         profile: tuple[str, dict[str, dict[str, str]]] | None = None,
                         on_start: Callable[[ServerInfo, list[Level]], None] | None = None,
                         on_result: Callable[[TestResult], None] | None = None) -> SuiteRun:
    """`run_isolation` as the configuration asks for it (levels, transaction modes, block window, lock wait,
    the scaled variants' rows and connections), the given values in front: `txn_mode`, `block_window`, and
    `session_variables` after the configured ones."""
    iso = config.isolation
    variables: dict[str, Any] = {**config.session_variables, **dict(session_variables)}
    settings = RunSettings(block_window=block_window or iso.block_window_ms / 1000,
                           lock_wait_timeout=iso.lock_wait_timeout_secs, session_variables=variables)
    return await run_isolation(target, tests, iso.isolation_level, txn_mode or iso.txn_mode, settings,
                               manager=manager, profile=profile, scaled=(config.test.rows, iso.concurrent_connections),
                               on_start=on_start, on_result=on_result)
