"""`test-rig elle`: run a random workload against the server in a schema of the run's own, record the
history, and hand it to the checker. The schema is dropped afterwards, also on Ctrl-C and SIGTERM; the
history recorded so far is kept either way."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import os
import shutil
import time
import uuid
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from test_rig.config import SessionValue
from test_rig.coordinator import Coordinator, FreeRunResult
from test_rig.db import ISOLATION_LEVELS, Target, answer_lost, connect, drop_schema, quote_ident, sql_literal
from test_rig.environment import Environment, run_async
from test_rig.errors import DatabaseError, RigError, UsageError, lacks_schema_privilege, signal_name
from test_rig.history.checker import Report, check_history
from test_rig.history.model import NEMESIS, HistoryWriter, Op, iter_history, iter_pairs, parse_history
from test_rig.history.workloads import Shared, Spec, setup_sql, workload
from test_rig.nemesis import FaultWindow, Nemesis, NemesisSpec, annotate_timeline, start_nemesis
from test_rig.options import LONGEST_SECONDS, option
from test_rig.resilience import CircuitBreaker, ResilientConnectionManager, create_db_circuit_breaker_config
from test_rig.results import RunResult

log = logging.getLogger("test_rig.history.runner")


@dataclass
class ElleRun:
    spec: Spec
    server: dict[str, Any] = field(default_factory=dict)
    history: HistoryWriter = field(default_factory=lambda: HistoryWriter(None))
    #: Where the history is written as it happens: the user's --history, else a temporary file (`temporary`)
    #: that the caller removes once it has checked it. The history is not kept in memory: a long run's
    #: memory must not grow with its history.
    history_path: Path | None = None
    temporary: bool = False

    def ops(self) -> Iterator[Op]:
        """The recorded history, read back from its file (reads kept as text, as `check` reads them)."""
        if self.history_path is None:
            return iter(())
        return iter_history(self.history_path, "jsonl", raw_reads=True)

    def discard(self) -> None:
        """Remove the temporary history file, if this run made one."""
        if self.temporary and self.history_path is not None:
            self.history_path.unlink(missing_ok=True)
    free: FreeRunResult | None = None
    complete: bool = False
    nemesis: dict[str, Any] | None = None
    #: the run's schema when it could not be dropped (results.judge: the run fails, and says so)
    left_on_server: list[str] = field(default_factory=list)


#: The model each isolation level promises, to check a run against by default.
PROMISED = {"read-uncommitted": "read-uncommitted", "read-committed": "read-committed",
            "repeatable-read": "repeatable-read", "serializable": "serializable"}


@dataclass(frozen=True)
class ElleSettings:
    """What an `elle` run does: the workload, its load, and what its history is checked against."""

    spec: Spec
    connections: int = 4
    duration: float = 10.0
    isolation: str = "serializable"
    models: Sequence[str] = ()
    anomalies: Sequence[str] = ()
    session_variables: Mapping[str, Any] = field(default_factory=dict)
    txn_mode: str | None = None
    history_path: str | None = None
    seed: int = 0
    processes: int = 1
    wfr_keys: bool = False
    nemesis: NemesisSpec | None = None


@dataclass(frozen=True)
class ElleOptions:
    """What the `elle` command is asked, as given: each field with its default and help (test_rig.options: the
    command's options are made from them); `elle_settings` checks them into the run's ElleSettings."""

    workload: str
    connections: int = option(4, low=1, high=1000)
    duration: float = option(10.0, "Seconds.", low=0.1, high=LONGEST_SECONDS)
    keys: int = option(Spec.keys, "Keys in use at once (list-append, rw-register); few keys make more contention.",
                       low=1, high=100_000)
    max_txn_len: int = option(Spec.max_txn_len, low=1, high=100)
    isolation_level: str = option("serializable", choices=ISOLATION_LEVELS)
    models: tuple[str, ...] = option((), "The model(s) to check against, Elle's names (default: the one the "
                                     "isolation level promises).", flag="--consistency-model", metavar="MODEL")
    anomaly_names: tuple[str, ...] = option((), "Anomaly types that make the history invalid besides the model's "
                                            "(comma-separated).", flag="--anomalies", metavar="NAMES")
    wfr_keys: bool = option(True, "rw-register: order a key's versions by read-then-write inside one transaction "
                            "(test-rig's client runs micro-operations in order, so this holds).")
    session_vars: tuple[str, ...] = option((), flag="--session-var", metavar="NAME=VALUE")
    txn_mode: str | None = option(None, "TiDB only.", choices=("pessimistic", "optimistic"))
    history_path: str | None = option(None, "Write the history here (JSONL).", flag="--history", metavar="FILE")
    seed: int = option(0)
    processes: int = option(1, "Worker processes the connections are split over; their histories are merged into "
                            "one.", low=1, high=256)


def elle_settings(options: ElleOptions, *, typed: Collection[str], nemesis: NemesisSpec | None) -> ElleSettings:
    """The settings `options` ask for, checked (UsageError for bad input): `typed` names the options given on the
    command line (those the workload has no use for are refused), `models` defaults to the one the isolation
    level promises, `session_vars` are NAME=VALUE."""
    from test_rig.config import parse_session_var
    from test_rig.history.check import parse_anomalies, parse_models

    o, workload = options, options.workload
    if o.processes > o.connections:
        raise UsageError(f"--processes {o.processes} is more than --connections {o.connections}; each process needs "
                         "at least one connection.")
    for name, flag in (("keys", "--keys"), ("max_txn_len", "--max-txn-len")):
        if workload == "bank" and name in typed:
            raise UsageError(f"{flag} does not apply to the bank workload (it moves money between "
                             f"{Spec('bank').accounts} accounts); leave it out.")
    if workload != "rw-register" and "wfr_keys" in typed:
        raise UsageError(f"--wfr-keys applies to rw-register only, not {workload}.")
    anomalies = parse_anomalies(o.anomaly_names)
    return ElleSettings(Spec(workload, keys=o.keys, max_txn_len=o.max_txn_len), o.connections, o.duration,
                        o.isolation_level, parse_models(o.models, PROMISED[o.isolation_level]), anomalies,
                        dict(parse_session_var(item) for item in o.session_vars), o.txn_mode, o.history_path, o.seed,
                        o.processes, o.wfr_keys and workload == "rw-register", nemesis)


def run_elle(env: Environment, target: Target, settings: ElleSettings,
             on_second: Callable[[int, int, int], None] | None = None) -> RunResult:
    """The whole `elle` run: the breaker, the nemesis (started and closed here), the load recording its
    history, the checker, the schema dropped. `target`'s own session variables are not used (the run sets
    its own, then `settings.session_variables`). An interrupt during the load ends the load early; what was
    recorded until then is still checked, and the result says `complete: false` and which signal it was."""

    s = settings
    target = dataclasses.replace(target, session_variables={})
    env.quiet_retries = True  # the per-second lines count the errors; a line for each retry would bury them
    run = ElleRun(s.spec)
    error: str | None = None
    interrupted = False
    nemesis = start_nemesis(s.nemesis, target, lambda line: env.console.print(line, markup=False))
    try:
        breaker = CircuitBreaker(create_db_circuit_breaker_config(
            s.nemesis.breaker_recovery if s.nemesis else None), name=target.address)
        manager = env.manager(breaker=breaker, overall_timeout=max(s.duration, 10))
        run_async(lambda: run_workload(target, manager, run, connections=s.connections, duration=s.duration,
                                       isolation=s.isolation, session_variables=s.session_variables,
                                       txn_mode=s.txn_mode, seed=s.seed, on_second=on_second, nemesis=nemesis,
                                       history_file=Path(s.history_path) if s.history_path else None,
                                       processes=s.processes))
    except KeyboardInterrupt as e:
        interrupted = True
        error = f"interrupted by {signal_name(e)}"
    except BaseException:
        run.discard()  # the run failed before its history could be checked: no temporary file left behind
        env.left_on_server.extend(run.left_on_server)  # the error's report says what the run left
        raise
    finally:
        if nemesis is not None:
            run_async(nemesis.close)
    failure = nemesis.failure() if nemesis is not None else None
    if failure is not None and error is None:
        error = failure
    try:
        report = check(s.spec.name, run.ops(), list(s.models), s.spec, anomalies=s.anomalies, wfr_keys=s.wfr_keys)
    finally:
        run.discard()
    data = {"error": error, "workload": s.spec.name, "server": run.server, "isolation_level": s.isolation,
            "session_variables": dict(s.session_variables), "wfr_keys": s.wfr_keys,
            "errors_by_code": run.free.errors_by_code if run.free else {},
            "error_messages": run.free.error_messages if run.free else {}, "history": s.history_path,
            **report.to_dict()}
    if run.free is not None:
        data["timeline"] = run.free.to_dict()["timeline"]
    if run.nemesis is not None:
        data["nemesis"] = run.nemesis
        annotate_timeline(data.get("timeline", []), run.nemesis["windows"])
    if run.left_on_server:
        data["left_on_server"] = run.left_on_server
    return RunResult("elle", ok=error is None and report.valid is True, complete=not interrupted, error=error,
                     payload=data)


def check(workload_name: str, ops: Iterable[Op], model: str | Sequence[str] | None, spec: Spec | None = None, *,
          anomalies: Iterable[str] = (), wfr_keys: bool = False, time_budget: float = 60.0) -> Report:
    """Check a history of one of the workloads (streamed: operations are paired and analysed as they come)."""
    s = spec or Spec(workload_name)
    return check_history(workload_name, iter_pairs(ops), model=model, anomalies=anomalies, total=s.total,
                         wfr_keys=wfr_keys, time_budget=time_budget)


async def run_workload(target: Target, manager: ResilientConnectionManager, run: ElleRun, *, connections: int,
                       duration: float, isolation: str, session_variables: Mapping[str, SessionValue],
                       txn_mode: str | None, history_file: Path | None, seed: int = 0,
                       on_second: Callable[[int, int, int], None] | None = None,
                       nemesis: Nemesis | None = None, processes: int = 1) -> ElleRun:
    """Run `run.spec`'s workload; `run.history` holds the history as it grows (also when interrupted). With
    `nemesis`, the run's connections go to its target and each fault's start and end are in the history
    as the nemesis's own `info` events (`start-KIND`, `stop-KIND`), in the same clock as the transactions.
    With `processes` > 1 the clients are split over worker processes; their histories are merged into one (client
    numbers unique across processes, operations in the machine's monotonic clock order)."""
    probe = await manager.execute_with_resilience(f"connect to {target.address}",
                                                  lambda: connect(target, database=False))
    server = probe.server
    run.server.update(server.to_dict())
    # The user's session variables are tried on the probe first: one the server does not know (or will not
    # take) is bad input, found before the run's schema exists.
    for name, value in session_variables.items():
        try:
            await probe.execute(f"SET SESSION {name} = {sql_literal(value)}")
        except DatabaseError as e:
            await probe.close()
            raise UsageError(f"--session-var {name}={value} was refused by the server ({e}); check the name and "
                             "value.") from None
    if session_variables:  # they are the workload's, not the set-up's: the schema is made on a fresh session
        await probe.close()
        probe = await manager.execute_with_resilience(f"connect to {target.address}",
                                                      lambda: connect(target, database=False))
    schema = f"rig_elle_{uuid.uuid4().hex[:10]}"
    try:
        await probe.execute(f"CREATE DATABASE {quote_ident(schema)}")
    except BaseException as e:
        await probe.close()
        if isinstance(e, DatabaseError) and lacks_schema_privilege(e):
            raise RigError(f"User {target.user} may not create the run's own schema {schema} ({e}); grant it CREATE "
                           "and DROP on `rig\\_elle\\_%` or run as a user who can.") from None
        if answer_lost(e):  # the CREATE may have made it all the same: dropped again (IF EXISTS), or named
            try:
                await asyncio.shield(drop_schema(target, schema, None))
            except (DatabaseError, RigError) as dropping:
                log.warning("the run's schema %s may have been made and could not be dropped: %s", schema, dropping)
                run.left_on_server.append(schema)
        raise
    # `probe` stays open to drop the schema at the end, whatever happens to the run's own connections.
    level = isolation.replace("-", " ").upper()
    variables: dict[str, SessionValue] = {server.isolation_variable: level.replace(" ", "-"),
                                          "innodb_lock_wait_timeout": 2}
    if server.kind == "tidb" and txn_mode:
        variables["tidb_txn_mode"] = txn_mode
    variables.update(session_variables)
    work_target = dataclasses.replace(target.with_database(schema), session_variables=variables)
    if nemesis is not None:
        work_target = dataclasses.replace(work_target, host=nemesis.target.host, port=nemesis.target.port)
        nemesis.database = schema
    if history_file is None:
        import tempfile

        handle, name = tempfile.mkstemp(prefix="rig-elle-", suffix=".jsonl")
        os.close(handle)
        history_file, run.temporary = Path(name), True
    run.history_path = history_file
    stream: IO[bytes] | None = open(history_file, "wb")  # noqa: SIM115 - closed in the finally below
    history = HistoryWriter(stream, keep=False)
    run.history = history
    try:
        admin = await connect(target.with_database(schema))
        try:
            for sql in setup_sql(run.spec):
                await admin.execute(sql)
        finally:
            await admin.close()
        if processes > 1:
            await _run_in_processes(run, history, work_target, processes=processes, connections=connections,
                                    duration=duration, seed=seed, on_second=on_second, nemesis=nemesis)
        else:
            coordinator = Coordinator([work_target] * connections, connect_concurrency=min(connections, 32))
            failures = await coordinator.open(manager=manager)
            if not coordinator.connections:
                raise next(iter(failures.values()))
            task: asyncio.Task[None] | None = None
            try:
                shared = Shared(run.spec, history, connections)
                start_at = time.perf_counter() + 0.1
                if nemesis is not None:
                    nemesis.sessions = coordinator.session_ids


                    def record(kind: str, phase: str, w: FaultWindow) -> None:
                        history.add(NEMESIS, "info", *_nemesis_event(kind, phase, w), time.monotonic_ns())

                    nemesis.listeners.append(record)
                    task = asyncio.create_task(nemesis.run(start_at, duration))
                run.free = await coordinator.run_free(workload(shared), duration=duration, seed=seed, manager=manager,
                                                      on_second=on_second, start_at=start_at,
                                                      op_timeout=nemesis.spec.op_timeout if nemesis else None)
            finally:
                if nemesis is not None and task is not None:
                    nemesis.stop()
                    await asyncio.gather(task, return_exceptions=True)
                    run.nemesis = nemesis.to_dict()
                await coordinator.close()
        run.complete = True
        return run
    finally:
        if stream is not None:
            stream.close()
        try:
            await asyncio.shield(drop_schema(target, schema, probe))
        except (DatabaseError, RigError) as e:
            log.warning("the run's schema %s could not be dropped: %s", schema, e)
            run.left_on_server.append(schema)


def _nemesis_event(kind: str, phase: str, window: FaultWindow) -> tuple[str, str]:
    """The f and value of the nemesis's history event for a fault's start or end (Elle's start-KIND and
    stop-KIND), its value what was done, undone or went wrong."""
    f = f"{'start' if phase == 'start' else 'stop'}-{kind}"
    return f, window.error or (window.action if phase == "start" else window.heal)


async def _run_in_processes(run: ElleRun, history: HistoryWriter, work_target: Target, *, processes: int,
                            connections: int, duration: float, seed: int,
                            on_second: Callable[[int, int, int], None] | None, nemesis: Nemesis | None) -> None:
    """The workload from worker processes, each writing its own part of the history; the parts (and the
    nemesis's events) are merged into `history` in time order when they end, also when interrupted."""
    import tempfile

    from test_rig.load.processes import ElleShare, run_processes

    parts_dir = Path(tempfile.mkdtemp(prefix="rig-elle-"))
    events: list[Op] = []
    if nemesis is not None:
        nemesis.listeners.append(lambda kind, phase, w: events.append(Op(
            -1, NEMESIS, "info", *_nemesis_event(kind, phase, w), time.monotonic_ns())))
    task: list[asyncio.Task[None]] = []

    def begin(start_at: float) -> None:
        if nemesis is not None:
            task.append(asyncio.create_task(nemesis.run(start_at, duration)))

    def share(part: int, base: int, clients: int) -> ElleShare:
        return ElleShare(run.spec, str(parts_dir / f"part-{part}.jsonl"), base, connections, part, processes)

    def interrupted(merged: FreeRunResult, _parts: list[FreeRunResult]) -> None:
        run.free = merged

    try:
        run.free, _ = await run_processes(
            work_target, processes=processes, connections=connections, duration=duration, table_size=0, seed=seed,
            op_timeout=nemesis.spec.op_timeout if nemesis else None,
            breaker_recovery=nemesis.spec.breaker_recovery if nemesis else None, on_start=begin,
            on_second=on_second, elle=share, on_interrupt=interrupted)
    finally:
        if nemesis is not None and task:
            nemesis.stop()
            await asyncio.gather(*task, return_exceptions=True)
            run.nemesis = nemesis.to_dict()
        ops = list(events)
        for part in sorted(parts_dir.glob("part-*.jsonl")):
            lines = part.read_text(encoding="utf-8").splitlines()
            if lines and not lines[-1].endswith("}"):
                lines.pop()  # a worker killed in the middle of a line
            ops.extend(parse_history(lines, str(part)))
        for op in sorted(ops, key=lambda o: o.time):  # stable: each process's own order is kept
            history.add(op.process, op.type, op.f, op.value, op.time)
        shutil.rmtree(parts_dir, ignore_errors=True)
