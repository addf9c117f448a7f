"""The OLTP whole-run loop (load.fast.TransactionLoop), on bytes: each transaction's next statement is written
from the callback that saw the previous answer, the next transaction's first from the one that saw COMMIT's OK,
each transaction counted once in the run's tally; the run's end stops it; a refused statement ends the loop
with its place and error, for the general path to handle."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator

import pytest

from test_rig.errors import ConnectionError_, DatabaseError, QueryError
from test_rig.load.fast import Script, TransactionLoop, _Tally, query_packet

SCRIPTS = [[(0, b"BEGIN"), (1, b"SELECT c FROM sbtest1 WHERE id=%d" % i), (2, b"UPDATE sbtest1 SET k=k+1 WHERE id=%d"
            % i), (3, b"COMMIT")] for i in range(1, 10)]


def packet(seq: int, payload: bytes) -> bytes:
    return len(payload).to_bytes(3, "little") + bytes([seq]) + payload


def ok(status: int, affected: int = 0) -> bytes:
    return packet(1, b"\x00" + bytes([affected, 0]) + status.to_bytes(2, "little") + b"\x00\x00")


def one_row(status: int) -> bytes:
    col = b"".join(bytes([len(p)]) + p for p in (b"def", b"test", b"t", b"t", b"c", b"c")) + \
        b"\x0c\x21\x00\xfe\x01\x00\x00\xfe\x00\x00\x00\x00"
    eof = b"\xfe\x00\x00" + status.to_bytes(2, "little")
    return packet(1, b"\x01") + packet(2, col) + packet(3, eof) + packet(4, b"\x03abc") + packet(5, eof)


#: The server's answers to one script of SCRIPTS, in order.
ANSWERS = [ok(0x0003), one_row(0x0003), ok(0x0003, affected=1), ok(0x0002)]


class Wire:
    """A transport on no socket: what the protocol writes is kept."""

    def __init__(self) -> None:
        self.written: list[bytes] = []
        self.protocol: object = None

    def set_protocol(self, protocol: object) -> None:
        self.protocol = protocol

    def write(self, data: bytes) -> None:
        self.written.append(data)

    def is_closing(self) -> bool:
        return False

    def close(self) -> None:
        pass


@pytest.fixture
def loop() -> Iterator[asyncio.AbstractEventLoop]:
    ev = asyncio.new_event_loop()
    yield ev
    ev.close()


def looping(loop: asyncio.AbstractEventLoop, end: float | None = None, *, deprecate_eof: bool = False
            ) -> tuple[TransactionLoop, Wire, asyncio.Future[tuple[int, DatabaseError] | None], _Tally,
                       list[list[int]], list[int], list[Script]]:
    now = time.perf_counter()
    tally = _Tally(now, now + 3600 if end is None else end, 4)
    drawn: list[Script] = []

    def next_script() -> Script:
        drawn.append(SCRIPTS[len(drawn)])
        return drawn[-1]

    proto = TransactionLoop(deprecate_eof=deprecate_eof, target=None, tally=tally, next_script=next_script,
                            kinds=(0, 1, 2, 3))
    wire = Wire()
    latencies: list[list[int]] = [[] for _ in range(4)]
    sent = [0] * 4
    done = proto.run(wire, next_script(), latencies, sent, 2, loop, now)
    assert wire.protocol is proto and wire.written == [query_packet(b"BEGIN")]
    return proto, wire, done, tally, latencies, sent, drawn


def test_transactions_follow_one_another_from_the_callbacks(loop: asyncio.AbstractEventLoop) -> None:
    proto, wire, done, tally, latencies, sent, drawn = looping(loop)
    for _ in range(3):
        for answer in ANSWERS:
            proto.data_received(answer)
    assert not done.done() and len(drawn) == 4  # the fourth transaction's BEGIN is in flight
    assert wire.written == [query_packet(sql) for script in drawn[:3] for _, sql in script] + \
        [query_packet(b"BEGIN")]
    assert sent == [0, 0, 0, 0]  # counted from the answers' times when the loop's figures are asked for
    proto.flush(in_flight=True)
    assert sent == [4, 3, 3, 3] and [len(x) for x in latencies] == [3, 3, 3, 3]
    tally.roll(tally.second)
    assert tally.ops == 3 and tally.errors == 0 and sum(tally.latency_counts.values()) == 3
    assert proto.status == 0x0002  # COMMIT's OK: no transaction open


def test_the_run_s_end_stops_the_loop_after_the_transaction_in_flight(loop: asyncio.AbstractEventLoop) -> None:
    proto, wire, done, tally, _, sent, drawn = looping(loop, end=time.perf_counter())
    for answer in ANSWERS:
        assert not done.done()
        proto.data_received(answer)
    assert done.result() is None and len(drawn) == 1 and len(wire.written) == 4
    assert proto.ended_between_transactions()
    proto.flush(in_flight=False)
    assert sent == [1, 1, 1, 1]
    tally.roll(tally.second)
    assert tally.ops == 1


def test_a_refused_statement_ends_the_loop_with_its_place_and_error(loop: asyncio.AbstractEventLoop) -> None:
    proto, wire, done, tally, latencies, sent, drawn = looping(loop)
    for answer in ANSWERS:
        proto.data_received(answer)
    proto.data_received(ANSWERS[0])
    proto.data_received(packet(1, b"\xff" + (1213).to_bytes(2, "little") + b"#40001Deadlock found"))
    outcome = done.result()
    assert outcome is not None
    at, e = outcome
    assert at == 1 and isinstance(e, QueryError) and e.code == 1213 and proto.script is drawn[1]
    assert not proto.ended_between_transactions()
    proto.flush(in_flight=True)  # the refused statement was sent, and has no latency
    assert len(wire.written) == 6 and sent == [2, 2, 1, 1] and [len(x) for x in latencies] == [2, 1, 1, 1]
    assert proto.status & 0x0001  # the transaction is open: the general path rolls it back
    tally.roll(tally.second)
    assert tally.ops == 1 and tally.errors == 0  # the failed transaction is the general path's to count


def test_a_commit_whose_connection_goes_is_indeterminate(loop: asyncio.AbstractEventLoop) -> None:
    proto, _, done, tally, _, _, _ = looping(loop)
    for answer in ANSWERS[:3]:
        proto.data_received(answer)
    proto.connection_lost(None)
    outcome = done.result()
    assert outcome is not None
    at, e = outcome
    assert at == 3 and isinstance(e, ConnectionError_) and e.code == 2013 and e.indeterminate
    tally.roll(tally.second)
    assert tally.ops == 0


# -- the shortcut of TransactionLoop.data_received (an answer whole in one read, its end looked at first), with
# DEPRECATE_EOF as MariaDB and MySQL answer


def ok_insert(status: int, insert_id: int) -> bytes:
    """An INSERT's OK whose insert id takes three bytes (0xFC and two): the status comes two bytes later."""
    return packet(1, b"\x00\x01\xfc" + insert_id.to_bytes(2, "little") + status.to_bytes(2, "little") + b"\x00\x00")


def columns() -> bytes:
    """A result set's column count (1) and its column's definition (c), with DEPRECATE_EOF: no EOF after them."""
    col = b"".join(bytes([len(p)]) + p for p in (b"def", b"test", b"t", b"t", b"c", b"c")) + \
        b"\x0c\x21\x00\xfe\x01\x00\x00\xfe\x00\x00\x00\x00"
    return packet(1, b"\x01") + packet(2, col)


def rows_answer(values: list[bytes], status: int, *, warnings: int = 0) -> bytes:
    """A result set of one column (c) and a row per value, closed by the OK packet with the EOF header."""
    body = columns()
    for i, value in enumerate(values):
        body += packet(3 + i, bytes([len(value)]) + value)
    closing = b"\xfe\x00\x00" + status.to_bytes(2, "little") + warnings.to_bytes(2, "little")
    return body + packet((3 + len(values)) & 0xFF, closing)


def answer_statement(proto: TransactionLoop, wire: Wire, *reads: bytes) -> bool:
    """Feed `reads`; True when they answered the statement in flight (the next one was written)."""
    written = len(wire.written)
    for read in reads:
        proto.data_received(read)
    return len(wire.written) > written


@pytest.mark.parametrize("rows", [0, 1, 2, 100], ids=["no-row", "one-row", "two-rows", "hundred-rows"])
def test_a_result_set_in_one_read_or_in_pieces_answers_its_statement(loop: asyncio.AbstractEventLoop,
                                                                      rows: int) -> None:
    proto, wire, done, _, latencies, _, _ = looping(loop, deprecate_eof=True)
    assert answer_statement(proto, wire, ok(0x0003))
    whole = rows_answer([b"%03d-abc" % i for i in range(rows)], 0x0003)
    assert answer_statement(proto, wire, whole)  # the shortcut
    assert proto.meta == columns()  # the column definitions remembered for the next answer
    assert answer_statement(proto, wire, ok(0x0003, affected=1))
    assert answer_statement(proto, wire, ok(0x0002))  # COMMIT
    assert answer_statement(proto, wire, ok(0x0003))  # the next BEGIN
    # the same answer cut in two: the general framing, then the same outcome
    assert not answer_statement(proto, wire, whole[:len(whole) - 5])
    assert answer_statement(proto, wire, whole[len(whole) - 5:])
    proto.flush(in_flight=True)
    assert [len(x) for x in latencies] == [2, 2, 1, 1] and not done.done()


def test_rows_that_end_like_a_closing_packet_are_not_taken_for_the_answer_s_end(
        loop: asyncio.AbstractEventLoop) -> None:
    proto, wire, _, _, _, _, _ = looping(loop, deprecate_eof=True)
    assert answer_statement(proto, wire, ok(0x0003))
    # a value whose last eleven bytes are a closing packet's: the read ends inside a row, not at the answer's end
    fake_end = packet(9, b"\xfe\x00\x00\x03\x00\x00\x00")
    whole = rows_answer([b"x" * 20 + fake_end, b"y" * 31], 0x0003)
    cut = whole.index(fake_end) + len(fake_end)
    assert not answer_statement(proto, wire, whole[:cut])
    assert answer_statement(proto, wire, whole[cut:])
    assert proto.status == 0x0003


def test_a_closing_packet_with_warnings_and_an_insert_id_of_three_bytes_answer_their_statements(
        loop: asyncio.AbstractEventLoop) -> None:
    proto, wire, done, _, _, sent, _ = looping(loop, deprecate_eof=True)
    assert answer_statement(proto, wire, ok(0x0003))
    assert answer_statement(proto, wire, rows_answer([b"abc"], 0x0003, warnings=1))  # the general framing
    assert answer_statement(proto, wire, ok_insert(0x0003, 4000))
    assert proto.status == 0x0003
    assert answer_statement(proto, wire, ok(0x0002))
    proto.flush(in_flight=True)
    assert sent == [2, 1, 1, 1] and not done.done()


def test_answer_times_are_counted_in_blocks_at_transaction_boundaries(loop: asyncio.AbstractEventLoop,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    import test_rig.load.fast as fast

    monkeypatch.setattr(fast, "_STAMPS_KEPT", 6)
    proto, _, done, _, latencies, sent, _ = looping(loop)
    for _ in range(5):
        for answer in ANSWERS:
            proto.data_received(answer)
        assert len(proto.stamps) <= 6 + len(ANSWERS)  # counted as they pass the bound, at a transaction's end
    assert 0 < sum(sent) < 5 * len(ANSWERS)  # the first ones counted already
    proto.flush(in_flight=True)
    assert sent == [6, 5, 5, 5] and [len(x) for x in latencies] == [5, 5, 5, 5] and not done.done()
    assert all(micros >= 1 for kind in latencies for micros in kind)
    proto.flush(in_flight=False)  # nothing new: counted once
    assert sent == [6, 5, 5, 5]
