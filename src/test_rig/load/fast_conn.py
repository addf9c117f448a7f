"""A user task's connection on the fast load path: `fetch`, `execute`, `query` and `scalar` of db.Connection,
sent on a protocol of our own (load.fast's way) instead of asyncmy's cursor, with the same answers.

Why (measured, issue 20): a task of one point select through db.Connection.fetch cost 2.2x the built-in point
select's client CPU per operation (asyncmy's cursor, a coroutine and Future per read, the result's state machine
in Python between its C parts). Here a statement costs its arguments escaped by asyncmy (`literal`, the same
text as its cursor sends), one packet written, the answer framed in one pass over the reads it came in, and its
rows decoded in C by asyncmy's own row parser (`parse_rows_from_buffer`) with converters chosen as its cursor
chooses them; the converters of a column list already seen are looked up by its bytes. The transport goes back
to asyncmy's protocol for anything else (any other attribute read, or an answer that comes with no fast statement
in flight), so everything else (close, abort, reconnect, the op-timeout watchdog's abort, a task's `conn.raw`, also
one kept from before a fast statement) is as before.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

from asyncmy import converters as _converters
from asyncmy.constants import FIELD_TYPE
from asyncmy.protocol import FieldDescriptorPacket, MysqlPacket, parse_rows_from_buffer

from test_rig.db import Connection, Result
from test_rig.errors import DatabaseError, is_lost_connection, translate
from test_rig.load.fast import (
    _HEADER_LIMIT,
    _HEADERS,
    MAX_PAYLOAD,
    SERVER_MORE_RESULTS_EXISTS,
    SERVER_STATUS_IN_TRANS,
    _deprecates_eof,
    _lenenc,
    lost_connection,
    ok_status,
    query_packet,
    server_error,
)

#: Column types whose values are text in the connection's encoding, or bytes with the binary charset (63).
_TEXT_TYPES = frozenset((FIELD_TYPE.BIT, FIELD_TYPE.BLOB, FIELD_TYPE.LONG_BLOB, FIELD_TYPE.MEDIUM_BLOB,
                         FIELD_TYPE.STRING, FIELD_TYPE.TINY_BLOB, FIELD_TYPE.VAR_STRING, FIELD_TYPE.VARCHAR,
                         FIELD_TYPE.GEOMETRY))
#: Converters that take the value's bytes as they are (no decode to str first), as asyncmy's parser passes them.
_TAKES_BYTES = (int, float, _converters.convert_datetime, _converters.convert_timedelta,
                _converters.convert_time, _converters.convert_date)
_BINARY_CHARSET = 63
_NO_BYTES = bytearray()
#: db.Connection's attributes that are plain values: reading one leaves the transport with QueryProtocol (a task
#: that looks at conn.closed every time would otherwise switch protocols every time).
_PLAIN_ATTRIBUTES = frozenset(("target", "server", "closed", "in_transaction", "autocommit", "thread_id"))
#: Column lists remembered per connection (their converters and names), enough for any workload's statements.
_META_CACHE = 256


def _column_converter(field: Any, encoding: str | None, decoders: Mapping[int, Any]) -> tuple[int, str | None, Any]:
    """(how to take the bytes: 0 as bytes, 1 utf-8, 2 ascii, 3 another encoding; the encoding; the converter) of
    one column, for asyncmy's row parser: what asyncmy's cursor would give for it (a JSON value decoded in the
    connection's encoding whatever its charset says, text in the connection's encoding unless binary, numbers and
    times parsed from their bytes)."""
    kind = field.type_code
    converter = decoders.get(kind)
    if converter is _converters.through:
        converter = None
    if encoding is None:
        enc = None
    elif kind == FIELD_TYPE.JSON:
        enc = encoding
    elif kind in _TEXT_TYPES:
        enc = None if field.charsetnr == _BINARY_CHARSET else encoding
    else:
        enc = None if converter in _TAKES_BYTES else "ascii"
    code = 0 if enc is None else 1 if enc == "utf8" else 2 if enc == "ascii" else 3
    return code, enc, converter


class _Answer:
    """One statement's outcome: the first result set's rows and column names (None: it had none), the affected rows
    of its OK packet (or the number of rows), the server status."""

    __slots__ = ("columns", "rowcount", "rows", "status")

    def __init__(self) -> None:
        self.rows: list[tuple[Any, ...]] | None = None
        self.columns: list[str] | None = None
        self.rowcount = 0
        self.status = 0


class QueryProtocol(asyncio.Protocol):
    """The answer to one COM_QUERY, framed and decoded; `done` resolves with an _Answer or a DatabaseError."""

    def __init__(self, conn: Connection, *, deprecate_eof: bool, encoding: str | None,
                 decoders: Mapping[int, Any], hand_back: Callable[[], None] = lambda: None) -> None:
        self.conn = conn
        #: Gives the transport back to asyncmy's protocol (FastConnection.release).
        self.hand_back = hand_back
        self.deprecate_eof = deprecate_eof
        self.encoding = encoding
        self.decoders = decoders
        self.meta: dict[bytes, tuple[tuple[Any, ...], list[str]]] = {}
        self.done: asyncio.Future[Any] | None = None
        self.sql = ""
        self.as_result = False
        #: A statement was written and its answer has not come (still so after its task was cancelled).
        self.in_flight = False
        self.buf = _NO_BYTES
        self.pos = 0
        self.phase = 0  # 0: an answer's first packet; 1: column definitions; 2: their EOF; 3: rows
        self.answer = _Answer()
        self.ncols = 0
        self.meta_from = 0
        self.convs: tuple[Any, ...] = ()
        self.rows: list[tuple[Any, ...]] = []
        self.first = True  # the first result set of the statement (later ones, of a CALL, are read past)
        self.is_write = False
        self.answer_from = -1
        #: The column count packet, definitions and EOF of the last result set that began a read, their
        #: converters and names.
        self.last_meta = b""
        self.last_convs: tuple[Any, ...] = ()
        self.last_names: list[str] | None = None

    def begin(self, transport: Any, packet: bytes, sql: str, is_write: bool, as_result: bool,
              loop: asyncio.AbstractEventLoop) -> asyncio.Future[Any]:
        """Write `packet` (of `sql`) on `transport`, whose protocol this is, and give the future of its answer:
        a Result (`as_result`) or the rows as fetch gives them, or the DatabaseError raised."""
        self.done = loop.create_future()
        self.answer = _Answer()
        self.buf = _NO_BYTES  # a bytearray only for an answer that takes the general framing
        self.pos = 0
        self.phase = 0
        self.first = True
        self.sql, self.is_write, self.as_result = sql, is_write, as_result
        self.in_flight = True
        self.conn.running = sql  # one a cancellation cuts off is stopped on the server when it closes
        transport.write(packet)
        return self.done

    def _end(self, outcome: _Answer | DatabaseError) -> None:
        """The statement's answer (or failure) to the task awaiting it; the connection's transaction state from the
        server's status flags; a lost connection aborted, as db.Connection marks it closed."""
        self.in_flight = False
        conn = self.conn
        conn.running = None
        done = self.done
        if done is None or done.done():
            return
        if isinstance(outcome, DatabaseError):
            outcome.context = conn.target.context("query", self.sql)
            if is_lost_connection(outcome):
                conn.abort()
            done.set_exception(outcome)
            return
        conn.in_transaction = bool(outcome.status & SERVER_STATUS_IN_TRANS)
        if self.as_result:
            done.set_result(Result(rows=list(outcome.rows or ()), rowcount=outcome.rowcount,
                                   columns=outcome.columns or []))
        else:  # asyncmy's fetchall: a tuple of rows, [] after a statement without a result set
            done.set_result(tuple(outcome.rows) if outcome.rows is not None else [])

    def connection_lost(self, exc: Exception | None) -> None:
        if self.in_flight:
            # whether the statement would have made something durable is worked out only now, when it matters
            is_write = self.is_write or self.conn._commits_on_success(self.sql)
            self._end(lost_connection(str(exc) if exc else "the connection was closed", is_write))
        # asyncmy's protocol is told too: closing the connection waits for it to hear of the loss (ensure_closed's
        # wait_closed), which it would not while this protocol holds the transport
        driver = getattr(self.conn.raw, "_proto", None)
        if driver is not None and driver is not self:
            driver.connection_lost(exc)

    def eof_received(self) -> bool | None:
        return None

    def _to_driver(self, data: bytes) -> None:
        """An answer with no fast statement in flight is to a statement sent on asyncmy's own connection (a task
        that kept `conn.raw` from before a fast statement): the transport goes back to asyncmy's protocol
        (`hand_back`: FastConnection.release) and the bytes to it, as its transport would have given them."""
        self.hand_back()
        driver = self.conn.raw._proto
        view = memoryview(data)
        while view:
            buffer = driver.get_buffer(len(view))
            size = min(len(buffer), len(view))
            buffer[:size] = view[:size]
            driver.buffer_updated(size)
            view = view[size:]

    def data_received(self, data: bytes) -> None:
        if not self.in_flight:
            if not self.conn.closed:
                self._to_driver(data)
            return  # else a late answer after a drop: nobody's
        n = len(data)
        if not self.buf and n >= 11:
            # The common case first: the whole answer in this read, an OK packet or a result set whose column
            # count, definitions (and EOF) are the bytes of the last one seen (a repeated statement), its rows
            # decoded in C and its closing packet at the read's end. Anything else goes to the general framing.
            size = data[0] | data[1] << 8 | data[2] << 16
            if n == size + 4:
                if 7 <= size < MAX_PAYLOAD and data[4] == 0 and data[5] < 0xFB and data[6] < 0xFB:
                    status = data[7] | data[8] << 8
                    if not status & SERVER_MORE_RESULTS_EXISTS:
                        self.answer.rowcount = data[5]
                        self.answer.status = status
                        self._end(self.answer)
                        return
            elif self.last_meta and data.startswith(self.last_meta):
                start = len(self.last_meta)
                if n - start >= 4:
                    buf = bytearray(data)
                    rows: list[tuple[Any, ...]] = []
                    try:
                        pos, _ = parse_rows_from_buffer(buf, start, n, self.last_convs, data[start + 3], rows,
                                                        self.deprecate_eof)
                    except (IndexError, ValueError) as e:
                        self._end(translate(Exception(2027, f"Malformed packet on the fast load path: {e}")))
                        return
                    size = data[pos] | data[pos + 1] << 8 | data[pos + 2] << 16 if n - pos >= 9 else -1
                    if pos + 4 + size == n and data[pos + 4] == 0xFE and (
                            size < 9 if not self.deprecate_eof else data[pos + 5] < 0xFB and data[pos + 6] < 0xFB):
                        status = data[pos + 7] | data[pos + 8] << 8
                        if not status & SERVER_MORE_RESULTS_EXISTS:
                            answer = self.answer
                            answer.rows, answer.columns, answer.rowcount = rows, self.last_names, len(rows)
                            answer.status = status
                            self._end(answer)
                            return
        buf = self.buf
        if buf is _NO_BYTES:
            buf = self.buf = bytearray(data)
        else:
            buf += data
        try:
            self._frame(buf)
        except DatabaseError as e:
            self._end(e)
        except (IndexError, ValueError) as e:  # asyncmy's parser or ours on bytes that are no MySQL answer
            self._end(translate(Exception(2027, f"Malformed packet on the fast load path: {e}")))

    def _frame(self, buf: bytearray) -> None:
        n = len(buf)
        pos = self.pos
        while True:
            if self.phase == 3 and self.first:
                # the rows, decoded in C a run at a time; it stops at the closing packet or a cut one
                pos, _ = parse_rows_from_buffer(buf, pos, n, self.convs, buf[pos + 3] if n - pos >= 4 else 0,
                                                self.rows, self.deprecate_eof)
            if n - pos < 4:
                break
            size = buf[pos] | buf[pos + 1] << 8 | buf[pos + 2] << 16
            end = pos + 4 + size
            if size == MAX_PAYLOAD:  # a logical packet of 16 MB or more: its parts joined
                payload, end = self._joined(buf, pos, n)
                if end < 0:
                    break
            elif end > n:
                break
            else:
                payload = bytes(buf[pos + 4:end])
            start, pos = pos, end
            first = payload[0] if payload else 0
            phase = self.phase
            if first == 0xFF and phase != 1:
                self.pos = pos
                self._end(server_error(payload))
                return
            if phase == 0:
                if first == 0x00 and len(payload) >= 7:
                    affected, p = _lenenc(payload, 1)
                    _, p = _lenenc(payload, p)
                    if self.first:
                        self.answer.rowcount = affected
                    if self._result_done(payload[p] | payload[p + 1] << 8):
                        return
                elif first == 0xFB:
                    self._end(translate(Exception(2027, "the server asked for a local file (LOAD DATA LOCAL), "
                                                        "which a task's statement cannot send")))
                    return
                else:
                    self.ncols, _ = _lenenc(payload, 0)
                    self.answer_from = start
                    self.meta_from = pos
                    self.phase = 1
                    self.rows = []
            elif phase == 1:
                self.ncols -= 1
                if self.ncols == 0:
                    self._columns(buf, pos)
                    self.phase = 3 if self.deprecate_eof else 2
                    if self.phase == 3:
                        self._remember(buf, pos)
            elif phase == 2:
                self.phase = 3
                self._remember(buf, pos)
            elif first == 0xFE and (len(payload) < 9 or (self.deprecate_eof and size < MAX_PAYLOAD)):
                status = (payload[3] | payload[4] << 8 if len(payload) >= 5 else 0) if not self.deprecate_eof \
                    else ok_status(payload, 0)
                if self.first:
                    self.answer.rows = self.rows
                    self.answer.rowcount = len(self.rows)
                if self._result_done(status):
                    return
            elif self.first:  # a row the C parser left (one of 16 MB or more)
                self.rows.append(MysqlPacket(payload, "").read_row(self.convs))
        self.pos = pos

    def _joined(self, buf: bytearray, pos: int, n: int) -> tuple[bytes, int]:
        """A logical packet of several 16 MB parts from `pos`: its payload and end, or end -1 when cut."""
        parts = []
        while True:
            if n - pos < 4:
                return b"", -1
            size = buf[pos] | buf[pos + 1] << 8 | buf[pos + 2] << 16
            if pos + 4 + size > n:
                return b"", -1
            parts.append(bytes(buf[pos + 4:pos + 4 + size]))
            pos += 4 + size
            if size < MAX_PAYLOAD:
                return b"".join(parts), pos

    def _columns(self, buf: bytearray, end: int) -> None:
        """The column definitions just framed (from meta_from to `end`): their converters and names, looked up by
        their bytes when this column list was seen before."""
        key = bytes(buf[self.meta_from:end])
        known = self.meta.get(key)
        if known is None:
            fields, p = [], 0
            while p < len(key):
                size = key[p] | key[p + 1] << 8 | key[p + 2] << 16
                fields.append(FieldDescriptorPacket(key[p + 4:p + 4 + size], self.encoding or "utf8"))
                p += 4 + size
            known = (tuple(_column_converter(f, self.encoding, self.decoders) for f in fields),
                     [f.name for f in fields])
            if len(self.meta) >= _META_CACHE:
                self.meta.clear()
            self.meta[key] = known
        self.convs = known[0]
        if self.first:
            self.answer.columns = known[1]

    def _remember(self, buf: bytearray, end: int) -> None:
        """The first result set's column count, definitions and EOF, when they began the answer's first read: what
        data_received's shortcut matches the next answer against."""
        if self.first and self.answer_from == 0:
            self.last_meta = bytes(buf[:end])
            self.last_convs = self.convs
            self.last_names = self.answer.columns

    def _result_done(self, status: int) -> bool:
        """One result ended with `status`: True when it was the statement's last (the answer is given)."""
        self.answer.status = status
        self.phase = 0
        if status & SERVER_MORE_RESULTS_EXISTS:
            self.first = False
            return False
        self._end(self.answer)
        return True


class FastConnection:
    """A db.Connection whose statements go through QueryProtocol: what a user workload's tasks are given. Its
    attributes other than the statements (target, server, raw, closed, in_transaction, close, abort, ...) are the
    wrapped connection's, and reading one gives the transport back to asyncmy first (`release`).

    QueryProtocol stays the transport's protocol from one statement to the next: handing the transport to it and
    back for every statement (uvloop stops and restarts reading when a plain protocol follows asyncmy's buffered
    one) cost two epoll changes and a getpid a statement, more than the protocol saved."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn
        raw = conn.raw
        self._raw = raw
        self._literal = raw.literal
        self._encoding: str | None = raw._encoding if raw._use_unicode else None
        self._sql_encoding = raw._encoding
        self._proto = QueryProtocol(conn, deprecate_eof=_deprecates_eof(conn), encoding=self._encoding,
                                    decoders=raw._decoders, hand_back=self.release)
        self._lent: Any = None  # the transport while QueryProtocol is its protocol
        self._loop = conn._loop  # the connection's loop: its transport's and its tasks'

    def __getattr__(self, name: str) -> Any:
        if name not in _PLAIN_ATTRIBUTES:
            self.release()
        return getattr(self._conn, name)

    def release(self) -> None:
        """Give the transport back to asyncmy's protocol, for anything but this class's statements (idle: no
        statement is in flight between tasks)."""
        lent, self._lent = self._lent, None
        if lent is not None and not lent.is_closing():
            lent.set_protocol(self._raw._proto)

    def _sql(self, sql: str, args: Sequence[Any] | Mapping[str, Any] | None) -> str:
        """The statement with its arguments escaped as asyncmy's cursor escapes them."""
        if args is None:
            return sql
        literal = self._literal
        if isinstance(args, (tuple, list)):
            return sql % tuple(map(literal, args))
        if isinstance(args, dict):
            return sql % {k: literal(v) for k, v in args.items()}
        return str(sql % self._raw.escape(args))

    def _run(self, sql: str, is_write: bool, as_result: bool) -> asyncio.Future[Any]:
        """The statement written, and the future its answer resolves (QueryProtocol._end). Not a coroutine: a task
        awaits the future itself, one coroutine and frame less a statement."""
        conn = self._conn
        transport = self._raw._transport
        proto = self._proto
        if conn.closed or transport is None or transport.is_closing() or proto.in_flight:
            # lost, or a statement cancelled before its answer came: a late answer would be taken for the next one
            conn.abort()
            err = lost_connection("the connection was closed", is_write or conn._commits_on_success(sql))
            err.context = conn.target.context("query", sql)
            raise err
        if self._lent is not transport:
            transport.set_protocol(proto)
            self._lent = transport
        data = sql.encode(self._sql_encoding)
        size = len(data)
        return proto.begin(transport, _HEADERS[size] + data if size < _HEADER_LIMIT else query_packet(data), sql,
                           is_write, as_result, self._loop)

    def fetch(self, sql: str, args: Sequence[Any] | Mapping[str, Any] | None = None) -> Awaitable[Any]:
        """The rows as db.Connection.fetch gives them (asyncmy's fetchall: a tuple of tuples, [] without a result
        set); raises its DatabaseError."""
        return self._run(self._sql(sql, args) if args is not None else sql, False, False)

    def execute(self, sql: str, args: Sequence[Any] | Mapping[str, Any] | None = None, *,
                is_write: bool = False) -> Awaitable[Result]:
        """A Result, as db.Connection.execute gives it; raises its DatabaseError."""
        return self._run(self._sql(sql, args) if args is not None else sql, is_write, True)

    async def query(self, sql: str, args: Sequence[Any] | Mapping[str, Any] | None = None) -> list[Any]:
        return (await self.execute(sql, args)).rows

    async def scalar(self, sql: str) -> Any:
        rows = await self.query(sql)
        return rows[0][0] if rows and rows[0] else None
