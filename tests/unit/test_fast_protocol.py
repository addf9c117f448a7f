"""The fast load path's framing, on bytes: result sets (with and without the EOF after the column definitions),
OK, ERR with its code and SQLSTATE, several results, 16 MB packets, answers cut at every byte, a lost connection."""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Iterator

import pytest

from test_rig.errors import ConnectionError_, QueryError
from test_rig.load.fast import (
    FastStatement,
    ScriptProtocol,
    StatementLoop,
    _Tally,
    ok_status,
    query_packet,
    server_error,
)


def packet(seq: int, payload: bytes) -> bytes:
    return len(payload).to_bytes(3, "little") + bytes([seq]) + payload


def lenenc_str(text: bytes) -> bytes:
    if len(text) < 251:
        return bytes([len(text)]) + text
    assert len(text) < 1 << 16
    return b"\xfc" + len(text).to_bytes(2, "little") + text


def column(name: bytes) -> bytes:
    return b"".join(lenenc_str(p) for p in (b"def", b"test", b"t", b"t", name, name)) + \
        b"\x0c\x21\x00\xfe\x01\x00\x00\xfe\x00\x00\x00\x00"


def eof(status: int = 0x0002) -> bytes:
    return b"\xfe\x00\x00" + status.to_bytes(2, "little")


def ok(status: int = 0x0002, affected: int = 0, header: bytes = b"\x00") -> bytes:
    return header + bytes([affected, 0]) + status.to_bytes(2, "little") + b"\x00\x00"


def err(code: int, state: bytes, message: bytes) -> bytes:
    return b"\xff" + code.to_bytes(2, "little") + b"#" + state + message


def result_set(columns: list[bytes], rows: list[list[bytes | None]], *, deprecate_eof: bool = False,
               status: int = 0x0002, seq: int = 1) -> bytes:
    out = [packet(seq, bytes([len(columns)]))]
    for name in columns:
        seq += 1
        out.append(packet(seq, column(name)))
    if not deprecate_eof:
        seq += 1
        out.append(packet(seq, eof(status & ~0x0008 | 0x0002)))
    for row in rows:
        seq += 1
        out.append(packet(seq, b"".join(b"\xfb" if v is None else lenenc_str(v) for v in row)))
    seq += 1
    out.append(packet(seq, ok(status, header=b"\xfe") if deprecate_eof else eof(status)))
    return b"".join(out)


class Wire:
    """A transport on no socket: what the protocol writes is kept."""

    def __init__(self) -> None:
        self.written: list[bytes] = []
        self.protocol: object = None
        self.closed = False

    def set_protocol(self, protocol: object) -> None:
        self.protocol = protocol

    def write(self, data: bytes) -> None:
        self.written.append(data)

    def is_closing(self) -> bool:
        return self.closed

    def close(self) -> None:
        self.closed = True


@pytest.fixture
def loop() -> Iterator[asyncio.AbstractEventLoop]:
    ev = asyncio.new_event_loop()
    yield ev
    ev.close()


def started(loop: asyncio.AbstractEventLoop, *, deprecate_eof: bool = False,
            end: float | None = None) -> tuple[StatementLoop, Wire, _Tally]:
    now = time.perf_counter()
    tally = _Tally(now, now + 3600 if end is None else end, 4)
    proto = StatementLoop(lambda: query_packet(b"SELECT 1"), tally, deprecate_eof=deprecate_eof, loop=loop)
    wire = Wire()
    proto.start(wire)
    return proto, wire, tally


def answered(tally: _Tally) -> int:
    tally.roll(tally.second)
    return tally.ops


def test_query_packet_is_com_query_with_sequence_zero() -> None:
    assert query_packet(b"SELECT 1") == b"\x09\x00\x00\x00\x03SELECT 1"


def test_a_result_set_is_one_operation_and_the_next_statement_is_written(loop: asyncio.AbstractEventLoop) -> None:
    proto, wire, tally = started(loop)
    assert wire.protocol is proto and wire.written == [query_packet(b"SELECT 1")]
    proto.data_received(result_set([b"c", b"k"], [[b"abc", b"1"], [None, b"2"], [b"x", b"3"]]))
    assert answered(tally) == 1
    assert proto.rows == 3
    assert len(wire.written) == 2
    assert tally.errors == 0 and not proto.done.done()


@pytest.mark.parametrize("deprecate_eof", [False, True])
def test_answers_cut_at_every_byte_are_framed_the_same(loop: asyncio.AbstractEventLoop, deprecate_eof: bool) -> None:
    proto, wire, tally = started(loop, deprecate_eof=deprecate_eof)
    answer = result_set([b"c"], [[b"row-%d" % i] for i in range(5)], deprecate_eof=deprecate_eof)
    for i in range(len(answer)):
        proto.data_received(answer[i:i + 1])
    assert answered(tally) == 1 and proto.rows == 5 and len(wire.written) == 2
    # the same answer again, in one piece and then in two: the column definitions are skipped the second time
    proto.data_received(answer)
    proto.data_received(answer[:7])
    proto.data_received(answer[7:])
    assert answered(tally) == 3 and proto.rows == 5 and len(wire.written) == 4
    assert proto.meta.startswith(packet(1, b"\x01"))


@pytest.mark.parametrize("deprecate_eof", [False, True])
def test_runs_of_rows_of_one_size_are_counted_exactly_wherever_they_change(loop: asyncio.AbstractEventLoop,
                                                                           deprecate_eof: bool) -> None:
    # Rows are skipped a run of equal sizes at a time: runs broken by a longer row (one whose first length byte is
    # the same as the run's: 7 + 256 bytes), a shorter one, a NULL; a last run whose closing packet (an OK with the
    # EOF header, 7 bytes) has the same size as its rows; and the same answer cut at every byte.
    rows: list[list[bytes | None]] = [[b"a" * 6]] * 9 + [[b"b" * 260]] + [[b"c" * 6]] * 5 + [[b"d"]] + \
        [[b"e" * 6]] * 4 + [[None]] + [[b"f" * 6]] * 12
    answer = result_set([b"c"], rows, deprecate_eof=deprecate_eof)
    proto, wire, tally = started(loop, deprecate_eof=deprecate_eof)
    proto.data_received(answer)
    assert answered(tally) == 1 and proto.rows == len(rows) == 33 and len(wire.written) == 2
    for cut in range(1, len(answer)):
        proto.data_received(answer[:cut])
        proto.data_received(answer[cut:])
        assert proto.rows == 33 and proto.phase == 0 and not proto.pending
    assert answered(tally) == len(answer) and len(wire.written) == len(answer) + 1
    # an error after a run of rows ends the statement there
    proto.data_received(answer[:-len(packet(0, ok(header=b"\xfe"))) if deprecate_eof else -9]
                        + packet(40, err(1317, b"70100", b"Query execution was interrupted")))
    assert dict(tally.errors_by_code) == {"1317": 1} and proto.phase == 0


def test_other_column_definitions_after_the_remembered_ones_are_walked(loop: asyncio.AbstractEventLoop) -> None:
    proto, wire, tally = started(loop)
    proto.data_received(result_set([b"c"], [[b"1"]]))
    proto.data_received(result_set([b"a", b"b"], [[b"1", b"2"], [b"3", b"4"]]))
    assert answered(tally) == 2 and proto.rows == 2 and len(wire.written) == 3


def test_ok_packets_and_several_results_in_one_answer(loop: asyncio.AbstractEventLoop) -> None:
    proto, wire, tally = started(loop)
    proto.data_received(packet(1, ok(affected=3)))
    assert answered(tally) == 1
    # an OK saying more results follow, then a result set: one operation, counted once the last result is in
    proto.data_received(packet(1, ok(status=0x000A)) + result_set([b"c"], [[b"1"]], seq=2)[:-4])
    assert answered(tally) == 1
    proto.data_received(result_set([b"c"], [[b"1"]], seq=2)[-4:])
    assert answered(tally) == 2 and len(wire.written) == 3


def test_a_server_error_keeps_its_code_and_sqlstate_and_the_loop_goes_on(loop: asyncio.AbstractEventLoop) -> None:
    proto, wire, tally = started(loop)
    proto.data_received(packet(1, err(1146, b"42S02", b"Table 'test.nope' doesn't exist")))
    proto.data_received(packet(1, err(1146, b"42S02", b"Table 'test.other' doesn't exist")))
    assert tally.errors == 2 and dict(tally.errors_by_code) == {"1146": 2}
    assert tally.codes_per_sec[0] == {"1146": 2}
    assert tally.error_messages == {"1146": "Table 'test.nope' doesn't exist"}  # the first one's, for the verdict
    assert len(wire.written) == 3 and not proto.done.done()
    assert answered(tally) == 0
    e = server_error(err(1146, b"42S02", b"Table 'test.nope' doesn't exist"))
    assert isinstance(e, QueryError)
    assert (e.code, e.sqlstate, e.message) == (1146, "42S02", "Table 'test.nope' doesn't exist")


def test_an_error_after_some_rows_ends_that_statement(loop: asyncio.AbstractEventLoop) -> None:
    proto, wire, tally = started(loop)
    answer = result_set([b"c"], [[b"1"], [b"2"]])
    cut = answer[:-9]  # without the closing EOF
    proto.data_received(cut + packet(6, err(1317, b"70100", b"Query execution was interrupted")))
    assert dict(tally.errors_by_code) == {"1317": 1} and answered(tally) == 0 and len(wire.written) == 2
    proto.data_received(answer)
    assert answered(tally) == 1


def test_a_killed_connection_ends_the_loop_with_its_code(loop: asyncio.AbstractEventLoop) -> None:
    proto, wire, tally = started(loop)
    proto.data_received(packet(1, err(1927, b"70100", b"Connection was killed")))
    assert proto.done.done()
    outcome = proto.done.result()
    assert outcome is not None and outcome.code == 1927
    assert len(wire.written) == 1
    assert dict(tally.errors_by_code) == {"1927": 1}


def test_a_lost_connection_in_flight_is_a_2013(loop: asyncio.AbstractEventLoop) -> None:
    proto, wire, tally = started(loop)
    proto.data_received(result_set([b"c"], [[b"1"]])[:10])
    proto.connection_lost(ConnectionResetError("reset by peer"))
    outcome = proto.done.result()
    assert isinstance(outcome, ConnectionError_) and outcome.code == 2013
    assert "reset by peer" in outcome.message
    assert dict(tally.errors_by_code) == {"2013": 1} and len(wire.written) == 1


@pytest.mark.parametrize("deprecate_eof", [False, True])
def test_a_16_mb_row_spans_two_packets(loop: asyncio.AbstractEventLoop, deprecate_eof: bool) -> None:
    proto, wire, tally = started(loop, deprecate_eof=deprecate_eof)
    # a string of 16 MB: its length-encoded size starts with 0xFE, the EOF header, in a packet that is not an EOF
    size = 0xFFFFFF
    big = b"\xfe" + size.to_bytes(8, "little") + b"x" * size
    head = result_set([b"c"], [], deprecate_eof=deprecate_eof)
    head = head[:-len(packet(0, ok(header=b"\xfe")))] if deprecate_eof else head[:-9]  # without the closing packet
    seq = 3 if deprecate_eof else 4
    answer = head + packet(seq, big[:0xFFFFFF]) + packet(seq + 1, big[0xFFFFFF:]) + \
        packet(seq + 2, ok(header=b"\xfe") if deprecate_eof else eof())
    proto.data_received(answer)
    assert answered(tally) == 1 and proto.rows == 1 and len(wire.written) == 2


def test_at_the_end_of_the_run_nothing_more_is_written(loop: asyncio.AbstractEventLoop) -> None:
    proto, wire, tally = started(loop, end=time.perf_counter() - 1)
    proto.data_received(result_set([b"c"], [[b"1"]]))
    assert proto.done.result() is None and proto.sent_at == 0.0
    assert len(wire.written) == 1 and answered(tally) == 1


def test_merged_results_keep_the_first_message_of_each_code() -> None:
    from hdrh.histogram import HdrHistogram

    from test_rig.coordinator import FreeRunResult, merge_results

    def part(by_code: dict[str, int], messages: dict[str, str]) -> FreeRunResult:
        return FreeRunResult(0, sum(by_code.values()), 1.0, HdrHistogram(1, 3_600_000_000, 3), by_code, [], 0, 0, 0,
                             {}, error_messages=messages)

    merged = merge_results([part({"1142": 2}, {"1142": "SELECT command denied"}),
                            part({"1142": 1, "2013": 4}, {"1142": "another", "2013": "Lost connection"})])
    assert merged.errors_by_code == {"1142": 3, "2013": 4}
    assert merged.error_messages == {"1142": "SELECT command denied", "2013": "Lost connection"}
    assert merged.to_dict()["error_messages"] == merged.error_messages


def test_latencies_land_in_their_second() -> None:
    tally = _Tally(0.0, 10.0, 2)
    tally.latencies.extend([5, 7, 5])
    tally.roll(3)
    tally.latencies.append(9)
    tally.roll(3)
    assert tally.ops_per_sec == [3, 0, 0, 1] and tally.ops == 4
    assert tally.samples[0] == [5, 7, 5] and tally.samples[3] == [9]
    assert dict(tally.latency_counts) == {5: 2, 7: 1, 9: 1}


def test_statements_are_drawn_from_their_values() -> None:
    statement = FastStatement("SELECT c FROM t WHERE id=%s", range(1, 4))
    nxt = statement.packets(random.Random(1))
    drawn = {nxt() for _ in range(200)}
    assert drawn == {query_packet(b"SELECT c FROM t WHERE id=%d" % i) for i in (1, 2, 3)}
    wide = FastStatement("SELECT %s", range(10**6, 10**7))
    assert all(10**6 <= int(p[5 + 7:]) < 10**7 for p in (wide.packets(random.Random(2))() for _ in range(50)))
    assert FastStatement("SELECT 1").packets(random.Random(0))() == query_packet(b"SELECT 1")
    with pytest.raises(ValueError):
        FastStatement("SELECT %s")
    with pytest.raises(ValueError):
        FastStatement("SELECT 1", range(3))


def test_the_bench_workloads_are_fast_statements() -> None:
    from test_rig.load.bench import TABLE, WORKLOADS

    assert WORKLOADS["select-1"](10) == FastStatement("SELECT 1")
    assert WORKLOADS["point-select"](10) == FastStatement(f"SELECT c FROM `{TABLE}` WHERE id=%s", range(1, 11))


# -- ScriptProtocol: a script of statements (an OLTP transaction), one Future for the whole script


SCRIPT = [(0, b"BEGIN"), (1, b"SELECT c FROM sbtest1 WHERE id BETWEEN 1 AND 100"),
          (2, b"UPDATE sbtest1 SET k=k+1 WHERE id=5"), (3, b"COMMIT")]


def scripted(loop: asyncio.AbstractEventLoop, script: list[tuple[int, bytes]] = SCRIPT, *, deprecate_eof: bool = False,
             ) -> tuple[ScriptProtocol, Wire, asyncio.Future[object], list[list[int]], list[int]]:
    proto = ScriptProtocol(deprecate_eof=deprecate_eof)
    wire = Wire()
    latencies: list[list[int]] = [[] for _ in range(4)]
    sent = [0] * 4
    done = proto.begin(wire, script, latencies, sent, 2, loop)
    assert wire.protocol is proto and wire.written == [query_packet(script[0][1])]
    return proto, wire, done, latencies, sent


@pytest.mark.parametrize("deprecate_eof", [False, True])
def test_a_script_is_sent_one_statement_per_answer_whatever_the_reads_cut(loop: asyncio.AbstractEventLoop,
                                                                          deprecate_eof: bool) -> None:
    rows: list[list[bytes | None]] = [[b"x" * (i % 7 + 1), None if i % 5 == 0 else b"%d" % i] for i in range(100)]
    answers = [packet(1, ok(status=0x0003)),
               result_set([b"c", b"k"], rows, deprecate_eof=deprecate_eof, status=0x0003),
               packet(1, ok(status=0x0003, affected=1)),
               packet(1, ok(status=0x0002))]
    for cut in [0, 1, 3, 4, 5, 17, 40, 1000]:
        proto, wire, done, latencies, sent = scripted(loop, deprecate_eof=deprecate_eof)
        for i, answer in enumerate(answers):
            assert not done.done() and len(wire.written) == i + 1 and sent == [1] * (i + 1) + [0] * (3 - i)
            proto.data_received(answer[:cut])
            proto.data_received(answer[cut:])
            if i == 1:
                assert proto.rows == 100
        assert done.result() is None
        assert wire.written == [query_packet(sql) for _, sql in SCRIPT]
        assert [len(x) for x in latencies] == [1, 1, 1, 1] and all(x[0] >= 1 for x in latencies)
        assert proto.status == 0x0002  # COMMIT's OK: no transaction open


@pytest.mark.parametrize("deprecate_eof", [False, True])
def test_answers_whole_in_one_read_take_the_shortcut_whatever_their_columns(
        loop: asyncio.AbstractEventLoop, deprecate_eof: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    """An OLTP transaction's result sets have several column lists and its INSERT's OK an insert id of several
    bytes: each answer that comes whole in one read is taken without the general framing (which is slower) and
    counted as the general framing would count it."""
    script = [(0, b"SELECT c FROM sbtest1 WHERE id=1"), (1, b"SELECT SUM(k) FROM sbtest1 WHERE id BETWEEN 1 AND 3"),
              (0, b"SELECT c FROM sbtest1 WHERE id=2"), (2, b"INSERT INTO sbtest1 VALUES (5046, 1, '', '')"),
              (3, b"COMMIT")]
    proto, wire, done, latencies, sent = scripted(loop, script, deprecate_eof=deprecate_eof)
    framed: list[bytes] = []
    monkeypatch.setattr(proto, "_frame", framed.append)
    insert_ok = b"\x00\x01\xfc\xb6\x13\x03\x00\x00\x00"  # 1 row, insert id 5046 (0xFC + 2 bytes), status
    answers = [result_set([b"c"], [[b"x" * 119]], deprecate_eof=deprecate_eof, status=0x0003),
               result_set([b"SUM(k)"], [[b"15"]], deprecate_eof=deprecate_eof, status=0x0003),
               result_set([b"c"], [[b"y" * 119], [b"z" * 119]], deprecate_eof=deprecate_eof, status=0x0003),
               packet(1, insert_ok), packet(1, ok(status=0x0002))]
    rows = []
    for answer in answers:
        proto.data_received(answer)
        rows.append(proto.rows)
    assert framed == [] and done.result() is None
    assert rows[:3] == [1, 1, 2] and len(wire.written) == 5 and sent == [2, 1, 1, 1]
    assert [len(x) for x in latencies] == [2, 1, 1, 1] and proto.status == 0x0002
    # a result set cut by the read still goes to the general framing
    proto, _, done, _, _ = scripted(loop, script[:1], deprecate_eof=deprecate_eof)
    framed = []
    monkeypatch.setattr(proto, "_frame", framed.append)
    proto.data_received(answers[0][:-3])
    assert framed == [answers[0][:-3]] and not done.done()


def test_a_row_with_a_leading_0xfe_length_is_a_row_not_the_end(loop: asyncio.AbstractEventLoop) -> None:
    # a value of 2^24 bytes or more starts with 0xFE, like EOF: only the packet's size tells them apart
    proto, _, done, _, _ = scripted(loop, [(1, b"SELECT c FROM sbtest1")])
    big = b"\xfe" + (9).to_bytes(8, "little") + b"y" * 9
    head, _, _ = result_set([b"c"], [[b"a"]]).rpartition(packet(5, eof()))
    proto.data_received(head + packet(5, big))
    assert not done.done() and proto.rows == 2
    proto.data_received(packet(6, eof()))
    assert done.result() is None


def test_a_statement_the_server_refuses_ends_the_script_with_its_position_and_error(
        loop: asyncio.AbstractEventLoop) -> None:
    proto, wire, done, latencies, sent = scripted(loop)
    proto.data_received(packet(1, ok(status=0x0003)))
    proto.data_received(result_set([b"c"], [[b"a"]], status=0x0003))
    proto.data_received(packet(1, err(1213, b"40001", b"Deadlock found when trying to get lock")))
    at, e = done.result()  # type: ignore[misc]
    assert at == 2 and isinstance(e, QueryError) and e.code == 1213 and e.sqlstate == "40001"
    assert str(e) == "(1213) Deadlock found when trying to get lock"
    assert len(wire.written) == 3 and sent == [1, 1, 1, 0] and [len(x) for x in latencies] == [1, 1, 0, 0]
    assert proto.status & 0x0001  # the last answer seen left a transaction open: the caller rolls it back


def test_a_commit_whose_connection_goes_is_indeterminate(loop: asyncio.AbstractEventLoop) -> None:
    proto, _, done, _, _ = scripted(loop, [(0, b"BEGIN"), (0, b"COMMIT")])
    proto.data_received(packet(1, ok(status=0x0003)))
    proto.connection_lost(None)
    at, e = done.result()  # type: ignore[misc]
    assert at == 1 and isinstance(e, ConnectionError_) and e.code == 2013 and e.indeterminate


def test_a_read_whose_connection_goes_is_not_indeterminate(loop: asyncio.AbstractEventLoop) -> None:
    proto, _, done, _, _ = scripted(loop, [(1, b"SELECT c FROM sbtest1 WHERE id=1")])
    proto.data_received(packet(1, b"\x01"))  # a result set had begun
    proto.connection_lost(None)
    at, e = done.result()  # type: ignore[misc]
    assert at == 0 and isinstance(e, ConnectionError_) and e.code == 2013 and not e.indeterminate


def test_ok_status_reads_one_byte_and_longer_counts() -> None:
    """The status flags of an OK payload (0x00 or 0xFE, affected rows, insert id, status), whether the two
    counts take one byte each (the usual case) or are longer length-encoded integers."""
    assert ok_status(b"\x00\x01\x00\x03\x40\x00\x00", 0) == 0x4003
    assert ok_status(b"xx\xfe\x00\x00\x02\x00", 2) == 0x0002
    assert ok_status(b"\x00\xfc\x10\x27\x05\x21\x00\x00\x00", 0) == 0x0021
    assert ok_status(b"\x00\x07\xfd\x01\x02\x03\x01\x80\x00\x00", 0) == 0x8001


def test_rows_of_one_size_are_taken_at_once_only_where_the_general_walk_agrees() -> None:
    """_same_rows is a shortcut of _skip_rows: whenever it says a span is rows of one size, the walk must end at
    the same place (a layout the shortcut took wrongly would count rows that are not there)."""
    import random as _random

    from test_rig.load.fast import _same_rows, _skip_rows

    rng = _random.Random(20)
    taken = 0
    for _ in range(3000):
        rows = []
        size = rng.choice([1, 2, 5, 121])
        for seq in range(rng.randint(1, 12)):
            this = size if rng.random() < 0.9 else rng.choice([size + 1, max(1, size - 1)])
            first = rng.choice([this - 1 if this > 1 else 0, 0xFE, 0xFB, 3])
            body = bytes([first]) + bytes(rng.randrange(256) for _ in range(this - 1))
            rows.append(bytes([this, 0, 0, seq & 0xFF]) + body)
        data = b"".join(rows) + b"\x05\x00\x00\x09\xfe\x00\x00\x02\x00"
        end = len(data) - 9
        if _same_rows(data, 0, end):
            taken += 1
            assert _skip_rows(data, 0, len(data)) == (end, len(rows))
    assert taken > 100  # the shortcut was exercised, not only refused


def test_specials_cut_gives_every_draw_the_answer_of_its_test() -> None:
    import math

    from test_rig.load.oltp import _special_cut

    for t in (0, 1, 2, 9, 99, 9_999, 10_000, 1_000_003, 2**31):
        for res in (1, 25, 75, 99):
            res_mult = 100.0 / (100.0 - res)  # as SysbenchRandom makes it from --rand-spec-res
            cut = _special_cut(t, res_mult)
            probes = [cut, 0.0, 1.0, 0.5, 0.25]
            x = y = cut
            for _ in range(50):
                x, y = math.nextafter(x, 0.0), math.nextafter(y, 1.0)
                probes += [x, y]
            for r in probes:
                assert (r * t * res_mult < t) == (r < cut), (t, res, r, cut)
