"""`test-rig elle list-append` throughput against a bare asyncmy loop running the same transactions.

Both run N connections for the same time on a private sandbox, at read-committed (few aborts, so the
SQL is the measure): BEGIN, 1-4 micro-operations (an upsert-append or a read of a key), COMMIT. The
bare loop records nothing and checks nothing; test-rig records the history (and then checks it, which
is not counted: the throughput is the workload's).

Usage: .venv/bin/python benchmarks/elle_throughput.py [--connections 4] [--duration 10]
Target: test-rig at least 0.8 x the bare loop's transactions per second.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import asyncmy

from test_rig.servers.sandbox import Sandbox


async def bare(port: int, connections: int, duration: float, keys: int = 8) -> float:
    setup = await asyncmy.connect(host="127.0.0.1", port=port, user="root", password="", database="test",
                                  autocommit=True)
    async with setup.cursor() as cur:
        await cur.execute("DROP TABLE IF EXISTS bare_append")
        await cur.execute("CREATE TABLE bare_append (k INT PRIMARY KEY, v TEXT NOT NULL) ENGINE=InnoDB")
        await cur.execute("SET GLOBAL TRANSACTION ISOLATION LEVEL READ COMMITTED")
    setup.close()
    counter = iter(range(1, 10**9))
    done = [0]
    end = time.perf_counter() + duration

    async def worker(seed: int) -> None:
        rng = random.Random(seed)
        conn = await asyncmy.connect(host="127.0.0.1", port=port, user="root", password="", database="test",
                                     autocommit=True)
        async with conn.cursor() as cur:
            await cur.execute("SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED")
            while time.perf_counter() < end:
                try:
                    await cur.execute("BEGIN")
                    for _ in range(rng.randint(1, 4)):
                        k = rng.randrange(keys)
                        if rng.random() < 0.5:
                            await cur.execute("SELECT v FROM bare_append WHERE k = %s", [k])
                            await cur.fetchall()
                        else:
                            v = str(next(counter))
                            await cur.execute("INSERT INTO bare_append (k, v) VALUES (%s, %s) ON DUPLICATE KEY "
                                              "UPDATE v = CONCAT(v, ',', %s)", [k, v, v])
                    await cur.execute("COMMIT")
                    done[0] += 1
                except asyncmy.errors.OperationalError:
                    await cur.execute("ROLLBACK")
        conn.close()

    await asyncio.gather(*(worker(i) for i in range(connections)))
    return done[0] / duration


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument("--duration", type=float, default=10.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        box = Sandbox(Path(tmp) / "box")
        st = box.start()
        try:
            bare_tps = asyncio.run(bare(st.port, args.connections, args.duration))
            out = Path(tmp) / "e.json"
            env = {"TIDB_HOST": f"127.0.0.1:{st.port}", "TIDB_USER": "root", "TIDB_PASSWORD": "",
                   "TIDB_DATABASE": "test", "PATH": "/usr/bin:/bin"}
            subprocess.run([sys.executable, "-m", "test_rig", "elle", "list-append", "--connections",
                            str(args.connections), "--duration", str(args.duration), "--keys", "8",
                            "--isolation-level", "read-committed", "--json", str(out), "--no-password-prompt"],
                           env=env, capture_output=True, text=True, check=False)
            stats = json.loads(out.read_text())["stats"]
            rig_tps = stats["ok"] / args.duration
            print(f"{args.connections} connections, {args.duration:g} s, read-committed: bare asyncmy "
                  f"{bare_tps:.0f} committed txn/s, test-rig elle {rig_tps:.0f} committed txn/s "
                  f"(recording the history); ratio test-rig/bare = {rig_tps / bare_tps:.2f} (target 0.8)")
        finally:
            box.destroy()


if __name__ == "__main__":
    main()
