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


def _txns(n: int) -> list[str]:
    return [f"T{i + 1}" for i in range(n)]


async def lost_update(session: LevelSession, rows: int, txns: int) -> ScaledResult:
    """Every transaction reads every counter, then writes read + 1 to each, then commits."""
    admin = session.admin
    assert admin is not None
    await session.reset()
    await admin.execute("DROP TABLE IF EXISTS counters")
    await admin.execute("CREATE TABLE counters (id INT PRIMARY KEY, value INT) ENGINE=InnoDB")
    await admin.execute("INSERT INTO counters VALUES " + ",".join(f"({i}, 0)" for i in range(1, rows + 1)))
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

    names = _txns(txns)
    committed = await _read_all_then_write_all(
        session, names, lambda t: Step(t, action=reader(t), label="read all counters"),
        lambda i, t: Step(t, action=writer(t), label="write read + 1 to each"))
    final = [int(r[0]) for r in await admin.query("SELECT value FROM counters ORDER BY id")]
    lost = sum(committed - v for v in final)
    level = session.level
    return ScaledResult("lost-update-scaled", level.isolation, level.txn_mode, rows, txns, committed,
                        txns - committed, lost_updates=lost)


async def write_skew(session: LevelSession, rows: int, txns: int) -> ScaledResult:
    """`rows` shifts with one doctor per transaction on call; each doctor goes off call in every
    shift where they read that at least two are on call. A shift left with nobody is a violation."""
    admin = session.admin
    assert admin is not None
    await session.reset()
    await admin.execute("DROP TABLE IF EXISTS oncall")
    await admin.execute("CREATE TABLE oncall (shift INT, doctor INT, on_call INT, PRIMARY KEY (shift, doctor)) "
                        "ENGINE=InnoDB")
    await admin.execute("INSERT INTO oncall VALUES " + ",".join(f"({s}, {d}, 1)" for s in range(1, rows + 1)
                                                               for d in range(1, txns + 1)))
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

    names = _txns(txns)
    committed = await _read_all_then_write_all(
        session, names, lambda t: Step(t, action=reader(t), label="count doctors on call per shift"),
        lambda i, t: Step(t, action=writer(t, i + 1), label="go off call where 2+ are on"))
    staffed = {int(s) for (s,) in await admin.query("SELECT DISTINCT shift FROM oncall WHERE on_call = 1")}
    violations = sum(1 for s in range(1, rows + 1) if s not in staffed)
    level = session.level
    return ScaledResult("write-skew-scaled", level.isolation, level.txn_mode, rows, txns, committed,
                        txns - committed, violations=violations)


async def _read_all_then_write_all(session: LevelSession, names: Sequence[str], read: Callable[[str], Step],
                                   write: Callable[[int, str], Step]) -> int:
    """Every transaction begins, then every one reads, then every one writes, then every one commits:
    the interleaving that lets a read-modify-write go stale. Returns how many committed."""
    script = [Step(t, "BEGIN") for t in names]
    script += [read(t) for t in names]
    script += [write(i, t) for i, t in enumerate(names)]
    script += [Step(t, "COMMIT") for t in names]
    result = await session.coordinator.run_script(script)
    history = Observation(result.steps, final={})
    return sum(history.committed(t) for t in names)
