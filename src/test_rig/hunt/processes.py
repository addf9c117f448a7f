"""`hunt --processes P`: the hunt's connections split over P worker processes (one asyncio process tops out at
one core), each running hunt/runner.run_hunt with databases of its own, merged into one HuntRun.

Workers are numbered across the processes, so each one sends the statements it would send in a one-process run
with the same --connections and --seed. The merge (`merge`, pure) adds the statistics, groups the findings by
signature across processes (counts, shapes and each oracle's finds added, the first process's reduced case
kept) and keeps each process's own figures beside the sum. Ctrl-C or SIGTERM to the parent stops every process
with SIGTERM: each drops its databases (run_hunt's `finally`) and sends what it saw, which is merged and
reported. The reduced `.sql` files are written by the parent after the merge (one per bug, numbered once); each
process's `--log` is appended to the one file in process order."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import queue
import signal
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from test_rig.db import Target
from test_rig.errors import Interrupted, RigError, UsageError
from test_rig.hunt.finding import write_sql
from test_rig.hunt.runner import HuntRun, HuntStats, run_hunt
from test_rig.load.processes import split
from test_rig.workers import gather, spawn


def shares(spec_connections: int, processes: int, queries: int | None) -> list[tuple[int, int, int | None]]:
    """(connections, first worker number, query bound) of each process. Raises UsageError when there are more
    processes than connections (each process needs one)."""
    if processes > spec_connections:
        raise UsageError(f"--processes {processes} is more than --connections {spec_connections}; each process "
                         "needs a connection of its own: give at least as many connections as processes.")
    counts = split(spec_connections, processes)
    bounds: list[int | None] = [None] * processes
    if queries is not None:  # in proportion to the connections, every process at least one query
        bounds = [max(1, queries * n // spec_connections) for n in counts]
        bounds[0] = max(1, queries - sum(b for b in bounds[1:] if b is not None))
    firsts = [sum(counts[:i]) for i in range(processes)]
    return list(zip(counts, firsts, bounds, strict=True))


def summary(run: HuntRun) -> dict[str, Any]:
    """One process's own figures, as kept beside the merged ones."""
    return {"first_worker": run.spec.first_worker, "connections": run.spec.connections,
            "checked_total": sum(run.stats.checked.values()), "checked": dict(run.stats.checked),
            "statements": run.stats.statements, "rounds": run.stats.rounds, "candidates": run.stats.candidates,
            "confirmed": run.stats.confirmed, "flaky": run.stats.flaky,
            "finds": sum(f.count for f in run.findings.values()), "signatures": sorted(run.findings),
            "databases": run.databases, "databases_dropped": run.dropped, "complete": run.complete,
            "error": run.error, "seconds": round(run.seconds, 3)}


def merge(run: HuntRun, parts: list[HuntRun]) -> HuntRun:
    """Fill `run` with the sum of `parts` (each process's run, in process order): statistics added, findings
    grouped by signature across processes, databases listed, and those any part left (`run.left`); `run.complete`
    only when every part says so, and a process that is missing (`len(parts)` below the processes asked for)
    makes it incomplete. Returns `run`."""
    stats = HuntStats()
    for p in parts:
        s = p.stats
        stats.checked.update(s.checked)
        stats.skipped.update(s.skipped)
        stats.errors_by_code.update(s.errors_by_code)
        for code, message in s.error_messages.items():
            stats.error_messages.setdefault(code, message)
        stats.driver_errors.update(s.driver_errors)
        stats.statements += s.statements
        stats.rounds += s.rounds
        stats.candidates += s.candidates
        stats.confirmed += s.confirmed
        stats.flaky += s.flaky
        stats.reductions += s.reductions
    run.stats = stats
    run.findings = {}
    for p in parts:
        for sig_id, f in p.findings.items():
            first = run.findings.get(sig_id)
            if first is None:
                run.findings[sig_id] = dataclasses.replace(f, shapes=set(f.shapes), same_data_as=list(f.same_data_as),
                                                           oracles=dict(f.oracles))
            else:  # the same bug found by another process: counted with the first one
                first.count += f.count
                first.shapes |= f.shapes
                for oracle, n in f.oracles.items():
                    first.oracles[oracle] = first.oracles.get(oracle, 0) + n
    if parts:
        run.server = parts[0].server
        run.server_log = next((p.server_log for p in parts if p.server_log), None)
    run.databases = [d for p in parts for d in p.databases]
    run.left = [d for p in parts for d in p.left]
    run.complete = len(parts) == run.spec.processes and all(p.complete for p in parts)
    run.error = next((p.error for p in parts if p.error), None)
    run.last_statements = [s for p in parts for s in p.last_statements]
    run.parts = [summary(p) for p in parts]
    return run


def _child(index: int, target: Target, spec: Any, results: Any, seconds: Any) -> None:
    """One worker process: runs its share of the hunt, reports each second's run and its final run."""
    from test_rig.environment import run_async

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # a terminal's Ctrl-C reaches us too: the parent decides
    run = HuntRun(spec)

    def tick(r: HuntRun) -> None:
        seconds.put((index, r.stats, list(r.databases), {k: f.known for k, f in r.findings.items()}, list(r.left)))

    try:
        run_async(lambda: run_hunt(target, run, on_second=tick, on_made=tick))  # a database made is told at once
    except Interrupted:
        pass  # stopped by the parent: `run` holds what was seen, the databases are dropped
    except UsageError as e:
        tick(run)  # what it made and could not drop, for the parent to name (_finish)
        results.put((index, ("usage", str(e))))
        return
    except RigError as e:  # e.g. the server cannot be reached: the parent says so as a one-process run would
        tick(run)
        results.put((index, ("error", str(e))))
        return
    except Exception as e:
        run.error = run.error or f"worker process {index} failed: {type(e).__name__}: {e}"
    run.spec = dataclasses.replace(run.spec, extra_oracles={})  # a test's planted oracle need not travel back
    results.put((index, ("run", run)))


async def run_hunt_processes(target: Target, run: HuntRun, *,
                             on_second: Callable[[HuntRun], None] | None = None) -> HuntRun:
    """run_hunt over `run.spec.processes` worker processes; `run` holds the merged result, also when the hunt is
    interrupted (CancelledError is raised again once every process has reported or 60 s have passed).
    Raises UsageError as a process met it (e.g. the user may not create databases)."""
    spec = run.spec
    plan = shares(spec.connections, spec.processes, spec.queries)
    logs = [Path(f"{spec.log}.p{i}") if spec.log is not None else None for i in range(spec.processes)]
    specs = [dataclasses.replace(spec, connections=n, first_worker=first, queries=bound, out=None, log=logs[i],
                                 watch_server_log=i == 0)
             for i, (n, first, bound) in enumerate(plan)]
    children, results, seconds = spawn(_child, [(i, target, s) for i, s in enumerate(specs)])
    got: dict[int, tuple[str, Any]] = {}
    latest: dict[int, tuple[HuntStats, list[str], dict[str, bool], list[str]]] = {}
    shown = [run.started]  # a line a second from the start (a process tells each database it makes at once too)

    def drain() -> None:
        changed = False
        with contextlib.suppress(queue.Empty):
            while True:
                index, stats, databases, findings, left = seconds.get_nowait()
                latest[index] = (stats, databases, findings, left)
                changed = True
        if changed and on_second is not None and time.monotonic() - shown[0] >= 0.9:  # one line a second
            shown[0] = time.monotonic()
            view = HuntRun(spec, started=run.started)
            view.findings = {}
            merged = merge(view, [_seen(spec, *latest[i]) for i in sorted(latest)])
            merged.seconds = time.monotonic() - run.started
            on_second(merged)

    try:
        await gather(children, results, got, poll=drain, wait=None, grace=60, join=10)
    except asyncio.CancelledError:
        drain()
        _finish(run, got, logs, latest)
        raise
    drain()
    _finish(run, got, logs, latest)
    usage = next(iter(_sent(got, "usage")), None)
    if usage is not None:
        raise UsageError(usage)
    failure = next(iter(_sent(got, "error")), None)
    if failure is not None and not run.parts:
        raise RigError(failure)
    if failure is not None:
        run.error = run.error or f"a worker process stopped: {failure}"
        run.complete = False
    if len(got) < len(children) and run.error is None:
        run.error = (f"{len(children) - len(got)} of {len(children)} worker processes gave no result; run again "
                     "with -v and check the server")
    return run


def _seen(spec: Any, stats: HuntStats, databases: list[str], findings: dict[str, bool], left: list[str]) -> HuntRun:
    """A live view of one process: its statistics, databases and findings so far (ids and whether known), and
    the databases it has made and not dropped."""
    from test_rig.hunt.finding import Finding

    part = HuntRun(spec, stats=stats, databases=databases, left=left)
    part.findings = {k: Finding("wrong-result", "", {}, 0, 0, "", known=known, signature_id=k)
                     for k, known in findings.items()}
    return part


def _sent(got: dict[int, tuple[str, Any]], kind: str) -> list[Any]:
    """What the processes sent of one kind ("run": a HuntRun, "usage" or "error": a message), in process order."""
    return [what for _, (sent, what) in sorted(got.items()) if sent == kind]


def _finish(run: HuntRun, got: dict[int, tuple[str, Any]], logs: list[Path | None],
            latest: dict[int, tuple[HuntStats, list[str], dict[str, bool], list[str]]]) -> None:
    """Merge what the processes sent into `run`, write the reduced files and the one statement log. A process
    that sent no run (it failed, or was killed) is known by its last second's report: the databases it had made
    and not dropped are named as left on the server."""
    parts = _sent(got, "run")
    merge(run, parts)
    run.left += [name for index, seen in sorted(latest.items()) if got.get(index, ("",))[0] != "run"
                 for name in seen[3]]
    run.seconds = time.monotonic() - run.started
    if run.spec.out is not None:
        for i, f in enumerate(run.findings.values(), 1):
            f.file = str(write_sql(f, run.spec.out, i))
    if run.spec.log is not None:
        with open(run.spec.log, "w", encoding="utf-8") as out:
            for part in logs:
                if part is not None and part.exists():
                    out.write(part.read_text(encoding="utf-8"))
                    part.unlink()


__all__ = ["merge", "run_hunt_processes", "shares", "summary"]
