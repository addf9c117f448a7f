"""The history: every operation with its invoke and its completion, in Elle's meanings; reading and writing it.

`invoke` when a transaction is sent; then exactly one completion per invoke from the same process:
`ok` (committed, with what its reads returned), `fail` (certainly not applied), `info` (outcome
unknown: the connection died during COMMIT or an autocommit write). A transaction's value is a list of
micro-operations `[f, key, value]`: `["append", k, v]`, `["r", k, list-or-null]`, `["w", k, v]`,
`["transfer", [from, to], amount]`, `["read", null, {account: balance}]`.

Formats read: JSONL (one operation per line, what test-rig writes), JSON (an array of operations, or one per
line: Elle's JSON) and EDN (Jepsen's history.edn: one map per line or a vector of maps, keywords such as
`:type :ok`). `:index` and `:time` may be missing (then the file's order gives them).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, Any, NamedTuple

import msgspec
import orjson

from test_rig.errors import UsageError

TYPES = ("invoke", "ok", "fail", "info")
FORMATS = ("jsonl", "json", "edn")
#: The process of the nemesis's events (Elle's convention): `info` operations whose f is `start-KIND` or
#: `stop-KIND`, never paired into transactions.
NEMESIS = "nemesis"


class Op(NamedTuple):
    """One operation (a NamedTuple, not a dataclass: a history has millions and a tuple is made five times
    faster)."""

    index: int  # type: ignore[assignment]  # (shadows tuple.index, which nothing here calls)
    process: int | str  # a client's number, or NEMESIS (or another name: not a client)
    type: str
    f: str
    value: Any
    time: int  # nanoseconds, the recording machine's monotonic clock
    line: int = 0  # where it was read from (0: not from a file)

    def to_dict(self) -> dict[str, Any]:
        return {"index": self.index, "process": self.process, "type": self.type, "f": self.f, "value": self.value,
                "time": self.time}


class Txn(NamedTuple):
    """An invoke paired with its completion. `mops` are the completion's (what ok reads returned; for fail
    and info the completion's value when it has one, else the invoke's)."""

    id: int  # the invoke's index
    process: int | str
    type: str  # ok | fail | info
    mops: list[list[Any]]
    invoke_time: int
    complete_time: int | None
    seq: int = 0  # 0, 1, 2 ... in the order the transactions were paired
    f: str = "txn"
    #: the completion's index (None: never completed). Real-time and process order come from the history's
    #: order of operations, as in Elle, not from their times (which a history may lack or repeat).
    complete_index: int | None = None

    @property
    def name(self) -> str:
        return f"T{self.id}"


class HistoryWriter:
    """Appends operations as they happen: to a JSONL file (flushed line by line by the OS buffer, so an
    interrupted run keeps its history) and to an in-memory list of encoded lines, which costs about a tenth of
    the memory of Python objects and is what the checker reads back."""

    def __init__(self, stream: IO[bytes] | None, *, keep: bool = True) -> None:
        self.stream = stream
        self.keep = keep  # a worker process only writes its file: the parent reads and merges it
        self.lines: list[bytes] = []
        self.count = 0

    def add(self, process: int | str, type_: str, f: str, value: Any, time_ns: int) -> None:
        # msgspec, not orjson: orjson's bytes keep the 4 KB buffer they were written into (measured with
        # tracemalloc: 4.1 KB a line against 0.19 KB), which made a long run's history cost gigabytes.
        line = _encode({"index": self.count, "process": process, "type": type_, "f": f, "value": value,
                        "time": time_ns})
        self.count += 1
        if self.keep:
            self.lines.append(line)
        if self.stream is not None:
            self.stream.write(line + b"\n")

    def ops(self, *, raw_reads: bool = False) -> Iterator[Op]:
        return parse_history(self.lines, "the recorded history", raw_reads=raw_reads)

    def __len__(self) -> int:
        return self.count


def format_of(path: str | Path, given: str | None = None) -> str:
    """The format named by `--format`, else by the file name (.edn, .json; anything else is JSONL)."""
    if given:
        return given
    name = str(path).lower()
    if name.endswith(".edn"):
        return "edn"
    if name.endswith(".json"):
        return "json"
    return "jsonl"


def read_history(path: str | Path, fmt: str | None = None) -> list[Op]:
    return list(iter_history(path, fmt))


def iter_history(path: str | Path, fmt: str | None = None, *, raw_reads: bool = False) -> Iterator[Op]:
    """The operations of a history file, streamed. Every malformed line is a UsageError naming the file and
    line; an unreadable file is one too."""
    p = Path(path)
    kind = format_of(p, fmt)
    try:
        if kind == "edn":
            yield from _edn_ops(p.read_text(encoding="utf-8"), str(p), raw_reads=raw_reads)
            return
        with open(p, "rb") as f:
            head = f.read(4096).lstrip()
            f.seek(0)
            if kind == "json" and head.startswith(b"["):
                yield from _json_array_ops(f.read(), str(p))
                return
            yield from parse_history(f, str(p), raw_reads=raw_reads)
    except (OSError, UnicodeDecodeError) as e:
        raise UsageError(f"History {p} cannot be read ({getattr(e, 'strerror', None) or e}); check the path.") from None


class _Wire(msgspec.Struct):
    """The common shape of a transaction's line, decoded at C speed; a read's value is kept as its JSON text
    (msgspec.Raw) so that a read of hundreds of elements costs no Python object per element."""

    process: int | str
    type: str
    value: list[tuple[str, Any, msgspec.Raw]] | None = None
    f: str = "txn"
    index: int | None = None
    time: int | None = None


_wire = msgspec.json.Decoder(_Wire).decode
_decode = msgspec.json.decode
_encode = msgspec.json.Encoder().encode


def parse_history(lines: Iterable[bytes | str], source: str = "history", *, raw_reads: bool = False
                  ) -> Iterator[Op]:
    """JSON operations, one per line (empty lines skipped). With `raw_reads`, a read's value in a
    micro-operation stays undecoded (msgspec.Raw: the checker reads it as text); other lines are decoded in
    full."""
    loads = orjson.loads
    for number, line in enumerate(lines, start=1):
        if raw_reads:
            try:
                w = _wire(line)
            except (msgspec.DecodeError, msgspec.ValidationError):
                pass
            else:
                if w.type in TYPES and w.value is not None:
                    # An invoke's value is decoded only if its completion turns out to need it (iter_pairs)
                    value = (_Uncooked(w.value) if w.type == "invoke"
                             else [(f, k, v if f == "r" else _decode(v)) for f, k, v in w.value])
                    yield Op(w.index if w.index is not None else number - 1, w.process, w.type, w.f, value,
                             w.time or 0, number)
                    continue
        if not line.strip():
            continue
        try:
            d = loads(line)
        except orjson.JSONDecodeError as e:
            raise UsageError(f"{source} line {number} is not a history operation ({e}); each line must be a JSON "
                             "object with index, process, type, f, value and time.") from None
        yield op_from_map(d, number, source, number - 1)


class _Uncooked:
    """An invoke's micro-operations as `_wire` read them (every value still JSON text): most invokes' values are
    never used (an ok completion carries its own), so they are decoded only when one is (`_cooked`)."""

    __slots__ = ("mops",)

    def __init__(self, mops: list[tuple[str, Any, msgspec.Raw]]) -> None:
        self.mops = mops


def _cooked(value: Any) -> Any:
    """An operation's value, decoded if it was left as text (_Uncooked); any other value as it is."""
    if type(value) is _Uncooked:
        return [(f, k, v if f == "r" else _decode(v)) for f, k, v in value.mops]
    return value


def _json_array_ops(data: bytes, source: str) -> Iterator[Op]:
    try:
        items = orjson.loads(data)
    except orjson.JSONDecodeError as e:
        line = data.count(b"\n", 0, e.pos) + 1
        raise UsageError(f"{source} line {line} is not valid JSON ({e.msg}).") from None
    if not isinstance(items, list):
        raise UsageError(f"{source} is not a JSON array of history operations.")
    for i, d in enumerate(items):
        yield op_from_map(d, i + 1, source, i, what="operation")


def _edn_ops(text: str, source: str, *, raw_reads: bool = False) -> Iterator[Op]:
    """Jepsen's EDN. With `raw_reads` a read of integers stays text (as JSON, like a JSONL history's), every
    other vector of integers becomes a list."""
    from test_rig.history.edn import EdnError, IntVector, iter_forms, line_of

    def materialize(x: Any) -> Any:
        if isinstance(x, IntVector):
            return x.ints()
        if isinstance(x, list):
            return [materialize(v) for v in x]
        if isinstance(x, dict):
            return {k: materialize(v) for k, v in x.items()}
        return x

    forms = iter_forms(text, lazy_ints=raw_reads)
    i = 0
    line, counted = 1, 0  # the line of offset `counted`, advanced as the forms come
    while True:
        try:
            pos, d = next(forms)
        except StopIteration:
            return
        except EdnError as e:
            raise UsageError(f"{source} line {line_of(text, e.pos)} is not valid EDN ({e}).") from None
        if raw_reads and isinstance(d, dict):
            value = d.get("value")
            if isinstance(value, list) and all(isinstance(m, list) and len(m) == 3 for m in value):
                d["value"] = [[f, materialize(k), v.json() if f == "r" and isinstance(v, IntVector) else
                               materialize(v)] for f, k, v in value]
            else:
                d = materialize(d)
        line += text.count("\n", counted, pos)
        counted = pos
        yield op_from_map(d, line, source, i)
        i += 1


def _keyword(x: Any) -> str:
    s = str(x)
    return s[1:] if s.startswith(":") else s


def op_from_map(d: Any, line: int, source: str, position: int, what: str = "line", text: str | None = None,
                pos: int = 0) -> Op:
    """One operation from a decoded map (JSON or EDN), normalised: keywords without their colon, a missing
    index from the position in the file, a missing time as 0."""
    try:
        if not isinstance(d, dict):
            raise TypeError("not a map")
        process = d["process"]
        if process is None or isinstance(process, bool | float | list | dict):
            raise TypeError(f"its process is {_plain(process)}; a process is a number or a name")
        if not isinstance(process, int):
            process = _keyword(process)
            if process.lstrip("-").isdecimal():
                process = int(process)
        type_ = _keyword(d["type"])
        index = d.get("index", position)
        time = d.get("time", 0)
        for name, number in (("index", index), ("time", time)):
            if number is not None and (isinstance(number, bool) or not isinstance(number, int)):
                raise TypeError(f"its {name} is {_plain(number)}, not a whole number")
        op = Op(index if index is not None else position, process, type_, _keyword(d.get("f", "txn")),
                d.get("value"), time if time is not None else 0, line)
    except (ValueError, KeyError, TypeError) as e:
        if text is not None and not line:
            line = text.count("\n", 0, pos) + 1
        name = f"line {line}" if what == "line" else f"operation {line}"
        raise UsageError(f"{source} {name} is not a history operation ({_reason(e)}); each must be a map with "
                         "process, type, f and value (index and time optional).") from None
    if op.type not in TYPES:
        if text is not None and not line:
            line = text.count("\n", 0, pos) + 1
        raise UsageError(f"{source} line {line}: type {op.type!r} is not one of {', '.join(TYPES)}.")
    return op


def _plain(x: Any) -> str:
    """A value as a history writes it (nil, "text", 1.5), not as Python shows it."""
    if x is None:
        return "nil"
    if isinstance(x, bool):
        return "true" if x else "false"
    if isinstance(x, str):
        return f'"{x}"'
    return str(x)


def _reason(e: Exception) -> str:
    if isinstance(e, KeyError):
        return f"no {e.args[0]}"
    return str(e)


def pair(ops: Iterable[Op]) -> list[Txn]:
    return list(iter_pairs(ops))


def iter_pairs(ops: Iterable[Op]) -> Iterator[Txn]:
    """Pair every invoke with its process's next completion, in completion order. An invoke without one (the
    run was cut short) ends as info: it may or may not have happened. A completion without an invoke, or a
    second invoke while one is open on the same process, is a UsageError naming both operations. Operations of
    processes that are not clients (the nemesis) are not transactions."""
    open_by_process: dict[int | str, Op] = {}
    seq = 0
    for op in ops:
        if op.process == NEMESIS or (isinstance(op.process, str) and op.f != "txn" and op.type == "info"
                                     and op.f.startswith(("start", "stop"))):
            continue
        if op.type == "invoke":
            if op.process in open_by_process:
                prior = open_by_process[op.process]
                raise UsageError(f"Process {op.process} invoked operation {op.index}{_at(op)} while operation "
                                 f"{prior.index}{_at(prior)} was still open; a process runs one operation at a time.")
            open_by_process[op.process] = op
            continue
        invoke = open_by_process.pop(op.process, None)
        if invoke is None:
            raise UsageError(f"Operation {op.index}{_at(op)} ({op.type}) of process {op.process} completes nothing "
                             "that was invoked.")
        # ok: what the reads returned; fail and info: their own value if they carry one, else the invoke's
        value = op.value if op.type == "ok" or isinstance(op.value, list | dict) else _cooked(invoke.value)
        yield Txn(invoke.index, op.process, op.type, _mops(value, invoke.f), invoke.time, op.time, seq, invoke.f,
                  op.index)
        seq += 1
    for process, invoke in sorted(open_by_process.items(), key=lambda x: x[1].index):
        yield Txn(invoke.index, process, "info", _mops(_cooked(invoke.value), invoke.f), invoke.time, None, seq,
                  invoke.f)
        seq += 1


def _at(op: Op) -> str:
    return f" (line {op.line})" if op.line else ""


def _mops(value: Any, f: str) -> list[list[Any]]:
    """The micro-operations of a value. Jepsen's bank operations are not transactions of micro-operations:
    `{:f :read, :value {0 10 ...}}` and `{:f :transfer, :value {:from 0 :to 1 :amount 5}}` become test-rig's
    `["read", null, {...}]` and `["transfer", [from, to], amount]`."""
    if f == "read" and (isinstance(value, dict) or value is None):
        return [["read", None, value]]
    if f == "transfer" and isinstance(value, dict):
        return [["transfer", [value.get("from"), value.get("to")], value.get("amount")]]
    if not isinstance(value, list):
        return [] if value is None else [value]  # the checker names a value that is not micro-operations
    return value
