"""Many statements in one round trip: the hunt sends the statements between queries and the queries of several
checks as one multi-statement COM_QUERY, and reads each one's rows in order.

Why (measured on the 2-core machine, issue 19): a round trip cost the asyncmy client 73 µs of CPU for `SELECT 1`
and 221 µs of wall time under the machine's load, twelve statements in one round trip 158 µs and 472 µs; the
hunt sends two to sixteen statements a case, so most of the client's time was the round trips' own. The
server runs a multi-statement in order and stops at the first error (MariaDB, MySQL and TiDB alike), so what
one batch returns is each statement's rows up to the one that failed, and that one's error: the same answers,
in the same order, as one statement at a time.

`plan` is pure (which statements to send, where each check finds its rows); `send` is the only function here that
talks to a server."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from test_rig.db import Connection
from test_rig.errors import DatabaseError, TimeoutError_, is_lost_connection, translate
from test_rig.hunt import ast as A
from test_rig.hunt.compare import Row
from test_rig.hunt.oracles import Check, Oracle

#: A batch is closed once it holds this many statements (cases are never split): enough to make the round trip's
#: own cost small beside the statements', few enough that a candidate is judged soon after its rows came.
BATCH_STATEMENTS = 16


@dataclass(frozen=True)
class Step:
    """One thing a worker does, in order: a statement between queries (`statement`, rendered as `sql`), or one
    oracle's check of one case."""

    statement: A.Statement | None = None
    sql: str = ""
    oracle: Oracle | None = None
    case: A.Case_ | None = None
    check: Check | None = None


#: Where a check's query finds its rows: a position in the batch, or the rows already read in this state.
Ref = int | Sequence[Row]


@dataclass(frozen=True)
class Plan:
    """The statements of one batch, and for each step (from the first one planned) where its answers are: a
    statement's position, or a check's refs, one per query."""

    statements: tuple[str, ...]
    refs: tuple[int | tuple[Ref, ...], ...]


def plan(steps: Sequence[Step], answers: Mapping[str, Sequence[Row]]) -> Plan:
    """The batch for `steps`: each statement once, each query once while nothing changed the database or the
    session (a query already in `answers`, the rows read since the last change, is not sent again; after a
    statement step every query is sent again, its earlier rows being of another state)."""
    statements: list[str] = []
    refs: list[int | tuple[Ref, ...]] = []
    seen: dict[str, Ref] = dict(answers)
    for step in steps:
        if step.check is None:
            refs.append(len(statements))
            statements.append(step.sql)
            seen = {}
            continue
        where: list[Ref] = []
        for sql in step.check.queries:
            ref = seen.get(sql)
            if ref is None:
                ref = seen[sql] = len(statements)
                statements.append(sql)
            where.append(ref)
        refs.append(tuple(where))
    return Plan(tuple(statements), tuple(refs))


_quiet: list[Any] = []


def quiet_cursor() -> Any:
    """The driver's cursor class without its SHOW WARNINGS: asyncmy sends one after every statement that left a
    warning, and logs each warning, another round trip for about one statement in sixteen of the hunt's
    (truncations, divisions by zero), whose warnings nobody reads. Made on first use (the driver is imported
    when a hunt runs)."""
    if not _quiet:
        from asyncmy.cursors import Cursor

        class Quiet(Cursor):
            async def _show_warnings(self, conn: Any) -> None:
                return None

        _quiet.append(Quiet)
    return _quiet[0]


async def send(conn: Connection, statements: Sequence[str]) -> tuple[list[Sequence[Row]], DatabaseError | None]:
    """Run `statements` as one multi-statement: the rows of each one the server ran ([] for one that returns
    none), in order, and the error of the one that stopped it (None when all ran). A lost connection marks
    `conn` closed, as `Connection.execute` does."""
    out: list[Sequence[Row]] = []
    if not statements:
        return out, None
    cursor = conn.raw.cursor(quiet_cursor())
    try:
        await cursor.execute(";".join(statements))
        out.append(await cursor.fetchall())
        while len(out) < len(statements) and await cursor.nextset():
            out.append(await cursor.fetchall())
    except Exception as e:
        sql = statements[len(out)] if len(out) < len(statements) else statements[-1]
        err = translate(e)
        err.context = conn.target.context("query", sql)
        if is_lost_connection(err) or isinstance(err, TimeoutError_):
            conn.closed = True
        return out, err
    if len(out) < len(statements):  # the server ran fewer statements than were sent: not a server we know
        return out, DatabaseError(f"the server answered {len(out)} of {len(statements)} statements sent at once",
                                  code=None, context=conn.target.context("query", statements[len(out)]))
    return out, None


__all__ = ["BATCH_STATEMENTS", "Plan", "Step", "plan", "quiet_cursor", "send"]
