"""A user task's connection on the fast load path (load.fast_conn) against the sandbox servers: the same answers as
db.Connection's for every kind of column, statement and error, the transaction flag from the server, a killed
connection lost and marked closed, TLS, and the connection handed back to the driver."""

from __future__ import annotations

from test_rig.db import Connection, Target, connect
from test_rig.environment import run_async
from test_rig.errors import DatabaseError, is_lost_connection
from test_rig.load.fast_conn import FastConnection
from test_rig.servers.sandbox import SandboxState


def target(state: SandboxState, **kw: object) -> Target:
    return Target("fast-conn", state.host, state.port, "root", "", "test", 5, **kw)  # type: ignore[arg-type]


#: Statements whose answers are compared, with their arguments: every decoding path of a text-protocol row.
READS: list[tuple[str, tuple[object, ...] | dict[str, object] | None]] = [
    ("SELECT 1, -2, 18446744073709551615, 1.5, 2.5e3, NULL, CAST(2.5 AS DECIMAL(4,2)), 'text', _binary 'ab', "
     "x'00ff', b'101', REPEAT('é', 3), DATE '2024-02-29', TIMESTAMP '2024-02-29 12:34:56.123456', "
     "TIME '-838:59:59', JSON_OBJECT('a', 1), CAST(5 AS UNSIGNED), YEAR(NOW()) > 2000", None),
    ("SELECT %s, %s, %s, %s, %s", (7, "it's", b"\x00\x01", None, 2.25)),
    ("SELECT %(a)s + %(b)s", {"a": 40, "b": 2}),
    ("SELECT id, v FROM fast_conn_t WHERE id > %s ORDER BY id", (0,)),
    ("SELECT id FROM fast_conn_t WHERE id < 0", None),
    ("DO 1", None),
    ("SELECT REPEAT('x', 70000)", None),  # a row of more than 64 KB, in several reads
]


async def _table(conn: Connection) -> None:
    await conn.execute("DROP TABLE IF EXISTS fast_conn_t")
    await conn.execute("CREATE TABLE fast_conn_t (id INT PRIMARY KEY, v VARCHAR(300))")
    await conn.execute("INSERT INTO fast_conn_t VALUES " + ",".join(f"({i}, REPEAT('v', {i}))" for i in range(1, 300)))


def test_answers_equal_the_drivers(any_server: SandboxState) -> None:
    async def main() -> list[tuple[object, object, object, object]]:
        conn = await connect(target(any_server))
        fast = FastConnection(conn)
        try:
            await _table(conn)
            compared = []
            for sql, args in READS:
                for _ in range(2):  # the second time through the shortcut for a column list seen before
                    mine = await fast.fetch(sql, args)
                    mine_result = await fast.execute(sql, args)
                    fast.release()
                    compared.append((mine, await conn.fetch(sql, args), mine_result, await conn.execute(sql, args)))
            return compared
        finally:
            await conn.close()

    for mine, theirs, mine_result, their_result in run_async(main):
        assert mine == theirs and type(mine) is type(theirs)
        assert mine_result == their_result


def test_writes_errors_and_the_transaction_flag(sandbox: SandboxState) -> None:
    async def main() -> list[object]:
        conn = await connect(target(sandbox))
        fast = FastConnection(conn)
        seen: list[object] = []
        try:
            await _table(conn)
            seen.append((await fast.execute("UPDATE fast_conn_t SET v = 'u' WHERE id <= %s", (3,))).rowcount)
            seen.append(await fast.fetch("DELETE FROM fast_conn_t WHERE id = 1"))
            await fast.execute("BEGIN")
            seen.append(conn.in_transaction)
            await fast.execute("INSERT INTO fast_conn_t VALUES (%s, %s)", (1000, "new"))
            seen.append(await fast.scalar("SELECT COUNT(*) FROM fast_conn_t"))
            await fast.execute("ROLLBACK")
            seen.append(conn.in_transaction)
            seen.append(await fast.query("SELECT v FROM fast_conn_t WHERE id IN (2, 4) ORDER BY id"))
            for bad in ("SELECT * FROM no_such_table_here", "SELEC 1", "INSERT INTO fast_conn_t VALUES (2, 'dup')"):
                try:
                    await fast.fetch(bad)
                except DatabaseError as e:
                    seen.append((e.code, bad in str(e.context)))
            seen.append(await fast.scalar("SELECT 6*7"))  # the connection goes on after errors
            seen.append(await fast.raw.cursor().execute("SELECT 1"))  # the driver has it back when asked
            seen.append(await conn.scalar("SELECT 7"))
        finally:
            await conn.close()
        return seen

    assert run_async(main) == [3, [], True, 299, False, [("u",), ("v" * 4,)], (1146, True), (1064, True),
                               (1062, True), 42, 1, 7]


def test_a_killed_connection_is_lost_and_marked_closed(sandbox: SandboxState) -> None:
    async def main() -> tuple[bool, bool, bool, int | None]:
        conn = await connect(target(sandbox))
        fast = FastConnection(conn)
        admin = await connect(target(sandbox))
        try:
            thread = await fast.scalar("SELECT CONNECTION_ID()")
            await admin.execute(f"KILL CONNECTION {int(thread)}")
            try:
                await fast.fetch("SELECT SLEEP(1)")
            except DatabaseError as e:
                lost = is_lost_connection(e)
                code = e.code
            try:
                await fast.fetch("SELECT 1")
            except DatabaseError as e:
                again = is_lost_connection(e)
            return lost, again, conn.closed, code
        finally:
            await admin.close()
            await conn.close()

    lost, again, closed, code = run_async(main)
    assert (lost, again, closed) == (True, True, True)
    assert code in (1927, 2013)


def test_tls_connections(tls_box: SandboxState) -> None:
    async def main() -> tuple[object, object]:
        conn = await connect(target(tls_box, ssl_mode="verify-identity", ssl_ca=tls_box.ssl_ca))
        fast = FastConnection(conn)
        try:
            cipher = await fast.scalar("SELECT VARIABLE_VALUE FROM information_schema.SESSION_STATUS "
                                       "WHERE VARIABLE_NAME = 'Ssl_cipher'")
            return cipher, await fast.fetch("SELECT REPEAT('t', 100000)")
        finally:
            fast.release()
            await conn.close()

    cipher, rows = run_async(main)
    assert str(cipher).startswith("TLS_")
    assert rows == (("t" * 100000,),)


def test_reading_a_plain_attribute_keeps_the_fast_protocol(sandbox: SandboxState) -> None:
    async def main() -> tuple[bool, bool, bool, object]:
        conn = await connect(target(sandbox))
        fast = FastConnection(conn)
        try:
            await fast.fetch("SELECT 1")
            transport = conn.raw._transport
            mine = transport.get_protocol()
            plain = (fast.closed, fast.in_transaction, fast.target.name)
            kept = transport.get_protocol() is mine
            fast.server  # noqa: B018 - a plain attribute too
            fast.raw  # noqa: B018 - anything else hands the transport back
            back = transport.get_protocol() is conn.raw._proto
            return kept, back, plain == (False, False, "fast-conn"), await conn.scalar("SELECT 3")
        finally:
            await conn.close()

    assert run_async(main) == (True, True, True, 3)


def test_a_driver_connection_kept_across_fast_statements_still_answers(any_server: SandboxState) -> None:
    """A task that took `conn.raw` (asyncmy's connection) once and keeps using it between fast statements: its
    statements' answers reach the driver, which hung before (the answer went to the fast protocol, which dropped
    it), and the fast statements after them still answer."""
    import asyncio

    async def main() -> list[object]:
        conn = await connect(target(any_server))
        fast = FastConnection(conn)
        try:
            raw = fast.raw
            seen: list[object] = []
            for i in range(3):
                seen.append(await fast.fetch(f"SELECT {i}"))
                cursor = raw.cursor()
                # bounded, so that a regression fails here instead of hanging the suite
                await asyncio.wait_for(cursor.execute(f"SELECT {i} + 10"), 10)
                seen.append(await cursor.fetchall())
            seen.append(await fast.fetch("SELECT 'fast'"))
            return seen
        finally:
            fast.release()
            await conn.close()

    assert run_async(main) == [((0,),), ((10,),), ((1,),), ((11,),), ((2,),), ((12,),), (("fast",),)]


def test_a_row_of_16_mb_or_more_is_read_whole(any_server: SandboxState) -> None:
    """A row the server sends as a logical packet of two parts (16 MB and the rest), and one of exactly 16 MB less
    its other bytes (a full part and an empty one), read whole, and the connection still in step after each: on
    the fast path and through db.Connection (whose driver, asyncmy 0.2.18, took the first for the end of the result
    set when DEPRECATE_EOF was negotiated: "tuple index out of range", then "Packet sequence number wrong"; see
    db._RigConnection). Compared with the value itself."""
    # (the value's length, its SQL): the second row's payload is 0xFD and 3 length bytes, the value, 1 + 1 for the 7
    values = ((16_777_400, "REPEAT('ab', 8388700)"), (0xFFFFFF - 6, "CONCAT(REPEAT('ab', 8388604), 'c')"))

    async def main() -> list[object]:
        admin = await connect(target(any_server))
        before = await admin.scalar("SELECT @@GLOBAL.max_allowed_packet")
        await admin.execute("SET GLOBAL max_allowed_packet = 67108864")  # MariaDB's default, 16 MB, gives NULL
        try:
            conn = await connect(target(any_server))  # a session reads the global when it begins
            fast = FastConnection(conn)
            try:
                answers = []
                for _, value in values:
                    answers.append(await fast.fetch(f"SELECT {value}, 7"))
                    answers.append(await fast.fetch("SELECT 8"))
                fast.release()
                answers.append(await conn.fetch("SELECT 9"))  # the driver's turn: nothing left unread
                for _, value in values:
                    answers.append(await conn.fetch(f"SELECT {value}, 7"))
                    answers.append(await conn.fetch("SELECT 8"))
                return answers
            finally:
                await conn.close()
        finally:
            await admin.execute(f"SET GLOBAL max_allowed_packet = {int(before)}")
            await admin.close()

    expected: list[object] = []
    for size, _ in values:
        expected += [(("ab" * (size // 2) + "c" * (size % 2), 7),), ((8,),)]
    assert run_async(main) == [*expected, ((9,),), *expected]
