"""Runs the catalogue at each isolation level (and TiDB transaction mode) through the coordinator's
scripted mode, in a schema of the run's own that is dropped afterwards, even on Ctrl-C.

Isolation steps are never retried: a retried step would hide the very anomaly under test. Only the
set-up (schema, table, rows) goes through the resilience layer.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from test_rig.config import SessionValue
from test_rig.coordinator import Coordinator, Step, StepRecord
from test_rig.db import (
    ISOLATION_LEVELS,
    Connection,
    ServerInfo,
    Target,
    answer_lost,
    connect,
    drop_schema,
    quote_ident,
    sql_literal,
)
from test_rig.errors import DatabaseError, RigError, UsageError, lacks_schema_privilege
from test_rig.isolation.catalogue import SETUP, UNSUPPORTED, IsolationTest, Observation, StepLog, judge
from test_rig.report.files import level_label
from test_rig.resilience import ResilientConnectionManager
from test_rig.results import CELL, Verdict

log = logging.getLogger("test_rig.isolation.runner")


@dataclass
class TestResult:
    """One cell of the table: a catalogue test at a level, its verdict (results.CELL's words, or unsupported),
    and the evidence it was judged on (the steps and the final table)."""

    __test__ = False

    test: str
    isolation: str
    txn_mode: str | None
    verdict: Verdict
    steps: list[StepLog] = field(default_factory=list)
    final: dict[int, int] | None = None
    seconds: float = 0.0
    #: the script ran out of time; steps still blocked then were abandoned
    timed_out: bool = False

    @property
    def outcome(self) -> str:
        """The cell's word: prevented, anomaly, undecided, or unsupported (the JSON's "outcome")."""
        return self.verdict.outcome

    @property
    def explanation(self) -> str:
        """The verdict's evidence in words (the JSON's "explanation")."""
        return self.verdict.reason

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
        return cls(str(data["test"]), str(data["isolation"]), data.get("txn_mode"),
                   CELL.read(str(data["outcome"]), str(data["explanation"])),
                   [StepRecord.from_dict(s) for s in data.get("steps") or []],
                   None if final is None else {int(k): int(v) for k, v in final},
                   float(data.get("seconds") or 0.0), bool(data.get("timed_out")))

    def judged_again(self, test: IsolationTest) -> Verdict:
        """`test`'s judge over this result's steps and final table: the verdict the run gave, when nothing was
        lost on the way (an unsupported level has no steps, and keeps its verdict)."""
        if self.outcome == UNSUPPORTED or self.final is None:
            return self.verdict
        return _timed_out(judge(test, Observation(self.steps, self.final)), self.timed_out)


def _timed_out(verdict: Verdict, timed_out: bool) -> Verdict:
    """`verdict`, saying so when the script timed out."""
    return dataclasses.replace(verdict, reason=verdict.reason + _TIMED_OUT) if timed_out else verdict


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
        return level_label(self.isolation, self.txn_mode)


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
        #: whether the schema may have been made (a CREATE was answered, or sent and its answer lost), and then
        #: dropped: the run drops it (IF EXISTS) whenever it may have been made
        self.created = self.dropped = False

    async def create(self, manager: ResilientConnectionManager | None) -> None:
        async def go() -> Connection:
            admin = await connect(self._base, database=False)
            made = self.created
            self.created = True  # sent: made, unless the server answers with a refusal
            try:
                await admin.execute(f"CREATE DATABASE {quote_ident(self.name)}")
            except BaseException as e:
                if isinstance(e, DatabaseError) and e.code == 1007:  # the name is the run's own: an attempt
                    return admin  # before this one made it, and its answer was lost (retried here)
                if not answer_lost(e):
                    self.created = made
                await admin.close()
                raise
            return admin

        try:
            self._admin = await (manager.execute_with_resilience("create isolation schema", go) if manager
                                 else go())
        except RigError as e:
            if lacks_schema_privilege(e):
                raise RigError(f"User {self._base.user} may not create the run's own schema {self.name} ({e}); "
                               "grant it CREATE and DROP on `rig\\_iso\\_%` (GRANT CREATE, DROP, SELECT, INSERT, "
                               "UPDATE, DELETE ON `rig\\_iso\\_%`.* TO ...) or run as a user who can.") from e
            raise

    async def drop(self) -> None:
        await drop_schema(self._base, self.name, self._admin)
        self._admin = None
        self.dropped = True


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
        return TestResult(test.name, level.isolation, level.txn_mode,
                          CELL.read(UNSUPPORTED, f"the server refused this level: {session.unsupported}"))
    await session.reset()
    script = [Step(s.txn, s.sql, label=s.label) for s in test.steps]
    result = await session.coordinator.run_script(script)
    logs = result.steps
    final = await session.final_state()
    verdict = _timed_out(judge(test, Observation(logs, final)), result.timed_out)
    return TestResult(test.name, level.isolation, level.txn_mode, verdict, logs, final, loop.time() - started,
                      result.timed_out)


async def run_catalogue(target: Target, tests: Sequence[IsolationTest], levels: Sequence[Level],
                        settings: RunSettings, *, manager: ResilientConnectionManager | None = None,
                        on_result: Callable[[TestResult], None] | None = None,
                        results: list[TestResult] | None = None, schema: Schema | None = None,
                        per_level: Callable[[LevelSession], Awaitable[None]] | None = None, lanes: int = 0,
                        ) -> list[TestResult]:
    """Every test at every level. Results are appended to `results` as they come, so a caller keeps
    what finished even if the run is interrupted. The schema is dropped in every case.

    `per_level`, when given, runs after the tests at each supported level, on that level's session with at
    least `lanes` connections (the scaled variants: isolation.suite).
    """
    out = results if results is not None else []
    schema = schema or Schema(target)
    try:
        await schema.create(manager)
        for level in levels:
            session = LevelSession(schema, level, settings, count=max([len(t.transactions) for t in tests] + [lanes]),
                                   manager=manager)
            await session.open()
            try:
                for test in tests:
                    res = await run_test(session, test)
                    out.append(res)
                    if on_result:
                        on_result(res)
                if per_level is not None and session.unsupported is None:
                    await per_level(session)
            finally:
                await session.close()
    finally:
        # Shielded so that Ctrl-C during the run still leaves nothing behind on the server (`schema.dropped`
        # says whether it could).
        try:
            if schema.created:
                await asyncio.shield(schema.drop())
        except DatabaseError as e:
            log.warning("the run's schema %s could not be dropped: %s", schema.name, e)
    return out


async def run_one(target: Target, test: IsolationTest, isolation: str, *, txn_mode: str | None = None,
                  settings: RunSettings | None = None) -> TestResult:
    """One catalogue test at one level, in a schema of its own (for scripts and handlers)."""
    results = await run_catalogue(target, [test], [Level(isolation, txn_mode)], settings or RunSettings())
    return results[0]
