"""Client CPU per query, side by side in one run: sysbench, a bare asyncmy loop, test-rig bench, its fast path.

Usage: .venv/bin/python benchmarks/client_cpu.py [--duration 8] [--connections 8] [--rounds 3]
Starts its own sandbox MariaDB and runs `SELECT 1` and a point select (sysbench's oltp_point_select, text
protocol) on 8 connections, closed loop, each client in a process of its own, the clients interleaved round by
round. What is compared is the client's CPU time (user + sys) per query, not throughput: on a shared, loaded
machine the q/s of one run say little, the CPU a query costs the client is stable. Prints the medians of the
rounds and each client's ratio to sysbench (target for test-rig: <= 1.2).

sysbench's CPU is its whole process (start and report included, about 1 % of a run); the Python clients measure
the timed load only (imports, connecting and loading the table are not a query's cost).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
TABLE_SIZE = 10_000
WORKLOADS = ("select-1", "point-select")
CLIENTS = ("sysbench", "bare asyncmy", "test-rig bench", "fast path")

SELECT_ONE_LUA = """
function thread_init()
  drv = sysbench.sql.driver()
  con = drv:connect()
end
function event()
  con:query("SELECT 1")
end
function thread_done()
  con:disconnect()
end
"""


def _cpu_self() -> tuple[float, float]:
    """User and system CPU seconds of this process so far."""
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime, r.ru_stime


def _since(before: tuple[float, float]) -> tuple[float, float]:
    now = _cpu_self()
    return now[0] - before[0], now[1] - before[1]


# --------------------------------------------------------------------------- the clients, each in its own process
async def _bare(port: int, workload: str, connections: int, duration: float) -> tuple[int, tuple[float, float]]:
    """asyncmy on uvloop, one cursor per connection, nothing else: the driver's own cost."""
    import random

    import asyncmy

    from test_rig.load.bench import TABLE

    conns = [await asyncmy.connect(host="127.0.0.1", port=port, user="root", password="", database="test",
                                   autocommit=True) for _ in range(connections)]
    count = 0
    cpu = _cpu_self()
    end = time.perf_counter() + duration

    async def worker(conn: Any, seed: int) -> None:
        nonlocal count
        rng = random.Random(seed)
        cur = conn.cursor()
        while time.perf_counter() < end:
            if workload == "select-1":
                await cur.execute("SELECT 1")
            else:
                await cur.execute(f"SELECT c FROM {TABLE} WHERE id=%s", (rng.randint(1, TABLE_SIZE),))
            await cur.fetchall()
            count += 1

    await asyncio.gather(*(worker(c, i) for i, c in enumerate(conns)))
    used = _since(cpu)
    for c in conns:
        c.close()
    return count, used


async def _rig(port: int, workload: str, connections: int, duration: float,
               direct: bool) -> tuple[int, tuple[float, float]]:
    """test-rig's run_bench (what `test-rig bench` runs), or the fast path's loop called directly."""
    from test_rig.coordinator import Coordinator
    from test_rig.db import Target
    from test_rig.load.bench import WORKLOADS as BENCH_WORKLOADS
    from test_rig.load.bench import run_bench
    from test_rig.load.fast import FastStatement, run_statement
    from test_rig.resilience import ResilientConnectionManager, RetryConfig, create_db_circuit_breaker_config

    target = Target("bench", "127.0.0.1", port, "root", "", "test", 10)
    manager = ResilientConnectionManager(None, create_db_circuit_breaker_config(), RetryConfig(max_attempts=3))
    if direct:
        op = BENCH_WORKLOADS[workload](TABLE_SIZE)
        statement = op if isinstance(op, FastStatement) else (
            FastStatement("SELECT 1") if workload == "select-1" else
            FastStatement("SELECT c FROM `rig_sbtest1` WHERE id=%s", range(1, TABLE_SIZE + 1)))
        coordinator = Coordinator([target] * connections)
        await coordinator.open(manager=manager)
        cpu = _cpu_self()
        run = await run_statement(coordinator, statement, duration=duration, manager=manager)
        used = _since(cpu)
        await coordinator.close()
        return run.operations, used
    marks: list[tuple[float, float]] = []
    result = await run_bench(target, workload=workload, connections=connections, duration=duration,
                             table_size=TABLE_SIZE, manager=manager, on_load_start=lambda _n: marks.append(_cpu_self()))
    return result.run.operations, _since(marks[0])


def child(args: argparse.Namespace) -> None:
    from test_rig.environment import run_async

    async def main() -> tuple[int, tuple[float, float]]:
        if args.child == "bare asyncmy":
            return await _bare(args.port, args.workload, args.connections, args.duration)
        return await _rig(args.port, args.workload, args.connections, args.duration, args.child == "fast path")

    ops, (user, system) = run_async(main)
    print(json.dumps({"ops": ops, "user": user, "sys": system}))


# --------------------------------------------------------------------------- the parent
def sysbench(port: int, workload: str, connections: int, duration: float,
             lua: Path) -> tuple[int, tuple[float, float]]:
    exe = shutil.which("sysbench")
    if exe is None:
        raise SystemExit("sysbench is not installed (apt-get install sysbench)")
    script = str(lua) if workload == "select-1" else "oltp_point_select"
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    out = subprocess.run([exe, script, "--mysql-host=127.0.0.1", f"--mysql-port={port}", "--mysql-user=root",
                          "--mysql-db=sbtest", "--tables=1", f"--table-size={TABLE_SIZE}", "--db-ps-mode=disable",
                          f"--threads={connections}", f"--time={int(duration)}", "run"],
                         check=True, capture_output=True, text=True).stdout
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    m = re.search(r"queries:\s+(\d+)", out)
    assert m, out
    return int(m.group(1)), (after.ru_utime - before.ru_utime, after.ru_stime - before.ru_stime)


def python_client(name: str, port: int, workload: str, connections: int,
                  duration: float) -> tuple[int, tuple[float, float]]:
    out = subprocess.run([sys.executable, __file__, "--child", name, "--port", str(port), "--workload", workload,
                          "--connections", str(connections), "--duration", str(duration)],
                         check=True, capture_output=True, text=True, cwd=ROOT).stdout
    data = json.loads(out.strip().splitlines()[-1])
    return int(data["ops"]), (float(data["user"]), float(data["sys"]))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--duration", type=float, default=8)
    ap.add_argument("--connections", type=int, default=8)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--workloads", default=",".join(WORKLOADS))
    ap.add_argument("--clients", default=",".join(CLIENTS))
    ap.add_argument("--child", help=argparse.SUPPRESS)
    ap.add_argument("--port", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--workload", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(args)
        return
    from test_rig.servers.sandbox import Sandbox

    workloads = args.workloads.split(",")
    clients = args.clients.split(",")
    box = Sandbox(Path(tempfile.mkdtemp(prefix="cpu-sandbox-")))
    st = box.start()
    scratch = tempfile.TemporaryDirectory(prefix="cpu-lua-")
    lua = Path(scratch.name) / "select_one.lua"
    lua.write_text(SELECT_ONE_LUA)
    try:
        subprocess.run(["mariadb", "-h127.0.0.1", f"-P{st.port}", "-uroot", "-e", "CREATE DATABASE sbtest"],
                       check=True)
        subprocess.run([shutil.which("sysbench") or "sysbench", "oltp_point_select", "--mysql-host=127.0.0.1",
                        f"--mysql-port={st.port}", "--mysql-user=root", "--mysql-db=sbtest", "--tables=1",
                        f"--table-size={TABLE_SIZE}", "prepare"], check=True, capture_output=True)
        python_client("test-rig bench", st.port, "point-select", args.connections, 1)  # loads our table
        per_query: dict[tuple[str, str], list[float]] = {}
        user_sys: dict[tuple[str, str], list[tuple[float, float]]] = {}
        qps: dict[tuple[str, str], list[float]] = {}
        for _ in range(args.rounds):
            for workload in workloads:
                for name in clients:
                    if name == "sysbench":
                        ops, cpu = sysbench(st.port, workload, args.connections, args.duration, lua)
                    else:
                        ops, cpu = python_client(name, st.port, workload, args.connections, args.duration)
                    per_query.setdefault((name, workload), []).append(sum(cpu) / ops * 1e6)
                    user_sys.setdefault((name, workload), []).append((cpu[0] / ops * 1e6, cpu[1] / ops * 1e6))
                    qps.setdefault((name, workload), []).append(ops / args.duration)
        print(f"client CPU (user+sys) per query, {args.connections} connections, {args.duration:g} s x "
              f"{args.rounds} interleaved rounds, medians:")
        print(f"  {'client':<16}" + "".join(f"{w + ' µs/q':>22}{'x sysbench':>12}" for w in workloads))
        for name in clients:
            line = f"  {name:<16}"
            for w in workloads:
                mine = statistics.median(per_query[(name, w)])
                peer = statistics.median(per_query[("sysbench", w)]) if ("sysbench", w) in per_query else None
                line += f"{mine:>22.1f}{(mine / peer if peer else float('nan')):>12.2f}"
            print(line)
        print("  user / sys µs per query (medians): " + "; ".join(
            f"{n} {w} {statistics.median(u for u, _ in v):.1f} / {statistics.median(s for _, s in v):.1f}"
            for (n, w), v in user_sys.items()))
        print("  rounds (µs/q): " + "; ".join(f"{n} {w}: " + ", ".join(f"{x:.1f}" for x in v)
                                              for (n, w), v in per_query.items()))
        print("  q/s (unreliable on a shared machine, medians): " + "; ".join(
            f"{n} {w} {statistics.median(v):.0f}" for (n, w), v in qps.items()))
    finally:
        box.destroy()
        scratch.cleanup()


if __name__ == "__main__":
    main()
