"""`test-rig hunt`'s runner: the only part of hunt/ that talks to a server.

Each worker has a database of its own (`rig_hunt_<run>_w<n>`) and one for replays (`..._r`); all are dropped
at the end, also on Ctrl-C and SIGTERM (the coroutine is cancelled and its `finally` runs). A worker plays
rounds: a fresh schema and data, then query cases, each checked by every chosen oracle, with statements that
change data, indexes, statistics or the session in between. A mismatch or an unexpected error is a candidate;
it is replayed from the round's statement log on a fresh database, and only what reproduces is a finding
(the rest is counted as flaky). A finding is reduced within a time budget, signed, and grouped with the
same signature."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import re
import time
import uuid
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from test_rig.db import Connection, Target, answer_lost, connect, drop_schema
from test_rig.errors import (
    ConnectionError_,
    DatabaseError,
    RigError,
    TimeoutError_,
    UsageError,
    error_code,
    is_lost_connection,
    lacks_schema_privilege,
)
from test_rig.hunt import ast as A
from test_rig.hunt import render as R
from test_rig.hunt.batch import BATCH_STATEMENTS, Step, plan, send
from test_rig.hunt.compare import Row, jsonable
from test_rig.hunt.dialect import Dialect, dialect_for
from test_rig.hunt.expected import classify
from test_rig.hunt.finding import Finding, signature, write_sql
from test_rig.hunt.generator import GENERATOR_VERSION, Generator
from test_rig.hunt.oracles import ORACLES, Check, Mismatch, Oracle, Plans, case_parts
from test_rig.hunt.reduce import Reduced, creates_what_it_reads, reduce

#: Query cases per round before the worker starts again from a fresh schema, when every oracle runs; with k of
#: the eight, rounds are 8/k times as long and statements between queries 8/k times as rare, so the schema's
#: DDL and the statements between queries come at the same rate per check whichever oracles run (on TiDB a
#: CREATE INDEX costs the server 50 ms of CPU and a checked query 2-8 ms: one oracle alone spent more on DDL
#: than on its queries).
CASES_PER_ROUND = 100
#: How often a case is preceded by a statement between queries, when every oracle runs.
BETWEEN_RATE = 0.25
#: What in a server's own log means it failed (a Go panic it recovered from, a crash, a failed assertion).
SERVER_LOG_PANIC = re.compile(r"panic|fatal error:|SIGSEGV|got signal|Assertion .* failed|stack trace", re.I)
#: The session a TiDB log line is about (`[conn=2097266]`, the CONNECTION_ID() of that session).
SERVER_LOG_SESSION = re.compile(r"\[conn=(\d+)\]")


@dataclass
class HuntSpec:
    oracles: tuple[str, ...]
    duration: float | None = 10.0
    queries: int | None = None
    seed: int = 0
    connections: int = 1
    reduce_seconds: float = 30.0
    known: frozenset[str] = frozenset()
    out: Path | None = None
    log: Path | None = None
    #: oracles by name beyond the built-in ones (tests plant a bug with one)
    extra_oracles: dict[str, Oracle] = field(default_factory=dict)
    #: cases per round (None: CASES_PER_ROUND scaled to the oracles chosen, see there)
    cases_per_round: int | None = None
    #: with --processes: the worker processes in all, and this process's first worker number (workers are
    #: numbered across processes, so each one's statements are those of a one-process run's same worker)
    processes: int = 1
    first_worker: int = 0
    #: whether this process watches the sandbox's own log (with --processes, only the first: one report a line)
    watch_server_log: bool = True

    def oracle_objects(self) -> list[Oracle]:
        table: dict[str, Oracle] = {**ORACLES, **self.extra_oracles}
        return [table[name] for name in self.oracles]


@dataclass
class HuntStats:
    checked: Counter[str] = field(default_factory=Counter)
    #: checks not judged because a query hit an expected error, per oracle
    skipped: Counter[str] = field(default_factory=Counter)
    errors_by_code: Counter[int] = field(default_factory=Counter)
    #: the first message seen for each code, so a report shows what the expected errors were
    error_messages: dict[int, str] = field(default_factory=dict)
    #: errors of the client itself, with no server code (a value the driver could not decode, a broken packet
    #: sequence after one): never a finding about the server; the connection is replaced
    driver_errors: Counter[str] = field(default_factory=Counter)
    statements: int = 0
    rounds: int = 0
    candidates: int = 0
    confirmed: int = 0
    flaky: int = 0
    reductions: list[float] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"checked": dict(self.checked), "checked_total": sum(self.checked.values()),
                "skipped": dict(self.skipped), "errors_by_code": {str(k): v for k, v in self.errors_by_code.items()},
                "error_messages": {str(k): v for k, v in self.error_messages.items()},
                "driver_errors": dict(self.driver_errors),
                "statements": self.statements, "rounds": self.rounds, "candidates": self.candidates,
                "confirmed": self.confirmed, "flaky": self.flaky,
                "reduction_seconds": [round(s, 3) for s in self.reductions]}


@dataclass
class HuntRun:
    """What the hunt saw, also when it was interrupted: the caller reports from it."""

    spec: HuntSpec
    server: dict[str, Any] = field(default_factory=dict)
    stats: HuntStats = field(default_factory=HuntStats)
    findings: dict[str, Finding] = field(default_factory=dict)
    databases: list[str] = field(default_factory=list)
    #: the databases made and not (yet) dropped: each added as its CREATE is sent, taken out once the clean-up
    #: dropped it, so at any moment (also after a clean-up cut short) it is what may be left on the server
    left: list[str] = field(default_factory=list)
    complete: bool = False
    started: float = field(default_factory=time.monotonic)
    seconds: float = 0.0
    server_log: str | None = None
    #: why the run ended early (the server stopped answering), None when it ran its course
    error: str | None = None
    last_statements: list[str] = field(default_factory=list)
    #: panics the server's log reports for sessions this run did not open (another client's): not findings
    others_log_panics: int = 0
    #: with --processes: each worker process's own figures (hunt/processes.py merged them into this run)
    parts: list[dict[str, Any]] = field(default_factory=list)

    @property
    def dropped(self) -> bool:
        """Whether nothing the run made is left on the server."""
        return not self.left

    @property
    def new_findings(self) -> list[Finding]:
        return [f for f in self.findings.values() if not f.known]

    def to_dict(self) -> dict[str, Any]:
        checked = sum(self.stats.checked.values())
        return {"server": self.server, "seed": self.spec.seed, "generator_version": GENERATOR_VERSION,
                "oracles": list(self.spec.oracles), "connections": self.spec.connections,
                "processes": self.spec.processes, "process_results": self.parts,
                "seconds": round(self.seconds, 3),
                "checked_per_second": round(checked / self.seconds, 1) if self.seconds else 0.0,
                **self.stats.to_dict(), "databases": self.databases, "databases_dropped": self.dropped,
                "left_on_server": list(self.left),  # (results.judge: the run fails, and says so)
                "server_log": self.server_log, "server_log_other_sessions": self.others_log_panics,
                "last_statements": self.last_statements,
                "findings": [f.to_dict() for f in self.findings.values()],
                "new_bugs": len(self.new_findings), "known_bugs": sum(f.known for f in self.findings.values())}


@dataclass
class Candidate:
    kind: str  # "wrong-result" | "error" | "crash"
    oracle: Oracle
    statements: list[A.Statement]
    case: A.Case_ | None
    check: Check | None
    description: str
    #: the unexpected error: its code, and the statement that raised it (when not one of the check's queries)
    code: int | None = None
    failing: A.Statement | None = None
    message: str = ""


class _Stop(Exception):
    """The run's end (duration or query count reached)."""


async def probe_switches(conn: Connection, dialect: Dialect) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """The dialect's session switches that this server takes (a variable a version dropped is left out)."""
    kept = []
    for name, values in dialect.session_switches:
        try:
            await conn.execute(f"SET SESSION {name} = {values[0]}")
            await conn.execute(f"SET SESSION {name} = DEFAULT")
            kept.append((name, values))
        except DatabaseError:
            continue
    return tuple(kept)


def sandbox_log(target: Target, kind: str) -> Path | None:
    """The server's own log when the target is a test-rig sandbox (found by its port), else None."""
    if target.host not in ("127.0.0.1", "localhost", "::1"):
        return None
    from test_rig.servers.sandbox import registered

    directory = registered(target.port)
    if directory is None:
        return None
    path = directory / ("tidb.log" if kind == "tidb" else "server.log")
    return path if path.is_file() else None


class Worker:
    def __init__(self, hunt: Hunter, number: int) -> None:
        self.hunt = hunt
        self.number = number
        self.database = f"{hunt.prefix}_w{number}"
        self.replay_database = f"{hunt.prefix}_w{number}_r"
        self.conn: Connection | None = None
        self.replay: Connection | None = None
        self.generator = Generator(hunt.spec.seed, number, hunt.dialect, hunt.switches)
        #: how much of each case to draw: what the chosen oracles read
        self.upto = case_parts(hunt.oracles)
        scale = len(ORACLES) / min(len(ORACLES), max(1, len(hunt.oracles)))
        self.cases_per_round = hunt.spec.cases_per_round or round(CASES_PER_ROUND * scale)
        self.between_rate = BETWEEN_RATE / scale
        self.log: list[A.Statement] = []
        #: the statements the replay database holds now (None: unknown, rebuild it)
        self.replayed: list[A.Statement] | None = None
        self.recent: list[str] = []
        self.turn = 0
        #: the rows of each query read since the database or the session last changed: the oracles of one case
        #: derive some of the same queries (TLP GROUP BY and HAVING the same grouping, the errors oracle the
        #: query plans and NoREC start from), which a deterministic query answers the same way again
        self.answers: dict[str, Sequence[Row]] = {}
        #: the last reduction of a case: (case, its statements, what both were reduced to). The oracles of one
        #: case check it one after another, so a second finding of it starts its reduction from there.
        self.last_reduction: tuple[A.Case_, list[A.Statement], list[A.Statement], A.Case_] | None = None

    async def _connect(self, database: str | None) -> Connection:
        conn = await connect(self.hunt.target.with_database(database), database=database is not None)
        if conn.thread_id is not None:
            self.hunt.sessions.add(int(conn.thread_id))
        name, value = self.hunt.dialect.statement_timeout
        with contextlib.suppress(DatabaseError):
            await conn.execute(f"SET SESSION {name} = {value}")
        return conn

    async def fresh(self, database: str, conn: Connection | None) -> Connection:
        """`database` dropped and created again, with a connection to it whose session is at its defaults."""
        if conn is None or conn.closed:
            if conn is not None:
                await conn.close()
            conn = await self._connect(None)
        else:
            for name, _ in self.hunt.switches:
                if database == self.database:
                    self.note(f"SET SESSION {name} = DEFAULT")
                await conn.execute(f"SET SESSION {name} = DEFAULT")
        for sql in (f"DROP DATABASE IF EXISTS {database}", f"CREATE DATABASE {database}", f"USE {database}"):
            if database == self.database:
                self.note(sql)
            if sql.startswith("CREATE"):
                self.hunt.made(database)
            await conn.execute(sql)
        return conn

    def note(self, sql: str) -> None:
        self.sent([sql])

    def sent(self, statements: Sequence[str]) -> None:
        """`statements` ran, in one round trip: counted, kept as recent, logged one a line, after a comment
        line that says they went at once when there are several (benchmarks/hunt.py sends them so again)."""
        stats, stream = self.hunt.stats, self.hunt.log_stream
        stats.statements += len(statements)
        self.recent.extend(statements)
        if len(self.recent) > 20:
            del self.recent[:-20]
        if stream is not None:
            tag = "" if self.hunt.spec.connections == 1 == self.hunt.spec.processes else f"/* w{self.number} */ "
            if len(statements) > 1:
                stream.write(f"-- {f'w{self.number}: ' if tag else ''}{len(statements)} statements in one round trip\n")
            stream.write("".join(f"{tag}{sql};\n" for sql in statements))

    async def run(self) -> None:
        hunt = self.hunt
        while True:
            self.conn = await self.fresh(self.database, self.conn)
            self.answers.clear()
            hunt.stats.rounds += 1
            self.log = []
            steps = [self._statement_step(s) for s in self.generator.setup()]
            for _ in range(self.cases_per_round):
                between = self.generator.between_queries(self.between_rate)
                if between is not None:
                    steps.append(self._statement_step(between))
                case = self.generator.case(self.upto)
                for oracle in hunt.oracles:
                    self.turn += 1
                    derived = oracle.derive(case, hunt.dialect, self.turn)
                    if derived is not None:
                        steps.append(Step(oracle=oracle, case=case, check=derived))
                if sum(len(s.check.queries) if s.check is not None else 1 for s in steps) >= BATCH_STATEMENTS:
                    await self.play(steps)
                    steps = []
            await self.play(steps)

    def _statement_step(self, statement: A.Statement) -> Step:
        return Step(statement=statement, sql=R.statement(statement, self.hunt.dialect))

    async def apply(self, statement: A.Statement) -> None:
        """One statement between queries, on its own."""
        await self.play([self._statement_step(statement)])

    async def check(self, oracle: Oracle, case: A.Case_) -> None:
        """One oracle's check of `case`, on its own."""
        self.turn += 1
        derived = oracle.derive(case, self.hunt.dialect, self.turn)
        if derived is not None:
            await self.play([Step(oracle=oracle, case=case, check=derived)])

    async def play(self, steps: Sequence[Step]) -> None:
        """Run `steps` in order, as few round trips as the server's answers allow: one batch for all of them
        (hunt/batch.py), and after an error a new batch from the step after the one that failed. Each step's
        outcome is taken as when it ran alone: a statement joins the round's log, a check is judged on its rows,
        an error is judged (a candidate when unexpected, the connection replaced when lost) and the steps after
        it see the session and the cache of answers as it left them."""
        i = 0
        while i < len(steps):
            assert self.conn is not None
            batch = plan(steps[i:], self.answers)
            rows, error = await send(self.conn, batch.statements)
            self.sent(batch.statements[:len(rows) + (error is not None)])
            for step, ref in zip(steps[i:], batch.refs, strict=True):
                i += 1
                if isinstance(ref, int):
                    self.answers.clear()  # also when it fails: what changed is then not ours to know
                    assert step.statement is not None
                    if ref < len(rows):
                        self.log.append(step.statement)
                        continue
                    assert error is not None
                    await self._statement_failed(step.statement, step.sql, error)
                    break
                assert step.oracle is not None and step.case is not None and step.check is not None
                if all(not isinstance(r, int) or r < len(rows) for r in ref):
                    results = [rows[r] if isinstance(r, int) else r for r in ref]
                    for sql, r in zip(step.check.queries, ref, strict=True):
                        if isinstance(r, int):
                            self.answers[sql] = rows[r]
                    await self._judge(step.oracle, step.case, step.check, results)
                    continue
                # The first check with a query that did not run holds the one that failed (the batch lists each
                # check's new queries in its own order, after every earlier check's).
                assert error is not None
                await self._check_failed(step.oracle, step.case, step.check, batch.statements[len(rows)], error)
                break

    async def _statement_failed(self, statement: A.Statement, sql: str, e: DatabaseError) -> None:
        if await self._driver_error(e):
            return
        code = error_code(e)
        self.hunt.stats.errors_by_code[code or 0] += 1
        self.hunt.stats.error_messages.setdefault(code or 0, e.message[:300])
        judged = classify(self.hunt.dialect.kind, code, e.message)
        if not judged.expected and self.hunt.errors_on:
            await self.hunt.candidate(self, Candidate(judged.kind, ORACLES["errors"], list(self.log), None, None,
                                                      f"{sql}: {judged.reason}", code, statement, e.message))
        await self._reconnect_if_lost(judged.expected)

    async def _judge(self, oracle: Oracle, case: A.Case_, derived: Check, results: Sequence[Sequence[Row]]) -> None:
        hunt = self.hunt
        mismatch = oracle.judge(derived, results)
        hunt.stats.checked[oracle.name] += 1
        if mismatch is not None:
            await hunt.candidate(self, Candidate("wrong-result", oracle, list(self.log), case, derived,
                                                 mismatch.describe(derived)))
        hunt.count_check()

    async def _check_failed(self, oracle: Oracle, case: A.Case_, derived: Check, sql: str,
                            e: DatabaseError) -> None:
        hunt = self.hunt
        self.answers.clear()  # a lost connection's replacement has its session at the defaults
        hunt.stats.skipped[oracle.name] += 1
        if await self._driver_error(e):
            return
        code = error_code(e)
        hunt.stats.errors_by_code[code or 0] += 1
        hunt.stats.error_messages.setdefault(code or 0, e.message[:300])
        judged = classify(hunt.dialect.kind, code, e.message)
        if not judged.expected and hunt.errors_on:
            await hunt.candidate(self, Candidate(judged.kind, oracle, list(self.log), case, derived,
                                                 f"{sql}: {judged.reason}", code, message=e.message))
        await self._reconnect_if_lost(judged.expected)

    async def _driver_error(self, e: DatabaseError) -> bool:
        """True (and the connection replaced) when `e` is the client's own failure, not the server's answer."""
        if e.code is not None or is_lost_connection(e):
            return False
        self.hunt.stats.driver_errors[e.message[:200]] += 1
        await self._replace_connection()
        return True

    async def _reconnect_if_lost(self, expected: bool) -> None:
        """After an error: a new connection when this one was lost or the error was not an expected one. TiDB
        answers a panic it recovered from with error 1105 and then closes the connection, which the client
        only learns from the next statement: that statement's "lost connection" would be a crash candidate
        of its own, which no replay reproduces (a flaky candidate)."""
        if self.conn is not None and (self.conn.closed or not expected):
            await self._replace_connection()

    async def _replace_connection(self) -> None:
        """A new connection to the worker's database, its session as the round has set it (the session
        switches of the log, applied again): a replay applies every statement of the log, so a session left
        at its defaults would not be the one the candidate's queries ran in."""
        if self.conn is not None:
            self.conn.abort()
        self.conn = await self._connect(self.database)
        self.answers.clear()
        for statement in self.log:
            if isinstance(statement, A.SetSession):
                sql = R.statement(statement, self.hunt.dialect)
                self.note(sql)
                await self.conn.execute(sql)

    # ------------------------------------------------------------------ replay

    async def outcome(self, candidate: Candidate, statements: Sequence[A.Statement],
                      case: A.Case_ | None) -> tuple[bool, Check | None, list[Any], Mismatch | None]:
        """Replay `statements` and the candidate's queries on a fresh database: (reproduces, the check, each
        query's rows or error text, the mismatch)."""
        hunt = self.hunt
        if self.replay is None or self.replay.closed or self.replayed != list(statements):
            # The same statements as the last replay leave the same database (every derived query only reads),
            # so shrinking a query does not rebuild it: that is most of a reduction's time on TiDB.
            self.replayed = None
            self.replay = await self.fresh(self.replay_database, self.replay)
            conn = self.replay
            rendered = [R.statement(s, hunt.dialect) for s in statements]
            i = 0
            while i < len(rendered):  # in one round trip, or one more after each statement that failed
                done, e = await send(conn, rendered[i:])
                if e is None:
                    break
                i += len(done)
                if conn.closed or not classify(hunt.dialect.kind, error_code(e), e.message).expected:
                    conn.abort()  # lost, out of step (the driver's own failure) or about to be closed
                    self.replay = conn = await self._connect(self.replay_database)
                    for earlier in statements[:i]:  # the session as the statements so far have set it
                        if isinstance(earlier, A.SetSession):
                            await conn.execute(R.statement(earlier, hunt.dialect))
                i += 1
            self.replayed = list(statements)
        conn = self.replay
        if candidate.failing is not None:  # an unexpected error of a statement between queries
            self.replayed = None  # the statement may have changed the database
            try:
                await conn.execute(R.statement(candidate.failing, hunt.dialect))
            except DatabaseError as e:
                return error_code(e) == candidate.code, None, [str(e)], None
            return False, None, ["no error"], None
        assert case is not None
        oracle = _pinned(candidate)
        derived = oracle.derive(case, hunt.dialect, 0)
        if derived is None:
            return False, None, [], None
        rows, error = await send(conn, derived.queries)
        results: list[Any] = [jsonable(r) for r in rows]
        if error is not None:
            code = error_code(error)
            judged = classify(hunt.dialect.kind, code, error.message)
            if conn.closed or not judged.expected:
                # lost, the driver's own failure (its packets may be out of step), or an error after which
                # the server may close the connection (a recovered panic): the next replay starts afresh
                conn.abort()
                self.replayed = None
                self.replay = await self._connect(self.replay_database)
            if error.code is None and not is_lost_connection(error):
                return False, derived, [*results, f"client error {error}"], None
            same = candidate.kind != "wrong-result" and code == candidate.code and not judged.expected
            return same, derived, [*results, f"error {error}"], None
        if candidate.kind != "wrong-result":
            return False, derived, results, None
        mismatch = oracle.judge(derived, rows)
        return mismatch is not None, derived, results, mismatch


def _pinned(candidate: Candidate) -> Oracle:
    """The candidate's oracle, for the plans oracle only with the plan variants that showed the difference."""
    if isinstance(candidate.oracle, Plans) and candidate.check is not None and candidate.check.variants:
        return dataclasses.replace(candidate.oracle, only=candidate.check.variants,
                                   per_check=len(candidate.check.variants))
    return candidate.oracle


class Hunter:
    def __init__(self, spec: HuntSpec, target: Target, run: HuntRun, dialect: Dialect, admin: Connection,
                 switches: tuple[tuple[str, tuple[str, ...]], ...]) -> None:
        self.spec = spec
        self.target = target
        self.run = run
        self.stats = run.stats
        self.dialect = dialect
        self.admin = admin
        self.switches = switches
        self.prefix = f"rig_hunt_{uuid.uuid4().hex[:8]}"
        self.oracles = spec.oracle_objects()
        self.errors_on = "errors" in spec.oracles
        self.log_stream: IO[str] | None = None
        self.reducing = asyncio.Lock()
        self.finding_index = 0
        self.stop = asyncio.Event()
        #: the server's ids of every connection this run opened: a panic the server's log names for another
        #: session (another client of a shared server, a person trying a reduced file) is not this run's
        self.sessions: set[int] = {int(admin.thread_id)} if admin.thread_id is not None else set()
        #: told each time a database is about to be made (run.left grew): a worker process reports it at once
        self.on_made: Callable[[HuntRun], None] | None = None

    def made(self, database: str) -> None:
        """`database` is about to be made: in run.left until the clean-up drops it."""
        if database not in self.run.left:
            self.run.left.append(database)
            if self.on_made is not None:
                self.on_made(self.run)

    def count_check(self) -> None:
        if self.spec.queries is not None and sum(self.stats.checked.values()) >= self.spec.queries:
            raise _Stop

    async def candidate(self, worker: Worker, candidate: Candidate) -> None:
        """Confirm by replay, reduce, sign, group: a finding, or a flaky count."""
        stats = self.stats
        stats.candidates += 1
        async with self.reducing:  # one replay at a time: reductions share the machine's two cores
            reproduces, check, results, mismatch = await worker.outcome(candidate, candidate.statements,
                                                                        candidate.case)
            if not reproduces:
                stats.flaky += 1
                return
            stats.confirmed += 1
            started = time.monotonic()
            try:
                statements, case, reduced = await self._reduce(worker, candidate)
                reproduces, reduced_check, reduced_results, reduced_mismatch = await worker.outcome(
                    candidate, statements, case)
            except asyncio.CancelledError:
                # The run ended (duration, query count, Ctrl-C) while this confirmed finding was being reduced: it
                # is reported as it was confirmed, unreduced, rather than lost (a run would pass that saw a bug).
                self._record(worker, candidate, candidate.statements, check, results, mismatch, None,
                             {"complete": False, "stopped": "the run ended during the reduction",
                              "seconds": round(time.monotonic() - started, 3)})
                raise
            if reproduces:
                check, results, mismatch = reduced_check, reduced_results, reduced_mismatch
            else:  # cannot happen unless the server is flaky: keep the unreduced case
                statements, reduced = candidate.statements, None
            stats.reductions.append(time.monotonic() - started)
            self._record(worker, candidate, statements, check, results, mismatch, reduced, None)

    async def _reduce(self, worker: Worker, candidate: Candidate
                      ) -> tuple[list[A.Statement], A.Case_ | None, Reduced | None]:
        """The candidate's statements and case reduced within the budget (as they are with no budget)."""
        statements, case = candidate.statements, candidate.case
        if self.spec.reduce_seconds <= 0:
            return statements, case, None

        async def test(subset: list[A.Statement], smaller: A.Case_) -> bool:
            if not creates_what_it_reads(subset, smaller):  # its queries could only fail: no replay needed
                return False
            return (await worker.outcome(candidate, subset, smaller))[0]

        def derive(smaller: A.Case_) -> tuple[str, ...] | None:
            d = _pinned(candidate).derive(smaller, self.dialect, 0)
            return d.queries if d is not None else None

        if case is not None:
            last = worker.last_reduction
            hint = (last[2], last[3]) if last is not None and last[0] is case and last[1] == statements else None
            reduced = await reduce(statements, case, test, seconds=self.spec.reduce_seconds, derive=derive,
                                   hint=hint)
            worker.last_reduction = (case, statements, reduced.statements, reduced.case)
            return reduced.statements, reduced.case, reduced
        from test_rig.hunt.reduce import Budget, ddmin, split_rows

        budget = Budget(self.spec.reduce_seconds)

        async def test_statements(subset: list[A.Statement]) -> bool:
            return await test(subset, A.Case_(A.Select((), None), A.Const("1", A.T("int")), A.Select((), None)))

        return await ddmin(split_rows(statements), test_statements, budget), None, None

    def _record(self, worker: Worker, candidate: Candidate, statements: list[A.Statement], check: Check | None,
                results: list[Any], mismatch: Mismatch | None, reduced: Reduced | None,
                reduction: dict[str, Any] | None) -> None:
        """Sign the finding and add it to its group (a new group: its .sql file written)."""
        rendered = [R.statement(s, self.dialect) for s in statements]
        queries = list(check.queries) if check is not None else []
        labels = list(check.labels) if check is not None else []
        if candidate.failing is not None:
            queries = [R.statement(candidate.failing, self.dialect)]
            labels = ["the statement"]
        description = mismatch.describe(check) if mismatch is not None and check is not None \
            else candidate.description
        sig, sig_id = signature(candidate.kind, candidate.oracle.name, self.run.server, rendered, queries,
                                candidate.code if candidate.kind != "wrong-result" else None, candidate.message)
        existing = self.run.findings.get(sig_id)
        if existing is not None:
            existing.add(rendered, queries, candidate.oracle.name)
            return
        if reduction is None:
            reduction = {"tests": reduced.tests, "seconds": round(reduced.seconds, 3),
                         "complete": reduced.complete} if reduced is not None else {}
        finding = Finding(candidate.kind, candidate.oracle.name, self.run.server, self.spec.seed, worker.number,
                          description, queries, labels, results, rendered, reduced is not None, reduction,
                          sig, sig_id, known=sig in self.spec.known or sig_id in self.spec.known,
                          error={"code": candidate.code} if candidate.code is not None else None)
        finding.same_data_as = [f.signature_id for f in self.run.findings.values()
                                if f.kind == finding.kind and f.statements == rendered]
        self.run.findings[sig_id] = finding
        if self.spec.out is not None:
            self.finding_index += 1
            finding.file = str(write_sql(finding, self.spec.out, self.finding_index))


async def run_hunt(target: Target, run: HuntRun, *, on_second: Callable[[HuntRun], None] | None = None,
                   on_made: Callable[[HuntRun], None] | None = None) -> HuntRun:
    """Hunt until the duration or the query count is reached; `run` holds what was seen (also when interrupted).
    `on_made`: told before each database the run makes. Raises UsageError when the server refuses to create the
    run's databases."""
    spec = run.spec
    admin = await connect(target, database=False)
    run.server.update(admin.server.to_dict())
    dialect = dialect_for(admin.server.kind)
    switches = await probe_switches(admin, dialect)
    hunter = Hunter(spec, target, run, dialect, admin, switches)
    hunter.on_made = on_made
    log_path = sandbox_log(target, admin.server.kind) if spec.watch_server_log else None
    log_offset = log_path.stat().st_size if log_path is not None else 0
    run.server_log = str(log_path) if log_path is not None else None
    workers = [Worker(hunter, spec.first_worker + i) for i in range(spec.connections)]
    # With --processes the first process watches the log for all, and the others' sessions are not known here:
    # every panic line is then taken, as before.
    sessions = hunter.sessions if spec.processes == 1 else None
    try:
        first = workers[0].database
        hunter.made(first)
        try:
            await admin.execute(f"CREATE DATABASE {first}")
        except DatabaseError as e:
            if not answer_lost(e):  # refused: nothing was made (an answer lost may have made it: dropped below)
                run.left.remove(first)
            if lacks_schema_privilege(e) or error_code(e) == 1045:
                raise UsageError(f"User {target.user} may not create the hunt's own databases ({e}); grant it "
                                 "ALL PRIVILEGES ON `rig\\_hunt\\_%`.* (it creates, fills and drops them) or run as "
                                 "a user who can.") from None
            raise
        for w in workers:
            run.databases += [w.database, w.replay_database]
        if spec.log is not None:
            hunter.log_stream = open(spec.log, "w", encoding="utf-8")  # noqa: SIM115 - closed below
        tasks = [asyncio.create_task(w.run()) for w in workers]
        ended = time.monotonic() + spec.duration if spec.duration is not None else None

        async def tick() -> None:
            nonlocal log_offset
            while True:
                await asyncio.sleep(1.0)
                run.seconds = time.monotonic() - run.started
                if log_path is not None:
                    log_offset = _scan_log(log_path, log_offset, run, workers, sessions)
                if on_second is not None:
                    on_second(run)

        ticker = asyncio.create_task(tick())
        try:
            pending: set[asyncio.Task[None]] = set(tasks)
            while pending:
                timeout = None if ended is None else max(0.0, ended - time.monotonic())
                done, pending = await asyncio.wait(pending, timeout=timeout, return_when=asyncio.FIRST_EXCEPTION)
                if not done:  # the duration is over
                    break
                for task in done:
                    error = task.exception()
                    if isinstance(error, _Stop):
                        pending = set()  # the query count is reached
                        break
                    if isinstance(error, DatabaseError) and _server_gone(error):
                        # Nothing can be replayed on a server that is gone: what it was sent last is the evidence.
                        run.error = f"the server stopped answering ({error}); the run ended there"
                        run.last_statements = [s for w in workers for s in w.recent]
                        pending = set()
                        break
                    if isinstance(error, DatabaseError):
                        # e.g. the server refused a replay's DROP DATABASE: the run ends, what it found is kept
                        run.error = f"a worker stopped: {error}"
                        run.last_statements = [s for w in workers for s in w.recent]
                        pending = set()
                        break
                    if error is not None:
                        raise error
            run.complete = run.error is None
        finally:
            ticker.cancel()
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, ticker, return_exceptions=True)
            if log_path is not None:
                _scan_log(log_path, log_offset, run, workers, sessions)
        return run
    finally:
        run.seconds = time.monotonic() - run.started
        if hunter.log_stream is not None:
            hunter.log_stream.close()
        await asyncio.shield(_cleanup(target, admin, workers, run))


async def _cleanup(target: Target, admin: Connection, workers: list[Worker], run: HuntRun) -> None:
    """Drop every database the run made (each on `admin` or, once it is lost, on a new connection), taking each
    out of `run.left` once dropped."""
    # at once: each may wait for the KILL of its statement in flight, and a silent server makes every one wait
    await asyncio.gather(*(conn.close() for w in workers for conn in (w.conn, w.replay) if conn is not None))
    silent = False  # a server that did not answer a clean-up connection is not asked again for each database
    spare: Connection | None = admin
    for name in list(run.left):
        if silent:
            continue
        try:
            await drop_schema(target, name, spare if spare is not None and not spare.closed else None)
            run.left.remove(name)
        except TimeoutError_:
            silent = True
        except (DatabaseError, RigError):
            pass  # (left in run.left)
        spare = None  # drop_schema closed it
    if spare is not None:  # no database was made
        await spare.close()


def _server_gone(error: DatabaseError) -> bool:
    """A lost connection that a new one could not replace: the server crashed or stopped."""
    return is_lost_connection(error) or isinstance(error, ConnectionError_) or error_code(error) in (2002, 2003)


def _scan_log(path: Path, offset: int, run: HuntRun, workers: Sequence[Worker],
              sessions: set[int] | None) -> int:
    """Read what the server logged since `offset`; a panic or crash line becomes a finding of its own, unless
    the line names a session (`[conn=N]`) that is not one of `sessions`, the run's own (None: all count). A
    line that names no session (a crash, a fatal error) is the whole server's, so it counts."""
    try:
        with open(path, "rb") as f:
            f.seek(offset)
            text = f.read().decode("utf-8", "replace")
            offset = f.tell()
    except OSError:
        return offset
    lines = []
    for line in text.splitlines():
        if not SERVER_LOG_PANIC.search(line):
            continue
        session = SERVER_LOG_SESSION.search(line)
        if sessions is not None and session is not None and int(session.group(1)) not in sessions:
            run.others_log_panics += 1
            continue
        lines.append(line)
    recent = [s for w in workers for s in w.recent]
    for key, same in _by_panic(lines).items():
        sig, sig_id = signature("server-log", "errors", run.server, [], [], None, key)
        if sig_id in run.findings:  # the same panic again (one bug, reached by other statements): one finding
            run.findings[sig_id].add([], recent)
            continue
        known = sig in run.spec.known
        run.findings[sig_id] = Finding("server-log", "errors", run.server, run.spec.seed, -1,
                                       f"the server's log ({path}) reports: {same[0][:300]}", recent,
                                       ["a statement sent shortly before"] * len(recent), [[]] * len(recent), [],
                                       signature=sig, signature_id=sig_id, known=known,
                                       error={"log_lines": same[:20]})
    return offset


#: A TiDB log line's error field and its stack (Go's, frames as "function\n\tfile:line" pairs, escaped).
_LOG_ERROR = re.compile(r'\[(?:err|error|r)="((?:[^"\\]|\\.)*)"\]')
_LOG_STACK = re.compile(r'\[(?:stack|"stack trace")="((?:[^"\\]|\\.)*)"\]')


def panic_key(line: str) -> str:
    """What a logged panic is, without what varies from one occurrence to the next: the function that panicked
    (the first frame after the last `runtime.` frame of its stack, without its package path: the code that
    recovered it is the same for every panic) and its error text (numbers made `_`), else the line without its
    time, session, statement and numbers. So one planner bug reached by a hundred statements is one finding, two
    bugs two. The function comes first: a signature keeps the first 120 characters of what it is given."""
    error, stack = _LOG_ERROR.search(line), _LOG_STACK.search(line)
    if error is None:
        text = re.sub(r'\[lastSQL="(?:[^"\\]|\\.)*"\]|\[conn=\d+\]|^\[[^]]*\]|^\S+ \S+ |\d+', "", line)
        return re.sub(r"\s+", " ", text).strip()
    message, _, inline_stack = error.group(1).partition("\\n")  # an error that carries its own stack
    frames = [f for f in (stack.group(1) if stack else inline_stack).split("\\n") if f and not f.startswith("\\t")]
    last_runtime = max((i for i, f in enumerate(frames) if f.startswith("runtime.")), default=-1)
    where = frames[last_runtime + 1] if 0 <= last_runtime < len(frames) - 1 else ""
    message = re.sub(r"\d+", "_", message)
    return f"{where.rsplit('/', 1)[-1]}: {message}" if where else message


def _by_panic(lines: list[str]) -> dict[str, list[str]]:
    """The panic lines grouped by `panic_key`, in the order first seen."""
    groups: dict[str, list[str]] = {}
    for line in lines:
        groups.setdefault(panic_key(line), []).append(line)
    return groups
