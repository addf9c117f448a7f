"""QueryProtocol (load.fast_conn) on hand-made answers: a result set decoded the same whether it comes in one read,
cut at any byte, or through the shortcut for a column list seen before; OK and ERR answers; the transaction flag."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from asyncmy.converters import conversions

from test_rig.db import Target
from test_rig.errors import DatabaseError
from test_rig.load.fast_conn import QueryProtocol

LONG = 3  # MySQL's FIELD_TYPE.LONG
VAR_STRING = 253


def packet(seq: int, payload: bytes) -> bytes:
    return len(payload).to_bytes(3, "little") + bytes([seq]) + payload


def lenenc_str(value: bytes) -> bytes:
    assert len(value) < 251
    return bytes([len(value)]) + value


def column(name: str, kind: int, charset: int) -> bytes:
    head = b"".join(lenenc_str(x) for x in (b"def", b"test", b"t", b"t", name.encode(), name.encode()))
    return head + b"\x0c" + charset.to_bytes(2, "little") + (11).to_bytes(4, "little") + bytes([kind]) \
        + b"\x00\x00\x00\x00\x00"


def result_set(rows: list[tuple[bytes | None, bytes | None]], status: int = 0x0002) -> bytes:
    out = [packet(1, b"\x02"), packet(2, column("id", LONG, 63)), packet(3, column("name", VAR_STRING, 45)),
           packet(4, b"\xfe\x00\x00\x02\x00")]
    seq = 5
    for row in rows:
        out.append(packet(seq, b"".join(b"\xfb" if v is None else lenenc_str(v) for v in row)))
        seq += 1
    out.append(packet(seq, b"\xfe\x00\x00" + status.to_bytes(2, "little")))
    return b"".join(out)


class _Conn:
    """What QueryProtocol reads of its connection."""

    def __init__(self) -> None:
        self.target = Target("t", "127.0.0.1", 3306, "root", "", "test", 5)
        self.in_transaction = False
        self.raw = object()
        self.aborted = False

    def abort(self) -> None:
        self.aborted = True

    def _commits_on_success(self, sql: str) -> bool:
        return False


class _Transport:
    def __init__(self) -> None:
        self.written: list[bytes] = []

    def write(self, data: bytes) -> None:
        self.written.append(data)


def answer(proto: QueryProtocol, reads: list[bytes], *, as_result: bool = False) -> Any:
    loop = asyncio.new_event_loop()
    try:
        done = proto.begin(_Transport(), b"packet", "SELECT id, name FROM t", False, as_result, loop)
        for data in reads:
            proto.data_received(data)
        assert done.done()
        return done.result()
    finally:
        loop.close()


ROWS = [(b"1", b"one"), (b"22", None), (b"333", "é".encode())]
EXPECTED = ((1, "one"), (22, None), (333, "é"))


def protocol(conn: _Conn | None = None) -> QueryProtocol:
    return QueryProtocol(conn or _Conn(), deprecate_eof=False, encoding="utf8", decoders=conversions)  # type: ignore[arg-type]


def test_a_result_set_cut_at_every_byte_decodes_the_same() -> None:
    data = result_set(ROWS)
    for cut in range(1, len(data)):
        assert answer(protocol(), [data[:cut], data[cut:]]) == EXPECTED


def test_a_column_list_seen_before_takes_the_shortcut_with_the_same_rows() -> None:
    proto = protocol()
    data = result_set(ROWS)
    assert answer(proto, [data]) == EXPECTED
    assert proto.last_meta == data[:len(proto.last_meta)] and proto.last_meta
    assert answer(proto, [data]) == EXPECTED
    result = answer(proto, [result_set(ROWS[:1])], as_result=True)
    assert (result.rows, result.rowcount, result.columns) == ([(1, "one")], 1, ["id", "name"])
    assert answer(proto, [result_set([])]) == ()


def test_ok_answers_and_the_transaction_flag() -> None:
    conn = _Conn()
    proto = protocol(conn)
    ok_in_transaction = packet(1, b"\x00\x03\x00\x03\x00\x00\x00")  # 3 rows affected, IN_TRANS | AUTOCOMMIT
    result = answer(proto, [ok_in_transaction], as_result=True)
    assert (result.rows, result.rowcount, conn.in_transaction) == ([], 3, True)
    assert answer(proto, [packet(1, b"\x00\x00\x00\x02\x00\x00\x00")]) == []
    assert conn.in_transaction is False


@pytest.mark.parametrize("cut", [None, 5, 9])
def test_an_err_packet_raises_the_servers_error(cut: int | None) -> None:
    conn = _Conn()
    err = packet(1, b"\xff" + (1146).to_bytes(2, "little") + b"#42S02Table 'test.t' doesn't exist")
    reads = [err] if cut is None else [err[:cut], err[cut:]]
    with pytest.raises(DatabaseError) as info:
        answer(protocol(conn), reads)
    assert info.value.code == 1146 and info.value.sqlstate == "42S02"
    assert "SELECT id, name FROM t" in str(info.value.context)
    assert conn.aborted is False


def big_row_result(value: bytes) -> bytes:
    """A result set of one VAR_STRING column and one row holding `value` (16 MB or more: its row is a logical
    packet of several 16 MB parts, the last one shorter, empty when the row is an exact multiple)."""
    head = [packet(1, b"\x01"), packet(2, column("name", VAR_STRING, 45)), packet(3, b"\xfe\x00\x00\x02\x00")]
    row = b"\xfe" + len(value).to_bytes(8, "little") + value  # a length of 2**24 or more: 0xFE and 8 bytes
    parts, seq = [], 4
    for at in range(0, len(row) + 1, 0xFFFFFF):
        parts.append(packet(seq, row[at:at + 0xFFFFFF]))
        seq += 1
    return b"".join([*head, *parts, packet(seq, b"\xfe\x00\x00\x02\x00")])


@pytest.mark.parametrize("extra", [100, 0xFFFFFF - 9])  # a short last part; none (an empty one after a full part)
def test_a_row_of_16_mb_or_more_is_joined_from_its_packets_wherever_the_reads_cut(extra: int) -> None:
    value = b"ab" * ((0xFFFFFF + extra) // 2) + b"c" * ((0xFFFFFF + extra) % 2)
    data = big_row_result(value)
    first_part = 5 + 4 + len(column("name", VAR_STRING, 45)) + 9  # where the row's first packet begins
    assert data[first_part + 3] == 4 and data[first_part + 4] == 0xFE
    for cut in (None, first_part + 2, first_part + 4 + 1000, first_part + 4 + 0xFFFFFF, first_part + 4 + 0xFFFFFF + 2,
                len(data) - 3):
        reads = [data] if cut is None else [data[:cut], data[cut:]]
        rows = answer(protocol(), reads)
        assert len(rows) == 1 and len(rows[0][0]) == len(value) and rows[0][0] == value.decode(), cut
