"""oltp_read_write side by side in one run: sysbench 1.0 and `test-rig bench oltp-read-write`, same tables.

Usage: .venv/bin/python benchmarks/oltp.py [--duration 10] [--connections 8] [--rounds 3] [--tables 2]
Starts its own sandbox MariaDB (installs sysbench with apt when missing), loads sbtest1..N with
`test-rig bench prepare` (sysbench runs on our tables: the schema is its own), then runs, interleaved, sysbench with
its default prepared statements (--db-ps-mode=auto), sysbench over the text protocol (--db-ps-mode=disable, what
test-rig sends) and test-rig, and prints the medians and the ratios the targets are judged by: transactions/s
test-rig / sysbench (target >= 0.9) and client CPU per transaction test-rig / sysbench (target <= 1.2).

Client CPU is the client process's user + system time (all its threads): sysbench's whole run; test-rig's from the
moment it prints that the load started (its imports and connecting are not the load) to its exit.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from test_rig.servers.sandbox import Sandbox

TEST_RIG = [sys.executable, "-m", "test_rig"]


def ensure_sysbench() -> str:
    found = shutil.which("sysbench")
    if found:
        return found
    subprocess.run(["apt-get", "install", "-y", "-qq", "sysbench"], check=True, capture_output=True)
    return shutil.which("sysbench") or "sysbench"


def _cpu_of(pid: int) -> float:
    """user + system seconds of a live process so far, from /proc (all its threads)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def sysbench(port: int, args: argparse.Namespace, ps_mode: str) -> tuple[float, float]:
    """(transactions/s, client CPU seconds per transaction) of one sysbench run."""
    cmd = [ensure_sysbench(), "oltp_read_write", "--mysql-host=127.0.0.1", f"--mysql-port={port}",
           "--mysql-user=root", "--mysql-db=sbtest", f"--tables={args.tables}", f"--table-size={args.table_size}",
           f"--db-ps-mode={ps_mode}", f"--threads={args.connections}", f"--time={int(args.duration)}", "run"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    out, err = proc.communicate()
    if proc.returncode:
        raise SystemExit(f"sysbench failed: {err or out}")
    m = re.search(r"transactions:\s+(\d+)\s+\(([\d.]+) per sec\.\)", out)
    assert m, out
    cpu = children_cpu()
    return float(m.group(2)), cpu / int(m.group(1))


_CHILDREN = [0.0]


def children_cpu() -> float:
    """CPU seconds of the child processes reaped since the previous call (this process's children's usage)."""
    import resource

    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    total = usage.ru_utime + usage.ru_stime
    spent, _CHILDREN[0] = total - _CHILDREN[0], total
    return spent


def test_rig(port: int, args: argparse.Namespace) -> tuple[float, float]:
    """(transactions/s, client CPU seconds per transaction during the load) of one test-rig run."""
    with tempfile.NamedTemporaryFile(suffix=".json") as out:
        proc = subprocess.Popen([*TEST_RIG, "bench", "oltp-read-write", "-H", f"127.0.0.1:{port}", "-u", "root",
                                 "--no-password-prompt", "-d", "sbtest", "--tables", str(args.tables),
                                 "--table-size", str(args.table_size), "--connections", str(args.connections),
                                 "--duration", str(args.duration), "--json", out.name],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        assert proc.stdout is not None
        at_start = None
        for line in proc.stdout:
            if line.startswith("load started") and at_start is None:
                at_start = _cpu_of(proc.pid)
        proc.wait()
        total = children_cpu()
        if proc.returncode or at_start is None:
            raise SystemExit(f"test-rig failed ({proc.returncode}): {proc.stderr.read() if proc.stderr else ''}")
        data = json.loads(Path(out.name).read_text())
        return float(data["tps"]), (total - at_start) / int(data["transactions"])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--duration", type=float, default=10)
    ap.add_argument("--connections", type=int, default=8)
    ap.add_argument("--tables", type=int, default=2)
    ap.add_argument("--table-size", type=int, default=10_000)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    ensure_sysbench()
    box = Sandbox(Path(tempfile.mkdtemp(prefix="bench-oltp-")))
    st = box.start()
    try:
        subprocess.run(["mariadb", "-h127.0.0.1", f"-P{st.port}", "-uroot", "-e", "CREATE DATABASE sbtest"],
                       check=True)
        subprocess.run([*TEST_RIG, "bench", "prepare", "-H", f"127.0.0.1:{st.port}", "-u", "root",
                        "--no-password-prompt", "-d", "sbtest", "--tables", str(args.tables), "--table-size",
                        str(args.table_size)], check=True, capture_output=True)
        children_cpu()  # from here on, only the runs
        runs: dict[str, list[tuple[float, float]]] = {"sysbench (prepared statements)": [],
                                                     "sysbench (text protocol)": [], "test-rig": []}
        for _ in range(args.rounds):
            runs["sysbench (prepared statements)"].append(sysbench(st.port, args, "auto"))
            runs["sysbench (text protocol)"].append(sysbench(st.port, args, "disable"))
            runs["test-rig"].append(test_rig(st.port, args))
        print(f"oltp_read_write, {args.connections} connections, {args.tables} tables x {args.table_size} rows, "
              f"{args.duration:g} s x {args.rounds} rounds, interleaved, server and client on this machine "
              f"({os.cpu_count()} cores):")
        median = {}
        for name, values in runs.items():
            tps = statistics.median(v[0] for v in values)
            cpu = statistics.median(v[1] for v in values)
            median[name] = (tps, cpu)
            print(f"  {name:<31} median {tps:8.1f} tps  {cpu * 1e6:7.0f} us client CPU per transaction  rounds: "
                  + ", ".join(f"{t:.0f} tps/{c * 1e6:.0f} us" for t, c in values))
        ours = median["test-rig"]
        for peer in ("sysbench (prepared statements)", "sysbench (text protocol)"):
            tps, cpu = median[peer]
            print(f"test-rig / {peer}: transactions/s {ours[0] / tps:.2f} (target >= 0.9), client CPU per "
                  f"transaction {ours[1] / cpu:.2f} (target <= 1.2)")
    finally:
        box.destroy()


if __name__ == "__main__":
    main()
