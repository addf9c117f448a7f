"""`test-rig check` end to end (process start, reading the file, checking) on list-append histories, side by side
in one run with the checker test-rig shipped before (commit 9f9094d, run from a copy of its source): time and peak
memory of each, alternating, and the ratio.

Histories (made here, deterministic):
- jepsen:    a serial valid history of 100,000 transactions over 5 processes and 200 keys that are never retired
             (1-4 micro-operations, about half reads, so reads return hundreds of elements, as in Jepsen's own
             histories): about 250 MB of JSONL;
- retired:   the shape of the earlier benchmark (10 overlapping processes, a key retired after 64 appends);
- planted:   `retired` with 10 stale reads planted (G-single-item / G2-item must be found), and its EDN copy;
- growth:    `retired` at 10k, 100k (and with --big, 1M) transactions: time should grow linearly.
Elle itself needs Clojars, which this machine cannot reach; the issue's figures for Elle 0.2.7 on the same jepsen
history (about 50 s to read and check it, plus JVM start) are quoted, not measured here.

Usage: .venv/bin/python benchmarks/history_checker.py [--rounds 3] [--big] [--skip-old]
Target: the jepsen history in under 5 s and 1 GB, the retired one (47 MB) in under 2 s.
"""

from __future__ import annotations

import argparse
import itertools
import os
import random
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path
from typing import Any

import orjson

ROOT = Path(__file__).resolve().parent.parent
OLD_COMMIT = "9f9094d"


def write_jepsen(path: Path, n: int = 100_000, keys: int = 200, processes: int = 5, seed: int = 1) -> None:
    rng = random.Random(seed)
    state: dict[int, list[int]] = {k: [] for k in range(keys)}
    value = 0
    with open(path, "wb") as f:
        index = 0
        for i in range(n):
            invoked: list[list[Any]] = []
            completed: list[list[Any]] = []
            for _ in range(rng.randint(1, 4)):
                k = rng.randrange(keys)
                if rng.random() < 0.5:
                    value += 1
                    state[k].append(value)
                    invoked.append(["append", k, value])
                    completed.append(["append", k, value])
                else:
                    invoked.append(["r", k, None])
                    completed.append(["r", k, list(state[k])])
            p = i % processes
            for type_, v in (("invoke", invoked), ("ok", completed)):
                f.write(orjson.dumps({"index": index, "process": p, "type": type_, "f": "txn", "value": v,
                                      "time": index}) + b"\n")
                index += 1


def write_retired(path: Path, n: int, *, keys: int = 200, concurrency: int = 10, anomalies: int = 0,
                  seed: int = 1, writes_per_key: int = 64) -> None:
    """Serializable transactions in a random order, `concurrency` of them overlapping in time; `anomalies`
    reads made stale. A key that has taken `writes_per_key` appends is retired for a fresh one."""
    rng = random.Random(seed)
    state: dict[int, list[int]] = {k: [] for k in range(keys)}
    active = list(range(keys))
    fresh = keys
    value = 0
    stale = set(rng.sample(range(n), anomalies)) if anomalies else set()
    pending: list[tuple[int, list[list[Any]], list[list[Any]]]] = []
    index = 0
    with open(path, "wb") as f:
        for i in range(n):
            invoked: list[list[Any]] = []
            completed: list[list[Any]] = []
            for _ in range(rng.randint(1, 4)):
                slot = rng.randrange(keys)
                k = active[slot]
                if rng.random() < 0.5:
                    value += 1
                    state[k].append(value)
                    if len(state[k]) >= writes_per_key:
                        active[slot] = fresh
                        state[fresh] = []
                        fresh += 1
                    invoked.append(["append", k, value])
                    completed.append(["append", k, value])
                else:
                    seen = list(state[k])
                    if i in stale and len(seen) > 1:
                        seen = seen[:-1]
                    invoked.append(["r", k, None])
                    completed.append(["r", k, seen])
            pending.append((i % concurrency, invoked, completed))
            if len(pending) == concurrency or i == n - 1:
                t = index
                for p, inv, _ in pending:
                    f.write(orjson.dumps({"index": index, "process": p, "type": "invoke", "f": "txn", "value": inv,
                                          "time": t}) + b"\n")
                    index += 1
                for p, _, comp in pending:
                    f.write(orjson.dumps({"index": index, "process": p, "type": "ok", "f": "txn", "value": comp,
                                          "time": t + 1}) + b"\n")
                    index += 1
                pending = []


def to_edn(src: Path, dst: Path) -> None:
    from test_rig.history.edn import dumps

    with open(src, "rb") as f, open(dst, "w") as out:
        for line in f:
            out.write(dumps(orjson.loads(line)) + "\n")


def old_checker() -> Path:
    """The source of test-rig at OLD_COMMIT, unpacked once into a temporary directory."""
    where = Path(tempfile.gettempdir()) / f"test-rig-{OLD_COMMIT}"
    if not (where / "src").exists():
        where.mkdir(parents=True, exist_ok=True)
        archive = subprocess.run(["git", "-C", str(ROOT), "archive", OLD_COMMIT, "src"], check=True,
                                 capture_output=True).stdout
        tar = where / "src.tar"
        tar.write_bytes(archive)
        with tarfile.open(tar) as t:
            t.extractall(where, filter="data")
    return where / "src"


def run(cmd: list[str], env: dict[str, str] | None = None) -> tuple[float, float, str]:
    """Wall seconds, peak RSS in MB and the first line of output of one command."""
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env)
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - started
    assert proc.stdout is not None
    out = proc.stdout.read().decode(errors="replace")
    proc.stdout.close()
    proc.returncode = os.waitstatus_to_exitcode(status)
    return seconds, usage.ru_maxrss / 1024, (out.strip().splitlines() or [""])[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--big", action="store_true", help="also the 1M-transaction growth step")
    parser.add_argument("--skip-old", action="store_true", help="do not run the previous checker")
    parser.add_argument("--dir", default=None, help="where to write the histories (default: a temporary one)")
    args = parser.parse_args()
    work = Path(args.dir or tempfile.mkdtemp(prefix="rig-bench-history-"))
    work.mkdir(parents=True, exist_ok=True)
    files: dict[str, Path] = {}

    def made(name: str, maker: Any) -> Path:
        path = work / name
        if not path.exists():
            maker(path)
        files[name] = path
        return path

    made("jepsen-100k.jsonl", write_jepsen)
    made("retired-100k.jsonl", lambda p: write_retired(p, 100_000))
    planted = made("planted-100k.jsonl", lambda p: write_retired(p, 100_000, anomalies=10))
    made("planted-100k.edn", lambda p: to_edn(planted, p))
    made("retired-10k.jsonl", lambda p: write_retired(p, 10_000))
    if args.big:
        made("retired-1m.jsonl", lambda p: write_retired(p, 1_000_000))
    for name, path in files.items():
        print(f"{name}: {path.stat().st_size / 1e6:.0f} MB")
    new = [sys.executable, "-m", "test_rig", "check", "--workload", "list-append"]
    old_env = dict(os.environ, PYTHONPATH=str(old_checker())) if not args.skip_old else None
    old = [sys.executable, "-m", "test_rig", "check", "--workload", "list-append"]
    results: dict[tuple[str, str], list[tuple[float, float]]] = {}
    lines: dict[tuple[str, str], str] = {}
    for _ in range(args.rounds):
        for name, path in files.items():
            subjects = [("now", new, None)]
            if old_env is not None and not name.endswith(".edn"):  # the old checker reads JSONL only
                subjects.append((OLD_COMMIT, old, old_env))
            for label, cmd, env in subjects:
                seconds, mb, first = run([*cmd, str(path)], env)
                results.setdefault((name, label), []).append((seconds, mb))
                lines[(name, label)] = first
    print(f"\nmedians of {args.rounds} alternating runs, end to end (interpreter start included)")
    for name in files:
        now = results[(name, "now")]
        t_now, m_now = statistics.median(s for s, _ in now), max(m for _, m in now)
        row = f"{name:>20}: now {t_now:6.2f} s {m_now:6.0f} MB  [{lines[(name, 'now')][:90]}]"
        if (name, OLD_COMMIT) in results:
            before = results[(name, OLD_COMMIT)]
            t_old, m_old = statistics.median(s for s, _ in before), max(m for _, m in before)
            row += (f"\n{'':>20}  {OLD_COMMIT} {t_old:6.2f} s {m_old:6.0f} MB  [{lines[(name, OLD_COMMIT)][:80]}]"
                    f"\n{'':>20}  ratio now/{OLD_COMMIT}: time {t_now / t_old:.2f}, memory {m_now / m_old:.2f}")
        print(row)
    growth = [n for n in ("retired-10k.jsonl", "retired-100k.jsonl", "retired-1m.jsonl") if (n, "now") in results]
    for a, b in itertools.pairwise(growth):
        ta = statistics.median(s for s, _ in results[(a, "now")])
        tb = statistics.median(s for s, _ in results[(b, "now")])
        print(f"growth {a} -> {b}: time x{tb / ta:.1f} for x10 transactions")


if __name__ == "__main__":
    main()
