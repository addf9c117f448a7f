"""The history: one operation per line (JSONL), Elle's meanings.

`invoke` when a transaction is sent; then exactly one completion per invoke from the same process:
`ok` (committed, with what its reads returned), `fail` (certainly not applied), `info` (outcome
unknown: the connection died during COMMIT or an autocommit write). A transaction's value is a list of
micro-operations `[f, key, value]`: `["append", k, v]`, `["r", k, list-or-null]`, `["w", k, v]`,
`["transfer", [from, to], amount]`, `["read", null, {account: balance}]`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from ..errors import UsageError

TYPES = ("invoke", "ok", "fail", "info")
#: The process of the nemesis's events (Elle's convention): `info` operations whose f is `start-KIND` or
#: `stop-KIND`, never paired into transactions.
NEMESIS = "nemesis"


@dataclass(frozen=True, slots=True)
class Op:
    index: int
    process: int | str  # a client's number, or NEMESIS
    type: str
    f: str
    value: Any
    time: int  # nanoseconds, the recording machine's monotonic clock

    def to_dict(self) -> dict[str, Any]:
        return {"index": self.index, "process": self.process, "type": self.type, "f": self.f, "value": self.value,
                "time": self.time}


@dataclass(frozen=True, slots=True)
class Txn:
    """An invoke paired with its completion. `mops` are the completion's (what ok reads returned), or
    the invoke's for fail and info."""

    id: int  # the invoke's index
    process: int
    type: str  # ok | fail | info
    mops: tuple[tuple[Any, ...], ...]
    invoke_time: int
    complete_time: int | None

    @property
    def name(self) -> str:
        return f"T{self.id}"


class HistoryWriter:
    """Appends operations to a JSONL file as they happen (so an interrupted run keeps its history)."""

    def __init__(self, stream: TextIO | None) -> None:
        self.stream = stream
        self.ops: list[Op] = []

    def add(self, process: int | str, type_: str, f: str, value: Any, time_ns: int) -> Op:
        op = Op(len(self.ops), process, type_, f, value, time_ns)
        self.ops.append(op)
        if self.stream is not None:
            self.stream.write(json.dumps(op.to_dict(), separators=(",", ":")) + "\n")
        return op


def read_history(path: str | Path) -> list[Op]:
    """Read a JSONL history; every malformed line is a UsageError naming the file and line."""
    p = Path(path)
    try:
        lines = p.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as e:
        raise UsageError(f"History {p} cannot be read ({getattr(e, 'strerror', None) or e}); check the path.") from None
    return list(parse_history(lines, str(p)))


def parse_history(lines: Iterable[str], source: str = "history") -> Iterator[Op]:
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            d = json.loads(line)
            process = d["process"] if d["process"] == NEMESIS else int(d["process"])
            op = Op(int(d["index"]), process, str(d["type"]), str(d.get("f", "txn")), d.get("value"),
                    int(d.get("time", 0)))
        except (ValueError, KeyError, TypeError) as e:
            raise UsageError(f"{source} line {number} is not a history operation ({e}); each line must be a JSON "
                             "object with index, process, type, f, value and time.") from None
        if op.type not in TYPES:
            raise UsageError(f"{source} line {number}: type {op.type!r} is not one of {', '.join(TYPES)}.")
        yield op


def pair(ops: Iterable[Op]) -> list[Txn]:
    """Pair every invoke with its process's next completion. An invoke without one (the run was cut
    short) counts as info: it may or may not have happened. Raises UsageError for a completion without
    an invoke."""
    open_by_process: dict[int, Op] = {}
    txns: list[Txn] = []
    for op in ops:
        if isinstance(op.process, str):  # the nemesis's events are not transactions
            continue
        client = op.process
        if op.type == "invoke":
            if op.process in open_by_process:
                raise UsageError(f"Process {op.process} invoked operation {op.index} while operation "
                                 f"{open_by_process[op.process].index} was still open; a process runs one at a time.")
            open_by_process[op.process] = op
            continue
        invoke = open_by_process.pop(op.process, None)
        if invoke is None:
            raise UsageError(f"Operation {op.index} ({op.type}) of process {op.process} completes nothing that was "
                             "invoked.")
        value = op.value if op.type == "ok" else invoke.value
        txns.append(Txn(invoke.index, client, op.type, _mops(value), invoke.time, op.time))
    for process, invoke in open_by_process.items():
        txns.append(Txn(invoke.index, process, "info", _mops(invoke.value), invoke.time, None))
    txns.sort(key=lambda t: t.id)
    return txns


def _mops(value: Any) -> tuple[tuple[Any, ...], ...]:
    if not isinstance(value, list):
        return ()
    return tuple(tuple(_freeze(x) for x in m) for m in value if isinstance(m, list))


def _freeze(x: Any) -> Any:
    if isinstance(x, list):
        return tuple(_freeze(v) for v in x)
    if isinstance(x, dict):
        return tuple(sorted((k, _freeze(v)) for k, v in x.items()))
    return x
