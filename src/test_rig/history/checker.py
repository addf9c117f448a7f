"""The checker: a history in, a verdict out (pure; no database). Elle's semantics, for list-append,
rw-register and bank histories.

What each observation means (as in Elle's list_append.clj and rw_register.clj):
- An `ok` read of `nil` is an observation: list-append's empty list, rw-register's initial, unwritten value.
  It gives the anti-dependency edges it implies (the empty read precedes every append to that key).
- An `invoke`'s values are not yet known and are never used; a `fail`'s writes certainly did not happen
  (reading them is G1a); an `info`'s writes may have happened: list-append orders them where a read shows
  them and places an unread one after every element read from its key; its reads count only when they hold
  a value (a `nil` there is "not known", not "empty").
- list-append: the longest read of a key orders its appends (every other read must be a prefix of it); an
  append no read shows comes after the last element read. That gives ww, wr and rw edges; cycles among them
  are G0, G1c, G-single-item, G-nonadjacent-item, G2-item (with -process / -realtime when those edges are
  used). Reads also show anomalies without cycles: G1a, G1b, internal, future-read, duplicate-elements,
  incompatible-order, dirty-update, lost-update; and, test-rig's own, garbage-read (an element nobody
  appended: Elle stops with an error there).
- rw-register: a read names its writer (wr); the version order comes from the initial state (nil precedes
  every value) and, with `wfr_keys`, from a transaction that reads a key and then writes it (Elle's
  `:wfr-keys?`); cycles in that order are cyclic-versions.
- Anything the checker cannot use (a micro-operation of an unknown kind, a value appended twice) makes the
  verdict `unknown` with the reason, never a silent "valid"; so does a history with no dependency at all
  (Elle's empty-transaction-graph), a cycle search that ran out of time, or a crash of the checker itself.
"""

from __future__ import annotations

import gc
import time
from array import array
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import msgspec
from msgspec import Raw

from test_rig.history import consistency
from test_rig.history.graph import KIND_NAMES, PROCESS, REALTIME, RW, WR, WW, Cycle, DepGraph, find_cycles
from test_rig.history.model import Txn
from test_rig.results import Validity

# msgspec rather than orjson to read a read's text: orjson turns an integer past 64 bits into a float, which
# would then match no append.
_json = msgspec.json.decode
_to_json = msgspec.json.encode

MODELS = consistency.MODELS


@dataclass
class Report:
    """The verdict: `valid` is True, False or "unknown". `anomalies` holds every anomaly type found (also
    those the model allows); `violations` the types that make the history invalid under `models`."""

    valid: bool | str
    anomalies: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    not_: list[str] = field(default_factory=list)
    also_not: list[str] = field(default_factory=list)
    stats: dict[str, int] = field(default_factory=dict)
    unknown: list[str] = field(default_factory=list)  # why the verdict could not be decided
    model: str = "serializable"
    violations: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"valid": self.valid, "consistency_model": self.model, "anomaly_types": sorted(self.anomalies),
                "violations": self.violations, "anomalies": self.anomalies, "not": self.not_,
                "also_not": self.also_not, "stats": self.stats, "unknown": self.unknown}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Report:
        """The report a result dict holds (its `to_dict` keys), e.g. read back from a --json file."""
        return cls(data.get("valid", "unknown"), dict(data.get("anomalies") or {}), list(data.get("not") or []),
                   list(data.get("also_not") or []), dict(data.get("stats") or {}), list(data.get("unknown") or []),
                   str(data.get("consistency_model") or "serializable"), list(data.get("violations") or []))

    @property
    def verdict(self) -> Validity:
        """The verdict's validity (results.Validity, the three values every judge of test-rig gives): `valid` is
        written as JSON's true, false or "unknown", as Elle writes it."""
        return Validity.of(self.valid)


def model_names(model: str | Sequence[str] | None) -> list[str]:
    if model is None:
        return []
    names = [model] if isinstance(model, str) else list(model)
    out = []
    for name in names:
        for part in name.split(","):
            if part.strip():
                known = consistency.canonical(part)
                if known is None:
                    raise ValueError(f"unknown consistency model {part!r}")
                out.append(known)
    return out


#: Findings after which no other inference can be trusted (Elle stops there with an unknown verdict).
UNTRUSTWORTHY = frozenset({"duplicate-appends", "duplicate-writes", "checker-error"})


def conclude(anomalies: dict[str, list[dict[str, Any]]], stats: dict[str, int], unknown: list[str],
             model: str | Sequence[str] | None, extra: Iterable[str] = ()) -> Report:
    """The verdict from what was found: unknown when the history breaks an assumption every inference rests
    on; else invalid when an anomaly the models (or `extra`) forbid is present; else unknown when something
    could not be decided; else valid."""
    models = model_names(model)
    forbidden = consistency.prohibited(models, extra)
    violations = sorted(a for a in anomalies if a in forbidden)
    not_, also_not = consistency.boundary(anomalies)
    valid: bool | str = ("unknown" if UNTRUSTWORTHY & set(anomalies) else False if violations
                         else "unknown" if unknown else True)
    label = ",".join(models) if models else "(anomalies " + ",".join(sorted(extra)) + ")"
    return Report(valid, anomalies, not_, also_not, stats, unknown, label, violations)


def _show(v: Any) -> str:
    """A value as a person reads it in a history (no Python reprs)."""
    if v is None:
        return "nil"
    if isinstance(v, list | tuple):
        return "[" + " ".join(_show(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{" + ", ".join(f"{_show(k)} {_show(x)}" for k, x in v.items()) + "}"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, msgspec.Raw):  # a read kept undecoded (history.model): its JSON text is how it reads
        return bytes(v).decode("utf-8", "replace")
    return str(v)


def _together(names: Sequence[str]) -> str:
    return f"{names[0]} and {names[1]} both" if len(names) == 2 else f"{', '.join(names)} all"


def _stats(types: Iterable[str]) -> dict[str, int]:
    out = {"ok": 0, "fail": 0, "info": 0}
    for t in types:
        out[t] = out.get(t, 0) + 1
    return out


class _Found:
    def __init__(self) -> None:
        self.anomalies: dict[str, list[dict[str, Any]]] = defaultdict(list)
        self.unknown: list[str] = []

    def add(self, kind: str, names: Sequence[str], explanation: str, **extra: Any) -> None:
        self.anomalies[kind].append({"txns": list(names), "explanation": explanation, **extra})


_INIT = object()  # the state before any append (what an empty read observed)
_BOUNDARY = (ord(","), ord("]"))
_SEQUENCE = (list, tuple)  # isinstance with a tuple of types is faster than with a union, in the hot loop
_TEXT = (Raw, bytes)
_COMMA = ord(",")


def _shape(text: bytes) -> tuple[int, Any]:
    """Length and last element of a compact JSON list of numbers, from its text."""
    if text == b"[]":
        return 0, None
    i = text.rfind(b",")
    last = text[i + 1:-1] if i >= 0 else text[1:-1]
    try:
        value: Any = int(last)
    except ValueError:
        value = _json(last)
    return text.count(b",") + 1, value


_NESTED = (list, dict)


def _frozen(x: Any) -> Any:
    """A list or map as a hashable value that compares the same way (tuples, sorted pairs)."""
    if isinstance(x, list | tuple):
        return tuple(_frozen(v) for v in x)
    if isinstance(x, dict):
        return tuple(sorted(((_frozen(k), _frozen(v)) for k, v in x.items()), key=repr))
    return x


def _decoded(v: Any) -> Any:
    return _json(v) if isinstance(v, bytes) else v
_UNKNOWN: Any = object()  # no expectation yet
_MISSING: Any = object()
def _triples(flat: Sequence[Any]) -> Iterable[tuple[Any, Any, Any]]:
    """A transaction's reads, kept flat (key, length, last, key, ...), as (key, length, last) triples."""
    items = iter(flat)
    return zip(items, items, items, strict=True)


def _pairs(flat: Sequence[Any]) -> Iterable[tuple[Any, Any]]:
    """A transaction's appends, kept flat (key, value, key, ...), as (key, value) pairs."""
    items = iter(flat)
    return zip(items, items, strict=True)


def _each(readers: int | list[int] | None) -> Sequence[int]:
    """The transactions that read a state: kept as one int for one reader, a list for more."""
    if readers is None:
        return ()
    return (readers,) if type(readers) is int else readers  # type: ignore[return-value]


#: The characters of a flat JSON list of integers between its brackets: a read made of only these is kept as text.
_PLAIN = b"0123456789,-"
_TYPES = {name: name for name in ("invoke", "ok", "fail", "info")}
_APPEND: Any = object()  # in a transaction's list of values: this micro-operation was an append


class _Names:
    """Transaction names (T + the invoke's index) by seq, kept as integers in an array."""

    def __init__(self) -> None:
        self.ids: array[int] = array("q")

    def add(self, txn_id: int) -> None:
        self.ids.append(txn_id)

    def __getitem__(self, seq: int) -> str:
        return f"T{self.ids[seq]}"

    def __len__(self) -> int:
        return len(self.ids)


class _Times:
    """Completion times by seq in an array; None (never completed) kept as -1."""

    def __init__(self) -> None:
        self.values: array[int] = array("q")

    def add(self, t: int | None) -> None:
        self.values.append(-1 if t is None else t)

    def __getitem__(self, seq: int) -> int | None:
        v = self.values[seq]
        return None if v == -1 else v


class _Analysis:
    """What every workload's analysis shares: transactions by seq, their order edges, cycle reporting."""

    def __init__(self) -> None:
        self.found = _Found()
        self.names = _Names()
        self.types: list[str] = []
        self.process: list[int | str] = []
        self.invoked: array[int] = array("q")
        self.completed = _Times()

    def meta(self, t: Txn) -> None:
        self.names.ids.append(t.id)  # the arrays directly: this runs once a transaction
        self.types.append(_TYPES.get(t.type, t.type))  # one string object per type, not one per transaction
        self.process.append(t.process)
        self.invoked.append(t.id)  # the history's order of operations, as Elle orders them
        completed = t.complete_index
        self.completed.values.append(-1 if completed is None else completed)

    def order_edges(self, graph: DepGraph, realtime: bool, process: bool) -> None:
        """Real-time edges (Elle's realtime-graph: from each ok to every later invoke's completion, transitively
        reduced) and process edges (Elle's process-graph: between a process's successive ok operations)."""
        if realtime:
            _realtime_edges(range(len(self.types)), self.invoked, self.completed, self.types, graph)
        if process:
            last: dict[int | str, int] = {}
            committed = [s for s, ty in enumerate(self.types) if ty == "ok"]
            for s in sorted(committed, key=lambda x: self.completed[x] or 0):
                p = self.process[s]
                if p in last:
                    graph.add(last[p], s, PROCESS)
                last[p] = s

    def explain(self, a: int, b: int, kind: int) -> dict[str, Any]:
        raise NotImplementedError

    def is_transaction(self, t: Txn, workload: str) -> bool:
        """An operation that is not a transaction cannot be read as one: the verdict is unknown, with why."""
        if t.f == "txn":
            return True
        self.found.unknown.append(f"{t.name} is a {_show(t.f)} operation, not a transaction; {workload} histories "
                                  "hold transactions only")
        return False

    def empty_graph(self, graph: DepGraph) -> None:
        if not len(graph):
            reason = ("no transaction depends on another (Elle's empty-transaction-graph): there is nothing to "
                      "order, so nothing was tested")
            self.found.unknown.append(reason)
            self.found.anomalies["empty-transaction-graph"].append({"explanation": reason})

    def order_step(self, a: int, b: int, kind: int) -> dict[str, Any]:
        na, nb = self.names[a], self.names[b]
        if kind == PROCESS:
            return {"why": f"process {_show(self.process[a])} ran {na} before {nb}, so {na} < {nb} (process)"}
        return {"why": f"{na} completed before {nb} began, so {na} < {nb} (realtime)"}

    def cycles(self, graph: DepGraph, *, realtime: bool, process: bool, deadline: float,
               clock: Callable[[], float]) -> None:
        use = WW | WR | RW | (REALTIME if realtime else 0) | (PROCESS if process else 0)
        cycles, unknown = find_cycles(graph, len(self.names), use=use, deadline=deadline, clock=clock)
        self.found.unknown.extend(unknown)
        for reason in unknown:
            self.found.anomalies["cycle-search-timeout"].append({"explanation": reason})
        for c in cycles:
            self.report_cycle(c)

    def report_cycle(self, c: Cycle) -> None:
        steps = []
        for i, kind in enumerate(c.kinds):
            a, b = c.nodes[i], c.nodes[(i + 1) % len(c.nodes)]
            step = self.order_step(a, b, kind) if kind in (PROCESS, REALTIME) else self.explain(a, b, kind)
            steps.append({"from": self.names[a], "to": self.names[b], "kind": KIND_NAMES[kind], **step})
        names = [self.names[n] for n in c.nodes]
        text = "; ".join(s["why"] for s in steps) + f"; a cycle: {' < '.join(names)} < {names[0]}"
        self.found.anomalies[c.spec].append({"cycle": names, "edges": [KIND_NAMES[k] for k in c.kinds],
                                             "steps": steps, "shortest": c.shortest, "explanation": text})


def _realtime_edges(nodes: Sequence[int], invoked: Sequence[int], completed: _Times,
                    types: Sequence[str], graph: DepGraph) -> None:
    """A < B when A completed (ok) before B was invoked, in the history's order; only the edges that others do
    not imply. Every transaction that completed gets its incoming edges (an info or fail too, as in Elle)."""
    events: list[tuple[int, int, int]] = []
    for s in nodes:
        if completed[s] is None:  # never completed (the run was cut short): Elle links nothing to it
            continue
        events.append((invoked[s], 1, s))
        done = completed[s]
        if done is not None and types[s] == "ok":
            events.append((done, 0, s))
    events.sort()
    frontier: dict[int, None] = {}
    preds: dict[int, list[int]] = {}
    for _, kind, s in events:
        if kind == 1:
            preds[s] = list(frontier)
            for p in frontier:
                graph.add(p, s, REALTIME)
        else:
            for covered in preds.pop(s, ()):
                frontier.pop(covered, None)
            frontier[s] = None


# --------------------------------------------------------------------------- list-append


class ListAppend(_Analysis):
    """Fed one transaction at a time (`add`), it keeps per transaction only its appends and, per read, the
    length and last element (a long read is compared with the longest read of its key as it arrives, then
    dropped), so memory grows with the number of operations, not with the length of the reads."""

    def __init__(self) -> None:
        super().__init__()
        #: per txn, its appends flat: key, value, then the next append's two
        self.appends: list[Sequence[Any]] = []
        #: per txn, its reads flat: key, length, last element (None when empty), then the next read's three
        self.reads: list[Sequence[Any]] = []
        #: key -> appended value -> the transaction that appended it (a dict per key: no (key, value) tuple an
        #: append)
        self.writer: dict[Any, dict[Any, int]] = {}
        self.intermediate: dict[tuple[Any, Any], int] = {}
        self.longest: dict[Any, list[Any] | bytes] = {}
        self.length: dict[Any, int] = {}
        self.longest_by: dict[Any, int] = {}
        self.failed_appends = False
        self.keys: dict[Any, Any] = {}
        self.future: list[tuple[int, Any, Any, int]] = []  # (txn, key, its append, the length it read before)
        self.odd_reads: list[tuple[int, Any, list[Any]]] = []  # reads not a prefix of their key's longest
        #: (key, length, last element) read before appending -> the transaction(s) that did: an int, or a list
        self.lost: dict[tuple[Any, int, Any], Any] = {}

    def add(self, t: Txn) -> None:
        seq = len(self.names)
        self.meta(t)
        appends: list[Any] = []
        reads: list[Any] = []
        self.appends.append(appends)
        self.reads.append(reads)
        if t.f != "txn" and not self.is_transaction(t, "list-append"):
            return
        ok = t.type == "ok"
        longest_of, length_of = self.longest.get, self.length
        writer = self.writer
        nothing: dict[Any, int] = {}
        intern_key = self.keys.setdefault
        keys: list[Any] = []
        values: list[Any] = []  # each micro-operation's value as used (a read's as list or JSON text)
        for m in t.mops:
            if not isinstance(m, _SEQUENCE) or len(m) != 3:
                self.found.unknown.append(f"{t.name} holds {_show(m)}, which is not a micro-operation [f key "
                                          "value]")
                continue
            f, k, v = m
            if isinstance(k, _NESTED):
                k = _frozen(k)  # a vector as a key (Elle allows any value): compared as a tuple
            k = intern_key(k, k)  # one object per key, however many times the history names it
            if f == "append":
                if isinstance(v, _NESTED):
                    v = _frozen(v)
                prior = writer.get(k, nothing).get(v)
                if prior is not None:
                    first = self.names[prior]
                    self.found.unknown.append(f"{first} and {t.name} both appended {_show(v)} to key {_show(k)}; "
                                              "Elle needs every appended value to be unique")
                    self.found.anomalies.setdefault("duplicate-appends", []).append(
                        {"txns": [first, t.name], "key": k, "value": v,
                         "explanation": f"{_show(v)} was appended to key {_show(k)} more than once"})
                by_value = writer.get(k)
                if by_value is None:
                    by_value = writer[k] = {}
                by_value[v] = seq
                appends.extend((k, v))
                if t.type == "fail":
                    self.failed_appends = True
                keys.append(k)
                values.append(_APPEND)
                continue
            if f != "r":
                self.found.unknown.append(f"{t.name} holds the micro-operation {_show(m)}; list-append knows only "
                                          "append and r")
                continue
            if t.type == "fail":
                continue  # a failed transaction's reads are no observation (Elle reads only ok and info ones)
            if isinstance(v, _TEXT):
                v = bytes(v)
                if v == b"null":
                    v = None
                elif v[1:-1].translate(None, _PLAIN):
                    v = _json(v)  # anything but a flat list of integers: read it as data, not as text
            if v is None:
                if not ok:
                    continue  # an unfinished read: its value is not known
                v = []
            if isinstance(v, bytes):
                n, last = _shape(v)
            elif isinstance(v, list):
                if any(isinstance(x, _NESTED) for x in v):
                    v = [_frozen(x) for x in v]
                n = len(v)
                last = v[-1] if n else None
            else:
                self.found.unknown.append(f"{t.name} read key {_show(k)} as {_show(v)}, which is not a list")
                continue
            reads.extend((k, n, last))
            # The common case inline (a read as text, its key's longest read as text, one a prefix of the
            # other); anything else, and every misfit, is _observe's.
            longest = longest_of(k) if n else None
            if type(longest) is bytes and type(v) is bytes:
                if n <= length_of[k]:
                    if not (longest.startswith(v[:-1]) and longest[len(v) - 1] in _BOUNDARY):
                        self._observe(seq, t, k, v, n)
                elif v.startswith(longest[:-1]) and v[len(longest) - 1] == _COMMA:
                    self._grow(seq, t, k, v, n, length_of[k])
                else:
                    self._observe(seq, t, k, v, n)
            else:
                self._observe(seq, t, k, v, n)
            keys.append(k)
            values.append(v)
        if len(set(keys)) < len(keys):
            self._within(seq, t, ok, keys, values)
        # kept as tuples (no spare capacity), the empty one shared: a history has millions of these
        self.appends[seq] = tuple(appends) if appends else ()
        self.reads[seq] = tuple(reads) if reads else ()

    def _within(self, seq: int, t: Txn, ok: bool, keys: list[Any], values: list[Any]) -> None:
        """What only a transaction that touches a key more than once shows: its intermediate appends (for G1b),
        and, when it committed, Elle's INT (each read matches the txn's own earlier reads and appends),
        future reads, and the read-then-append that lost updates are made of."""
        last_append: dict[Any, Any] = {}
        state: dict[Any, Any] = {}  # what the txn must read next of a key it touched (None: only its end known)
        own_suffix: dict[Any, list[Any]] = {}
        read_length: dict[Any, int] = {}
        first_read: dict[Any, tuple[int, Any]] = {}
        written: set[Any] = set()
        appends = iter(_pairs(self.appends[seq]))
        for k, v in zip(keys, values, strict=True):
            if v is _APPEND:
                _, value = next(appends)
                if k in last_append:
                    self.intermediate[(k, last_append[k])] = seq
                last_append[k] = value
                if not ok:
                    continue
                if k in read_length:
                    self.future.append((seq, k, value, read_length[k]))
                if k not in written and k in first_read:
                    n, last = first_read[k]
                    read_state = (k, n, last)
                    prior = self.lost.get(read_state)
                    if prior is None:
                        self.lost[read_state] = seq
                    elif type(prior) is int:
                        self.lost[read_state] = [prior, seq]
                    else:
                        prior.append(seq)
                written.add(k)
                if k in state and state[k] is not None:
                    state[k] = [*_decoded(state[k]), value]
                else:
                    own_suffix.setdefault(k, []).append(value)
                    state[k] = None
                continue
            if not ok:
                continue
            seen = _decoded(v)
            n = len(seen)
            if k not in written and k not in first_read:
                first_read[k] = (n, seen[-1] if n else None)
            if n > read_length.get(k, 0):
                read_length[k] = n
            if k in state:
                expect = _decoded(state[k])
                if expect is None:
                    suffix = own_suffix.get(k, [])
                    if n < len(suffix) or seen[n - len(suffix):] != suffix:
                        self.found.add("internal", [t.name], f"{t.name} appended {_show(suffix)} to key {_show(k)} "
                                       f"and then read {_show(seen)}, which does not end with its own appends", key=k)
                elif seen != expect:
                    self.found.add("internal", [t.name], f"{t.name} read key {_show(k)} as {_show(seen)}, but its "
                                   f"own earlier read and appends make it {_show(expect)}", key=k)
            state[k] = seen
            own_suffix.pop(k, None)

    def _observe(self, seq: int, t: Txn, k: Any, v: list[Any] | bytes, n: int) -> None:
        """Compare a read with the longest read of its key so far (the prefix order is checked as reads come
        in: a read compatible with the current longest is compatible with every extension of it). A key's
        reads are compared as JSON text when they come as text (a prefix of the text, ending at an element
        boundary, is a prefix of the list), else as lists."""
        if not n:
            return
        longest = self.longest.get(k)
        if longest is None:
            self._grow(seq, t, k, v, n, 0)
            return
        if isinstance(longest, bytes) and isinstance(v, list):
            v = _to_json(v)
        elif isinstance(longest, list) and isinstance(v, bytes):
            v = _json(v)
        m = self.length[k]
        if isinstance(v, bytes):
            assert isinstance(longest, bytes)
            if n <= m:
                fits = longest.startswith(v[:-1]) and longest[len(v) - 1] in _BOUNDARY
            else:
                fits = v.startswith(longest[:-1]) and v[len(longest) - 1] == _COMMA
        else:
            assert isinstance(longest, list)
            fits = v == longest[:n] if n <= m else v[:m] == longest
        if not fits:
            self._odd(seq, t, k, _decoded(v), _decoded(longest))
            if n > m:
                self._grow(seq, t, k, v, n, 0)
            return
        if n > m:
            self._grow(seq, t, k, v, n, m)

    def _grow(self, seq: int, t: Txn, k: Any, v: list[Any] | bytes, n: int, already: int) -> None:
        """`v` is the key's longest read now (its elements are checked for duplicates once, at the end: a
        read that is a prefix of the longest holds an element twice only if the longest does)."""
        self.longest[k] = v  # read lists are never changed after they are read
        self.length[k] = n
        self.longest_by[k] = seq

    def _odd(self, seq: int, t: Txn, k: Any, v: list[Any], longest: list[Any]) -> None:
        owner = self.names[self.longest_by[k]]
        self.found.add("incompatible-order", [t.name, owner], f"{t.name} read key {_show(k)} as {_show(v)} and "
                       f"{owner} as {_show(longest)}: neither is a prefix of the other", key=k)
        self.odd_reads.append((seq, k, list(v)))
        if len(set(v)) != len(v):
            self.found.add("duplicate-elements", [t.name], f"{t.name} read key {_show(k)} as {_show(v)}, holding "
                           "an element more than once", key=k)

    def finish(self, *, realtime: bool, process: bool, deadline: float, clock: Callable[[], float]) -> None:
        found, types, names = self.found, self.types, self.names
        self.order = {}
        for k, v in self.longest.items():
            values = _decoded(v)
            order = list(dict.fromkeys(values))
            if len(order) != len(values):
                dups = sorted({x for x in values if values.count(x) > 1}, key=str)
                owner = self.longest_by[k]
                found.add("duplicate-elements", [names[owner]], f"{names[owner]} read key {_show(k)} holding "
                          f"{_show(dups)} more than once", key=k)
            self.order[k] = order
        self.longest.clear()  # the orders hold what is needed now
        # One pass over the reads: who read which state (for rw edges), wr edges, intermediate reads (G1b).
        readers: dict[Any, dict[Any, Any]] = {}  # key -> the state read (last element, or _INIT) -> readers
        graph = DepGraph()
        add_wr, add_ww, add_rw = graph.adder(WR), graph.adder(WW), graph.adder(RW)
        writer, intermediate = self.writer, self.intermediate
        nothing: dict[Any, Any] = {}
        possible = {"ok", "info"}
        for seq, rs in enumerate(self.reads):
            if not rs:
                continue
            committed = types[seq] == "ok"
            flat = iter(rs)
            for k, n, last in zip(flat, flat, flat, strict=True):  # the flat reads as triples, without slicing
                by_state = readers.get(k)
                if by_state is None:
                    by_state = readers[k] = {}
                state = last if n else _INIT
                prior = by_state.get(state)  # one reader as an int, more as a list: most states have one
                if prior is None:
                    by_state[state] = seq
                elif type(prior) is int:
                    by_state[state] = [prior, seq]
                else:
                    prior.append(seq)
                if not n:
                    continue
                w = writer.get(k, nothing).get(last)
                if w is not None and w != seq and types[w] in possible:
                    add_wr((w, seq))
                if committed and intermediate:
                    w = intermediate.get((k, last))
                    if w is not None and w != seq:
                        final = [v for kk, v in _pairs(self.appends[w]) if kk == k][-1]
                        found.add("G1b", [names[w], names[seq]], f"{names[seq]} read key {_show(k)} ending in "
                                  f"{_show(last)}, but {names[w]} went on to append {_show(final)}: an intermediate "
                                  "value", key=k)
        self.readers = readers
        # Elements no one appended, elements of failed appends that a committed read shows, and appends that
        # build on failed ones: one pass over each key's order (and over the reads that fit no order).
        reported_garbage: set[tuple[Any, Any]] = set()
        walks = [(k, self.longest_by[k], v, True) for k, v in self.order.items()]
        walks += [(k, s_, v, False) for s_, k, v in self.odd_reads]
        for k, seq_of_longest, values, is_order in walks:
            get = writer.get(k, nothing).get
            ws = [get(x) for x in values]
            if None in ws or (self.failed_appends and any(w is not None and types[w] == "fail" for w in ws)):
                for i, (x, w) in enumerate(zip(values, ws, strict=True)):
                    if w is None:
                        if (k, x) not in reported_garbage:
                            reported_garbage.add((k, x))
                            found.add("garbage-read", [names[seq_of_longest]], f"{names[seq_of_longest]} read "
                                      f"{_show(x)} in key {_show(k)}, a value no transaction appended", key=k)
                    elif types[w] == "fail":
                        reader = self._first_reader(k, i, seq_of_longest)
                        if types[reader] == "ok":
                            found.add("G1a", [names[w], names[reader]], f"{names[reader]} read {_show(x)} in key "
                                      f"{_show(k)}, appended by {names[w]}, which failed (aborted read)", key=k)
                if is_order:
                    self._dirty_updates(k, values, ws)
        for seq, k, v, n in self.future:
            if v in self.order.get(k, [])[:n]:
                found.add("future-read", [names[seq]], f"{names[seq]} read key {_show(k)} holding {_show(v)} "
                          f"before it appended {_show(v)} itself", key=k)
        for (k, n, last), by in self.lost.items():
            seqs = _each(by)
            if len(seqs) > 1:
                what = f"ending in {_show(last)}" if n else "empty"
                found.add("lost-update", [names[s] for s in seqs], f"{_together([names[s] for s in seqs])} read "
                          f"key {_show(k)} {what} and then appended to it: each wrote over a version the others had "
                          "also read", key=k)
        # ww and rw edges: each append follows the element before it in the key's order (an append no read
        # shows follows the last element read), so the writer of that element and everyone who read the key
        # in that state come before it.
        previous = self.previous = {k: dict(zip(o, [_INIT, *o[:-1]], strict=True)) for k, o in self.order.items()}
        last = {k: o[-1] for k, o in self.order.items()}
        for seq, appends in enumerate(self.appends):
            if not appends or types[seq] not in possible:
                continue
            flat = iter(appends)
            for k, v in zip(flat, flat, strict=True):  # the flat appends as pairs, without slicing
                prev = previous.get(k, nothing).get(v, _MISSING)
                if prev is _MISSING:
                    prev = last.get(k, _INIT)
                if prev is not _INIT:
                    w = writer[k].get(prev)
                    if w is not None and w != seq and types[w] in possible:
                        add_ww((w, seq))
                before = readers.get(k, nothing).get(prev)  # inlined _each: this loop runs once an append
                if before is None:
                    continue
                if type(before) is int:
                    if before != seq:
                        add_rw((before, seq))
                    continue
                for r in before:
                    if r != seq:
                        add_rw((r, seq))
        self.order_edges(graph, realtime, process)
        self.empty_graph(graph)
        self.cycles(graph, realtime=realtime, process=process, deadline=deadline, clock=clock)

    def _first_reader(self, k: Any, position: int, fallback: int) -> int:
        """The first committed transaction whose read of `k` reaches `position` of the version order."""
        if not hasattr(self, "_reads_by_key"):
            by_key: dict[Any, list[tuple[int, int]]] = defaultdict(list)
            for seq, rs in enumerate(self.reads):
                if self.types[seq] == "ok":
                    for kk, n, _ in _triples(rs):
                        by_key[kk].append((seq, n))
            self._reads_by_key = by_key
        return next((seq for seq, n in self._reads_by_key.get(k, ()) if n > position), fallback)

    def _previous(self, k: Any, v: Any) -> Any:
        """The element appended just before `v` to `k` in the version order; for an append no read shows,
        the last element read (it came after all of them); _INIT when it came first."""
        prev = self.previous.get(k, {}).get(v, _MISSING)
        if prev is _MISSING:
            order = self.order.get(k)
            return order[-1] if order else _INIT
        return prev

    def _dirty_updates(self, k: Any, order: list[Any], writers: list[int | None]) -> None:
        """An aborted append followed in the version order by a committed one (Elle's dirty-update walk:
        appends of unknown outcome in between keep the aborted state open)."""
        t1: int | None = None  # None: the initial state, which counts as committed
        values: list[Any] = []
        for v, w in zip(order, writers, strict=True):
            if w is None:
                break  # garbage, reported above
            values.append(v)
            before = "ok" if t1 is None else self.types[t1]
            after = self.types[w]
            if after == "info" or (before == "fail" and after == "fail"):
                continue
            if before == "fail" and after == "ok":
                assert t1 is not None
                self.found.add("dirty-update", [self.names[t1], self.names[w]], f"{self.names[w]} appended "
                               f"{_show(v)} to key {_show(k)} after {_show(values[:-1])}, which "
                               f"{self.names[t1]} appended and which failed: it built on an aborted write", key=k)
            t1, values = w, [v]

    def explain(self, a: int, b: int, kind: int) -> dict[str, Any]:
        na, nb = self.names[a], self.names[b]
        if kind == WR:
            for k, n, last in _triples(self.reads[b]):
                if n and self.writer.get(k, {}).get(last) == a:
                    return {"key": k, "value": last, "why": f"{nb} read key {_show(k)} ending in {_show(last)}, "
                            f"which {na} appended, so {na} < {nb} (wr)"}
        for k, v in _pairs(self.appends[b]):
            prev = self._previous(k, v)
            seen = v in self.previous.get(k, {})
            if kind == WW and prev is not _INIT and self.writer.get(k, {}).get(prev) == a:
                how = "" if seen else " (no read shows it: it came after every element read)"
                return {"key": k, "value": prev, "value2": v, "why": f"{nb} appended {_show(v)}{how} after {na} "
                        f"appended {_show(prev)} to key {_show(k)}, so {na} < {nb} (ww)"}
            if kind == RW and a in _each(self.readers.get(k, {}).get(prev)):
                what = "empty" if prev is _INIT else f"ending in {_show(prev)}"
                how = "" if seen else f" (no read shows {_show(v)}: it came after every element read)"
                return {"key": k, "value": None if prev is _INIT else prev, "value2": v,
                        "why": f"{na} read key {_show(k)} {what}, before {nb} appended {_show(v)} there{how}, so "
                               f"{na} < {nb} (rw)"}
        return {"why": f"{na} < {nb} ({KIND_NAMES[kind]})"}


def check_list_append(txns: Iterable[Txn], *, model: str | Sequence[str] | None = "serializable",
                      anomalies: Iterable[str] = (), realtime: bool | None = None, process: bool | None = None,
                      time_budget: float = 60.0, clock: Callable[[], float] = time.monotonic) -> Report:
    """Check a list-append history. Real-time edges are built when the models (or `anomalies`) forbid a
    realtime anomaly (strict-serializable), process edges when they forbid a process one (the strong-session
    models), or when asked."""
    wanted = consistency.prohibited(model_names(model), anomalies)
    use_realtime = realtime if realtime is not None else consistency.needs_realtime(wanted)
    use_process = process if process is not None else (consistency.needs_process(wanted) and not use_realtime)
    analysis = ListAppend()
    deadline = clock() + time_budget
    for t in txns:
        analysis.add(t)
    analysis.finish(realtime=use_realtime, process=use_process, deadline=deadline, clock=clock)
    return conclude(dict(analysis.found.anomalies), _stats(analysis.types), analysis.found.unknown, model, anomalies)


# --------------------------------------------------------------------------- rw-register


class RwRegister(_Analysis):
    """Elle's rw-register: external reads and writes of each transaction, wr edges from unique writes, a
    version order from the initial state (and, with `wfr_keys`, from read-then-write in one transaction)."""

    def __init__(self, wfr_keys: bool = False) -> None:
        super().__init__()
        self.wfr_keys = wfr_keys
        self.ext_reads: list[dict[Any, Any]] = []
        self.ext_writes: list[dict[Any, Any]] = []
        self.failed: dict[tuple[Any, Any], int] = {}
        self.intermediate: dict[tuple[Any, Any], int] = {}
        self.all_writes: set[tuple[Any, Any]] = set()
        self.ok_reads: list[list[tuple[Any, Any]]] = []
        self.lost: dict[tuple[Any, Any], list[int]] = defaultdict(list)

    def add(self, t: Txn) -> None:
        seq = len(self.names)
        self.meta(t)
        ext_r: dict[Any, Any] = {}
        ext_w: dict[Any, Any] = {}
        reads: list[tuple[Any, Any]] = []
        self.ext_reads.append(ext_r)
        self.ext_writes.append(ext_w)
        self.ok_reads.append(reads)
        if not self.is_transaction(t, "rw-register"):
            return
        ok = t.type == "ok"
        state: dict[Any, Any] = {}
        last_write: dict[Any, Any] = {}
        first_read: dict[Any, Any] = {}
        written: set[Any] = set()
        for m in t.mops:
            if not isinstance(m, _SEQUENCE) or len(m) != 3 or m[0] not in ("r", "w"):
                self.found.unknown.append(f"{t.name} holds {_show(m)}; rw-register knows only [r key value] and "
                                          "[w key value]")
                continue
            f, k, v = m
            if isinstance(v, Raw):
                v = _json(bytes(v))
            if isinstance(k, _NESTED):
                k = _frozen(k)
            if isinstance(v, _NESTED):
                v = _frozen(v)
            if f == "w":
                self.all_writes.add((k, v))
                if t.type == "fail":
                    self.failed[(k, v)] = seq
                if k in last_write:
                    self.intermediate[(k, last_write[k])] = seq
                last_write[k] = v
                if ok and k not in written and k in first_read:
                    self.lost[(k, first_read[k])].append(seq)
                written.add(k)
                ext_w[k] = v
                state[k] = v
                continue
            if not ok:
                continue  # an info's or fail's read: its value is not known
            if k not in written and k not in ext_r:
                ext_r[k] = v
            if k not in written and k not in first_read:
                first_read[k] = v
            reads.append((k, v))
            if k in state and state[k] != v:
                self.found.add("internal", [t.name], f"{t.name} read key {_show(k)} as {_show(v)}, but its own "
                               f"earlier read or write makes it {_show(state[k])}", key=k)
            state[k] = v
        if not ok:
            ext_r.clear()
        if t.type not in ("ok", "info"):
            ext_w.clear()

    def finish(self, *, realtime: bool, process: bool, deadline: float, clock: Callable[[], float]) -> None:
        found, names, types = self.found, self.names, self.types
        writers: dict[tuple[Any, Any], list[int]] = defaultdict(list)  # ok only, as Elle's ext-index
        readers: dict[tuple[Any, Any], list[int]] = defaultdict(list)
        for seq, ty in enumerate(types):
            if ty == "ok":
                for k, v in self.ext_writes[seq].items():
                    writers[(k, v)].append(seq)
                for k, v in self.ext_reads[seq].items():
                    readers[(k, v)].append(seq)
        for seq, reads in enumerate(self.ok_reads):
            for k, v in reads:
                if (k, v) in self.failed:
                    w = self.failed[(k, v)]
                    found.add("G1a", [names[w], names[seq]], f"{names[seq]} read {_show(v)} in key {_show(k)}, "
                              f"written by {names[w]}, which failed (aborted read)", key=k)
                w2 = self.intermediate.get((k, v))
                if w2 is not None and w2 != seq:
                    found.add("G1b", [names[w2], names[seq]], f"{names[seq]} read {_show(v)} in key {_show(k)}, an "
                              f"intermediate value of {names[w2]}, which went on to write the key again", key=k)
                if v is not None and (k, v) not in self.all_writes:
                    found.add("garbage-read", [names[seq]], f"{names[seq]} read {_show(v)} in key {_show(k)}, a "
                              "value no transaction wrote", key=k)
        for (k, v), seqs in self.lost.items():
            if len(seqs) > 1:
                found.add("lost-update", [names[s] for s in seqs], f"{_together([names[s] for s in seqs])} read "
                          f"key {_show(k)} as {_show(v)} and then wrote it: each overwrote a version the others had "
                          "also read", key=k)
        graph = DepGraph()
        for (k, v), rs in readers.items():
            if v is None:
                continue
            ws = writers.get((k, v), [])
            if len(ws) > 1:
                found.unknown.append(f"{_show(v)} was written to key {_show(k)} by {len(ws)} transactions; Elle "
                                     "needs every written value to be unique")
                found.anomalies.setdefault("duplicate-writes", []).append(
                    {"txns": [names[w] for w in ws], "key": k, "value": v,
                     "explanation": f"{_show(v)} was written to key {_show(k)} by {', '.join(names[w] for w in ws)}"})
                continue
            for w in ws:
                for r in rs:
                    graph.add(w, r, WR)
        # The version order: nil first (every written value follows the initial state), and read-then-write.
        versions: dict[Any, dict[Any, set[Any]]] = defaultdict(lambda: defaultdict(set))
        for seq, ty in enumerate(types):
            if ty not in ("ok", "info"):
                continue
            for k, v in self.ext_writes[seq].items():
                if v is not None:
                    versions[k][None].add(v)
            if ty == "ok":
                for k, v in self.ext_reads[seq].items():
                    if v is not None:
                        versions[k][None].add(v)
        if self.wfr_keys:
            wfr: dict[Any, dict[Any, set[Any]]] = defaultdict(lambda: defaultdict(set))
            for seq, ty in enumerate(types):
                if ty == "ok":
                    for k, v in self.ext_reads[seq].items():
                        if v is not None and k in self.ext_writes[seq]:
                            wfr[k][v].add(self.ext_writes[seq][k])
            for k, g in wfr.items():
                cycle = _version_cycle(g)
                if cycle:
                    found.add("cyclic-versions", [], f"the versions of key {_show(k)} inferred from reads followed "
                              f"by writes form a cycle: {' < '.join(_show(x) for x in cycle)} < {_show(cycle[0])}",
                              key=k)
                    continue
                for v1, v2s in g.items():
                    versions[k][v1] |= v2s
        self.versions = versions
        for k, g in versions.items():
            for v1, v2s in g.items():
                for v2 in v2s:
                    for w2 in writers.get((k, v2), ()):
                        for w1 in (writers.get((k, v1), ()) if v1 is not None else ()):
                            graph.add(w1, w2, WW)
                        for r1 in readers.get((k, v1), ()):
                            graph.add(r1, w2, RW)
        self.writers, self.readers = writers, readers
        self.order_edges(graph, realtime, process)
        self.empty_graph(graph)
        self.cycles(graph, realtime=realtime, process=process, deadline=deadline, clock=clock)

    def explain(self, a: int, b: int, kind: int) -> dict[str, Any]:
        na, nb = self.names[a], self.names[b]
        if kind == WR:
            for k, v in self.ext_reads[b].items():
                if self.ext_writes[a].get(k, _UNKNOWN) == v:
                    return {"key": k, "value": v, "why": f"{nb} read {_show(v)} in key {_show(k)}, which {na} wrote, "
                            f"so {na} < {nb} (wr)"}
        source = self.ext_writes[a] if kind == WW else self.ext_reads[a]
        for k, v1 in source.items():
            v2 = self.ext_writes[b].get(k, _UNKNOWN)
            if v2 is not _UNKNOWN and v2 in self.versions.get(k, {}).get(v1, ()):
                why = "the initial state comes before every written value" if v1 is None else \
                    "a transaction read the first and then wrote the second"
                verb = "wrote" if kind == WW else "read"
                return {"key": k, "value": v1, "value2": v2, "why": f"{na} {verb} {_show(v1)} in key {_show(k)}, "
                        f"which {nb} then overwrote with {_show(v2)}, so {na} < {nb} ({KIND_NAMES[kind]})",
                        "version_order": why}
        return {"why": f"{na} < {nb} ({KIND_NAMES[kind]})"}


def _version_cycle(g: dict[Any, set[Any]]) -> list[Any] | None:
    """A cycle in one key's version graph, or None (depth-first; these graphs are small)."""
    colour: dict[Any, int] = {}
    stack_path: list[Any] = []

    def visit(v: Any) -> list[Any] | None:
        colour[v] = 1
        stack_path.append(v)
        for w in g.get(v, ()):
            c = colour.get(w, 0)
            if c == 1:
                return stack_path[stack_path.index(w):]
            if c == 0:
                found = visit(w)
                if found:
                    return found
        stack_path.pop()
        colour[v] = 2
        return None

    for v in list(g):
        if colour.get(v, 0) == 0:
            found = visit(v)
            if found:
                return found
    return None


def check_rw_register(txns: Iterable[Txn], *, model: str | Sequence[str] | None = "serializable",
                      anomalies: Iterable[str] = (), realtime: bool | None = None, process: bool | None = None,
                      wfr_keys: bool = False, time_budget: float = 60.0,
                      clock: Callable[[], float] = time.monotonic) -> Report:
    """Check a read-write register history (Elle's rules; `wfr_keys` as Elle's `:wfr-keys?`)."""
    wanted = consistency.prohibited(model_names(model), anomalies)
    use_realtime = realtime if realtime is not None else consistency.needs_realtime(wanted)
    use_process = process if process is not None else (consistency.needs_process(wanted) and not use_realtime)
    analysis = RwRegister(wfr_keys)
    deadline = clock() + time_budget
    for t in txns:
        analysis.add(t)
    analysis.finish(realtime=use_realtime, process=use_process, deadline=deadline, clock=clock)
    return conclude(dict(analysis.found.anomalies), _stats(analysis.types), analysis.found.unknown, model, anomalies)


# --------------------------------------------------------------------------- bank


def check_bank(txns: Iterable[Txn], *, total: int, model: str | Sequence[str] | None = "serializable",
               anomalies: Iterable[str] = (), negative_allowed: bool = False) -> Report:
    """Every committed read of all balances must add up to `total`; no balance may be negative or missing.
    A history with no committed read tested nothing: unknown."""
    found = _Found()
    types: list[str] = []
    reads = 0
    for t in txns:
        types.append(t.type)
        if t.type != "ok":
            continue
        for m in t.mops:
            if not isinstance(m, _SEQUENCE) or len(m) != 3 or m[0] not in ("read", "transfer"):
                found.unknown.append(f"{t.name} holds {_show(m)}; bank knows only read and transfer")
                continue
            if m[0] != "read":
                continue
            if not isinstance(m[2], dict):
                found.unknown.append(f"{t.name} read {_show(m[2])}, which is not a map of balances")
                continue
            reads += 1
            balances = m[2]
            missing = sorted((a for a, b in balances.items() if b is None), key=str)
            if missing:
                found.add("nil-balance", [t.name], f"{t.name} read no balance for account(s) "
                          f"{', '.join(_show(a) for a in missing)}")
                continue
            odd = sorted((a for a, b in balances.items() if isinstance(b, bool) or not isinstance(b, int | float)),
                         key=str)
            if odd:
                found.unknown.append(f"{t.name} read balances that are not numbers for account(s) "
                                     f"{', '.join(_show(a) for a in odd)}")
                continue
            seen = sum(balances.values())
            if seen != total:
                found.add("wrong-total", [t.name], f"{t.name} read balances {_balances(balances)} totalling {seen:g}, "
                          f"not {total}: money was created or lost")
            negative = {a: b for a, b in balances.items() if b < 0}
            if negative and not negative_allowed:
                found.add("negative-value", [t.name], f"{t.name} read negative balances {_balances(negative)}")
    if not reads:
        found.unknown.append("no committed read of the balances: nothing was observed")
    return conclude(dict(found.anomalies), _stats(types), found.unknown, model, anomalies)


def _balances(balances: dict[Any, Any]) -> str:
    def order(x: tuple[Any, Any]) -> tuple[int, str]:
        return (int(x[0]), "") if str(x[0]).lstrip("-").isdecimal() else (0, str(x[0]))

    return "{" + ", ".join(f"{a}: {b}" for a, b in sorted(balances.items(), key=order)) + "}"


# --------------------------------------------------------------------------- one entry point


def check_history(workload: str, txns: Iterable[Txn], *, model: str | Sequence[str] | None = "serializable",
                  anomalies: Iterable[str] = (), total: int = 100, wfr_keys: bool = False,
                  time_budget: float = 60.0) -> Report:
    """Check a history of one of the workloads. A crash of the checker itself is a verdict of unknown with
    the reason, never a traceback or a "valid". The cyclic garbage collector is paused meanwhile: the
    checker makes millions of small containers without cycles, which it would otherwise rescan again and
    again (measured: a tenth of the time)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        if workload == "bank":
            return check_bank(txns, total=total, model=model, anomalies=anomalies)
        if workload == "rw-register":
            return check_rw_register(txns, model=model, anomalies=anomalies, wfr_keys=wfr_keys,
                                     time_budget=time_budget)
        return check_list_append(txns, model=model, anomalies=anomalies, time_budget=time_budget)
    except (ArithmeticError, AttributeError, IndexError, KeyError, LookupError, RecursionError, TypeError,
            ValueError, MemoryError, AssertionError) as e:
        from test_rig.errors import UsageError

        if isinstance(e, UsageError):
            raise
        reason = f"the checker stopped on this history ({type(e).__name__}: {e}); no verdict"
        return conclude({"checker-error": [{"explanation": reason}]}, {}, [reason], model, anomalies)
    finally:
        if enabled:
            gc.enable()
