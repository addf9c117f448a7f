"""test-rig hunt against a bare asyncmy loop sending the same statements, side by side in one run.

Usage: .venv/bin/python benchmarks/hunt.py [--queries 6000] [--tidb-queries 1500] [--seed 7] [--skip-tidb]
    [--mariadb-port P] [--tidb-port P]
Starts its own sandboxes (MariaDB, TiDB), or uses the servers already running on the ports given.
For each: `test-rig hunt --queries N --log FILE` with every oracle on
one connection (findings confirmed but not reduced: reduction is measured apart, as the median seconds in
a run's `reduction_seconds`), then the statements of that log (setup, DML, DDL and every checked query, in
the order sent) replayed by a bare asyncmy loop on one connection, rows fetched and dropped. Prints checked queries per
second per connection for both and the ratio hunt / bare (target >= 0.5: generator, oracles and comparison
together cost less than the client's own time), and the statements sent per second: SQLancer's "queries/s"
counts every statement it executes (each TLP partition, DDL, DML), while a checked query here is one oracle's
whole check (two to four queries), so statements per second is the figure to set beside SQLancer's."""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from test_rig.servers.sandbox import Sandbox

TEST_RIG = [sys.executable, "-m", "test_rig"]


def hunt(port: int, queries: int, seed: int, work: Path) -> tuple[float, int, Path]:
    log, result = work / f"hunt-{port}.sql", work / f"hunt-{port}.json"
    env = {"TIDB_HOST": f"127.0.0.1:{port}", "TIDB_USER": "root", "TIDB_PASSWORD": "", "PATH": "/usr/bin:/bin"}
    subprocess.run([*TEST_RIG, "hunt", "--queries", str(queries), "--seed", str(seed), "--log", str(log),
                    "--json", str(result), "--reduce-time", "0"], env=env, capture_output=True, check=False)
    data = json.loads(result.read_text())
    return float(data["seconds"]), int(data["checked_total"]), log


async def bare(port: int, log: Path) -> float:
    """The floor: the same statements on one asyncmy connection, nothing else (errors are ignored)."""
    import asyncmy

    statements = [s for s in log.read_text().split(";\n") if s.strip()]
    conn = await asyncmy.connect(host="127.0.0.1", port=port, user="root", password="", autocommit=True)
    cur = conn.cursor()
    started = time.perf_counter()
    for sql in statements:
        try:
            await cur.execute(sql)
            await cur.fetchall()
        except Exception:  # the hunt met the same errors and went on
            pass
    elapsed = time.perf_counter() - started
    for sql in statements:
        if sql.startswith("CREATE DATABASE "):
            await cur.execute("DROP DATABASE IF EXISTS " + sql.split()[2])
    conn.close()
    return elapsed


def measure(kind: str, queries: int, seed: int, rounds: int, port: int | None = None) -> None:
    box = Sandbox(Path(tempfile.mkdtemp(prefix=f"bench-hunt-{kind}-")), server=kind) if port is None else None
    port = box.start().port if box is not None else port
    try:
        work = Path(tempfile.mkdtemp(prefix="bench-hunt-"))
        ratios: list[float] = []
        for r in range(rounds):
            seconds, checked, log = hunt(port, queries, seed + r, work)
            bare_seconds = asyncio.run(bare(port, log))
            ours, floor = checked / seconds, checked / bare_seconds
            ratios.append(ours / floor)
            sent = log.read_text().count(";\n")
            print(f"{kind} round {r + 1}: {checked} checked queries; hunt {seconds:.2f} s = {ours:.0f}/s per "
                  f"connection ({sent / seconds:.0f} statements/s); bare asyncmy, the same {sent} statements, "
                  f"{bare_seconds:.2f} s = {floor:.0f}/s; ratio {ours / floor:.2f} (target >= 0.5)", flush=True)
        print(f"{kind}: median ratio {statistics.median(ratios):.2f} over {rounds} rounds", flush=True)
    finally:
        if box is not None:
            box.destroy()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--queries", type=int, default=6000)
    parser.add_argument("--tidb-queries", type=int, default=1500)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--skip-tidb", action="store_true")
    parser.add_argument("--mariadb-port", type=int, default=None, help="a MariaDB already running here")
    parser.add_argument("--tidb-port", type=int, default=None, help="a TiDB already running here")
    args = parser.parse_args()
    measure("mariadb", args.queries, args.seed, args.rounds, args.mariadb_port)
    if not args.skip_tidb:
        measure("tidb", args.tidb_queries, args.seed, args.rounds, args.tidb_port)


if __name__ == "__main__":
    main()
