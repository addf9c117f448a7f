"""The list-append checker's speed on synthetic histories of 10k, 100k and 1M transactions, with and without
injected anomalies, and the graph library's share: rustworkx (used) against networkx for the same
strongly-connected-components step on the same graph.

Usage: .venv/bin/python benchmarks/history_checker.py [--sizes 10000,100000] [--concurrency 10]
Target: a 100,000-transaction history checked in under 10 s and 2 GB, growing close to linearly.
"""

from __future__ import annotations

import argparse
import itertools
import random
import resource
import time
from typing import Any

from test_rig.history.checker import check_list_append
from test_rig.history.model import Op, pair


def synthetic(n: int, *, keys: int = 200, concurrency: int = 10, anomalies: int = 0, seed: int = 1,
              writes_per_key: int = 64) -> list[Op]:
    """A serializable list-append history: transactions run one at a time in a random order, `concurrency`
    processes overlap in time (invoke ... complete), and `anomalies` reads are made stale (read skew).
    As in Elle's workloads, a key that has taken `writes_per_key` appends is retired for a fresh one, so
    reads stay short however long the history."""
    rng = random.Random(seed)
    state: dict[int, list[int]] = {k: [] for k in range(keys)}
    active = list(range(keys))
    fresh = keys
    ops: list[Op] = []
    next_value = 0
    pending: list[tuple[int, list[list[Any]], list[list[Any]]]] = []
    stale = set(rng.sample(range(n), anomalies)) if anomalies else set()
    for i in range(n):
        invoked: list[list[Any]] = []
        completed: list[list[Any]] = []
        for _ in range(rng.randint(1, 4)):
            slot = rng.randrange(keys)
            k = active[slot]
            if rng.random() < 0.5:
                next_value += 1
                state[k].append(next_value)
                if len(state[k]) >= writes_per_key:
                    active[slot] = fresh
                    state[fresh] = []
                    fresh += 1
                invoked.append(["append", k, next_value])
                completed.append(["append", k, next_value])
            else:
                seen = list(state[k])
                if i in stale and len(seen) > 1:
                    seen = seen[:-1]
                invoked.append(["r", k, None])
                completed.append(["r", k, seen])
        process = i % concurrency
        pending.append((process, invoked, completed))
        if len(pending) == concurrency or i == n - 1:
            t = len(ops)
            for p, inv, _ in pending:
                ops.append(Op(len(ops), p, "invoke", "txn", inv, t))
            for p, _, comp in pending:
                ops.append(Op(len(ops), p, "ok", "txn", comp, t + 1))
            pending = []
    return ops


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--concurrency", type=int, default=10)
    args = parser.parse_args()
    timings = []
    for n in (int(x) for x in args.sizes.split(",")):
        for anomalies in (0, 10):
            ops = synthetic(n, concurrency=args.concurrency, anomalies=anomalies)
            started = time.perf_counter()
            report = check_list_append(pair(ops))
            seconds = time.perf_counter() - started
            rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            timings.append((n, anomalies, seconds))
            print(f"{n:>8} txns, {anomalies:>2} injected stale reads: {seconds:6.2f} s, valid={report.valid}, "
                  f"anomalies={sorted(report.anomalies)}, peak RSS {rss:.0f} MB")
    clean = [(n, s) for n, a, s in timings if a == 0]
    for (n1, s1), (n2, s2) in itertools.pairwise(clean):
        print(f"growth {n1} -> {n2} txns: time x{s2 / s1:.1f} for x{n2 / n1:.0f} transactions")
    _compare_graph_libraries(min(100_000, max(n for n, _ in clean)))


def _compare_graph_libraries(n: int) -> None:
    """The SCC step on the same random dependency-shaped graph with both libraries."""
    import networkx as nx
    import rustworkx as rx

    rng = random.Random(2)
    edges = [(i, i + rng.randint(1, 50)) for i in range(n) for _ in range(3)]
    edges = [(a, b) for a, b in edges if b < n] + [(rng.randrange(n), rng.randrange(n)) for _ in range(n // 100)]
    started = time.perf_counter()
    g = rx.PyDiGraph()
    g.add_nodes_from(range(n))
    g.add_edges_from_no_data(edges)
    rx_sccs = [c for c in rx.strongly_connected_components(g) if len(c) > 1]
    rx_s = time.perf_counter() - started
    started = time.perf_counter()
    h = nx.DiGraph()
    h.add_nodes_from(range(n))
    h.add_edges_from(edges)
    nx_sccs = [c for c in nx.strongly_connected_components(h) if len(c) > 1]
    nx_s = time.perf_counter() - started
    assert sorted(len(c) for c in rx_sccs) == sorted(len(c) for c in nx_sccs)
    print(f"graph of {n} nodes, {len(edges)} edges, build + SCC: rustworkx {rx_s:.3f} s, networkx {nx_s:.3f} s; "
          f"ratio rustworkx/networkx = {rx_s / nx_s:.2f}")


if __name__ == "__main__":
    main()
