"""`test-rig bench`: free-running loads, a sysbench-like point select (`point-select`) or a bare `SELECT 1`, and
what every bench workload (load.oltp, load.tpcc, load.user) runs on: `LoadSettings` (connections, duration,
processes, Ray), `measure` (the run with its circuit breaker and nemesis, also its partial result when
interrupted), and a result's console lines and JUnit cases.

The point-select table has sysbench's layout (id primary key, k, c, pad) so numbers compare with
`sysbench oltp_point_select`; it is reused when it already holds the requested number of rows.
"""

from __future__ import annotations

import asyncio
import logging
import random
import string
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from test_rig.coordinator import Coordinator, FreeRunResult
from test_rig.db import Connection, Target, connect_existing, quote_ident
from test_rig.errors import DatabaseError, RigError, UsageError, by_code_text
from test_rig.load.fast import FastStatement
from test_rig.nemesis import Nemesis, NemesisSpec, annotate_timeline, announce
from test_rig.options import LONGEST_SECONDS, option
from test_rig.resilience import CircuitBreaker, ResilientConnectionManager, create_db_circuit_breaker_config
from test_rig.results import RunResult

if TYPE_CHECKING:
    from test_rig.environment import Environment
    from test_rig.report.files import Suite

TABLE = "rig_sbtest1"

log = logging.getLogger(__name__)


@dataclass
class BenchResult:
    connections: int
    table_size: int
    run: FreeRunResult
    failed_connections: int
    #: With --processes: each worker process's own result (the merged one is `run`).
    workers: list[FreeRunResult] | None = None
    #: With --nemesis: the schedule and its fault windows.
    nemesis: dict[str, Any] | None = None
    #: With --ray: the cluster the workers ran on (nodes, each actor's clock offset).
    cluster: dict[str, Any] | None = None
    workload: str = "point-select"

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"command": f"bench {self.workload}", "workload": self.workload,
               "connections": self.connections,
               "table_size": self.table_size, "failed_connections": self.failed_connections,
               "processes": len(self.workers) if self.workers else 1}
        out.update(self.run.to_dict())
        if self.nemesis is not None:
            out["nemesis"] = self.nemesis
            annotate_timeline(out["timeline"], self.nemesis["windows"])
        if self.cluster is not None:
            out["ray"] = self.cluster
        if self.workers:
            out["workers"] = [{"operations": w.operations, "errors": w.errors, "cpu_s": w.cpu_seconds,
                               "histogram": w.histogram.encode().decode("ascii")} for w in self.workers]
        return out


def _filler(rng: random.Random, n: int) -> str:
    return "".join(rng.choices(string.digits + "-", k=n))


async def prepare_table(target: Target, table_size: int, manager: ResilientConnectionManager) -> None:
    """Create and load the table unless it already holds exactly `table_size` rows."""
    conn = await connect_existing(target, manager)
    table = quote_ident(TABLE)
    try:
        await _lock_table(conn, target)
        exists = await conn.scalar(
            "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() "
            f"AND TABLE_NAME = '{TABLE}'")
        if exists and await conn.scalar(f"SELECT COUNT(*) FROM {table}") == table_size:
            return
        await conn.execute(f"DROP TABLE IF EXISTS {table}")
        await conn.execute(
            f"CREATE TABLE {table} (id INT NOT NULL AUTO_INCREMENT, k INT NOT NULL DEFAULT 0, "
            "c CHAR(120) NOT NULL DEFAULT '', pad CHAR(60) NOT NULL DEFAULT '', PRIMARY KEY (id), KEY k_1 (k))")
        rng = random.Random(1)
        batch = 1000
        for first in range(1, table_size + 1, batch):
            ids = range(first, min(first + batch, table_size + 1))
            values = ",".join(f"({i},{rng.randint(1, table_size)},'{_filler(rng, 119)}','{_filler(rng, 59)}')"
                              for i in ids)
            await conn.execute(f"INSERT INTO {table} (id, k, c, pad) VALUES {values}")
    finally:
        await conn.close()


#: Seconds a run waits for another run's load of the same table before it gives up.
LOAD_LOCK_WAIT = 600


async def _lock_table(conn: Connection, target: Target) -> None:
    """Hold the server's named lock for this database's bench table while it is checked and loaded (released when
    `conn` closes): two runs started together on one database used to race, the second dropping the table the
    first was filling ("Table 'test.rig_sbtest1' doesn't exist"); now the second waits and reuses it. A server
    without GET_LOCK is used without the lock, as before."""
    name = f"test_rig.{target.database or ''}.{TABLE}"[:64]  # MySQL's limit on a lock name
    try:
        rows = await conn.query("SELECT GET_LOCK(%s, %s)", [name, LOAD_LOCK_WAIT])
    except DatabaseError as e:
        log.info("no named lock around the bench table's load (%s); concurrent runs may rebuild it", e)
        return
    if rows != [(1,)]:
        raise RigError(f"Another run has been loading {target.database}.{TABLE} on {target.address} for "
                       f"{LOAD_LOCK_WAIT} s; wait for it to end or use another database (-d/--database).")


# Both are one statement with an integer argument or none: they run on the fast load path (load.fast), and stay
# ordinary workloads (awaitable per operation) for every other caller.
def select_one(_table_size: int) -> Any:
    return FastStatement("SELECT 1")


def point_select(table_size: int) -> Any:
    return FastStatement(f"SELECT c FROM {quote_ident(TABLE)} WHERE id=%s", range(1, table_size + 1))


#: The bench workloads by name: each takes the table size and gives the operation a worker repeats.
WORKLOADS: dict[str, Callable[[int], Any]] = {"point-select": point_select, "select-1": select_one}


@dataclass(frozen=True)
class NamedWorkload:
    """A bench workload of WORKLOADS as picklable data: what worker processes and Ray actors build the operation
    from (`operation()`, as for load.oltp.OltpSpec), so scale needs no import of this module."""

    name: str
    table_size: int

    def operation(self) -> Any:
        return WORKLOADS[self.name](self.table_size)


def operation(workload: Any, table_size: int) -> Any:
    """The operation a worker repeats: a bench workload's name, or a workload described as picklable data with a
    `name` and an `operation()` (NamedWorkload, load.oltp.OltpSpec)."""
    return WORKLOADS[workload](table_size) if isinstance(workload, str) else workload.operation()


async def run_bench(target: Target, *, workload: Any = "point-select", connections: int, duration: float,
                    table_size: int, manager: ResilientConnectionManager, seed: int = 0, warmup: float = 0.0,
                    on_interrupt: Callable[[BenchResult], None] | None = None,
                    on_load_start: Callable[[int], None] | None = None,
                    on_second: Callable[[int, int, int], None] | None = None,
                    processes: int = 1, nemesis: Nemesis | None = None, ray: str | None = None) -> BenchResult:
    """Prepare the table (point-select), connect, warm up, then run the timed load of `workload`.

    `on_load_start` gets the number of connections that connected, as the timed load begins. With `nemesis`,
    the load goes to its target (the Toxiproxy proxy for network faults) and its faults run beside the timed
    load; the result holds its fault windows. With `ray` (a cluster address or auto), the `processes` workers
    are Ray actors.
    """
    if workload == "point-select":
        await prepare_table(target, table_size, manager)
    work = nemesis.target if nemesis is not None else target
    op_timeout = nemesis.spec.op_timeout if nemesis is not None else None
    faults = _Faults(nemesis, duration)

    def result(run: FreeRunResult, failed: int, parts: list[FreeRunResult] | None = None,
               cluster: dict[str, Any] | None = None) -> BenchResult:
        return BenchResult(connections, table_size, run, failed, parts,
                           nemesis.to_dict() if nemesis is not None else None, cluster,
                           workload if isinstance(workload, str) else workload.name)

    # worker processes and Ray actors build the operation from data
    spec = NamedWorkload(workload, table_size) if isinstance(workload, str) else workload
    if ray is not None:
        from test_rig.load.processes import run_ray

        try:
            merged, parts, cluster = await run_ray(
                work, address=ray, slots=processes, connections=connections, duration=duration, workload=spec,
                on_ready=on_load_start,
                table_size=table_size, seed=seed, op_timeout=op_timeout, on_start=faults.begin, on_second=on_second,
                breaker_recovery=nemesis.spec.breaker_recovery if nemesis is not None else None,
                on_interrupt=(lambda m, p: on_interrupt(result(m, 0, p))) if on_interrupt else None)
        finally:
            await faults.end()
        return result(merged, 0, parts, cluster)
    if processes > 1:
        from test_rig.load.processes import run_processes

        try:
            merged, parts = await run_processes(
                work, processes=processes, connections=connections, duration=duration, table_size=table_size,
                workload=spec, on_ready=on_load_start,
                seed=seed, op_timeout=op_timeout, on_start=faults.begin, on_second=on_second,
                breaker_recovery=nemesis.spec.breaker_recovery if nemesis is not None else None,
                on_interrupt=(lambda m, p: on_interrupt(result(m, 0, p))) if on_interrupt else None)
        finally:
            await faults.end()
        return result(merged, 0, parts)
    coordinator = Coordinator([work] * connections, connect_concurrency=min(connections, 32))
    failures = await coordinator.open(manager=manager)
    if not coordinator.connections:
        first = next(iter(failures.values()))
        raise first
    if nemesis is not None:
        nemesis.sessions = coordinator.session_ids
    try:
        if warmup > 0:  # on an operation of its own, so the timed run's figures start from zero
            await coordinator.run_free(operation(workload, table_size), duration=warmup, seed=seed + 1)
        if on_load_start is not None:
            on_load_start(len(coordinator.connections))
        start_at = time.perf_counter() + 0.1
        faults.begin(start_at)
        run = await coordinator.run_free(
            operation(workload, table_size), duration=duration, seed=seed, manager=manager, on_second=on_second,
            start_at=start_at, op_timeout=op_timeout,
            on_interrupt=(lambda partial: on_interrupt(result(partial, len(failures)))) if on_interrupt else None)
    finally:
        await faults.end()
        await coordinator.close()
    return result(run, len(failures))


class _Faults:
    """The nemesis task beside a run: begun at the load's start instant, stopped (and its fault healed) after."""

    def __init__(self, nemesis: Nemesis | None, duration: float) -> None:
        self.nemesis = nemesis
        self.duration = duration
        self.task: asyncio.Task[None] | None = None

    def begin(self, start_at: float) -> None:
        if self.nemesis is not None:
            self.task = asyncio.create_task(self.nemesis.run(start_at, self.duration))

    async def end(self) -> None:
        if self.nemesis is None or self.task is None:
            return
        self.nemesis.stop()
        await asyncio.gather(self.task, return_exceptions=True)


@dataclass(frozen=True)
class LoadSettings:
    """How a bench run drives its workload: connections, seconds (and warm-up seconds, in one process only), the
    seed, and the worker processes or Ray actors the connections are split over."""

    connections: int = option(8, "Connections.", low=1, high=100_000)
    duration: float = option(10.0, "Seconds.", low=0.1, high=LONGEST_SECONDS)
    warmup: float = option(0.0, "Seconds.", low=0, high=LONGEST_SECONDS)
    seed: int = option(0)
    processes: int = option(1, "Worker processes the connections are split over; with --ray, Ray actors.", low=1,
                            high=256)
    ray: str | None = option(None, "Run the workers as Ray actors on the Ray cluster at ADDRESS (needs "
                             "test-rig[ray]).", metavar="ADDRESS|auto")

    def check(self) -> None:
        """Raises UsageError for settings that cannot run together, before anything runs (a Ray address that
        cannot be used included)."""
        if self.processes > self.connections:
            raise UsageError(f"--processes {self.processes} is more than --connections {self.connections}; each "
                             "process needs at least one connection.")
        if self.warmup and (self.processes > 1 or self.ray is not None):  # workers and Ray actors do not warm up
            raise UsageError(f"--warmup applies to a run in one process; with --{'ray' if self.ray else 'processes'} "
                             "leave it out (or make --duration longer and read the timeline from the warm seconds).")
        if self.ray is not None:
            from test_rig.load.processes import check_ray

            check_ray(self.ray)


@dataclass(frozen=True)
class LoadEvents:
    """What a bench run tells as it goes: the nemesis prepared (before the load), the load started (connections
    that connected), each second's operations and errors; a line of the workload's own (a warning, its check's
    start)."""

    on_nemesis: Callable[[Nemesis], None] | None = None
    on_load_start: Callable[[int], None] | None = None
    on_second: Callable[[int, int, int], None] | None = None
    on_line: Callable[[str], None] | None = None

    def line(self, text: str) -> None:
        if self.on_line is not None:
            self.on_line(text)


def live_events(say: Callable[[str], None], load: LoadSettings, unit: str, per_second: str,
                failed: str) -> LoadEvents:
    """The events that give `say` a run's lines as it goes: the nemesis's (announce), the load's start (`unit`: what
    a connection is called), each second's `per_second` and `failed` counts, the workload's own lines."""
    return LoadEvents(on_nemesis=lambda nemesis: announce(nemesis, say),
                      on_load_start=lambda n: say(f"load started: {n} of {load.connections} {unit}"),
                      on_second=lambda t, ops, errors: say(f"  {t:>4} s: {ops} {per_second}, {errors} {failed}"),
                      on_line=say)


def resilience(env: Environment) -> Callable[[CircuitBreaker | None, float], ResilientConnectionManager]:
    """The run's resilience managers: `(breaker, overall_timeout)` gives one that shares `breaker`, its retries
    giving up within `overall_timeout`. Retries are not printed one by one: with many workers reconnecting, the
    breaker's transitions tell the story."""
    env.quiet_retries = True
    return lambda breaker, overall: env.manager(breaker=breaker, overall_timeout=overall)


async def measure(env: Environment, workload: Any, load: LoadSettings, *, table_size: int = 0,
                  nemesis: NemesisSpec | None = None, events: LoadEvents = LoadEvents()) -> dict[str, Any]:
    """A bench run of `workload` (a WORKLOADS name or picklable data with `name` and `operation()`) against the
    environment's target, as its result dict: the nemesis prepared (UsageError, before anything runs, when it
    cannot be done) and closed, one circuit breaker for the server (recovering as the nemesis needs) shared by
    every connection, then run_bench.

    `ok` says the run measured what was asked: false when a fault of the nemesis was not injected or healed;
    undecided (`undecided: 1`) when no operation completed, so nothing was measured. Interrupted (cancelled),
    the fault in progress is healed, the proxy closed, and the figures so far are returned with
    `complete: false`. A run that could not start (no connection, no database) raises, as before."""
    from test_rig.environment import PROGRAM_STOP

    target, manager = env.target(), resilience(env)
    name = workload if isinstance(workload, str) else workload.name
    prepared = Nemesis.prepare(nemesis, target) if nemesis is not None else None
    if prepared is not None and events.on_nemesis is not None:
        events.on_nemesis(prepared)
    breaker = CircuitBreaker(create_db_circuit_breaker_config(nemesis.breaker_recovery if nemesis else None),
                             name=target.address)  # transitions are logged
    partial: list[BenchResult] = []
    try:
        result = await run_bench(target, workload=workload, connections=load.connections, duration=load.duration,
                                 table_size=table_size,
                                 manager=manager(breaker, max(load.duration, env.config.database.timeout_secs)),
                                 seed=load.seed, warmup=load.warmup, on_interrupt=partial.append,
                                 on_load_start=events.on_load_start, on_second=events.on_second,
                                 processes=load.processes, nemesis=prepared, ray=load.ray)
    except asyncio.CancelledError:
        data: dict[str, Any] = partial[0].to_dict() if partial else {"command": f"bench {name}"}
        data.update(ok=False, complete=False, error=PROGRAM_STOP.reason())
        if prepared is not None:  # the windows as they ended: the fault in progress was healed meanwhile
            data["nemesis"] = prepared.to_dict()
        return data
    finally:
        if prepared is not None:
            await prepared.close()
    data = result.to_dict()
    failure = prepared.failure() if prepared is not None else None
    data["ok"] = failure is None
    if failure is not None:
        data["error"] = failure
    elif not data["operations"]:
        # Neither passed nor failed (results.judge reads `undecided`; settle writes ok false): why is said under
        # `unknown`, as a history checker says it, since an `error` beside ok false is a failure.
        errors = f": {by_code_text(data['errors_by_code'], data['error_messages'])}" if data["errors"] else ""
        data.update(ok=None, undecided=1, unknown=[f"no operation completed in {load.duration:g} s "
                                                   f"({data['errors']} errors{errors}): nothing was measured"])
    return data


async def run(env: Environment, workload: str, load: LoadSettings, *, table_size: int = 0,
              nemesis: NemesisSpec | None = None, events: LoadEvents = LoadEvents()) -> RunResult:
    """`test-rig bench point-select | select-1`: `measure` of the named workload, as a RunResult (also the
    partial one, `complete` false, of an interrupted run)."""
    return RunResult.from_dict(await measure(env, workload, load, table_size=table_size, nemesis=nemesis,
                                             events=events))


def bench_suites(data: dict[str, Any]) -> list[Suite]:
    """The JUnit file of a bench result: one case for the workload, failed or errored as the result says."""
    from test_rig.report.files import Case, Suite

    suite = Suite("bench")
    if data.get("complete") is not False:
        undecided = bool(data.get("undecided"))
        error = str(data.get("error") or "; ".join(map(str, data.get("unknown") or [])) or data.get("reason")
                    or "failed")
        suite.add(Case(str(data.get("workload") or "bench"), "test_rig.load.bench", float(data.get("seconds") or 0.0),
                       failure=None if data.get("ok") or undecided else error,
                       error=f"undecided: {error}" if undecided else None))
    return [suite]


def step_suites(data: dict[str, Any]) -> list[Suite]:
    """The JUnit file of a prepare or cleanup: one case named after the step, with its seconds when measured."""
    from test_rig.report.files import Case, Suite

    seconds = data.get("seconds")
    return [Suite("bench", [Case(str(data["command"]).removeprefix("bench "), "test_rig.load.bench",
                                 None if seconds is None else float(seconds))])]


def cleanup_lines(data: dict[str, Any]) -> list[str]:
    """A clean-up's line: the tables dropped, those that were not there, those it left (sysbench's beyond N)."""
    return [f"dropped {', '.join(data['dropped']) or 'nothing'}"
            + (f"; not there: {', '.join(data['absent'])}" if data["absent"] else "")
            + (f"; left in place: {', '.join(data['left'])}" if data.get("left") else "")]


# The console's lines of a result, as a person reads them (the JSON holds the same figures): beside the features
# that make those figures, as load.html holds their HTML.
def timeline_lines(data: dict[str, Any], unit: str, *, nemesis: bool = True) -> list[str]:
    """The per-second timeline in `unit` (! marks a second a fault covers), and the nemesis's windows."""
    lines = [f"timeline ({unit}): " + " ".join(str(t["ops"]) + ("!" if t.get("faults") else "")
                                             for t in data.get("timeline") or [])]
    if nemesis and data.get("nemesis"):
        lines.append(f"nemesis: {len(data['nemesis']['windows'])} fault window(s) (! marks the seconds they cover)")
    return lines


def opening(command: str, load: LoadSettings, unit: str, address: str, *what: str) -> str:
    """A free-running run's first console line: `test-rig bench COMMAND: N UNIT, D s, WHAT..., against ADDRESS`
    (`unit`: what a connection is called)."""
    return ", ".join([f"test-rig bench {command}: {load.connections} {unit}", f"{load.duration:g} s", *what,
                      f"against {address}"])


def console_lines(data: dict[str, Any]) -> list[Any]:
    """A point-select or select-1 result's lines: its figures, then why the run did not test what was asked, or
    what it could not decide (styled rich Text)."""
    from rich.text import Text

    lines: list[Any] = list(figure_lines(data))
    if data.get("complete") is not False and data.get("error"):
        lines.append(Text(f"The run did not test what was asked: {data['error']}", style="red"))
    return lines + [Text.assemble(("not decided", "yellow"), f": {reason}") for reason in data.get("unknown") or []]


def figure_lines(data: dict[str, Any]) -> list[str]:
    """A bench result's figures: throughput, latency, errors, the per-second timeline, the nemesis windows (none
    for a run that stopped before its load)."""
    if "qps" not in data:
        return []
    lines = [f"qps {data['qps']:.1f}  operations {data['operations']}  errors {data['errors']}  "
             f"p50 {data['p50_ms']:.3f} ms  p95 {data['p95_ms']:.3f} ms  p99 {data['p99_ms']:.3f} ms  "
             f"max {data['max_ms']:.3f} ms"]
    if data["errors"]:
        codes = by_code_text(data["errors_by_code"], data.get("error_messages"))
        lines.append(f"errors by code: {codes}; reconnects {data['reconnects']}")
    return lines + timeline_lines(data, "ops/s")


def latency_table(first: str, width: int, rows: Iterable[tuple[str, dict[str, Any]]]) -> list[str]:
    """A per-task or per-statement table: a header, then per row its count, rate, errors and latency percentiles."""
    lines = [f"{first:<{width}}{'count':>10}{'per s':>11}{'errors':>8}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}"
             f"{'max ms':>9}"]
    for name, s in rows:
        lines.append(f"{name:<{width}}{s['count']:>10}{s['per_second']:>11}{s['errors']:>8}{s['p50_ms']:>9.3f}"
                     f"{s['p95_ms']:>9.3f}{s['p99_ms']:>9.3f}{s['max_ms']:>9.3f}")
    return lines
