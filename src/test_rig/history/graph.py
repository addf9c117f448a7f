"""The dependency graph between transactions, on rustworkx: edges carry their kinds (ww, wr, rw,
process, realtime) and, for each kind, the sentence that explains it. Strongly connected components
and shortest paths come from the library, not from hand-written graph code."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import rustworkx as rx

WW, WR, RW, PROCESS, REALTIME = "ww", "wr", "rw", "process", "realtime"


@dataclass
class Edge:
    kinds: dict[str, str] = field(default_factory=dict)  # kind -> explanation


class DepGraph:
    def __init__(self) -> None:
        self.graph: rx.PyDiGraph = rx.PyDiGraph(multigraph=False)
        self.node_of: dict[int, int] = {}  # txn id -> node index
        self.txn_of: list[int] = []

    def node(self, txn: int) -> int:
        index = self.node_of.get(txn)
        if index is None:
            index = self.graph.add_node(txn)
            self.node_of[txn] = index
            self.txn_of.append(txn)
        return index

    def add(self, a: int, b: int, kind: str, why: str) -> None:
        if a == b:
            return
        na, nb = self.node(a), self.node(b)
        existing = self.graph.get_edge_data(na, nb) if self.graph.has_edge(na, nb) else None
        if existing is None:
            self.graph.add_edge(na, nb, Edge({kind: why}))
        else:
            existing.kinds.setdefault(kind, why)

    def components(self) -> list[list[int]]:
        """Strongly connected components with at least two transactions (node indexes)."""
        return [c for c in rx.strongly_connected_components(self.graph) if len(c) > 1]

    def edge(self, a: int, b: int) -> Edge:
        data: Edge = self.graph.get_edge_data(a, b)
        return data

    def restricted(self, nodes: Sequence[int], kinds: Iterable[str]) -> tuple[rx.PyDiGraph, dict[int, int]]:
        """The component's subgraph keeping only edges of `kinds` (node index -> subgraph index)."""
        allowed = set(kinds)
        sub = rx.PyDiGraph(multigraph=False)
        local = {n: sub.add_node(n) for n in nodes}
        for a in nodes:
            for b in self.graph.successor_indices(a):
                if b in local and allowed & set(self.edge(a, b).kinds):
                    sub.add_edge(local[a], local[b], None)
        return sub, local


def shortest_path(sub: rx.PyDiGraph, source: int, target: int) -> list[int] | None:
    """Shortest path (in edges) from source to target in `sub`, as subgraph indexes; None if there is none."""
    paths = rx.digraph_dijkstra_shortest_paths(sub, source, target=target)
    if target not in paths:
        return None
    return list(paths[target])
