"""test-rig hunt against a bare asyncmy loop sending the same statements, side by side in one run.

Usage: .venv/bin/python benchmarks/hunt.py [--duration 30] [--seed 7] [--rounds 2] [--skip-tidb] [--skip-mariadb]
    [--mariadb-oracle norec] [--tidb-oracle tlp-where] [--connections 2] [--mariadb-port P] [--tidb-port P]
Starts its own sandboxes (MariaDB, TiDB), or uses the servers already running on the ports given (sandboxes
started by test-rig, whose server process it finds for the CPU figures).

For each: `test-rig hunt --duration D --log FILE --reduce-time 0` (findings confirmed but not reduced: reduction
is measured apart, as the median seconds in a run's `reduction_seconds`), then the statements of that log
(setup, DML, DDL and every checked query, in the order each connection sent them) replayed by a bare asyncmy
loop (with the hunt's cursor, which sends no SHOW WARNINGS), one connection per hunt connection, rows fetched and
dropped, twice: in the same round trips as the hunt
sent them (the log's "-- N statements in one round trip" lines; the floor for the same work) and one statement
a round trip (as the hunt sent them before it batched). Printed: checked queries per second for the hunt and
for both loops (the same checks over the loop's time), the ratio hunt / bare in the same round trips (target
>= 0.5: generator, oracles and comparison together cost less than the client's own time), statements per
second, and CPU: the client's (the hunt process's user+sys; the loop's own) and the server's (its process's
user+sys from /proc) per checked query, because the 2-core machine is shared and wall rates follow its load.

Beside SQLancer (issue 19: TiDB TLP ~600/s, MariaDB NoREC ~3,400/s, 2 threads): its queries/s counts oracle
checks that completed (ProviderAdapter counts one after each oracle.check() that was not ignored), as checked
queries/s here do; statements/s are printed too, for the server's side of the cost."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

from test_rig.servers.sandbox import Sandbox, registered

TEST_RIG = [sys.executable, "-m", "test_rig"]
ROUND_TRIP = re.compile(r"^-- (?:w(\d+): )?(\d+) statements in one round trip$")
WORKER = re.compile(r"^/\* w(\d+) \*/ ")


def server_cpu(pid: int | None) -> float:
    """The server process's user+sys seconds so far (0 when it is not known)."""
    if pid is None:
        return 0.0
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def hunt(port: int, oracle: str, connections: int, duration: float, seed: int, work: Path, pid: int | None
         ) -> dict[str, Any]:
    log, result = work / f"hunt-{port}-{seed}.sql", work / f"hunt-{port}-{seed}.json"
    env = {"TIDB_HOST": f"127.0.0.1:{port}", "TIDB_USER": "root", "TIDB_PASSWORD": "", "PATH": "/usr/bin:/bin"}
    client, server = children_cpu(), server_cpu(pid)
    subprocess.run([*TEST_RIG, "hunt", "--duration", str(duration), "--seed", str(seed), "--oracle", oracle,
                    "--connections", str(connections), "--log", str(log), "--json", str(result),
                    "--reduce-time", "0"], env=env, capture_output=True, check=False)
    data = json.loads(result.read_text())
    return {"seconds": float(data["seconds"]), "checked": int(data["checked_total"]), "log": log,
            "client_cpu": children_cpu() - client, "server_cpu": server_cpu(pid) - server,
            "candidates": data["candidates"], "statements": int(data["statements"])}


def round_trips(log: Path) -> dict[int, list[list[str]]]:
    """Each worker's statements from a hunt log, grouped as they were sent (one list per round trip)."""
    trips: dict[int, list[list[str]]] = defaultdict(list)
    left: dict[int, int] = defaultdict(int)  # statements still to come of the worker's open round trip
    opening: dict[int, bool] = defaultdict(bool)
    for chunk in log.read_text().split(";\n"):
        lines = chunk.split("\n")
        while lines and lines[0].startswith("-- "):
            m = ROUND_TRIP.match(lines.pop(0))
            if m is not None:
                worker = int(m.group(1) or 0)
                left[worker], opening[worker] = int(m.group(2)), True
        sql = "\n".join(lines)
        if not sql.strip():
            continue
        m = WORKER.match(sql)
        worker = int(m.group(1)) if m is not None else 0
        sql = sql[m.end():] if m is not None else sql
        if left[worker] > 0 and not opening[worker]:
            trips[worker][-1].append(sql)
        else:
            trips[worker].append([sql])
        opening[worker] = False
        left[worker] = max(0, left[worker] - 1)
    return trips


async def bare(port: int, trips: dict[int, list[list[str]]], batched: bool, pid: int | None
               ) -> tuple[float, float, float]:
    """The floor: each worker's statements on a connection of its own, nothing else (errors are ignored, and
    the rest of a round trip is sent on after one, as the hunt did). (seconds, client CPU, server CPU)."""
    import asyncmy

    from test_rig.hunt.batch import quiet_cursor

    async def one(groups: list[list[str]]) -> None:
        conn = await asyncmy.connect(host="127.0.0.1", port=port, user="root", password="", autocommit=True)
        cur = conn.cursor(quiet_cursor())  # as the hunt's: no SHOW WARNINGS after a statement that left one
        for group in groups if batched else [[s] for g in groups for s in g]:
            left = group
            while left:
                done = 0
                try:
                    await cur.execute(";".join(left))
                    await cur.fetchall()
                    done = 1
                    while await cur.nextset():
                        await cur.fetchall()
                        done += 1
                    left = []
                except Exception:  # the hunt met the same errors and went on
                    left = left[done + 1:]
        conn.close()

    client, server, started = time.process_time(), server_cpu(pid), time.perf_counter()
    await asyncio.gather(*(one(g) for g in trips.values()))
    elapsed = time.perf_counter() - started
    client, server = time.process_time() - client, server_cpu(pid) - server
    conn = await asyncmy.connect(host="127.0.0.1", port=port, user="root", password="", autocommit=True)
    cur = conn.cursor()
    for groups in trips.values():
        for group in groups:
            for sql in group:
                if sql.startswith("CREATE DATABASE "):
                    await cur.execute("DROP DATABASE IF EXISTS " + sql.split()[2])
    conn.close()
    return elapsed, client, server


def sandbox_pid(port: int) -> int | None:
    directory = registered(port)
    try:
        return int(json.loads((directory / "sandbox.json").read_text())["pid"]) if directory is not None else None
    except (OSError, ValueError, KeyError):
        return None


def measure(kind: str, oracle: str, connections: int, duration: float, seed: int, rounds: int,
            port: int | None = None) -> None:
    box = Sandbox(Path(tempfile.mkdtemp(prefix=f"bench-hunt-{kind}-")), server=kind) if port is None else None
    state = box.start() if box is not None else None
    port = state.port if state is not None else port
    assert port is not None
    pid = state.pid if state is not None else sandbox_pid(port)
    try:
        work = Path(tempfile.mkdtemp(prefix="bench-hunt-"))
        ratios: list[float] = []
        for r in range(rounds):
            h = hunt(port, oracle, connections, duration, seed + r, work, pid)
            trips = round_trips(h["log"])
            sent = sum(len(g) for groups in trips.values() for g in groups)
            trip_count = sum(len(groups) for groups in trips.values())
            b_seconds, b_client, b_server = asyncio.run(bare(port, trips, True, pid))
            s_seconds, s_client, s_server = asyncio.run(bare(port, trips, False, pid))
            n = h["checked"]
            ours, floor, single = n / h["seconds"], n / b_seconds, n / s_seconds
            ratios.append(ours / floor)
            us = 1e6 / n
            print(f"{kind} {oracle}, {connections} connection(s), round {r + 1}: {n} checked queries, {sent} "
                  f"statements in {trip_count} round trips, {h['candidates']} candidates\n"
                  f"  hunt {h['seconds']:.1f} s: {ours:.0f} checked/s ({sent / h['seconds']:.0f} statements/s); "
                  f"CPU per checked query: client {h['client_cpu'] * us:.0f} us, server {h['server_cpu'] * us:.0f} us"
                  f"\n  bare asyncmy, the same round trips: {b_seconds:.1f} s = {floor:.0f} checked/s "
                  f"({sent / b_seconds:.0f} statements/s); client {b_client * us:.0f} us, server "
                  f"{b_server * us:.0f} us\n"
                  f"  bare asyncmy, one statement a round trip: {s_seconds:.1f} s = {single:.0f} checked/s "
                  f"({sent / s_seconds:.0f} statements/s); client {s_client * us:.0f} us, server "
                  f"{s_server * us:.0f} us\n"
                  f"  ratio hunt / bare (same round trips) {ours / floor:.2f} (target >= 0.5); hunt / one a round "
                  f"trip {ours / single:.2f}", flush=True)
        print(f"{kind}: median ratio {statistics.median(ratios):.2f} over {rounds} rounds", flush=True)
    finally:
        if box is not None:
            box.destroy()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--duration", type=float, default=30.0)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--connections", type=int, default=2, help="as SQLancer's figures (2 threads)")
    parser.add_argument("--mariadb-oracle", default="norec", help="SQLancer's MariaDB figure is NoREC's")
    parser.add_argument("--tidb-oracle", default="tlp-where", help="SQLancer's TiDB figure is TLP's")
    parser.add_argument("--skip-mariadb", action="store_true")
    parser.add_argument("--skip-tidb", action="store_true")
    parser.add_argument("--mariadb-port", type=int, default=None, help="a MariaDB already running here")
    parser.add_argument("--tidb-port", type=int, default=None, help="a TiDB already running here")
    args = parser.parse_args()
    if not args.skip_mariadb:
        measure("mariadb", args.mariadb_oracle, args.connections, args.duration, args.seed, args.rounds,
                args.mariadb_port)
    if not args.skip_tidb:
        measure("tidb", args.tidb_oracle, args.connections, args.duration, args.seed, args.rounds, args.tidb_port)


if __name__ == "__main__":
    main()
