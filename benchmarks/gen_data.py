"""`test-rig gen-data`: time to write 1,000,000 rows, and to load them, side by side with peers.

Generation: test-rig's writer against Python's csv module writing rows of the same shape (what one
writes by hand). Loading: `gen-data --load` (LOAD DATA LOCAL INFILE through asyncmy) against the
`mariadb` command-line client loading the same file with the same statement, on a private sandbox.

Usage: .venv/bin/python benchmarks/gen_data.py [--rows 1000000]
Target: 1,000,000 rows generated in under 10 s; the load reproduces the row count exactly.
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from test_rig.servers.sandbox import Sandbox

ROOT = Path(__file__).resolve().parents[1]
CLI = [sys.executable, "-m", "test_rig"]


def peer_generate(path: Path, rows: int) -> None:
    rng = random.Random(0)
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["id", "k", "name", "amount", "created", "note"])
        for i in range(1, rows + 1):
            w.writerow([i, rng.randint(0, 32767), f"name-{i % 9973}", f"{rng.randint(0, 99999999) / 100:.2f}",
                        f"2024-01-{rng.randint(1, 28):02d} 12:00:00", f"note {rng.getrandbits(20)}"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        started = time.perf_counter()
        r = subprocess.run([*CLI, "gen-data", "--rows", str(args.rows), "-o", str(d / "rig.csv")], capture_output=True,
                           text=True, check=True)
        ours = time.perf_counter() - started
        started = time.perf_counter()
        peer_generate(d / "peer.csv", args.rows)
        peer = time.perf_counter() - started
        print(f"generate {args.rows} rows: test-rig gen-data {ours:.2f} s (including interpreter start), "
              f"csv.writer {peer:.2f} s; ratio test-rig/peer = {ours / peer:.2f}; target < 10 s: "
              f"{'met' if ours < 10 else 'NOT met'}")
        box = Sandbox(d / "box")
        st = box.start()
        env = {"TIDB_HOST": f"127.0.0.1:{st.port}", "TIDB_USER": "root", "TIDB_PASSWORD": "", "TIDB_DATABASE": "test",
               "PATH": "/usr/bin:/bin"}
        try:
            started = time.perf_counter()
            r = subprocess.run([*CLI, "gen-data", "--rows", str(args.rows), "-o", str(d / "load.csv"), "--load",
                                "--no-password-prompt", "--json", str(d / "load.json")], capture_output=True,
                               text=True, env=env, check=False)
            print(r.stdout.strip().splitlines()[-1])
            ours_load = json.loads((d / "load.json").read_text())["loaded"]["seconds"]
            client = shutil.which("mariadb") or shutil.which("mysql")
            if client is None:
                print("no mariadb client on PATH: no peer for the load")
                return
            sql = ("TRUNCATE TABLE rig_gen; LOAD DATA LOCAL INFILE '" + str(d / "load.csv") + "' INTO TABLE rig_gen "
                   "FIELDS TERMINATED BY ',' LINES TERMINATED BY '\\n' IGNORE 1 LINES "
                   "(id, k, name, amount, created, note); SELECT COUNT(*) FROM rig_gen;")
            started = time.perf_counter()
            peer_run = subprocess.run([client, "--local-infile=1", "-h", "127.0.0.1", "-P", str(st.port), "-u", "root",
                                       "test", "-N", "-e", sql], capture_output=True, text=True, check=True)
            peer_load = time.perf_counter() - started
            print(f"load {args.rows} rows: test-rig {ours_load:.2f} s (table created, loaded, counted); mariadb "
                  f"client {peer_load:.2f} s (truncate, load, count: {peer_run.stdout.strip()} rows); ratio "
                  f"test-rig/peer = {ours_load / peer_load:.2f}")
        finally:
            box.destroy()


if __name__ == "__main__":
    main()
