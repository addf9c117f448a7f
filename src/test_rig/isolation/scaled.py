"""Scaled variants of lost update and write skew: `--test-rows` rows, `--concurrent-connections`
transactions, counting how many updates were lost and how many constraint violations committed."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from test_rig.coordinator import Step
from test_rig.db import Connection
from test_rig.isolation.catalogue import Observation
from test_rig.isolation.runner import LevelSession


@dataclass
class ScaledResult:
    test: str
    isolation: str
    txn_mode: str | None
    rows: int
    transactions: int
    committed: int
    aborted: int
    lost_updates: int | None = None
    violations: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


async def lost_update(session: LevelSession, rows: int, txns: int) -> ScaledResult:
    """Every transaction reads every counter, then writes read + 1 to each, then commits."""
    admin = await _fresh_table(session, "counters", "id INT PRIMARY KEY, value INT",
                               [f"({i}, 0)" for i in range(1, rows + 1)])
    seen: dict[str, list[tuple[int, int]]] = {}

    def reader(txn: str) -> Any:
        async def read(conn: Connection) -> Any:
            seen[txn] = [(int(a), int(b)) for a, b in await conn.query("SELECT id, value FROM counters ORDER BY id")]
            return seen[txn]
        return read

    def writer(txn: str) -> Any:
        async def write(conn: Connection) -> None:
            for row_id, value in seen[txn]:
                await conn.execute(f"UPDATE counters SET value = {value + 1} WHERE id = {row_id}")
        return write

    committed = await _read_all_then_write_all(
        session, txns, lambda t: Step(t, action=reader(t), label="read all counters"),
        lambda i, t: Step(t, action=writer(t), label="write read + 1 to each"))
    final = [int(r[0]) for r in await admin.query("SELECT value FROM counters ORDER BY id")]
    lost = sum(committed - v for v in final)
    return _result(session, "lost-update-scaled", rows, txns, committed, lost_updates=lost)


async def write_skew(session: LevelSession, rows: int, txns: int) -> ScaledResult:
    """`rows` shifts with one doctor per transaction on call; each doctor goes off call in every
    shift where they read that at least two are on call. A shift left with nobody is a violation."""
    admin = await _fresh_table(session, "oncall", "shift INT, doctor INT, on_call INT, PRIMARY KEY (shift, doctor)",
                               [f"({s}, {d}, 1)" for s in range(1, rows + 1) for d in range(1, txns + 1)])
    counts: dict[str, dict[int, int]] = {}

    def reader(txn: str) -> Any:
        async def read(conn: Connection) -> Any:
            got = await conn.query("SELECT shift, COUNT(*) FROM oncall WHERE on_call = 1 GROUP BY shift")
            counts[txn] = {int(s): int(c) for s, c in got}
            return got
        return read

    def writer(txn: str, doctor: int) -> Any:
        async def write(conn: Connection) -> None:
            for shift, n in sorted(counts[txn].items()):
                if n >= 2:
                    await conn.execute(f"UPDATE oncall SET on_call = 0 WHERE shift = {shift} AND doctor = {doctor}")
        return write

    committed = await _read_all_then_write_all(
        session, txns, lambda t: Step(t, action=reader(t), label="count doctors on call per shift"),
        lambda i, t: Step(t, action=writer(t, i + 1), label="go off call where 2+ are on"))
    staffed = {int(s) for (s,) in await admin.query("SELECT DISTINCT shift FROM oncall WHERE on_call = 1")}
    violations = sum(1 for s in range(1, rows + 1) if s not in staffed)
    return _result(session, "write-skew-scaled", rows, txns, committed, violations=violations)


async def _fresh_table(session: LevelSession, table: str, columns: str, rows: Sequence[str]) -> Connection:
    """The session's schema reset and `table` made anew with `columns` and `rows` (each a VALUES tuple);
    returns the admin connection, which checks the outcome afterwards."""
    admin = session.admin
    assert admin is not None
    await session.reset()
    await admin.execute(f"DROP TABLE IF EXISTS {table}")
    await admin.execute(f"CREATE TABLE {table} ({columns}) ENGINE=InnoDB")
    await admin.execute(f"INSERT INTO {table} VALUES " + ",".join(rows))
    return admin


async def _read_all_then_write_all(session: LevelSession, txns: int, read: Callable[[str], Step],
                                   write: Callable[[int, str], Step]) -> int:
    """Every one of `txns` transactions (T1, T2, ...) begins, then every one reads, then every one writes, then
    every one commits: the interleaving that lets a read-modify-write go stale. Returns how many committed."""
    names = [f"T{i + 1}" for i in range(txns)]
    script = [Step(t, "BEGIN") for t in names]
    script += [read(t) for t in names]
    script += [write(i, t) for i, t in enumerate(names)]
    script += [Step(t, "COMMIT") for t in names]
    result = await session.coordinator.run_script(script)
    history = Observation(result.steps, final={})
    return sum(history.committed(t) for t in names)


def _result(session: LevelSession, test: str, rows: int, txns: int, committed: int, *,
            lost_updates: int | None = None, violations: int | None = None) -> ScaledResult:
    """One scaled test's result at the session's level; a transaction that did not commit was aborted."""
    level = session.level
    return ScaledResult(test, level.isolation, level.txn_mode, rows, txns, committed, txns - committed,
                        lost_updates=lost_updates, violations=violations)
