"""The checker: records in, verdict out (pure; no database).

list-append: the longest read of each key orders its appends (every other read must be a prefix of
it), which gives ww, wr and rw dependencies between committed transactions; cycles among them are
classified after Adya as G0, G1c, G-single, G-nonadjacent and G2-item (with -process / -realtime when
those edges are needed). Reads also reveal anomalies without cycles: G1a, G1b, internal,
duplicate-elements, incompatible-order, garbage-read, dirty-update, lost-update. rw-register uses the
order a transaction's own read-then-write reveals. bank checks every read's total.

`info` transactions (outcome unknown): their writes are used only where a read shows they happened;
nothing rests on an assumption about them. The verdict is three-valued: a cycle search that runs out
of its time budget makes the verdict `unknown` unless an anomaly the model forbids was already found.
"""

from __future__ import annotations

import itertools
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

from .graph import PROCESS, REALTIME, RW, WR, WW, DepGraph, shortest_path
from .model import Txn

MODELS = ("read-uncommitted", "read-committed", "monotonic-atomic-view", "cursor-stability", "repeatable-read",
          "snapshot-isolation", "serializable", "strict-serializable")

#: model -> the models it directly implies (is stronger than).
STRONGER_THAN: dict[str, tuple[str, ...]] = {
    "strict-serializable": ("serializable",),
    "serializable": ("snapshot-isolation", "repeatable-read"),
    "snapshot-isolation": ("monotonic-atomic-view",),
    "repeatable-read": ("cursor-stability", "monotonic-atomic-view"),
    "cursor-stability": ("read-committed",),
    "monotonic-atomic-view": ("read-committed",),
    "read-committed": ("read-uncommitted",),
    "read-uncommitted": (),
}

#: anomaly -> the weakest models that forbid it (every stronger model forbids it too).
FORBIDDEN_BY: dict[str, tuple[str, ...]] = {
    "G0": ("read-uncommitted",),
    "G1a": ("read-committed",), "G1b": ("read-committed",), "G1c": ("read-committed",),
    "dirty-update": ("read-committed",),
    "lost-update": ("cursor-stability",),
    "G-single": ("snapshot-isolation", "repeatable-read"),
    "G-nonadjacent": ("snapshot-isolation", "repeatable-read"),
    "G2-item": ("repeatable-read",),
    # As in Elle: a transaction that does not see its own earlier reads and writes violates snapshot
    # isolation and serializability (Cerone's INT), not the weaker levels; two reads that cannot come from
    # one order of versions imply a dirty read (G1a); a value nobody wrote or an element twice is possible
    # under no model at all.
    "internal": ("snapshot-isolation",), "duplicate-elements": ("read-uncommitted",),
    "incompatible-order": ("read-committed",), "garbage-read": ("read-uncommitted",),
    # A total that drifts comes from a lost update (forbidden from cursor stability up) or a read that is
    # not atomic (forbidden from monotonic atomic view up); which one, the reads cannot say, so only the
    # models that forbid both are ruled out.
    "wrong-total": ("repeatable-read", "snapshot-isolation"),
    "negative-value": ("repeatable-read", "snapshot-isolation"),
}
CYCLE_KINDS = ("G0", "G1c", "G-single", "G-nonadjacent", "G2-item")


def stronger_or_equal(model: str) -> set[str]:
    """`model` and every model stronger than it."""
    out = {model}
    for stronger, weaker in STRONGER_THAN.items():
        if model in weaker:
            out |= stronger_or_equal(stronger)
    return out


def forbidding(anomaly: str) -> set[str]:
    base = anomaly.removesuffix("-realtime").removesuffix("-process")
    if anomaly.endswith("-realtime"):
        return {"strict-serializable"}
    if anomaly.endswith("-process"):
        return set()  # strong session models, not among MODELS
    models: set[str] = set()
    for weakest in FORBIDDEN_BY.get(base, ()):
        models |= stronger_or_equal(weakest)
    return models


@dataclass
class Report:
    valid: bool | str
    anomalies: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    not_: list[str] = field(default_factory=list)
    also_not: list[str] = field(default_factory=list)
    stats: dict[str, int] = field(default_factory=dict)
    unknown: list[str] = field(default_factory=list)  # parts that could not be decided, with the reason
    model: str = "serializable"

    def to_dict(self) -> dict[str, Any]:
        return {"valid": self.valid, "consistency_model": self.model, "anomaly_types": sorted(self.anomalies),
                "anomalies": self.anomalies, "not": self.not_, "also_not": self.also_not, "stats": self.stats,
                "unknown": self.unknown}


def conclude(anomalies: dict[str, list[dict[str, Any]]], stats: dict[str, int], unknown: list[str],
             model: str) -> Report:
    ruled_out: set[str] = set()
    for kind in anomalies:
        ruled_out |= forbidding(kind)
    weakest = sorted(m for m in ruled_out if not any(m in stronger_or_equal(o) and m != o for o in ruled_out))
    also = sorted(ruled_out - set(weakest))
    if model in ruled_out:
        valid: bool | str = False
    elif unknown:
        valid = "unknown"
    else:
        valid = True
    return Report(valid, anomalies, weakest, also, stats, unknown, model)


def _stats(txns: Sequence[Txn]) -> dict[str, int]:
    out = {"ok": 0, "fail": 0, "info": 0}
    for t in txns:
        out[t.type] = out.get(t.type, 0) + 1
    return out


def _show(v: Any) -> str:
    if v is None:
        return "nothing"
    if isinstance(v, tuple):
        return "[" + ", ".join(str(x) for x in v) + "]"
    return str(v)


# --------------------------------------------------------------------------- list-append


class _Found:
    def __init__(self) -> None:
        self.anomalies: dict[str, list[dict[str, Any]]] = defaultdict(list)

    def add(self, kind: str, txns: Sequence[Txn], explanation: str, **extra: Any) -> None:
        self.anomalies[kind].append({"txns": [t.name for t in txns], "explanation": explanation, **extra})


def check_list_append(txns: Sequence[Txn], *, model: str = "serializable", realtime: bool | None = None,
                      process: bool = False, time_budget: float = 60.0,
                      clock: Callable[[], float] = time.monotonic) -> Report:
    """Check a list-append history. Real-time edges are used for strict-serializable (or when asked)."""
    found = _Found()
    writer: dict[tuple[Any, Any], Txn] = {}
    appends_by: dict[tuple[int, Any], list[Any]] = defaultdict(list)  # (txn, key) -> its appends in order
    for t in txns:
        for m in t.mops:
            if m[0] == "append":
                k, v = m[1], m[2]
                if (k, v) in writer and writer[(k, v)].id != t.id:
                    found.add("duplicate-elements", [writer[(k, v)], t], f"{writer[(k, v)].name} and {t.name} both "
                              f"appended {v} to key {k}; values must be unique", key=k)
                writer[(k, v)] = t
                appends_by[(t.id, k)].append(v)
    committed = [t for t in txns if t.type == "ok"]
    reads: dict[Any, list[tuple[Txn, tuple[Any, ...]]]] = defaultdict(list)
    for t in committed:
        _internal(t, found)
        for m in t.mops:
            if m[0] == "r" and m[2] is not None:
                reads[m[1]].append((t, tuple(m[2])))
    order: dict[Any, tuple[Any, ...]] = {}
    for k, rs in reads.items():
        longest = max((seen for _, seen in rs), key=len)
        order[k] = longest
        owner = next(t for t, s in rs if s is longest)
        # Every read that is a prefix of the longest holds only values the longest holds: checking the
        # values of the longest and of the reads that are not prefixes covers them all, in linear time.
        odd = [(t, seen) for t, seen in rs if seen != longest[:len(seen)]]
        for t, seen in odd:
            found.add("incompatible-order", [t, owner], f"{t.name} read key {k} as {_show(seen)} and "
                      f"{owner.name} as {_show(longest)}: neither is a prefix of the other", key=k)
        for t, seen in [(owner, longest), *odd]:
            if len(set(seen)) != len(seen):
                dup = sorted({v for v in seen if seen.count(v) > 1}, key=str)
                found.add("duplicate-elements", [t], f"{t.name} read key {k} as {_show(seen)}, holding {dup} more "
                          "than once", key=k)
            for v in seen:
                w = writer.get((k, v))
                if w is None:
                    found.add("garbage-read", [t], f"{t.name} read {v} in key {k}, a value no transaction appended",
                              key=k)
                elif w.type == "fail":
                    readers = [r for r, s in rs if v in s[:len(s)]] or [t]
                    found.add("G1a", [w, readers[0]], f"{readers[0].name} read {v} in key {k}, appended by "
                              f"{w.name}, which failed (aborted read)", key=k)
        # dirty update: a committed append ordered after an aborted one
        for i, v in enumerate(longest):
            w = writer.get((k, v))
            if w is not None and w.type == "fail":
                later = [writer[(k, x)] for x in longest[i + 1:] if (k, x) in writer and writer[(k, x)].type == "ok"]
                if later:
                    found.add("dirty-update", [w, later[0]], f"{later[0].name} appended to key {k} after {v}, "
                              f"which {w.name} appended and which failed: it built on an aborted write", key=k)
                break
    # G1b: reading a value its writer later overwrote (not its final append to the key)
    for k, rs in reads.items():
        for t, seen in rs:
            if not seen:
                continue
            ext = _external(t, k, seen, appends_by)
            if not ext:
                continue
            w = writer.get((k, ext[-1]))
            if w is not None and w.id != t.id and w.type == "ok" and appends_by[(w.id, k)][-1] != ext[-1]:
                found.add("G1b", [w, t], f"{t.name} read key {k} ending in {ext[-1]}, but {w.name} went on to append "
                          f"{appends_by[(w.id, k)][-1]}: an intermediate value", key=k)
    _lost_updates(committed, appends_by, found)
    graph = DepGraph()
    for t in txns:
        if t.type == "ok":
            graph.node(t.id)
    for k, seq in order.items():
        for a, b in itertools.pairwise(seq):
            wa, wb = writer.get((k, a)), writer.get((k, b))
            if wa and wb and wa.id != wb.id and wa.type != "fail" and wb.type != "fail":
                graph.add(wa.id, wb.id, WW, f"{wb.name} appended {b} after {wa.name} appended {a} to key {k}, so "
                                            f"{wa.name} < {wb.name} (ww)")
    for k, rs in reads.items():
        seq = order[k]
        for t, seen in rs:
            ext = _external(t, k, seen, appends_by)
            if ext:
                w = writer.get((k, ext[-1]))
                if w is not None and w.type != "fail":
                    graph.add(w.id, t.id, WR, f"{t.name} read key {k} ending in {ext[-1]}, which {w.name} appended, "
                                              f"so {w.name} < {t.name} (wr)")
            if len(ext) < len(seq):
                nxt = seq[len(ext)]
                w2 = writer.get((k, nxt))
                if w2 is not None and w2.type != "fail" and w2.id != t.id:
                    what = f"ending in {ext[-1]}" if ext else "empty"
                    graph.add(t.id, w2.id, RW, f"{t.name} read key {k} {what}, before {w2.name} appended {nxt} "
                                               f"there, so {t.name} < {w2.name} (rw)")
    return _finish(graph, txns, found, model=model, realtime=realtime, process=process, time_budget=time_budget,
                   clock=clock)


def _finish(graph: DepGraph, txns: Sequence[Txn], found: _Found, *, model: str, realtime: bool | None,
            process: bool, time_budget: float, clock: Callable[[], float]) -> Report:
    """Add the optional order edges, search the cycles, and conclude."""
    use_realtime = realtime if realtime is not None else model == "strict-serializable"
    visible = [t for t in txns if t.id in graph.node_of]
    if use_realtime:
        _realtime_edges(visible, graph)
    if process:
        _process_edges(visible, graph)
    unknown: list[str] = []
    _cycles(graph, {t.id: t for t in txns}, found, unknown, clock() + time_budget, clock)
    return conclude(dict(found.anomalies), _stats(txns), unknown, model)


# --------------------------------------------------------------------------- rw-register


def check_rw_register(txns: Sequence[Txn], *, model: str = "serializable", realtime: bool | None = None,
                      process: bool = False, time_budget: float = 60.0,
                      clock: Callable[[], float] = time.monotonic) -> Report:
    """Check a read-write register history. Unique writes name the version a read saw (wr); a
    transaction that read a version and then wrote the key orders the two (ww), and everyone else who
    read the older version comes before that writer (rw)."""
    found = _Found()
    writer: dict[tuple[Any, Any], Txn] = {}
    last_write: dict[tuple[int, Any], Any] = {}
    for t in txns:
        for m in t.mops:
            if m[0] == "w":
                writer[(m[1], m[2])] = t
                last_write[(t.id, m[1])] = m[2]
    committed = [t for t in txns if t.type == "ok"]
    readers: dict[tuple[Any, Any], list[Txn]] = defaultdict(list)  # (key, version) -> external readers
    successors: dict[tuple[Any, Any], list[tuple[Any, Txn]]] = defaultdict(list)  # (k, v) -> [(next v, writer)]
    graph = DepGraph()
    for t in committed:
        graph.node(t.id)
        own: dict[Any, Any] = {}
        first_read: dict[Any, Any] = {}
        for m in t.mops:
            f, k, v = m
            if f == "w":
                if k in first_read and k not in own:
                    successors[(k, first_read[k])].append((v, t))
                own[k] = v
                continue
            if k in own:
                if v != own[k]:
                    found.add("internal", [t], f"{t.name} wrote {own[k]} to key {k} and then read {v}", key=k)
                continue
            if k in first_read:
                if v != first_read[k]:
                    found.add("internal", [t], f"{t.name} read key {k} as {first_read[k]} and then as {v} without "
                              "writing it", key=k)
                continue
            first_read[k] = v
            readers[(k, v)].append(t)
            if v is None:
                continue
            w = writer.get((k, v))
            if w is None:
                found.add("garbage-read", [t], f"{t.name} read {v} in key {k}, a value no transaction wrote", key=k)
            elif w.type == "fail":
                found.add("G1a", [w, t], f"{t.name} read {v} in key {k}, written by {w.name}, which failed", key=k)
            elif last_write.get((w.id, k)) != v:
                found.add("G1b", [w, t], f"{t.name} read {v} in key {k}, but {w.name} went on to write "
                          f"{last_write[(w.id, k)]}: an intermediate value", key=k)
            else:
                graph.add(w.id, t.id, WR, f"{t.name} read {v} in key {k}, which {w.name} wrote, so {w.name} < "
                                          f"{t.name} (wr)")
    for (k, v), nexts in successors.items():
        if len(nexts) > 1:
            ts = [w for _, w in nexts]
            found.add("lost-update", ts, f"{', '.join(w.name for w in ts)} all read key {k} as {v} and then wrote it: "
                      "each overwrote a version the others had also read", key=k)
        w_old = writer.get((k, v)) if v is not None else None
        for v_new, w_new in nexts:
            if w_old is not None and w_old.type != "fail":
                graph.add(w_old.id, w_new.id, WW, f"{w_new.name} read {v} in key {k} and then wrote {v_new}, so "
                                                  f"{w_old.name} < {w_new.name} (ww)")
            for r in readers.get((k, v), ()):
                graph.add(r.id, w_new.id, RW, f"{r.name} read {v} in key {k}, which {w_new.name} then overwrote "
                                              f"with {v_new}, so {r.name} < {w_new.name} (rw)")
    return _finish(graph, txns, found, model=model, realtime=realtime, process=process, time_budget=time_budget,
                   clock=clock)


# --------------------------------------------------------------------------- bank


def check_bank(txns: Sequence[Txn], *, total: int, model: str = "serializable", negative_allowed: bool = False
               ) -> Report:
    """Every committed read of all balances must add up to `total`; no balance may be negative."""
    found = _Found()
    for t in txns:
        if t.type != "ok":
            continue
        for m in t.mops:
            if m[0] != "read" or m[2] is None:
                continue
            balances = dict(m[2])
            seen = sum(int(b) for b in balances.values())
            if seen != total:
                found.add("wrong-total", [t], f"{t.name} read balances {_balances(balances)} totalling {seen}, not "
                          f"{total}: money was created or lost")
            negative = {a: b for a, b in balances.items() if int(b) < 0}
            if negative and not negative_allowed:
                found.add("negative-value", [t], f"{t.name} read negative balances {_balances(negative)}")
    return conclude(dict(found.anomalies), _stats(txns), [], model)


def _balances(balances: dict[Any, Any]) -> str:
    return "{" + ", ".join(f"{a}: {b}" for a, b in sorted(balances.items(), key=lambda x: int(x[0]))) + "}"


def _external(t: Txn, k: Any, seen: tuple[Any, ...], appends_by: dict[tuple[int, Any], list[Any]]
              ) -> tuple[Any, ...]:
    """The part of a read that others wrote: the read without the reader's own trailing appends."""
    own = set(appends_by.get((t.id, k), ()))
    end = len(seen)
    while end > 0 and seen[end - 1] in own:
        end -= 1
    return seen[:end]


def _internal(t: Txn, found: _Found) -> None:
    """Within a transaction every read of a key must show what it read before plus its own appends since."""
    state: dict[Any, tuple[Any, ...] | None] = {}
    own: dict[Any, list[Any]] = defaultdict(list)
    for m in t.mops:
        if m[0] == "append":
            own[m[1]].append(m[2])
            prior = state.get(m[1])
            state[m[1]] = None if prior is None else (*prior, m[2])
        elif m[0] == "r" and m[2] is not None:
            k, seen = m[1], tuple(m[2])
            if k in state and state[k] is not None and seen != state[k]:
                found.add("internal", [t], f"{t.name} read key {k} as {_show(seen)}, but its own earlier read and "
                          f"appends make it {_show(state[k])}", key=k)
            elif own[k] and tuple(seen[-len(own[k]):]) != tuple(own[k]):
                found.add("internal", [t], f"{t.name} appended {_show(tuple(own[k]))} to key {k} and then read "
                          f"{_show(seen)}, which does not end with its own appends", key=k)
            state[k] = seen


def _lost_updates(committed: Sequence[Txn], appends_by: dict[tuple[int, Any], list[Any]], found: _Found) -> None:
    """Two committed transactions that read the same version of a key and then both appended to it."""
    groups: dict[tuple[Any, Any], list[Txn]] = defaultdict(list)
    for t in committed:
        first_read: dict[Any, tuple[Any, ...]] = {}
        appended: set[Any] = set()
        for m in t.mops:
            if m[0] == "r" and m[2] is not None and m[1] not in first_read and m[1] not in appended:
                first_read[m[1]] = tuple(m[2])
            elif m[0] == "append":
                if m[1] in first_read:
                    seen = first_read.pop(m[1])
                    groups[(m[1], seen[-1] if seen else None)].append(t)
                appended.add(m[1])
    for (k, last), ts in groups.items():
        if len(ts) > 1:
            names = ", ".join(t.name for t in ts)
            what = f"ending in {last}" if last is not None else "empty"
            found.add("lost-update", ts, f"{names} all read key {k} {what} and then appended to it: each wrote "
                      "over a version the others had also read", key=k)


def _realtime_edges(txns: Sequence[Txn], graph: DepGraph) -> None:
    """T1 < T2 when T1 completed before T2 was invoked; only the edges not implied by others."""
    events: list[tuple[int, int, Txn]] = []
    for t in txns:
        events.append((t.invoke_time, 1, t))
        if t.complete_time is not None and t.type == "ok":
            events.append((t.complete_time, 0, t))
    events.sort(key=lambda e: (e[0], e[1]))
    frontier: dict[int, Txn] = {}
    preds: dict[int, set[int]] = {}
    for _, kind, t in events:
        if kind == 1:
            preds[t.id] = set(frontier)
            for p in frontier.values():
                graph.add(p.id, t.id, REALTIME, f"{p.name} completed before {t.name} began, so {p.name} < {t.name} "
                                                "(realtime)")
        else:
            for covered in preds.get(t.id, set()):
                frontier.pop(covered, None)
            frontier[t.id] = t


def _process_edges(txns: Sequence[Txn], graph: DepGraph) -> None:
    last: dict[int, Txn] = {}
    for t in sorted(txns, key=lambda x: x.invoke_time):
        if t.process in last:
            p = last[t.process]
            graph.add(p.id, t.id, PROCESS, f"process {t.process} ran {p.name} before {t.name} (process)")
        last[t.process] = t


#: How many candidate edges each component tries per anomaly kind: bounds the search on huge components.
EDGES_TRIED = 200


def _cycles(graph: DepGraph, by_id: dict[int, Txn], found: _Found, unknown: list[str], deadline: float,
            clock: Callable[[], float]) -> None:
    for comp in graph.components():
        if clock() > deadline:
            unknown.append("the cycle search ran out of its time budget; some components were not searched")
            return
        search = _ComponentSearch(graph, comp, by_id, found, deadline, clock)
        search.run(WW, "ww", "G0")
        search.run(WR, "wwwr")
        search.run(RW, "wwwr")  # exactly one rw edge: G-single
        search.run(RW, "all")  # more rw edges: G-nonadjacent or G2-item
        search.run(REALTIME, "wwwr+")
        search.run(PROCESS, "wwwr+")
        if clock() > deadline:
            unknown.append("the cycle search ran out of its time budget")
            return


class _ComponentSearch:
    """Shortest cycles through one strongly connected component: for each candidate edge a -> b of a
    kind, the shortest path b -> a in a subgraph that allows only some edge kinds closes a cycle."""

    SUBGRAPHS: ClassVar[dict[str, tuple[str, ...]]] = {
        "ww": (WW,), "wwwr": (WW, WR), "wwwr+": (WW, WR, PROCESS, REALTIME), "all": (WW, WR, RW, PROCESS, REALTIME)}

    def __init__(self, graph: DepGraph, comp: list[int], by_id: dict[int, Txn], found: _Found, deadline: float,
                 clock: Callable[[], float]) -> None:
        self.graph, self.by_id, self.found = graph, by_id, found
        self.deadline, self.clock = deadline, clock
        members = set(comp)
        self.edges = [(a, b, graph.edge(a, b)) for a in comp for b in graph.graph.successor_indices(a)
                      if b in members]
        self.subs = {name: graph.restricted(comp, kinds) for name, kinds in self.SUBGRAPHS.items()}
        self.reported: set[str] = set()

    def run(self, edge_kind: str, sub: str, kind: str | None = None) -> None:
        g, local = self.subs[sub]
        tried = 0
        for a, b, e in self.edges:
            if edge_kind not in e.kinds:
                continue
            if tried >= EDGES_TRIED or self.clock() > self.deadline:
                return
            tried += 1
            path = shortest_path(g, local[b], local[a])
            if path is not None:
                back = {v: k for k, v in local.items()}
                self.report([a, *(back[p] for p in path)], kind)
                return

    def report(self, cycle: list[int], kind: str | None) -> None:
        kinds, explanations = [], []
        for a, b in itertools.pairwise(cycle):
            edge = self.graph.edge(a, b)
            chosen = next(k for k in (WW, WR, RW, PROCESS, REALTIME) if k in edge.kinds)
            kinds.append(chosen)
            explanations.append(edge.kinds[chosen])
        name = kind or _classify(kinds)
        if REALTIME in kinds:
            name += "-realtime"
        elif PROCESS in kinds:
            name += "-process"
        if name in self.reported:
            return
        self.reported.add(name)
        names = [self.by_id[self.graph.txn_of[n]].name for n in cycle[:-1]]
        self.found.anomalies[name].append({"cycle": names, "edges": kinds, "explanation": "; ".join(explanations)
                                           + f"; a cycle: {' < '.join(names)} < {names[0]}"})


def _classify(kinds: Sequence[str]) -> str:
    rw = [i for i, k in enumerate(kinds) if k == RW]
    if not rw:
        return "G1c" if WR in kinds else "G0"
    if len(rw) == 1:
        return "G-single"
    n = len(kinds)
    adjacent = any((i + 1) % n in rw for i in rw)
    return "G2-item" if adjacent else "G-nonadjacent"
