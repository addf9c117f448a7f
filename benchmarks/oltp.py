"""oltp_read_write side by side in one run: sysbench 1.0 and `test-rig bench oltp-read-write`, same tables.

Usage: .venv/bin/python benchmarks/oltp.py [--duration 10] [--connections 8] [--rounds 3] [--tables 2]
Starts its own sandbox MariaDB (installs sysbench with apt when missing), loads sbtest1..N with
`test-rig bench prepare` (sysbench runs on our tables: the schema is its own), then runs, interleaved, sysbench with
its default prepared statements (--db-ps-mode=auto), sysbench over the text protocol (--db-ps-mode=disable, what
test-rig sends) and test-rig, and prints the medians and the ratios the targets are judged by: transactions/s
test-rig / sysbench (target >= 0.9) and client CPU per transaction test-rig / sysbench (target <= 1.2). Each round
begins with the next client in turn (a run leaves the server busier for the one after it).

Client CPU is the client process's user + system time (all its threads): sysbench's whole run; test-rig's from the
moment it prints that the load started (its imports and connecting are not the load) to its exit.

--variant NAME=SRC (repeatable) adds another test-rig to the same interleaved rounds: the one whose package is in
the directory SRC (e.g. `git worktree add /tmp/base HEAD~1` and `--variant base=/tmp/base/src`), so that what a
change gained is measured side by side with the peers, under the same load. --ablate MODE (repeatable: no-framing,
no-range-framing, no-draws) adds test-rig with that part of its per-statement work taken out (_oltp_ablation.py):
what is left to gain there, measured the same way. --processes P (repeatable) adds `test-rig ... --processes P`
(the 8 connections split over P worker processes, each its own event loop): the workers' start-up (imports,
connecting) falls inside the measured load, so their CPU per transaction is counted high, not low.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from _oltp_ablation import MODES
from _side_by_side import TEST_RIG, children_cpu, children_cpu_split, medians, parser, test_rig_run

from test_rig.servers.sandbox import Sandbox

ABLATION = Path(__file__).with_name("_oltp_ablation.py")


def ensure_sysbench() -> str:
    found = shutil.which("sysbench")
    if found:
        return found
    subprocess.run(["apt-get", "install", "-y", "-qq", "sysbench"], check=True, capture_output=True)
    return shutil.which("sysbench") or "sysbench"


def sysbench(port: int, args: argparse.Namespace, ps_mode: str,
             split: list[tuple[float, float]]) -> tuple[float, float]:
    """(transactions/s, client CPU seconds per transaction) of one sysbench run; its user and system seconds per
    transaction appended to `split`."""
    cmd = [ensure_sysbench(), "oltp_read_write", "--mysql-host=127.0.0.1", f"--mysql-port={port}",
           "--mysql-user=root", "--mysql-db=sbtest", f"--tables={args.tables}", f"--table-size={args.table_size}",
           f"--db-ps-mode={ps_mode}", f"--threads={args.connections}", f"--time={int(args.duration)}", "run"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    out, err = proc.communicate()
    if proc.returncode:
        raise SystemExit(f"sysbench failed: {err or out}")
    m = re.search(r"transactions:\s+(\d+)\s+\(([\d.]+) per sec\.\)", out)
    assert m, out
    user, system = children_cpu_split()
    n = int(m.group(1))
    split.append((user / n, system / n))
    return float(m.group(2)), (user + system) / n


def test_rig(port: int, args: argparse.Namespace, split: list[tuple[float, float]],
             source: str | None = None, ablate: str | None = None, processes: int = 1) -> tuple[float, float]:
    """(transactions/s, client CPU seconds per transaction during the load) of one test-rig run; `source`: the
    directory its package is imported from (PYTHONPATH), instead of this checkout's; `ablate`: a mode of
    _oltp_ablation.py (that part of the work taken out); `processes`: its --processes."""
    before = os.environ.get("PYTHONPATH")
    if source is not None:
        os.environ["PYTHONPATH"] = source
    try:
        return test_rig_run(["bench", "oltp-read-write", "-H", f"127.0.0.1:{port}", "-u", "root",
                             "--no-password-prompt", "-d", "sbtest", "--tables", str(args.tables), "--table-size",
                             str(args.table_size), "--connections", str(args.connections), "--duration",
                             str(args.duration), *(["--processes", str(processes)] if processes > 1 else [])],
                            "tps", "transactions", split,
                            None if ablate is None else [sys.executable, str(ABLATION), ablate])
    finally:
        if before is None:
            os.environ.pop("PYTHONPATH", None)
        else:
            os.environ["PYTHONPATH"] = before


def variants(specs: list[str]) -> dict[str, str]:
    """--variant NAME=SRC options as {"test-rig NAME": SRC}; SystemExit with one sentence for a malformed one."""
    out = {}
    for spec in specs:
        name, _, source = spec.partition("=")
        if not name or not source or not (Path(source) / "test_rig" / "__init__.py").is_file():
            raise SystemExit(f"--variant {spec}: give NAME=SRC, SRC a directory that holds the test_rig package.")
        out[f"test-rig {name}"] = str(Path(source).resolve())
    return out


def main() -> None:
    ap = parser(__doc__)
    ap.add_argument("--tables", type=int, default=2)
    ap.add_argument("--port", type=int, help="use the MariaDB on 127.0.0.1:PORT, whose database sbtest already holds "
                                             "the tables (bench prepare), instead of a sandbox of its own")
    ap.add_argument("--text-only", action="store_true", help="leave out sysbench with prepared statements")
    ap.add_argument("--variant", action="append", default=[], metavar="NAME=SRC",
                    help="also run the test-rig whose package is in SRC, in the same rounds (repeatable)")
    ap.add_argument("--ablate", action="append", default=[], choices=MODES,
                    help="also run test-rig with this part of its per-statement work taken out, to see what it "
                         "costs (_oltp_ablation.py; repeatable)")
    ap.add_argument("--processes", action="append", default=[], type=int, metavar="P",
                    help="also run test-rig with --processes P, in the same rounds (repeatable)")
    args = ap.parse_args()
    if any(p < 2 for p in args.processes):
        raise SystemExit("--processes: give 2 or more (one process is the plain test-rig run).")
    split_runs = {f"test-rig --processes {p}": p for p in args.processes}
    others = variants(args.variant)
    ablations = {f"test-rig {mode}": mode for mode in args.ablate}
    ensure_sysbench()
    box = None if args.port else Sandbox(Path(tempfile.mkdtemp(prefix="bench-oltp-")))
    port = args.port or box.start().port  # type: ignore[union-attr]
    try:
        if box is not None:
            subprocess.run(["mariadb", "-h127.0.0.1", f"-P{port}", "-uroot", "-e", "CREATE DATABASE sbtest"],
                           check=True)
            subprocess.run([*TEST_RIG, "bench", "prepare", "-H", f"127.0.0.1:{port}", "-u", "root",
                            "--no-password-prompt", "-d", "sbtest", "--tables", str(args.tables), "--table-size",
                            str(args.table_size)], check=True, capture_output=True)
        children_cpu()  # from here on, only the runs
        peers = ("sysbench (text protocol)",) if args.text_only else (
            "sysbench (prepared statements)", "sysbench (text protocol)")
        names = (*peers, *others, *ablations, *split_runs, "test-rig")
        runs: dict[str, list[tuple[float, float]]] = {name: [] for name in names}
        splits: dict[str, list[tuple[float, float]]] = {name: [] for name in names}
        loads: list[float] = []
        for round_no in range(args.rounds):
            loads.append(os.getloadavg()[0])
            # Each round begins with the next client: a run leaves the server busy (InnoDB's purge and flushing of
            # what its writes left) for the one after it, and in a fixed order the last client always paid for that.
            turn = round_no % len(names)
            for name in (*names[turn:], *names[:turn]):
                if name.startswith("test-rig"):
                    runs[name].append(test_rig(port, args, splits[name], others.get(name), ablations.get(name),
                                               split_runs.get(name, 1)))
                else:
                    runs[name].append(sysbench(port, args, "auto" if "prepared" in name else "disable", splits[name]))
        print(f"oltp_read_write, {args.connections} connections, {args.tables} tables x {args.table_size} rows, "
              f"{args.duration:g} s x {args.rounds} rounds, interleaved, server and client on this machine "
              f"({os.cpu_count()} cores), 1-minute load average at each round's start: "
              + ", ".join(f"{load:.1f}" for load in loads) + f", at the end {os.getloadavg()[0]:.1f}:")
        median = {}
        for name, values in runs.items():
            median[name] = tps, cpu = medians(values)
            user, system = medians(splits[name])
            print(f"  {name:<31} median {tps:8.1f} tps  {cpu * 1e6:7.0f} us client CPU per transaction (user "
                  f"{user * 1e6:.0f}, sys {system * 1e6:.0f})  rounds: "
                  + ", ".join(f"{t:.0f} tps/{c * 1e6:.0f} us" for t, c in values))
        for ours in (*others, *ablations, *split_runs, "test-rig"):
            for peer in peers:
                tps, cpu = median[peer]
                # Each round's own ratio too: a round's two runs follow each other under the same load, and the
                # load swings from one round to the next more than the tools differ (sysbench alone: 483-630 us a
                # transaction in one set of rounds).
                paired = [(a[0] / b[0], a[1] / b[1]) for a, b in zip(runs[ours], runs[peer], strict=True)]
                print(f"{ours} / {peer}: transactions/s {median[ours][0] / tps:.2f} (target >= 0.9), client CPU "
                      f"per transaction {median[ours][1] / cpu:.2f} (target <= 1.2); round by round: "
                      + ", ".join(f"{t:.2f}/{c:.2f}" for t, c in paired)
                      + f", medians {statistics.median(t for t, _ in paired):.2f} and "
                        f"{statistics.median(c for _, c in paired):.2f}")
    finally:
        if box is not None:
            box.destroy()


if __name__ == "__main__":
    main()
