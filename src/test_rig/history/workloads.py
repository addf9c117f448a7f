"""Random transactional workloads that record a history, run in the coordinator's free-running mode.

Each transaction is invoked (recorded), run as BEGIN, micro-operations, COMMIT, and completed as `ok`
with what its reads returned, `fail` when it certainly did not apply (any error before COMMIT, or a
COMMIT the server refused), or `info` when its COMMIT's answer was lost (errors.Indeterminate). Every
written value is unique per key, so a read names the writes it saw. After an `info` the worker takes a
new process id, as Elle expects of a process whose last operation may still be in flight.
"""

from __future__ import annotations

import contextlib
import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from test_rig.coordinator import Worker
from test_rig.db import Connection
from test_rig.errors import DatabaseError, ErrorCategory, classify_error
from test_rig.history.model import HistoryWriter

WORKLOADS = ("list-append", "rw-register", "bank")


@dataclass
class Spec:
    name: str
    keys: int = 8
    max_txn_len: int = 4
    writes_per_key: int = 32  # a key that took this many writes is retired for a fresh one (short reads)
    accounts: int = 5
    total: int = 100


@dataclass
class Shared:
    """What all workers of one run share: the history, unique values, the active keys."""

    spec: Spec
    history: HistoryWriter
    processes: int
    values: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    active: list[int] = field(default_factory=list)
    writes: dict[int, int] = field(default_factory=dict)
    next_key: int = 0
    generation: dict[int, int] = field(default_factory=dict)
    #: The first client number of this process's workers (with --processes, the workers of other processes
    #: hold the numbers below); `processes` counts the clients of the whole run.
    base: int = 0

    def __post_init__(self) -> None:
        self.active = list(range(self.spec.keys))
        self.next_key = self.spec.keys

    def key(self, rng: Any) -> int:
        key: int = self.active[rng.randrange(len(self.active))]
        return key

    def wrote(self, key: int) -> None:
        self.writes[key] = self.writes.get(key, 0) + 1
        if self.writes[key] >= self.spec.writes_per_key and key in self.active:
            self.active[self.active.index(key)] = self.next_key
            self.next_key += 1

    def process(self, worker: int) -> int:
        return self.base + worker + self.processes * self.generation.get(worker, 0)

    def crashed(self, worker: int) -> None:
        self.generation[worker] = self.generation.get(worker, 0) + 1


def setup_sql(spec: Spec) -> list[str]:
    if spec.name == "bank":
        each = spec.total // spec.accounts
        rows = ", ".join(f"({a}, {each + (spec.total - each * spec.accounts if a == 0 else 0)})"
                         for a in range(spec.accounts))
        return ["CREATE TABLE rig_bank (id INT PRIMARY KEY, balance BIGINT NOT NULL) ENGINE=InnoDB",
                f"INSERT INTO rig_bank (id, balance) VALUES {rows}"]
    if spec.name == "rw-register":
        return ["CREATE TABLE rig_register (k INT PRIMARY KEY, v BIGINT NOT NULL) ENGINE=InnoDB"]
    return ["CREATE TABLE rig_append (k INT PRIMARY KEY, v TEXT NOT NULL) ENGINE=InnoDB"]


def _plan(shared: Shared, rng: Any) -> list[list[Any]]:
    spec = shared.spec
    if spec.name == "bank":
        if rng.random() < 0.5:
            return [["read", None, None]]
        a, b = rng.sample(range(spec.accounts), 2)
        return [["transfer", [a, b], rng.randint(1, 5)]]
    mops: list[list[Any]] = []
    for _ in range(rng.randint(1, spec.max_txn_len)):
        k = shared.key(rng)
        if rng.random() < 0.5:
            mops.append(["r", k, None])
        else:
            v = next(shared.values)
            shared.wrote(k)
            mops.append(["append" if spec.name == "list-append" else "w", k, v])
    return mops


async def _apply(conn: Connection, spec: Spec, mop: list[Any]) -> list[Any]:
    f, k, v = mop
    if f == "append":
        await conn.execute("INSERT INTO rig_append (k, v) VALUES (%s, %s) ON DUPLICATE KEY UPDATE "
                           "v = CONCAT(v, ',', %s)", [k, str(v), str(v)])
        return mop
    if f == "w":
        await conn.execute("INSERT INTO rig_register (k, v) VALUES (%s, %s) ON DUPLICATE KEY UPDATE v = %s",
                           [k, v, v])
        return mop
    if f == "r" and spec.name == "list-append":
        rows = await conn.fetch("SELECT v FROM rig_append WHERE k = %s", [k])
        return ["r", k, [int(x) for x in str(rows[0][0]).split(",")] if rows else []]
    if f == "r":
        rows = await conn.fetch("SELECT v FROM rig_register WHERE k = %s", [k])
        return ["r", k, int(rows[0][0]) if rows else None]
    if f == "transfer":
        # Read both balances, then write back what was read plus or minus the amount: the read-modify-write
        # that loses money wherever the level lets a lost update through.
        a, b = k
        rows = await conn.fetch("SELECT id, balance FROM rig_bank WHERE id IN (%s, %s)", [a, b])
        balance = {int(i): int(x) for i, x in rows}
        if balance.get(a, 0) < v:
            return ["transfer", k, 0]  # not enough money: a transfer of nothing
        await conn.execute("UPDATE rig_bank SET balance = %s WHERE id = %s", [balance[a] - v, a])
        await conn.execute("UPDATE rig_bank SET balance = %s WHERE id = %s", [balance[b] + v, b])
        return mop
    rows = await conn.fetch("SELECT id, balance FROM rig_bank ORDER BY id")
    return ["read", None, {str(int(i)): int(bal) for i, bal in rows}]


def workload(shared: Shared, *, begin: str = "BEGIN") -> Callable[[Connection, Worker], Any]:
    """The free-running operation: one transaction, recorded as invoke + completion."""
    history, spec = shared.history, shared.spec

    async def op(conn: Connection, worker: Worker) -> None:
        mops = _plan(shared, worker.rng)
        process = shared.process(worker.index)
        history.add(process, "invoke", "txn", mops, time.monotonic_ns())
        done: list[list[Any]] = []
        committing = False
        try:
            await conn.execute(begin)
            for mop in mops:
                done.append(await _apply(conn, spec, mop))
            committing = True
            await conn.execute("COMMIT")
        except DatabaseError as e:
            lost = classify_error(e) is ErrorCategory.Indeterminate or (committing and e.indeterminate)
            if lost:
                history.add(process, "info", "txn", mops, time.monotonic_ns())
                shared.crashed(worker.index)
            else:
                history.add(process, "fail", "txn", mops, time.monotonic_ns())
                if not conn.closed:
                    with contextlib.suppress(DatabaseError):
                        await conn.execute("ROLLBACK")
            raise
        history.add(process, "ok", "txn", done, time.monotonic_ns())

    return op

