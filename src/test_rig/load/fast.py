"""The fast load path: one statement, repeated on every connection by an asyncio Protocol of our own.

Why (measured, issue 20): asyncmy costs 12-20 µs of client CPU per query on the free-running loop (a coroutine
and a Future per query, a cursor, rows decoded into Python objects nobody reads), which made `test-rig bench`
cost 2.4x sysbench's client CPU per query. asyncmy stays in charge of everything it does well (the handshake,
authentication plugins, TLS, server detection, session variables, errors of the connect), and of the
connection after the run; for the hot loop only, the connection's transport is handed to `StatementLoop`
(`transport.set_protocol`), which writes the next COM_QUERY from the callback that saw the previous answer
complete: no Future, no coroutine switch, no cursor per query. Parsing is framing only (OK / ERR / EOF packets,
the column count, rows counted, not decoded), hand-written because no library frames the MySQL protocol without
a driver around it; the column definitions of a repeated statement are the same bytes every time, so once seen
they are skipped with one `bytes.startswith` (C) instead of a packet walk. Arguments are formatted before the
run (a table of ready packets, drawn with `random.choices` in blocks), and the per-operation bookkeeping is one
`list.append` of the latency: each second's list is folded into the run's counts (`Counter.update`, C) when the
second is over, and the HDR histogram gets each distinct latency once, at the end.

Everything the loop of `Coordinator.run_free` does is kept: errors by server code (and by second), the circuit
breaker told of lost connections, reconnects through the resilience manager, the op-timeout watchdog (it reads
when each connection's statement was sent), `on_second`, `start_at`, `on_interrupt`, and the same
`FreeRunResult`. A workload opts in by being a `FastStatement` (coordinator.run_free hands the whole run to its
`run_free`); it stays callable as an ordinary workload for every other caller.
"""

from __future__ import annotations

import asyncio
import functools
import itertools
import logging
import math
import random
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Coroutine, Iterator, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from test_rig.coordinator import (
    SECOND_SAMPLES,
    SLOTS_UP_FRONT,
    FreeRunResult,
    Worker,
    _second_latency,
    supervise,
    tick_seconds,
)
from test_rig.db import Connection, Target, connect
from test_rig.errors import (
    MESSAGE_KEPT,
    DatabaseError,
    ErrorCategory,
    RigError,
    classify_error,
    code_key,
    is_lost_connection,
    translate,
)
from test_rig.resilience import ResilientConnectionManager, RetryConfig, create_db_circuit_breaker_config

if TYPE_CHECKING:
    from test_rig.coordinator import Coordinator

log = logging.getLogger(__name__)

COM_QUERY = 0x03
#: A packet of this payload length continues in the next one (a logical packet of 16 MB or more).
MAX_PAYLOAD = 0xFFFFFF
SERVER_MORE_RESULTS_EXISTS = 0x0008
CLIENT_DEPRECATE_EOF = 1 << 24
#: Up to this many distinct arguments, every statement's packet is built before the run.
PACKET_TABLE_LIMIT = 100_000
#: Statements drawn at once (one `random.choices` call).
BLOCK = 4096
#: The bytes a row packet may start with (0xFE starts EOF or OK, 0xFF ERR; a row that starts with 0xFE, a value of
#: 16 MB or more, is told apart by its size, one packet at a time).
_ROW_FIRST_BYTES = bytes(range(0xFE))


def query_packet(sql: bytes) -> bytes:
    """A COM_QUERY packet (sequence id 0) carrying `sql`; a statement of 16 MB or more is not for this path."""
    size = len(sql) + 1
    if size >= MAX_PAYLOAD:
        raise ValueError("a statement of 16 MB or more does not fit one packet")
    return size.to_bytes(3, "little") + b"\x00\x03" + sql


def _lenenc(buf: bytes, pos: int) -> tuple[int, int]:
    """A length-encoded integer at `pos`: its value and the position after it."""
    first = buf[pos]
    if first < 0xFB:
        return first, pos + 1
    if first == 0xFC:
        return buf[pos + 1] | buf[pos + 2] << 8, pos + 3
    if first == 0xFD:
        return buf[pos + 1] | buf[pos + 2] << 8 | buf[pos + 3] << 16, pos + 4
    return int.from_bytes(buf[pos + 1:pos + 9], "little"), pos + 9


def ok_status(buf: bytes, pos: int) -> int:
    """The server status flags of the OK packet whose payload starts at `pos` (0x00 or 0xFE, then affected rows and
    insert id as length-encoded integers)."""
    if buf[pos + 1] < 0xFB and buf[pos + 2] < 0xFB:  # both of one byte, as almost always: the status follows them
        return buf[pos + 3] | buf[pos + 4] << 8
    _, p = _lenenc(buf, pos + 1)
    _, p = _lenenc(buf, p)
    return buf[p] | buf[p + 1] << 8


def server_error(payload: bytes, sql: str | None = None, target: Target | None = None) -> DatabaseError:
    """The test-rig error of an ERR packet's payload (0xFF, code, '#' and SQLSTATE, message): the class by code,
    as db.Connection's errors are (errors.translate)."""
    code = payload[1] | payload[2] << 8
    sqlstate = None
    message = payload[3:]
    if message[:1] == b"#":
        sqlstate, message = message[1:6].decode("ascii", "replace"), message[6:]
    err = translate(Exception(code, message.decode("utf-8", "replace")))
    err.sqlstate = sqlstate
    if target is not None:
        err.context = target.context("query", sql)
    return err


def lost_connection(detail: str, is_write: bool = False) -> DatabaseError:
    """What a statement in flight gets when its connection goes (2013, as asyncmy reports it); for a statement that
    would have made something durable (`is_write`), its outcome is unknown (errors.translate)."""
    return translate(Exception(2013, f"Lost connection to server during query ({detail})"), is_write=is_write)


def _skip_rows(data: bytes, pos: int, n: int) -> tuple[int, int]:
    """Rows from `pos` on, the bulk of a range select's answer, skipped up to the next packet that is not a plain
    row (EOF/OK 0xFE, ERR 0xFF, a 16 MB packet, or one cut by the read at `n`): that packet's position and the rows
    skipped. Rows of one size (a range select of sysbench's CHAR columns: every row) are skipped a run at a time in
    C: if the packets that start every `stride` bytes carry this row's size (3 length bytes) and a row's first
    byte, they are rows one after another; `lstrip` finds where that stops (47 -> 4 us per 100 rows)."""
    rows = 0
    while n - pos >= 4:
        size = data[pos] | data[pos + 1] << 8 | data[pos + 2] << 16
        end = pos + 4 + size
        if end > n or not size or size == MAX_PAYLOAD or data[pos + 4] >= 0xFE:
            break
        stride = size + 4
        k = (n - pos) // stride
        if k < 4:
            pos = end
            rows += 1
            continue
        stop = pos + k * stride
        left = max(len(data[pos:stop:stride].lstrip(data[pos:pos + 1])),
                   len(data[pos + 1:stop:stride].lstrip(data[pos + 1:pos + 2])),
                   len(data[pos + 2:stop:stride].lstrip(data[pos + 2:pos + 3])),
                   len(data[pos + 4:stop:stride].lstrip(_ROW_FIRST_BYTES)))
        pos = stop - left * stride
        rows += k - left
    return pos, rows


class _Tally:
    """The run's figures, shared by every connection's protocol (one thread): the current second's latencies in a
    list, folded into per-second counts and the run's latency counts when the second is over."""

    def __init__(self, start: float, end: float, seconds: int) -> None:
        self.start = start
        self.end = end
        self.second = 0
        self.latencies: list[int] = []
        self.ops_per_sec = [0] * seconds
        self.errs_per_sec = [0] * seconds
        self.samples: list[list[int] | None] = [None] * seconds
        self.codes_per_sec: list[Counter[str] | None] = [None] * seconds
        self.latency_counts: Counter[int] = Counter()
        self.errors_by_code: Counter[str] = Counter()
        #: The first message the server gave for each code of `errors_by_code`.
        self.error_messages: dict[str, str] = {}
        self.ops = 0
        self.errors = 0
        self.indeterminate = 0
        self.reconnects = 0

    def _grow(self, i: int) -> None:
        if i >= len(self.ops_per_sec):
            grow = i + 1 - len(self.ops_per_sec)
            self.ops_per_sec += [0] * grow
            self.errs_per_sec += [0] * grow
            self.samples += [None] * grow
            self.codes_per_sec += [None] * grow

    def roll(self, second: int) -> None:
        """Close the current second (its latencies counted) and make `second` the current one."""
        done, lat = self.second, self.latencies
        if lat:
            self._grow(done)
            self.ops_per_sec[done] += len(lat)
            self.ops += len(lat)
            kept = self.samples[done]
            if kept is None:
                self.samples[done] = lat[:SECOND_SAMPLES]
            elif len(kept) < SECOND_SAMPLES:
                kept.extend(lat[:SECOND_SAMPLES - len(kept)])
            self.latency_counts.update(lat)
            self.latencies = []
        self.second = max(second, done)

    def error(self, err: DatabaseError, now: float) -> None:
        i = int(now - self.start)
        self._grow(i)
        self.errors += 1
        self.errs_per_sec[i] += 1
        code = code_key(err)
        if not self.errors_by_code[code]:
            self.error_messages[code] = err.message[:MESSAGE_KEPT]
        self.errors_by_code[code] += 1
        per_second = self.codes_per_sec[i]
        if per_second is None:
            per_second = self.codes_per_sec[i] = Counter()
        per_second[code] += 1
        if classify_error(err) is ErrorCategory.Indeterminate:
            self.indeterminate += 1


class _Framer(asyncio.Protocol):
    """The framing of a statement's answer (OK, ERR, or a result set: column count, definitions, EOF, rows counted
    and not decoded), shared by the two protocols below; a subclass says what one answered statement does
    (`_complete`, `_error`) and owns `done`, the future a caller waits on."""

    done: asyncio.Future[Any]

    def __init__(self, *, deprecate_eof: bool, sql: str | None = None, target: Target | None = None) -> None:
        self.deprecate_eof = deprecate_eof
        self.sql = sql
        self.target = target
        self.transport: asyncio.Transport | None = None
        self.pending = b""
        # 0: the answer's first packet; 1: column definitions (`left` to go); 2: the EOF after them; 3: rows
        self.phase = 0
        self.left = 0
        self.rows = 0
        #: The server status flags of the last OK or EOF packet (SERVER_STATUS_IN_TRANS and the rest).
        self.status = 0
        self.continued = False
        #: The column count and definitions (and their EOF) of the last result set, once seen in one piece.
        self.meta = b""
        self._meta_from = -1

    def data_received(self, data: bytes) -> None:
        n = len(data)
        if n >= 11 and not (self.pending or self.phase or self.continued):
            # The common case first, without the general framing's state: a statement's whole answer in this read,
            # an OK packet or a result set with the remembered column definitions, rows and its closing packet.
            # Nothing is changed until the answer is known complete; anything else goes to the general framing.
            size = data[0] | data[1] << 8 | data[2] << 16
            if n == size + 4:
                # one packet: an OK (0x00, affected rows, insert id, status; an INSERT's id of 251 or more takes
                # more than one byte, which sent every sysbench INSERT to the general framing)
                if 7 <= size < MAX_PAYLOAD and data[4] == 0:
                    status = ok_status(data, 4)
                    if not status & SERVER_MORE_RESULTS_EXISTS:
                        self.status = status
                        self._complete()
                        return
            elif (start := len(self.meta) if self.meta and data.startswith(self.meta) else
                  self._meta_end(data, n)) > 0:
                # Rows after column definitions either remembered (the statement repeated) or walked here: an
                # OLTP transaction's statements have several column lists (c of sbtest1, SUM(k), c of sbtest2, ...),
                # and with one remembered, 3-4 of its 20 answers went to the general framing (measured with a
                # replay of captured answers: 53.5 -> 50.2 us of Python per transaction; small beside the rest).
                pos, rows = _skip_rows(data, start, n)
                # the closing packet (EOF, or OK with the EOF header), ending the read
                if n - pos >= 9 and data[pos + 4] == 0xFE:
                    size = data[pos] | data[pos + 1] << 8 | data[pos + 2] << 16
                    if pos + 4 + size == n and (size < 9 if not self.deprecate_eof else
                                                (size >= 7 and data[pos + 5] < 0xFB and data[pos + 6] < 0xFB)):
                        status = data[pos + 7] | data[pos + 8] << 8
                        if not status & SERVER_MORE_RESULTS_EXISTS:
                            if start != len(self.meta) or not data.startswith(self.meta):
                                self.meta = data[:start]  # the next answer to the same statement matches it
                            self.rows = rows
                            self.status = status
                            self._complete()
                            return
        self._frame(data)

    def _meta_end(self, data: bytes, n: int) -> int:
        """Where the rows start in `data`, a read that begins with a result set's column count (a packet of one
        byte, 1-250): after that many column definitions (and their EOF without DEPRECATE_EOF); -1 when `data` is
        not that or they do not all fit in it."""
        if data[0] != 1 or data[1] or data[2] or not 0 < data[4] < 0xFB:
            return -1
        pos = 5
        for _ in range(data[4]):
            if n - pos < 4:
                return -1
            size = data[pos] | data[pos + 1] << 8 | data[pos + 2] << 16
            if size == MAX_PAYLOAD:
                return -1
            pos += 4 + size
        if not self.deprecate_eof:
            if n - pos < 9 or data[pos + 4] != 0xFE or data[pos] != 5 or data[pos + 1] or data[pos + 2]:
                return -1
            pos += 9
        return pos if pos <= n else -1

    def _frame(self, data: bytes) -> None:
        """The general framing: any answer, in any number of reads, in any state."""
        if self.pending:
            data = self.pending + data
            self.pending = b""
        n = len(data)
        pos = 0
        phase = self.phase
        meta = self.meta
        continued = self.continued  # a local on this path: read and written once a packet
        while True:
            if phase == 0 and meta and data.startswith(meta, pos):
                pos += len(meta)  # the same column definitions as last time: skipped in C
                phase = 3
                self.rows = 0
            if phase == 3 and not continued:
                pos, rows = _skip_rows(data, pos, n)
                if rows:
                    self.rows += rows
            if n - pos < 4:
                break
            size = data[pos] | data[pos + 1] << 8 | data[pos + 2] << 16
            end = pos + 4 + size
            if end > n:
                break
            if continued:  # the rest of a 16 MB packet
                continued = size == MAX_PAYLOAD
                pos = end
                continue
            continued = size == MAX_PAYLOAD
            first = data[pos + 4] if size else 0
            if first == 0xFF and phase != 1:  # ERR, for the answer or after the column definitions (phase 2)
                self.continued = continued
                pos, phase = self._error(data, pos, end)
                if self.done.done():
                    break
                continue
            if phase == 0 or phase == 3:
                status = -1  # set when this packet ends the statement's answer (OK, or EOF after rows)
                if phase == 3:
                    if first == 0xFE and (size < 9 or (self.deprecate_eof and size < MAX_PAYLOAD)):
                        # EOF (0xFE, warnings, status) or, with DEPRECATE_EOF, an OK packet with the EOF header
                        # (0xFE, affected rows, insert id, status): with one-byte affected rows and insert id, the
                        # status is at the same place in both
                        if not self.deprecate_eof:
                            status = data[pos + 7] | data[pos + 8] << 8 if size >= 5 else 0
                        else:
                            status = ok_status(data, pos + 4)
                    else:
                        self.rows += 1
                elif first == 0x00 and size >= 7:
                    status = ok_status(data, pos + 4)
                elif first == 0xFB:  # LOAD DATA LOCAL asks for a file: not a statement for this path
                    self.continued = continued
                    self._protocol_error("the server asked for a local file (LOAD DATA LOCAL)")
                    return
                else:
                    self.left, _ = _lenenc(data, pos + 4)
                    self._meta_from = pos
                    phase = 1
                    self.rows = 0
                if status >= 0:
                    self.status = status
                    pos = end
                    phase = 0
                    if status & SERVER_MORE_RESULTS_EXISTS:
                        continue
                    self.continued = continued
                    if self._complete():
                        break
                    meta = self.meta
                    continue
            elif phase == 1:
                self.left -= 1
                if self.left == 0:
                    phase = 3 if self.deprecate_eof else 2
                    if phase == 3:
                        meta = self._remember_meta(data, end)
            else:  # phase 2: the EOF after the column definitions
                phase = 3
                meta = self._remember_meta(data, end)
            pos = end
        self.phase = phase
        self.continued = continued
        self._meta_from = -1  # column definitions split across reads are not remembered (positions change)
        if pos < n:
            self.pending = data[pos:]

    def _remember_meta(self, data: bytes, end: int) -> bytes:
        if self._meta_from >= 0:
            self.meta = data[self._meta_from:end]
        self._meta_from = -1
        return self.meta

    def _complete(self) -> bool:
        raise NotImplementedError

    def _error(self, data: bytes, pos: int, end: int) -> tuple[int, int]:
        raise NotImplementedError

    def _protocol_error(self, detail: str) -> None:
        raise NotImplementedError


class StatementLoop(_Framer):
    """One connection's hot loop: write a statement, frame its answer, count it, write the next, until the run's end.

    `packets` gives the next COM_QUERY packet. `done` resolves with None when the loop ended at the run's end, with
    the DatabaseError of a lost connection otherwise; the transport can then be handed back.
    A server error (ERR packet) is counted by code and the loop goes on, as the free-running loop does."""

    def __init__(self, packets: Callable[[], bytes], tally: _Tally, *, deprecate_eof: bool,
                 loop: asyncio.AbstractEventLoop, sql: str | None = None, target: Target | None = None) -> None:
        super().__init__(deprecate_eof=deprecate_eof, sql=sql, target=target)
        self.packets = packets
        self.tally = tally
        self.done: asyncio.Future[DatabaseError | None] = loop.create_future()
        #: When the statement in flight was written (perf_counter); 0.0 when none is (the watchdog reads it).
        self.sent_at = 0.0

    # -- driving
    def start(self, transport: Any) -> None:
        """Take over `transport` (idle: no statement in flight) and write the first statement."""
        self.transport = transport
        transport.set_protocol(self)
        self.sent_at = time.perf_counter()
        transport.write(self.packets())

    def _finish(self, outcome: DatabaseError | None) -> None:
        self.sent_at = 0.0
        if not self.done.done():
            self.done.set_result(outcome)

    # -- asyncio.Protocol
    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None
        if self.done.done():
            return
        err = lost_connection(str(exc) if exc else "the connection was closed")
        if self.sent_at:
            self.tally.error(err, time.perf_counter())
        self._finish(err)

    def drop(self, detail: str) -> None:
        """Give up the statement in flight now (the op-timeout watchdog): counted as a lost connection, the
        transport aborted. Its connection_lost, which a TLS close could delay, is not waited for."""
        if self.done.done():
            return
        err = lost_connection(detail)
        self.tally.error(err, time.perf_counter())
        self._finish(err)
        if self.transport is not None:
            self.transport.abort()

    def eof_received(self) -> bool | None:
        return None  # close the transport: connection_lost follows

    def _complete(self) -> bool:
        """One statement answered: count it, write the next. True when the loop has ended."""
        now = time.perf_counter()
        tally = self.tally
        second = int(now - tally.start)
        if second != tally.second:
            tally.roll(second)
        tally.latencies.append(int((now - self.sent_at) * 1_000_000) or 1)
        self._meta_from = -1
        if now >= tally.end or self.transport is None:
            self._finish(None)
            return True
        self.sent_at = now
        self.transport.write(self.packets())
        return False

    def _error(self, data: bytes, pos: int, end: int) -> tuple[int, int]:
        """An ERR packet at `pos`: counted by code; the loop goes on unless the error says the connection is lost."""
        err = server_error(data[pos + 4:end], self.sql, self.target)
        now = time.perf_counter()
        self.tally.error(err, now)
        self._meta_from = -1
        if is_lost_connection(err):
            self._finish(err)
            return end, 0
        if now >= self.tally.end or self.transport is None:
            self._finish(None)
            return end, 0
        self.sent_at = now
        self.transport.write(self.packets())
        return end, 0

    def _protocol_error(self, detail: str) -> None:
        err = translate(Exception(2027, f"Malformed packet on the fast load path: {detail}"))
        self.tally.error(err, time.perf_counter())
        self._finish(err)
        if self.transport is not None:
            self.transport.close()


#: The server status flag of an open transaction (in every OK and EOF packet).
SERVER_STATUS_IN_TRANS = 0x0001

Script = Sequence[tuple[int, bytes]]  # (statement type, SQL), sent in this order
#: The first five bytes of a COM_QUERY packet (length, sequence id 0, the command) for each statement length below
#: this many bytes: a script's packet is one concatenation.
_HEADER_LIMIT = 4096
_HEADERS = [(size + 1).to_bytes(3, "little") + b"\x00\x03" for size in range(_HEADER_LIMIT)]
#: A packet's 3 length bytes for each payload size below _HEADER_LIMIT (a row's, as TransactionLoop matches it).
_LENGTHS = [size.to_bytes(3, "little") for size in range(_HEADER_LIMIT)]


class ScriptProtocol(_Framer):
    """A script of statements (a transaction of sysbench's OLTP family) sent one after another from the callback
    that saw the previous answer, with one Future for the whole script: the fast path for workloads whose
    operation is several statements with logic between operations, not one repeated statement.

    Why not asyncmy for these: per statement it costs a coroutine switch, a Future, a cursor's state and the
    decoding of every row into Python objects the load never reads (a range select's hundred rows), which made
    `bench oltp-read-write` cost 2.0-2.4x sysbench's client CPU per transaction. Here a statement costs one
    packet written, the framing above and one latency appended to its type's list. The transport is lent for the
    script only (`run_script` hands it back to asyncmy's protocol), so between operations the connection is
    asyncmy's as before: ROLLBACK, close and reconnect use it."""

    def __init__(self, *, deprecate_eof: bool, target: Target | None = None) -> None:
        super().__init__(deprecate_eof=deprecate_eof, target=target)
        self.script: Script = ()
        self.latencies: list[list[int]] = []
        self.sent: list[int] = []
        self.writes_from = 0
        self.at = 0
        self.sent_at = 0.0

    def begin(self, transport: Any, script: Script, latencies: list[list[int]], sent: list[int], writes_from: int,
              loop: asyncio.AbstractEventLoop) -> asyncio.Future[tuple[int, DatabaseError] | None]:
        self.transport = transport
        self.script, self.latencies, self.sent, self.writes_from = script, latencies, sent, writes_from
        self.at = 0
        self.done = loop.create_future()
        transport.set_protocol(self)
        self._send(script[0], time.perf_counter())
        return self.done

    def _send(self, statement: tuple[int, bytes], now: float) -> None:
        kind, sql = statement
        self.sent[kind] += 1
        self.sent_at = now
        assert self.transport is not None
        size = len(sql)
        self.transport.write(_HEADERS[size] + sql if size < _HEADER_LIMIT else query_packet(sql))

    def _end(self, outcome: tuple[int, DatabaseError] | None) -> None:
        self.sent_at = 0.0
        if not self.done.done():
            self.done.set_result(outcome)

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None
        if not self.done.done():
            kind, sql = self.script[self.at]
            err = lost_connection(str(exc) if exc else "the connection was closed",
                                  kind >= self.writes_from or sql[:6].upper() == b"COMMIT")
            if self.target is not None:
                err.context = self.target.context("query", sql.decode("utf-8", "replace"))
            self._end((self.at, err))

    def eof_received(self) -> bool | None:
        return None

    def _complete(self) -> bool:
        now = time.perf_counter()
        script, at = self.script, self.at
        self.latencies[script[at][0]].append(int((now - self.sent_at) * 1_000_000) or 1)
        at += 1
        self.at = at
        if at < len(script) and self.transport is not None:
            # the next statement, written here (as _send does: one call less a statement); its time starts with
            # this answer, as StatementLoop's
            kind, sql = script[at]
            self.sent[kind] += 1
            self.sent_at = now
            size = len(sql)
            self.transport.write(_HEADERS[size] + sql if size < _HEADER_LIMIT else query_packet(sql))
            return False
        self._end(None)
        return True

    def _error(self, data: bytes, pos: int, end: int) -> tuple[int, int]:
        self._meta_from = -1
        sql = self.script[self.at][1].decode("utf-8", "replace")
        self._end((self.at, server_error(data[pos + 4:end], sql, self.target)))
        return end, 0

    def _protocol_error(self, detail: str) -> None:
        self._end((self.at, translate(Exception(2027, f"Malformed packet on the fast load path: {detail}"))))
        if self.transport is not None:
            self.transport.close()


async def run_script(conn: Connection, script: Script, latencies: list[list[int]], sent: list[int], *,
                     writes_from: int) -> tuple[int, DatabaseError] | None:
    """Send `script` on `conn` (ScriptProtocol): None when every statement succeeded, else the position of the one
    that failed and its DatabaseError (the statements after it were not sent). Each statement's type is counted
    in `sent` when written and its latency appended to `latencies[type]` when answered. A type from `writes_from`
    on, or a COMMIT, is a write: lost before its answer, its outcome is unknown (indeterminate). The connection's
    `in_transaction` follows the server's status flag and `closed` is set when it was lost; cancelled with a
    statement in flight, the connection is aborted (a late answer would confuse the driver)."""
    raw = conn.raw
    transport = raw._transport
    if conn.closed or transport is None or transport.is_closing():
        conn.closed = True
        sent[script[0][0]] += 1  # counted as sent, as its failure is
        return 0, lost_connection("the connection was closed", script[0][0] >= writes_from)
    proto: ScriptProtocol | None = getattr(conn, "_fast_protocol", None)
    if proto is None:
        proto = ScriptProtocol(deprecate_eof=_deprecates_eof(conn), target=conn.target)
        conn._fast_protocol = proto  # type: ignore[attr-defined]
    proto.status = SERVER_STATUS_IN_TRANS if conn.in_transaction else 0
    try:
        outcome = await proto.begin(transport, script, latencies, sent, writes_from, asyncio.get_running_loop())
    except BaseException:
        conn.abort()
        raise
    conn.in_transaction = bool(proto.status & SERVER_STATUS_IN_TRANS)
    if outcome is not None and is_lost_connection(outcome[1]):
        conn.abort()
    else:
        transport.set_protocol(raw._proto)
    return outcome


@dataclass(frozen=True)
class FastStatement:
    """A workload that is one statement repeated: `sql` with at most one `%s`, filled with an integer drawn
    uniformly from `values` (None: no argument). Callable as an ordinary free-running workload; on a run with a
    duration, `Coordinator.run_free` hands the whole run to `run_free` below (the fast path)."""

    sql: str
    values: range | None = None

    def __post_init__(self) -> None:
        if (self.values is None) != ("%s" not in self.sql):
            raise ValueError("a fast statement has one %s exactly when it has values")

    async def __call__(self, conn: Connection, worker: Worker) -> None:
        if self.values is None:
            await conn.fetch(self.sql)
        else:
            await conn.fetch(self.sql, (worker.rng.choice(self.values),))

    def packets(self, rng: random.Random) -> Callable[[], bytes]:
        """The next COM_QUERY packet, as one C call: a ready packet repeated, or drawn from a table of ready packets
        (up to PACKET_TABLE_LIMIT arguments; more are formatted a block at a time)."""
        if self.values is None:
            return itertools.repeat(query_packet(self.sql.encode())).__next__
        head, _, tail = self.sql.encode().partition(b"%s")
        values = self.values
        table = self._packet_table
        if table is not None:
            def block() -> list[bytes]:
                return rng.choices(table, k=BLOCK)
        else:
            def block() -> list[bytes]:
                return [query_packet(b"%b%d%b" % (head, v, tail)) for v in rng.choices(values, k=BLOCK)]

        blocks: Iterator[list[bytes]] = iter(block, None)
        return itertools.chain.from_iterable(blocks).__next__

    @functools.cached_property
    def _packet_table(self) -> list[bytes] | None:
        """Every argument's packet, built once for all the connections (None: too many arguments, or none)."""
        if self.values is None or len(self.values) > PACKET_TABLE_LIMIT:
            return None
        head, _, tail = self.sql.encode().partition(b"%s")
        return [query_packet(b"%b%d%b" % (head, v, tail)) for v in self.values]

    async def run_free(self, coordinator: Coordinator, *, duration: float, seed: int = 0,
                       manager: ResilientConnectionManager | None = None, reconnect_timeout: float = 30.0,
                       on_interrupt: Callable[[FreeRunResult], None] | None = None,
                       on_second: Callable[[int, int, int], None] | None = None,
                       start_at: float | None = None, op_timeout: float | None = None) -> FreeRunResult:
        """The free-running loop of `Coordinator.run_free` (same arguments, same result) on the fast path."""
        return await run_statement(coordinator, self, duration=duration, seed=seed, manager=manager,
                                   reconnect_timeout=reconnect_timeout, on_interrupt=on_interrupt,
                                   on_second=on_second, start_at=start_at, op_timeout=op_timeout)


def _deprecates_eof(conn: Connection) -> bool:
    return bool(int(getattr(conn.raw, "_client_flag", 0)) & CLIENT_DEPRECATE_EOF)


async def run_statement(coordinator: Coordinator, statement: FastStatement, *, duration: float, seed: int = 0,
                        manager: ResilientConnectionManager | None = None, reconnect_timeout: float = 30.0,
                        on_interrupt: Callable[[FreeRunResult], None] | None = None,
                        on_second: Callable[[int, int, int], None] | None = None,
                        start_at: float | None = None, op_timeout: float | None = None) -> FreeRunResult:
    """Run `statement` on every open connection of `coordinator` for `duration` seconds (see FastStatement)."""
    run = await _FastRun.begin(coordinator, duration, manager, reconnect_timeout, start_at, op_timeout)
    tally, end, current = run.tally, run.end, run.current
    loop = asyncio.get_running_loop()
    perf = time.perf_counter

    async def run_worker(index: int, name: str) -> None:
        conn = coordinator.connections[name]
        packets = statement.packets(random.Random(seed * 100_003 + index))
        while perf() < end:
            raw = conn.raw
            transport = raw._transport
            if transport is None or transport.is_closing():
                failure = lost_connection("the connection was closed")
                tally.error(failure, perf())
            else:
                proto = StatementLoop(packets, tally, deprecate_eof=_deprecates_eof(conn), loop=loop,
                                      sql=statement.sql, target=conn.target)
                current[index] = (conn, proto)
                try:
                    proto.start(transport)
                    outcome = await proto.done
                except BaseException:
                    conn.abort()  # cancelled with a statement in flight: its answer would confuse the driver
                    raise
                finally:
                    current.pop(index, None)
                if outcome is None:
                    transport.set_protocol(raw._proto)  # asyncmy has its idle connection back
                    return
                failure = outcome
            new = await run.replaced(name, conn, failure)
            if new is None:
                return
            conn = new

    def drop(_index: int, proto: StatementLoop) -> None:
        proto.drop(f"no answer within the op timeout of {op_timeout:g} s")

    return await run.supervised(run_worker, lambda proto: proto.sent_at, drop, on_second=on_second,
                                on_interrupt=on_interrupt)


@dataclass
class _FastRun:
    """What both fast loops (run_statement, run_transactions) set up alike: the manager, the run's tally and end,
    the workers' names, what each worker has in flight (`current`: its connection and a loop-specific state the
    watchdog reads) and the reconnect; `supervised` runs the workers with the per-second tick and the op-timeout
    watchdog and returns the run's FreeRunResult, also a partial one when interrupted."""

    manager: ResilientConnectionManager
    retries_before: int
    tally: _Tally
    duration: float
    end: float
    names: list[str]
    reconnect: Callable[[str, Target], Awaitable[Connection | None]]
    op_timeout: float | None
    current: dict[int, tuple[Connection, Any]]

    @classmethod
    async def begin(cls, coordinator: Coordinator, duration: float, manager: ResilientConnectionManager | None,
                    reconnect_timeout: float, start_at: float | None, op_timeout: float | None) -> _FastRun:
        manager = manager or _default_manager()
        perf = time.perf_counter
        if start_at is not None:
            await asyncio.sleep(max(0.0, start_at - perf()))
        start = start_at if start_at is not None else perf()
        end = start + duration
        tally = _Tally(start, end, min(int(duration) + 2, SLOTS_UP_FRONT))  # _Tally._grow makes the rest
        return cls(manager, manager.retries, tally, duration, end, list(coordinator.connections),
                   _reconnector(coordinator, manager, tally, end, reconnect_timeout, op_timeout), op_timeout, {})

    async def replaced(self, name: str, conn: Connection, failure: DatabaseError) -> Connection | None:
        """The worker `name`'s connection after it was lost with `failure`: the failure told to the breaker, the
        old connection dropped, a new one (None when none could be had before the run's end)."""
        self.manager.breaker.record_failure(failure)
        conn.abort()
        return await self.reconnect(name, conn.target)

    async def supervised(self, run_worker: Callable[[int, str], Coroutine[Any, Any, None]],
                         since: Callable[[Any], float],
                         drop: Callable[[int, Any], object], *, named: Callable[[], dict[str, Any]] | None = None,
                         on_second: Callable[[int, int, int], None] | None = None,
                         on_interrupt: Callable[[FreeRunResult], None] | None = None) -> FreeRunResult:
        """Run `run_worker(index, name)` for every worker; the watchdog drops (`drop(index, state)`, then aborts
        the connection) what has been in flight (`since(state)`: when it began, 0 when nothing is) longer than
        the op timeout."""
        tally, start, op_timeout, perf = self.tally, self.tally.start, self.op_timeout, time.perf_counter

        def summary(complete: bool) -> FreeRunResult:
            return _summary(tally, self.manager, self.retries_before, self.duration, complete,
                            named() if named else None)

        async def watchdog() -> None:
            assert op_timeout is not None
            while True:
                await asyncio.sleep(min(0.25, op_timeout / 4))
                now = perf()
                for index, (conn, state) in list(self.current.items()):
                    began = since(state)
                    if began and now - began > op_timeout:
                        log.info("operation on %s ran %.1f s (op timeout %g s); dropping its connection",
                                 self.names[index], now - began, op_timeout)
                        drop(index, state)
                        conn.abort()

        return await supervise([run_worker(i, n) for i, n in enumerate(self.names)],
                               tick_seconds(start, on_second, tally.ops_per_sec, tally.errs_per_sec,
                                            lambda: tally.roll(int(perf() - start))) if on_second else None,
                               watchdog() if op_timeout else None,
                               summary, on_interrupt)


def _default_manager() -> ResilientConnectionManager:
    return ResilientConnectionManager(
        None, create_db_circuit_breaker_config(), RetryConfig(max_attempts=1_000_000, base_delay=0.05,
                                                              max_delay=1.0, jitter=True))


def _reconnector(coordinator: Coordinator, manager: ResilientConnectionManager, tally: _Tally, end: float,
                 reconnect_timeout: float, op_timeout: float | None
                 ) -> Callable[[str, Target], Awaitable[Connection | None]]:
    """The fast loops' reconnect, as Coordinator.run_free's: tried until the run ends or `reconnect_timeout`
    passes; the new connection replaces the worker's in `coordinator` and is counted in `tally`."""
    perf = time.perf_counter

    async def reconnect(name: str, target: Target) -> Connection | None:
        deadline = min(end, perf() + reconnect_timeout)
        to = replace(target, timeout_secs=min(target.timeout_secs, op_timeout)) if op_timeout else target
        while True:
            left = deadline - perf()
            if left <= 0:
                return None
            retry = replace(manager.retry_config, max_attempts=1_000_000, overall_timeout=left,
                            max_delay=min(manager.retry_config.max_delay, 1.0))
            try:
                conn = await manager.execute_with_resilience(f"reconnect {name}", lambda: connect(to), retry=retry)
            except RigError as e:
                if deadline - perf() > 0.1:
                    log.debug("worker %s: reconnecting goes on after: %s", name, e)
                    await asyncio.sleep(min(0.5, max(0.0, deadline - perf())))
                    continue
                if deadline < end:
                    log.warning("worker %s gave up reconnecting: %s", name, e)
                return None
            coordinator.connections[name] = conn
            tally.reconnects += 1
            return conn
    return reconnect


def _summary(tally: _Tally, manager: ResilientConnectionManager, retries_before: int, duration: float,
             complete: bool, named: dict[str, Any] | None = None) -> FreeRunResult:
    """The fast loops' FreeRunResult, as Coordinator.run_free's: the timeline one entry per second of the run."""
    from hdrh.histogram import HdrHistogram

    elapsed = time.perf_counter() - tally.start
    tally.roll(int(elapsed))
    hist = HdrHistogram(1, 3_600_000_000, 3)
    for micros, count in tally.latency_counts.items():
        hist.record_value(min(micros, 3_600_000_000), count)
    entries = max(1, math.ceil(duration if complete else elapsed))
    ops, errs, samples, codes = tally.ops_per_sec, tally.errs_per_sec, tally.samples, tally.codes_per_sec
    timeline: list[dict[str, Any]] = [
        {"t": i + 1, "ops": ops[i] if i < len(ops) else 0, "errors": errs[i] if i < len(errs) else 0,
         **_second_latency(samples[i] if i < len(samples) else None),
         "errors_by_code": dict(codes[i] or {}) if i < len(codes) else {}}
        for i in range(entries)]
    timeline[-1]["ops"] += sum(ops[entries:])
    timeline[-1]["errors"] += sum(errs[entries:])
    return FreeRunResult(
        operations=tally.ops, errors=tally.errors, seconds=elapsed, histogram=hist,
        errors_by_code=dict(tally.errors_by_code), timeline=timeline, retries=manager.retries - retries_before,
        reconnects=tally.reconnects, indeterminate=tally.indeterminate, breaker=manager.breaker.to_dict(),
        complete=complete,
        second_samples=[list(samples[i] or []) if i < len(samples) else [] for i in range(entries)], named=named,
        error_messages=dict(tally.error_messages))


#: What Coordinator.run_free looks for on a workload that runs its whole loop itself.
FastRun = Callable[..., Awaitable[FreeRunResult]]


class TransactionLoop(ScriptProtocol):
    """One connection's whole run of transactions (the OLTP family's): a script sent as ScriptProtocol sends it,
    and at its last answer the transaction counted (its latency in `tally`) and the next one's script drawn and
    its first statement written, from the same callback, until the run's end. `done` resolves with None at the
    run's end, or with the failed statement's place and error: its coroutine then handles that transaction as
    the general path does (rollback, restart or fail, reconnect) and begins the loop again.

    Why (measured, issue 20): after the statements themselves, a coroutine and a Future per transaction (the
    free-running loop's and the workload's) and lending the transport back and forth were most of test-rig's
    client CPU per transaction beyond sysbench's."""

    def __init__(self, *, deprecate_eof: bool, target: Target | None, tally: _Tally,
                 next_script: Callable[[], Script], kinds: Sequence[int]) -> None:
        super().__init__(deprecate_eof=deprecate_eof, target=target)
        self.tally = tally
        self.next_script = next_script
        #: Every script's statement types, in order (the OLTP family's scripts all have the same ones): a
        #: statement's type, count and latency follow from its place in the run (`flush`).
        self.kinds = tuple(kinds)
        #: When the first statement since the last flush was written, then when each answer came: all a statement
        #: costs the loop's bookkeeping (one append), its latency the difference of two neighbours. Why
        #: (measured, issue 20): its type's count and its latency appended one by one were 30 of the 150
        #: bytecodes a statement cost TransactionLoop.
        self.stamps: list[float] = []
        self._stamp = self.stamps.append
        #: When the transaction in flight began (its latency and the op-timeout watchdog's measure).
        self.txn_start = 0.0
        #: The packet that closes a result set, as data_received's shortcut looks for it at a read's end: with
        #: DEPRECATE_EOF an OK packet with the EOF header (7 bytes: 0xFE, affected rows and insert id of one byte
        #: each, status, warnings), else an EOF packet (5 bytes: 0xFE, warnings, status); the status is 7 bytes
        #: into either.
        self._tail = 11 if deprecate_eof else 9
        self._tail_head = b"\x07\x00\x00" if deprecate_eof else b"\x05\x00\x00"
        self._write: Callable[[bytes], object] = _no_write
        #: The column lists (count, definitions, EOF) of the last few distinct result sets, newest first.
        self._metas: list[bytes] = []

    def run(self, transport: Any, script: Script, latencies: list[list[int]], sent: list[int], writes_from: int,
            loop: asyncio.AbstractEventLoop, txn_start: float) -> asyncio.Future[tuple[int, DatabaseError] | None]:
        """Take over `transport` (idle) and run transactions from `script` on; `flush` afterwards counts what
        was sent and answered into `sent` and `latencies`."""
        self.transport = transport
        self.script, self.latencies, self.sent, self.writes_from = script, latencies, sent, writes_from
        self.at = 0
        self.done = loop.create_future()
        self.txn_start = txn_start
        self._write = transport.write
        transport.set_protocol(self)
        self.sent_at = now = _perf()
        self.stamps = [now]
        self._stamp = self.stamps.append
        sql = script[0][1]
        size = len(sql)
        self._write(_HEADERS[size] + sql if size < _HEADER_LIMIT else query_packet(sql))
        return self.done

    def flush(self, *, in_flight: bool) -> None:
        """Count the statements answered since the run began or the last flush into `sent` and `latencies` by
        type, and, with `in_flight` (the loop ended with a statement written and not answered: it failed, its
        connection went, or the run was cancelled), that statement into `sent` too."""
        stamps, kinds = self.stamps, self.kinds
        answered, n = len(stamps) - 1, len(kinds)
        if answered > 0:
            # latency in µs of each answer, as the general path computes it (a comprehension: cheaper than a chain
            # of maps, whose max() calls cost more than the arithmetic)
            micros = [int((end - begin) * 1_000_000) or 1
                      for begin, end in zip(stamps, itertools.islice(stamps, 1, None), strict=False)]
            latencies, sent = self.latencies, self.sent
            for place in range(min(n, answered)):
                of_place = micros[place::n]
                latencies[kinds[place]] += of_place
                sent[kinds[place]] += len(of_place)
        if in_flight:
            self.sent[kinds[answered % n]] += 1
        del stamps[:-1]  # the last answer's time begins what follows (the next transaction's first statement)

    def ended_between_transactions(self) -> bool:
        """The loop ended at the run's end, after a transaction's last answer: nothing in flight."""
        done = self.done
        return done.done() and not done.cancelled() and done.result() is None

    def connection_lost(self, exc: Exception | None) -> None:
        self._write = _no_write
        super().connection_lost(exc)

    def _recent_meta(self, data: bytes, n: int) -> int:
        """Where the rows start in `data` (a read that begins with a result set's column definitions, not the last
        answer's): after one of the few column lists seen last (then the one remembered as `meta`), else walked
        (_meta_end, then remembered); -1 when `data` does not begin with column definitions that fit in it.

        Why (measured, issue 20, answers replayed): an oltp_read_write transaction's 14 result sets have 3 column
        lists with 2 tables (c of sbtest1, c of sbtest2, SUM(k)); with the last one only remembered, 3.5 answers a
        transaction walked theirs: 40.0 -> 36.5 us of Python a transaction."""
        recent = self._metas
        for meta in recent:
            if data.startswith(meta):
                self.meta = meta
                return len(meta)
        start = self._meta_end(data, n)
        if start > 0:
            self.meta = meta = data[:start]
            recent.insert(0, meta)
            del recent[_METAS_KEPT:]
        return start

    def data_received(self, data: bytes) -> None:
        # The answers an OLTP transaction gets, each whole in one read, handled in this one call: an OK packet, or
        # a result set (its column definitions those of the last one, or walked) whose rows end exactly where the
        # read's closing packet begins. The next statement is written from here (what _complete does for the
        # general framing, written out: a call less per statement). Anything else, nothing changed, goes to the
        # general framing. Why (measured, issue 20, captured answers replayed): the shared shortcut and
        # _complete cost 57 us of Python per oltp_read_write transaction; a range select's rows were walked
        # before its end was looked at.
        n = len(data)
        status = -1
        if n >= 11 and not (self.pending or self.phase or self.continued):
            if data[4] == 0:  # an OK packet (a result set begins with its column count, never 0)
                if n == (data[0] | data[1] << 8 | data[2] << 16) + 4:
                    # an INSERT's id from 251 on takes more than one byte, and moves the status (an id below 65536,
                    # as sysbench's with --table-size 10000, read here: ok_status's call made an INSERT's answer
                    # cost 0.8 us, 0.5 without)
                    if data[5] < 0xFB and data[6] < 0xFB:
                        status = data[7] | data[8] << 8
                    elif data[5] < 0xFB and data[6] == 0xFC:
                        status = data[9] | data[10] << 8
                    else:
                        status = ok_status(data, 4)
            else:
                t = n - self._tail
                # the closing packet with nothing in its first two fields (no affected rows and insert id, or no
                # warnings: as after every SELECT of these workloads; any other goes to the general framing)
                if data.startswith(self._tail_head, t) and data.startswith(_CLOSING, t + 4):
                    meta = self.meta
                    start = len(meta) if meta and data.startswith(meta) else self._recent_meta(data, n)
                    row = t - start - 4  # the size of the row from `start`, if there is one row
                    # one row (a point select's: its length bytes say it ends where the closing packet begins),
                    # none, or many (rows of one size checked at once, else walked a run at a time)
                    if start > 0 and ((0 < row < _HEADER_LIMIT and data.startswith(_LENGTHS[row], start)
                                       and data[start + 4] < 0xFE)
                                      or start == t or (start < t and (_same_rows(data, start, t)
                                                                       or _skip_rows(data, start, n)[0] == t))):
                        status = data[t + 7] | data[t + 8] << 8
        if status < 0 or status & SERVER_MORE_RESULTS_EXISTS:
            self._frame(data)
            return
        self.status = status
        now = _perf()
        self._stamp(now)
        script = self.script
        at = self.at + 1
        self.at = at
        if at < len(script):
            sql = script[at][1]
            size = len(sql)
            self._write(_HEADERS[size] + sql if size < _HEADER_LIMIT else query_packet(sql))
            return
        self._next_transaction(now)

    def _next_transaction(self, now: float) -> bool:
        """The transaction's last answer came at `now`: counted, and the next one begun (True: the run ended)."""
        tally = self.tally
        second = int(now - tally.start)
        if second != tally.second:
            tally.roll(second)
        tally.latencies.append(int((now - self.txn_start) * 1_000_000) or 1)
        if now >= tally.end or self.transport is None:
            self._end(None)
            return True
        if len(self.stamps) > _STAMPS_KEPT:
            self.flush(in_flight=False)
        # the next transaction, begun here: its time starts now, as the general loop's starts before the draw
        self.txn_start = now
        script = self.script = self.next_script()
        self.at = 0
        sql = script[0][1]
        size = len(sql)
        self._write(_HEADERS[size] + sql if size < _HEADER_LIMIT else query_packet(sql))
        return False

    def _complete(self) -> bool:
        now = _perf()
        self._stamp(now)
        script = self.script
        at = self.at + 1
        self.at = at
        if at < len(script) and self.transport is not None:
            sql = script[at][1]
            size = len(sql)
            self._write(_HEADERS[size] + sql if size < _HEADER_LIMIT else query_packet(sql))
            return False
        return self._next_transaction(now)


#: The column lists a TransactionLoop remembers (TransactionLoop._recent_meta).
_METAS_KEPT = 4


def _same_rows(data: bytes, start: int, end: int) -> bool:
    """Whether `data[start:end]` is rows of one size one after another (a range select of sysbench's CHAR columns:
    every row): the packets that would start every `stride` bytes all carry the first one's 3 length bytes and its
    first byte (not EOF's or ERR's), each run compared with one slice (C); False sends the caller to _skip_rows.
    Why (measured, issue 20, answers replayed): a 100-row answer cost data_received 2.7 us with _skip_rows's
    lstrip runs (a strip set of 254 bytes) and its loop, 1.7 us with this."""
    size = data[start] | data[start + 1] << 8 | data[start + 2] << 16
    stride = size + 4
    rows, rest = divmod(end - start, stride)
    if rest or not size or size == MAX_PAYLOAD:
        return False
    first = data[start + 4:end:stride]
    return (first[0] < 0xFE and first == first[:1] * rows and data[start:end:stride] == data[start:start + 1] * rows
            and data[start + 1:end:stride] == data[start + 1:start + 2] * rows
            and data[start + 2:end:stride] == data[start + 2:start + 3] * rows)


#: What a closing packet of TransactionLoop's shortcut holds after its length and sequence id: the EOF header and two
#: zero bytes.
_CLOSING = b"\xfe\x00\x00"


def _no_write(_data: bytes) -> None:
    """TransactionLoop's writer while it has no transport (before its run, after the connection was lost)."""


_perf = time.perf_counter
#: Answer times a TransactionLoop keeps before it counts them (a few hundred transactions' worth: their memory
#: bounded, the counting in blocks).
_STAMPS_KEPT = 10_000


async def run_transactions(coordinator: Coordinator, workload: Any, make_random: Callable[[int, random.Random], Any],
                           *, duration: float, seed: int = 0, manager: ResilientConnectionManager | None = None,
                           reconnect_timeout: float = 30.0,
                           on_interrupt: Callable[[FreeRunResult], None] | None = None,
                           on_second: Callable[[int, int, int], None] | None = None,
                           start_at: float | None = None, op_timeout: float | None = None) -> FreeRunResult:
    """`Coordinator.run_free` for a transaction workload (load.oltp.OltpWorkload: `generate(random, index)`
    draws a script, `latencies`, `sent`, `count()`, `failed_at` and `attempt` handle a failed one, `named_stats`)
    on TransactionLoop: every connection runs transactions from protocol callbacks; a failed statement hands its
    transaction to the workload's general path (`failed_at`, then `attempt` for a restart), whose error, if it
    fails the transaction, is counted as Coordinator.run_free counts it (and a lost connection reconnected)."""
    run = await _FastRun.begin(coordinator, duration, manager, reconnect_timeout, start_at, op_timeout)
    tally, end, start = run.tally, run.end, run.tally.start
    #: Per worker: its connection and protocol while a loop runs, or when its general path's transaction began.
    current: dict[int, tuple[Connection, TransactionLoop | float]] = run.current
    loop = asyncio.get_running_loop()
    perf = time.perf_counter
    generate, latencies, sent, count = workload.generate, workload.latencies, workload.sent, workload.count
    writes_from, kinds = workload.writes_from, workload.kinds

    async def run_worker(index: int, name: str) -> None:
        conn = coordinator.connections[name]
        # the seed of Coordinator.run_free's Worker.rng, so that a run draws the same values on either path
        rnd = make_random(index, random.Random(seed * 100_003 + index))

        def next_script() -> Script:
            count()
            return generate(rnd, index)  # type: ignore[no-any-return]

        proto: TransactionLoop | None = None
        while True:
            now = perf()
            if now >= end:
                return
            raw = conn.raw
            transport = raw._transport
            if conn.closed or transport is None or transport.is_closing():
                failure: DatabaseError = lost_connection("the connection was closed")
            else:
                if proto is None:
                    proto = TransactionLoop(deprecate_eof=_deprecates_eof(conn), target=conn.target, tally=tally,
                                            next_script=next_script, kinds=kinds)
                proto.status = SERVER_STATUS_IN_TRANS if conn.in_transaction else 0
                current[index] = (conn, proto)
                try:
                    outcome = await proto.run(transport, next_script(), latencies, sent, writes_from, loop, now)
                except BaseException:
                    conn.abort()  # cancelled with a statement in flight: its answer would confuse the driver
                    raise
                finally:
                    current.pop(index, None)
                    # before anything reads the figures (the general path's failure, the summary, an interrupt's)
                    proto.flush(in_flight=not proto.ended_between_transactions())
                conn.in_transaction = bool(proto.status & SERVER_STATUS_IN_TRANS)
                if outcome is not None and is_lost_connection(outcome[1]):
                    conn.abort()
                else:
                    transport.set_protocol(raw._proto)  # asyncmy's again: the general path's statements use it
                if outcome is None:
                    return
                began = proto.txn_start
                current[index] = (conn, began)
                try:
                    restarts = await workload.failed_at(conn, proto.script, outcome, 0)
                    await workload.attempt(conn, rnd, index, restarts)
                except DatabaseError as e:
                    failure = e
                else:
                    done = perf()
                    tally.roll(int(done - start))
                    tally.latencies.append(int((done - began) * 1_000_000) or 1)
                    continue
                finally:
                    current.pop(index, None)
            tally.error(failure, perf())
            if is_lost_connection(failure) or conn.closed:
                new = await run.replaced(name, conn, failure)
                if new is None:
                    return
                conn = new
                proto = None  # the new connection's own framing state (and DEPRECATE_EOF)

    def since(state: TransactionLoop | float) -> float:
        """A loop's transaction is in flight while a statement is; the general path's since it began."""
        return (state.txn_start if state.sent_at else 0.0) if isinstance(state, TransactionLoop) else state

    return await run.supervised(run_worker, since, lambda index, _state: current.pop(index, None),
                                named=workload.named_stats, on_second=on_second, on_interrupt=on_interrupt)
