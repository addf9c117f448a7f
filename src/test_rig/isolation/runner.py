"""Runs the catalogue at each isolation level (and TiDB transaction mode) through the coordinator's
scripted mode, in a schema of the run's own that is dropped afterwards, even on Ctrl-C.

Isolation steps are never retried: a retried step would hide the very anomaly under test. Only the
set-up (schema, table, rows) goes through the resilience layer.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..config import SessionValue
from ..coordinator import Coordinator, Step, StepRecord
from ..db import ISOLATION_LEVELS, Connection, ServerInfo, Target, connect, drop_schema, quote_ident, sql_literal
from ..errors import DatabaseError, RigError, UsageError, error_code
from ..resilience import ResilientConnectionManager
from ..results import RunResult
from .catalogue import ANOMALY, PREVENTED, SETUP, UNDECIDED, UNSUPPORTED, IsolationTest, Observation, StepLog, judge


@dataclass
class TestResult:
    __test__ = False

    test: str
    isolation: str
    txn_mode: str | None
    outcome: str
    explanation: str
    steps: list[StepLog] = field(default_factory=list)
    final: dict[int, int] | None = None
    seconds: float = 0.0
    #: the script ran out of time; steps still blocked then were abandoned
    timed_out: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {"test": self.test, "isolation": self.isolation, "txn_mode": self.txn_mode, "outcome": self.outcome,
                "explanation": self.explanation, "steps": [s.to_dict() for s in self.steps],
                "final": None if self.final is None else [[k, v] for k, v in sorted(self.final.items())],
                "seconds": round(self.seconds, 3), "timed_out": self.timed_out}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TestResult:
        """The result `to_dict` wrote (one of a JSON report's "results"), steps included, so it can be judged
        again (`judged_again`)."""
        final = data.get("final")
        return cls(str(data["test"]), str(data["isolation"]), data.get("txn_mode"), str(data["outcome"]),
                   str(data["explanation"]), [StepRecord.from_dict(s) for s in data.get("steps") or []],
                   None if final is None else {int(k): int(v) for k, v in final},
                   float(data.get("seconds") or 0.0), bool(data.get("timed_out")))

    def judged_again(self, test: IsolationTest) -> tuple[str, str]:
        """(outcome, explanation) of `test`'s judge over this result's steps and final table: what the run
        said, when nothing was lost on the way (an unsupported level has no steps, and keeps its outcome)."""
        if self.outcome == UNSUPPORTED or self.final is None:
            return self.outcome, self.explanation
        verdict = judge(test, Observation(self.steps, self.final))
        return verdict.outcome, verdict.explanation + (_TIMED_OUT if self.timed_out else "")


_TIMED_OUT = " (the script timed out; steps still blocked were abandoned)"


@dataclass
class RunSettings:
    block_window: float = 0.15
    lock_wait_timeout: int = 2
    script_timeout: float = 20.0
    session_variables: Mapping[str, SessionValue] = field(default_factory=dict)


@dataclass
class Level:
    """One row of the results table: an isolation level, and on TiDB a transaction mode."""

    isolation: str
    txn_mode: str | None = None

    @property
    def label(self) -> str:
        return self.isolation + (f" ({self.txn_mode})" if self.txn_mode else "")


def plan_levels(server: ServerInfo, requested: str, txn_mode: str) -> list[Level]:
    levels = list(ISOLATION_LEVELS) if requested == "all" else [requested]
    if server.kind != "tidb":
        return [Level(lv) for lv in levels]
    modes = ["pessimistic", "optimistic"] if txn_mode == "both" else [txn_mode]
    out: list[Level] = []
    for lv in levels:
        if lv in ("read-committed", "repeatable-read"):
            out.extend(Level(lv, m) for m in modes)
        else:
            out.append(Level(lv, modes[0]))
    return out


class Schema:
    """The run's own schema, named so that two runs never collide. The connection that creates it stays
    open until it drops it: under a per-user connection limit, a new connection for the drop could be
    refused while the run's own are still closing, and the schema would be left behind."""

    def __init__(self, target: Target) -> None:
        self.name = f"rig_iso_{uuid.uuid4().hex[:10]}"
        self.target = target.with_database(self.name)
        self._base = target
        self._admin: Connection | None = None

    async def create(self, manager: ResilientConnectionManager | None) -> None:
        async def go() -> Connection:
            admin = await connect(self._base, database=False)
            try:
                await admin.execute(f"CREATE DATABASE {quote_ident(self.name)}")
            except BaseException:
                await admin.close()
                raise
            return admin

        try:
            self._admin = await (manager.execute_with_resilience("create isolation schema", go) if manager
                                 else go())
        except RigError as e:
            if error_code(e) in (1044, 1142, 1227):
                raise RigError(f"User {self._base.user} may not create the run's own schema {self.name} ({e}); "
                               "grant it CREATE and DROP on `rig\\_iso\\_%` (GRANT CREATE, DROP, SELECT, INSERT, "
                               "UPDATE, DELETE ON `rig\\_iso\\_%`.* TO ...) or run as a user who can.") from e
            raise

    async def drop(self) -> None:
        await drop_schema(self._base, self.name, self._admin)
        self._admin = None


def run_defaults(settings: RunSettings) -> list[str]:
    """Defaults for a fast run; the user's session variables come after them and so win."""
    return [f"SET SESSION innodb_lock_wait_timeout = {int(settings.lock_wait_timeout)}"]


def user_settings(settings: RunSettings) -> list[str]:
    return [f"SET SESSION {name} = {sql_literal(value)}" for name, value in settings.session_variables.items()]


def level_settings(level: Level) -> list[str]:
    stmts = [f"SET SESSION tidb_txn_mode = '{level.txn_mode}'"] if level.txn_mode else []
    stmts.append(f"SET SESSION TRANSACTION ISOLATION LEVEL {level.isolation.replace('-', ' ').upper()}")
    return stmts


def session_setup(level: Level, settings: RunSettings) -> list[str]:
    return run_defaults(settings) + user_settings(settings) + level_settings(level)


#: Errors with which a server refuses an isolation level or transaction mode itself: TiDB's
#: unsupported isolation level, a value the variable does not take, a read-only variable.
LEVEL_REFUSALS = frozenset({8048, 1231, 1238, 1621})


class LevelRefused(DatabaseError):
    """The server refused the isolation level (or TiDB transaction mode) itself: the level is unsupported."""


async def _prepare(conn: Connection, level: Level, settings: RunSettings) -> None:
    """Apply the run's defaults, the user's session variables (a failure is bad input), then the
    level: a refusal of the level itself means the server does not support it (LevelRefused);
    any other failure is an error of the run."""
    for sql in run_defaults(settings):
        await conn.execute(sql)
    for sql in user_settings(settings):
        try:
            await conn.execute(sql)
        except DatabaseError as e:
            raise UsageError(f"`{sql}` failed on the server with {e}; check --session-var and "
                             "session_variables.") from None
    for sql in level_settings(level):
        try:
            await conn.execute(sql)
        except DatabaseError as e:
            if e.code in LEVEL_REFUSALS:
                raise LevelRefused(f"`{sql}` was refused: {e.message}", code=e.code) from None
            raise
    actual = await conn.isolation()
    if actual.replace("_", "-") != level.isolation:
        raise LevelRefused(f"the server kept isolation level {actual} when {level.isolation} was set", code=None)


class LevelSession:
    """Connections at one level, reused by every test of that level."""

    def __init__(self, schema: Schema, level: Level, settings: RunSettings, count: int = 3,
                 manager: ResilientConnectionManager | None = None) -> None:
        names = [f"T{i + 1}" for i in range(count)]
        self.coordinator = Coordinator([schema.target] * count, names=names, block_window=settings.block_window,
                                       script_timeout=settings.script_timeout)
        self.level = level
        self.settings = settings
        self.unsupported: str | None = None
        self.admin: Connection | None = None
        self.manager = manager

    async def open(self) -> None:
        failures = await self.coordinator.open(prepare=lambda c: _prepare(c, self.level, self.settings),
                                               manager=self.manager)
        if failures:
            await self.coordinator.close()
            first = next(iter(failures.values()))
            if isinstance(first, UsageError):
                raise first
            if all(isinstance(e, LevelRefused) for e in failures.values()):
                self.unsupported = str(first)
                return
            other = next(e for e in failures.values() if not isinstance(e, LevelRefused))
            raise RigError(f"Could not open the connections for {self.level.label}: {other}; this is not the "
                           "server refusing the level, so the run stops here.") from other
        self.admin = await connect(self.coordinator.targets[0])

    async def reset(self) -> None:
        """Fresh table, no open transactions; lanes lost to a timeout are reopened."""
        for name, conn in list(self.coordinator.connections.items()):
            try:
                await conn.execute("ROLLBACK")
            except DatabaseError:
                conn.abort()
                del self.coordinator.connections[name]
        missing = [n for n in self.coordinator.names if n not in self.coordinator.connections]
        for name in missing:
            conn = await connect(self.coordinator.targets[0])
            await _prepare(conn, self.level, self.settings)
            self.coordinator.connections[name] = conn
        assert self.admin is not None
        await self.admin.execute("DROP TABLE IF EXISTS test")
        for sql in SETUP:
            await self.admin.execute(sql)

    async def final_state(self) -> dict[int, int]:
        assert self.admin is not None
        rows = await self.admin.query("SELECT id, value FROM test ORDER BY id")
        return {int(r[0]): int(r[1]) for r in rows}

    async def close(self) -> None:
        await self.coordinator.close()
        if self.admin is not None:
            await self.admin.close()


async def run_test(session: LevelSession, test: IsolationTest) -> TestResult:
    loop = asyncio.get_running_loop()
    started = loop.time()
    level = session.level
    if session.unsupported is not None:
        return TestResult(test.name, level.isolation, level.txn_mode, UNSUPPORTED,
                          f"the server refused this level: {session.unsupported}")
    await session.reset()
    script = [Step(s.txn, s.sql, label=s.label) for s in test.steps]
    result = await session.coordinator.run_script(script)
    logs = result.steps
    final = await session.final_state()
    verdict = judge(test, Observation(logs, final))
    explanation = verdict.explanation + (_TIMED_OUT if result.timed_out else "")
    return TestResult(test.name, level.isolation, level.txn_mode, verdict.outcome, explanation, logs, final,
                      loop.time() - started, result.timed_out)


async def run_catalogue(target: Target, tests: Sequence[IsolationTest], levels: Sequence[Level],
                        settings: RunSettings, *, manager: ResilientConnectionManager | None = None,
                        on_result: Callable[[TestResult], None] | None = None,
                        results: list[TestResult] | None = None, schema: Schema | None = None,
                        scaled: tuple[int, int] | None = None, scaled_results: list[Any] | None = None,
                        ) -> list[TestResult]:
    """Every test at every level. Results are appended to `results` as they come, so a caller keeps
    what finished even if the run is interrupted. The schema is dropped in every case.

    `scaled` = (rows, transactions) also runs the scaled lost-update and write-skew variants at
    each supported level, appending to `scaled_results`.
    """
    from .scaled import lost_update, write_skew

    out = results if results is not None else []
    schema = schema or Schema(target)
    await schema.create(manager)
    try:
        for level in levels:
            lanes = max([len(t.transactions) for t in tests] + [scaled[1] if scaled else 0])
            session = LevelSession(schema, level, settings, count=lanes, manager=manager)
            await session.open()
            try:
                for test in tests:
                    res = await run_test(session, test)
                    out.append(res)
                    if on_result:
                        on_result(res)
                if scaled and session.unsupported is None and scaled_results is not None:
                    scaled_results.append(await lost_update(session, *scaled))
                    scaled_results.append(await write_skew(session, *scaled))
            finally:
                await session.close()
    finally:
        # Shielded so that Ctrl-C during the run still leaves nothing behind on the server.
        with contextlib.suppress(DatabaseError):
            await asyncio.shield(schema.drop())
    return out


async def run_one(target: Target, test: IsolationTest, isolation: str, *, txn_mode: str | None = None,
                  settings: RunSettings | None = None) -> TestResult:
    """One catalogue test at one level, in a schema of its own (for scripts and handlers)."""
    results = await run_catalogue(target, [test], [Level(isolation, txn_mode)], settings or RunSettings())
    return results[0]


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
    #: the error that stopped the run, for the command to report as it always has (exit 1 and its sentence)
    failure: RigError | None = None

    @property
    def undecided(self) -> list[TestResult]:
        return [r for r in self.results if r.outcome == UNDECIDED]

    @property
    def observed(self) -> bool:
        """Whether any cell was decided (prevented or anomaly): a run of refused levels only observed nothing."""
        return any(r.outcome in (PREVENTED, ANOMALY) for r in self.results)

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
                             "scaled": [s.to_dict() for s in self.scaled]})


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
    await run_catalogue(target, tests, run.levels, settings, manager=manager, results=run.results,
                        scaled=scaled, scaled_results=run.scaled, on_result=on_result)
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
    from ..environment import PROGRAM_STOP

    run = SuiteRun(session_variables=dict(settings.session_variables),
                   profile=profile[0] if profile is not None else None)
    try:
        await run_suite(dataclasses.replace(target, session_variables={}), tests, requested_level, txn_mode,
                        settings, manager=manager, run=run, scaled=scaled, on_start=on_start, on_result=on_result)
    except asyncio.CancelledError:
        run.complete, run.error = False, PROGRAM_STOP.reason()
    except UsageError:
        raise
    except RigError as e:
        run.complete, run.error, run.failure = False, e.message, e
    if profile is not None:
        from .report import compare

        run.differences = compare(run.results, profile[1])
    return run
