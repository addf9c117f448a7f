"""5,000 idle-then-active connections from one client process (all opened first, then all running point
selects); reports throughput and the client's peak RSS, beside sysbench with as many threads in the same run.

Usage: .venv/bin/python benchmarks/many_connections.py [--connections 5000] [--duration 10] [--no-sysbench]
Target: every connection opens and works, and the client stays under 1 GB resident memory.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
from pathlib import Path

from test_rig.servers.sandbox import Sandbox


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--connections", type=int, default=5000)
    ap.add_argument("--duration", type=float, default=10)
    ap.add_argument("--no-sysbench", action="store_true")
    args = ap.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)  # one descriptor per connection, and some
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, max(soft, args.connections * 2 + 1000)), hard))
    box = Sandbox(Path(tempfile.mkdtemp(prefix="bench-many-")), max_connections=args.connections + 100)
    st = box.start()
    try:
        with tempfile.NamedTemporaryFile(suffix=".json") as out:
            argv = ["test-rig", "bench", "point-select", "-H", f"127.0.0.1:{st.port}", "--no-password-prompt",
                    "--connections", str(args.connections), "--duration", str(args.duration), "--json", out.name]
            # Run test-rig in a process of its own that reports its own peak RSS at exit (RUSAGE_CHILDREN
            # would also count the server's bootstrap).
            probe = ("import atexit, resource, runpy, sys; "
                     "atexit.register(lambda: print('RSS_KB', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, "
                     f"file=sys.stderr)); sys.argv = {argv!r}; runpy.run_module('test_rig', run_name='__main__')")
            done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
            data = json.loads(Path(out.name).read_text())
        rss_mb = int(done.stderr.split("RSS_KB")[-1].split()[0]) / 1024
        print(f"{args.connections} connections: failed to connect {data['failed_connections']}, "
              f"qps {data['qps']:.0f}, errors {data['errors']}, p99 {data['p99_ms']:.2f} ms")
        print(f"client peak RSS: {rss_mb:.0f} MB (target < 1024 MB)")
        if not args.no_sysbench:
            from point_select import ensure_sysbench

            exe = ensure_sysbench()
            common = [exe, "oltp_point_select", "--mysql-host=127.0.0.1", f"--mysql-port={st.port}",
                      "--mysql-user=root", "--mysql-db=test", "--tables=1", "--table-size=10000",
                      "--db-ps-mode=disable"]
            subprocess.run([*common, "prepare"], check=True, capture_output=True)
            run = [*common, f"--threads={args.connections}", f"--time={int(args.duration)}", "run"]
            probe = ("import resource, subprocess, sys; "
                     f"done = subprocess.run({run!r}, "
                     "capture_output=True, text=True); "
                     "print(done.stdout[-2000:]); "
                     "print('RSS_KB', resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, file=sys.stderr)")
            done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
            peer_mb = int(done.stderr.split("RSS_KB")[-1].split()[0]) / 1024
            qps = [line.split("(")[1].split()[0] for line in done.stdout.splitlines() if "queries:" in line]
            print(f"sysbench, {args.connections} threads: qps {qps[0] if qps else '?'}, peak RSS {peer_mb:.0f} MB; "
                  f"test-rig / sysbench RSS ratio {rss_mb / peer_mb:.2f}")
    finally:
        box.destroy()


if __name__ == "__main__":
    main()
