"""One bench workload from 1, 2 and 4 worker processes and from 2 Ray actors, beside sysbench running the same
query, in one run: merged throughput and the client's CPU-seconds per 1,000 queries.

Usage: .venv/bin/python benchmarks/scale_out.py [--workload select-1|point-select] [--duration 10]
                                                [--connections 8] [--no-ray]

On a 2-core machine the server and the client share the cores, so more client processes only help while the
server has CPU to spare. To keep the server from being what limits the run, it is pinned to core 0 with
`taskset` (all its threads) and, by default, answers `SELECT 1` (`bench select-1`; sysbench runs the same query
from a Lua script), which costs it far less than a client spends on each query; one client process then
saturates a core of its own, and a second one can use what core 0 has left. The ratio processes-2 / processes-1
is what the target (>= 1.3) is judged by. With `--workload point-select` the server's own cost per query is
larger and it becomes the limit (see README).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from point_select import ensure_sysbench, sysbench

from test_rig.servers.sandbox import Sandbox, free_port

TEST_RIG = [sys.executable, "-m", "test_rig"]


def _pids_with(marker: str) -> list[int]:
    out = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                if marker.encode() in Path(f"/proc/{entry}/cmdline").read_bytes():
                    out.append(int(entry))
            except OSError:
                continue
    return out


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


def sysbench_select_one(port: int, connections: int, duration: float) -> float:
    exe = ensure_sysbench()
    with tempfile.NamedTemporaryFile("w", suffix=".lua") as script:
        script.write(SELECT_ONE_LUA)
        script.flush()
        out = subprocess.run([exe, script.name, "--mysql-host=127.0.0.1", f"--mysql-port={port}", "--mysql-user=root",
                              "--mysql-db=test", f"--threads={connections}", f"--time={int(duration)}", "run"],
                             check=True, capture_output=True, text=True).stdout
    m = re.search(r"queries:\s+\d+\s+\(([\d.]+) per sec\.\)", out)
    assert m, out
    return float(m.group(1))


def run_test_rig(workload: str, port: int, connections: int, duration: float, extra: list[str],
                 ray_marker: str | None, env: dict[str, str]) -> tuple[float, float]:
    """(qps, client CPU-seconds) of one bench run. `ray_marker` set: the workers were Ray actors."""
    with tempfile.NamedTemporaryFile(suffix=".json") as out:
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        subprocess.run([*TEST_RIG, "bench", workload, "-H", f"127.0.0.1:{port}", "--no-password-prompt",
                        "--connections", str(connections), "--duration", str(duration), "--json", out.name, *extra],
                       check=True, capture_output=True, env=env)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        data = json.loads(Path(out.name).read_text())
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if ray_marker:  # the actors are not our children: the driver's own CPU plus what each actor measured
        cpu += sum(w["cpu_s"] for w in data["workers"])
    return float(data["qps"]), cpu


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--duration", type=float, default=10)
    ap.add_argument("--connections", type=int, default=8)
    ap.add_argument("--no-ray", action="store_true")
    ap.add_argument("--workload", choices=["select-1", "point-select"], default="select-1")
    args = ap.parse_args()
    box = Sandbox(Path(tempfile.mkdtemp(prefix="bench-scale-")))
    st = box.start()
    subprocess.run(["taskset", "-a", "-pc", "0", str(st.pid)], check=True, capture_output=True)
    env = {**os.environ, "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0"}
    ray_temp = None
    rows: list[tuple[str, float, float]] = []
    try:
        subprocess.run(["mariadb", "-h127.0.0.1", f"-P{st.port}", "-uroot", "-e",
                        "CREATE DATABASE IF NOT EXISTS sbtest"], check=True, capture_output=True)
        if args.workload == "point-select":
            sysbench(st.port, args.connections, 2, 10_000, prepare=True)  # warm the table
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        if args.workload == "point-select":
            qps = sysbench(st.port, args.connections, args.duration, 10_000, prepare=False)
        else:
            qps = sysbench_select_one(st.port, args.connections, args.duration)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        rows.append(("sysbench", qps, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)))
        run_test_rig(args.workload, st.port, args.connections, 2, [], None, env)  # warm up (and the table)
        for processes in (1, 2, 4):
            qps, cpu = run_test_rig(args.workload, st.port, args.connections, args.duration,
                                    ["--processes", str(processes)], None, env)
            rows.append((f"test-rig --processes {processes}", qps, cpu))
        if not args.no_ray and shutil.which("ray", path=str(Path(sys.executable).parent)):
            ray_temp = tempfile.mkdtemp(prefix="rig-ray-", dir="/tmp")
            port = free_port()
            subprocess.run([str(Path(sys.executable).parent / "ray"), "start", "--head", "--node-ip-address=127.0.0.1",
                            f"--port={port}", "--num-cpus=2", "--include-dashboard=false", "--disable-usage-stats",
                            f"--temp-dir={ray_temp}", "--object-store-memory=100000000"], check=True,
                           capture_output=True, env=env)
            qps, cpu = run_test_rig(args.workload, st.port, args.connections, args.duration,
                                    ["--processes", "2", "--ray", f"127.0.0.1:{port}"], ray_temp, env)
            rows.append(("test-rig --ray (2 local actors)", qps, cpu))
    finally:
        if ray_temp:
            for pid in _pids_with(ray_temp) + _pids_with("ray::"):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, 9)
            shutil.rmtree(ray_temp, ignore_errors=True)
        box.destroy()
    print(f"{args.workload}; server pinned to core 0; {args.connections} connections; {args.duration:g} s each")
    print(f"{'client':34} {'q/s':>10} {'CPU-s per 1,000 queries':>24}")
    for name, qps, cpu in rows:
        print(f"{name:34} {qps:>10.0f} {cpu / (qps * args.duration) * 1000:>24.4f}")
    one = next(q for n, q, _ in rows if n.endswith("--processes 1"))
    two = next(q for n, q, _ in rows if n.endswith("--processes 2"))
    sb = rows[0][1]
    print(f"processes 2 / processes 1: {two / one:.2f} (target >= 1.3); processes 1 / sysbench: {one / sb:.2f}")


if __name__ == "__main__":
    main()
