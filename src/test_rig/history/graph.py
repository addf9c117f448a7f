"""The dependency graph between transactions and the search for its cycles, as Elle classifies them.

Edges are kept as one integer per ordered pair (the bits of its kinds: ww, wr, rw, process, realtime), so a
graph of a million transactions costs tens of megabytes; why an edge exists is worked out again only for the
edges of a cycle that is reported. Strongly connected components come from rustworkx. Inside each component,
each anomaly type is a small automaton over edge kinds (exactly one rw edge; two or more that are never
adjacent; two or more with an adjacent pair; a required process or real-time edge), and a breadth-first search
over (transaction, automaton state) finds a shortest cycle of that type: anchored on one edge of the type's
distinguishing kind, closed by a shortest path back. Anomaly types found in a component make the types they
imply redundant there, as in Elle.
"""

from __future__ import annotations

import time
from array import array
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import rustworkx as rx

from test_rig.history.consistency import implied_anomalies

WW, WR, RW, PROCESS, REALTIME = 1, 2, 4, 8, 16
KIND_NAMES = {WW: "ww", WR: "wr", RW: "rw", PROCESS: "process", REALTIME: "realtime"}
_KINDS = (WW, WR, RW, PROCESS, REALTIME)


class DepGraph:
    """Transactions are numbered 0..n-1 (their `seq`). Each kind of edge is a flat array of (a, b) pairs:
    8 bytes an edge, where a set of tuples took about a hundred (duplicates are merged by the graph library
    when the components are computed)."""

    def __init__(self) -> None:
        self.pairs: dict[int, array[int]] = {kind: array("i") for kind in _KINDS}  # 2**31 transactions at most

    def add(self, a: int, b: int, kind: int) -> None:
        if a != b:
            self.pairs[kind].extend((a, b))

    def adder(self, kind: int) -> Callable[[tuple[int, int]], None]:
        """The insertion for one kind, for hot loops: takes an (a, b) pair; the caller skips self-edges."""
        return self.pairs[kind].extend

    def __len__(self) -> int:
        return sum(len(pairs) for pairs in self.pairs.values()) // 2

    def _edges(self, kind: int, chunk: int = 65536) -> Iterator[list[tuple[int, int]]]:
        pairs = self.pairs[kind]
        for i in range(0, len(pairs), 2 * chunk):
            part = pairs[i:i + 2 * chunk]
            yield list(zip(part[0::2], part[1::2], strict=True))

    def components(self, n: int) -> list[list[int]]:
        """Strongly connected components of two or more transactions."""
        if not len(self):
            return []
        g = rx.PyDiGraph(multigraph=False)
        g.add_nodes_from([None] * n)  # no payload: a node's index is its transaction
        for kind in _KINDS:
            for edges in self._edges(kind):
                g.add_edges_from_no_data(edges)
        if rx.is_directed_acyclic_graph(g):  # most histories: no list of n single-node components is made
            return []
        return [sorted(c) for c in rx.strongly_connected_components(g) if len(c) > 1]

    def adjacency(self, components: Sequence[Sequence[int]]) -> list[dict[int, list[tuple[int, int]]]]:
        """For each component, node -> [(successor, kind)] over the edges inside it. An edge of several
        kinds counts as the first of ww, wr, rw, process, realtime: the kind Elle's explainer names it by, so
        a cycle is classified as Elle classifies it (a real-time edge that is also a read dependency is a
        read dependency)."""
        if not components:
            return []
        comp_of: dict[int, int] = {}
        for i, comp in enumerate(components):
            for node in comp:
                comp_of[node] = i
        out: list[dict[int, list[tuple[int, int]]]] = [{} for _ in components]
        done: set[tuple[int, int]] = set()
        for kind in _KINDS:  # in order of preference: an edge takes the first kind it has
            for edges in self._edges(kind):
                for key in edges:
                    a, b = key
                    ca = comp_of.get(a)
                    if ca is None or comp_of.get(b) != ca or key in done:
                        continue
                    done.add(key)
                    out[ca].setdefault(a, []).append((b, kind))
        return out


@dataclass(frozen=True)
class CycleSpec:
    """One cycle anomaly type. `anchor`: the kind one edge of the cycle is used as; `allowed`: the kinds the
    other edges may be used as; `rw`: None (no rw edge), "single" (exactly one), "nonadjacent" (two or more,
    no two consecutive, around the cycle too), "adjacent" (two or more, two of them consecutive); `required`:
    kinds that must appear at least once."""

    name: str
    anchor: int
    allowed: int
    rw: str | None = None
    required: int = 0
    min_length: int = 2


_BASE = (
    CycleSpec("G0", WW, WW),
    CycleSpec("G1c", WR, WW | WR),
    CycleSpec("G-single-item", RW, WW | WR | RW, "single"),
    CycleSpec("G-nonadjacent-item", RW, WW | WR | RW, "nonadjacent", min_length=4),
    CycleSpec("G2-item", RW, WW | WR | RW, "adjacent"),
)


def _variant(spec: CycleSpec, kind: int, suffix: str) -> CycleSpec:
    required = spec.required | (spec.anchor if spec.anchor in (WR,) else 0)
    return CycleSpec(f"{spec.name}-{suffix}", kind, spec.allowed | kind, spec.rw, required,
                     spec.min_length)


SPECS: tuple[CycleSpec, ...] = (*_BASE, *(_variant(s, PROCESS, "process") for s in _BASE),
                                *(_variant(s, REALTIME, "realtime") for s in _BASE))
CYCLE_TYPES = tuple(s.name for s in SPECS)


@dataclass(frozen=True)
class Cycle:
    """A cycle: transactions (seq numbers) in order, and the kind each edge i -> i+1 (the last back to the
    first) is used as."""

    spec: str
    nodes: tuple[int, ...]
    kinds: tuple[int, ...]
    shortest: bool


def _rotated(nodes: tuple[int, ...], kinds: tuple[int, ...]) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """The same cycle written from its first anti-dependency (else read, else write dependency), so that a
    cycle reads the same however the search came upon it."""
    for kind in (RW, WR, WW):
        if kind in kinds:
            i = kinds.index(kind)
            return nodes[i:] + nodes[:i], kinds[i:] + kinds[:i]
    return nodes, kinds


class SearchTimeout(Exception):
    pass


def find_cycles(graph: DepGraph, n: int, *, use: int, deadline: float,
                clock: Callable[[], float] = time.monotonic) -> tuple[list[Cycle], list[str]]:
    """A shortest cycle of each anomaly type in each strongly connected component, skipping types implied by
    one already found there. `use`: the kinds of edges present (process and realtime only when built).
    Returns the cycles and, when the time ran out, the reason (the verdict is then unknown unless what was
    found already decides it)."""
    specs = [s for s in SPECS if s.allowed & (PROCESS | REALTIME) & ~use == 0]
    comps = graph.components(n)
    adjacency = graph.adjacency(comps)
    cycles: list[Cycle] = []
    unknown: list[str] = []
    for comp, adj in zip(comps, adjacency, strict=True):
        redundant: set[str] = set()
        for spec in specs:
            if spec.name in redundant:
                continue
            if clock() > deadline:
                unknown.append(f"the cycle search ran out of its time budget in a component of {len(comp)} "
                               f"transactions before it had looked for {spec.name}")
                return cycles, unknown
            try:
                found = _shortest(adj, spec, deadline, clock)
            except SearchTimeout as cut:
                partial = cut.args[0] if cut.args else None
                if partial is not None:
                    cycles.append(partial)
                    redundant |= implied_anomalies([spec.name])
                unknown.append(f"the cycle search ran out of its time budget in a component of {len(comp)} "
                               f"transactions while it looked for {spec.name}")
                return cycles, unknown
            if found is not None:
                cycles.append(found)
                redundant |= implied_anomalies([spec.name])
    return cycles, unknown


# Automaton state: rw count (0, 1, 2 = two or more) | last edge rw << 2 | adjacent rw pair seen << 3 |
# required kinds seen << 4.
def _step(spec: CycleSpec, state: int, kind: int) -> int:
    """The state after one more edge of `kind`, or -1 when the type forbids it."""
    count, last, adj, seen = state & 3, (state >> 2) & 1, (state >> 3) & 1, state >> 4
    if kind == RW:
        if spec.rw is None or (spec.rw == "single" and count >= 1) or (spec.rw == "nonadjacent" and last):
            return -1
        adj |= last
        count = min(2, count + 1)
        last = 1
    else:
        last = 0
    return count | (last << 2) | (adj << 3) | ((seen | kind) << 4)


def _accepts(spec: CycleSpec, state: int, first_rw: int) -> bool:
    count, last, adj, seen = state & 3, (state >> 2) & 1, (state >> 3) & 1, state >> 4
    if seen & spec.required != spec.required:
        return False
    if spec.rw == "single":
        return count == 1
    if spec.rw == "nonadjacent":
        return count == 2 and not adj and not (last and first_rw)
    if spec.rw == "adjacent":
        return count == 2 and bool(adj or (last and first_rw))
    return True


def _shortest(adj: dict[int, list[tuple[int, int]]], spec: CycleSpec, deadline: float,
              clock: Callable[[], float]) -> Cycle | None:
    """A shortest cycle of `spec`'s type: for each transaction b entered by an anchor edge a -> b, a
    breadth-first search from b over (transaction, state) for the shortest accepted walk back to such an a."""
    anchor_into: dict[int, list[int]] = {}
    for a, succs in adj.items():
        for b, kind in succs:
            if kind == spec.anchor:
                anchor_into.setdefault(b, []).append(a)
    if not anchor_into:
        return None
    start = _step(spec, 0, spec.anchor)
    first_rw = 1 if spec.anchor == RW else 0
    best: Cycle | None = None
    steps = 0
    for b, sources in anchor_into.items():
        targets = set(sources)
        limit = (len(best.nodes) - 1) if best is not None else None  # path edges must be fewer than best's - 1
        parent: dict[tuple[int, int], tuple[int, int, int] | None] = {(b, start): None}
        queue: deque[tuple[int, int, int]] = deque([(b, start, 0)])
        hit: tuple[int, int] | None = None
        while queue:
            node, state, depth = queue.popleft()
            if node in targets and _accepts(spec, state, first_rw) and depth >= 1:
                hit = (node, state)
                break
            if limit is not None and depth + 1 >= limit:
                continue
            for nxt, kind in adj.get(node, ()):
                if not kind & spec.allowed:
                    continue
                st = _step(spec, state, kind)
                if st < 0 or (nxt, st) in parent:
                    continue
                parent[(nxt, st)] = (node, state, kind)
                queue.append((nxt, st, depth + 1))
            steps += 1
            if steps % 4096 == 0 and clock() > deadline:
                raise SearchTimeout(best)
        if hit is not None:
            kinds: list[int] = []
            nodes: list[int] = []
            cur: tuple[int, int] = hit
            while True:
                link = parent[cur]
                if link is None:
                    break
                prev_node, prev_state, kind = link
                nodes.append(cur[0])
                kinds.append(kind)
                cur = (prev_node, prev_state)
            nodes.reverse()
            kinds.reverse()
            a = hit[0]
            # The cycle a -> b (anchor) -> ... -> a, written from a.
            cycle_nodes = (a, b, *nodes[:-1])
            cycle_kinds = (spec.anchor, *kinds)
            if best is None or len(cycle_nodes) < len(best.nodes):
                best = Cycle(spec.name, *_rotated(cycle_nodes, cycle_kinds), True)
                if len(cycle_nodes) <= spec.min_length:
                    return best
    return best
