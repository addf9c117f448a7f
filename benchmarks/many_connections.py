"""1,000 concurrent connections in free-running mode; reports throughput and the client's peak RSS.

Usage: .venv/bin/python benchmarks/many_connections.py [--connections 1000] [--duration 10]
Target: every connection opens and works, and the client stays under 300 MB resident memory.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

from test_rig.sandbox import Sandbox


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--connections", type=int, default=1000)
    ap.add_argument("--duration", type=float, default=10)
    args = ap.parse_args()
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
        print(f"client peak RSS: {rss_mb:.0f} MB (target < 300 MB)")
    finally:
        box.destroy()


if __name__ == "__main__":
    main()
