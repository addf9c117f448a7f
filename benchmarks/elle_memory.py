"""Peak memory of the `test-rig elle` client itself (VmHWM of its own process, polled from /proc: the server
the nemesis restarts is a child of the client and would otherwise be counted too) against the size of the
history it records, for two run lengths, so that growth can be compared with the history's.

Each run gets a private sandbox of its own (MariaDB, or TiDB with --server tidb).

Usage: .venv/bin/python benchmarks/elle_memory.py [--server mariadb|tidb] [--durations 60,150] [--nemesis kill]
Target: under 500 MB, and memory growing no faster than the history file.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def peak_of(cmd: list[str], env: dict[str, str]) -> tuple[int, float, str]:
    """Exit status, the process's own peak RSS in MB (VmHWM), its last line of output."""
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    peak = 0
    status = Path(f"/proc/{proc.pid}/status")
    while proc.poll() is None:
        try:
            for line in status.read_text().splitlines():
                if line.startswith("VmHWM:"):
                    peak = max(peak, int(line.split()[1]))
        except OSError:
            pass
        time.sleep(0.2)  # a sampling interval: VmHWM is the kernel's own high-water mark, polling loses nothing
    out = proc.stdout.read() if proc.stdout else ""
    lines = [x for x in out.splitlines() if " under " in x] or out.splitlines()[-1:]
    return proc.returncode, peak / 1024, lines[-1] if lines else ""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--server", default="mariadb", choices=["mariadb", "tidb"])
    parser.add_argument("--durations", default="60,150")
    parser.add_argument("--nemesis", default=None, help="e.g. kill")
    parser.add_argument("--level", default="read-committed")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT / "src"))
    from test_rig.servers.sandbox import Sandbox

    work = Path(tempfile.mkdtemp(prefix="rig-elle-memory-"))
    box = Sandbox(work / "box", server=args.server)
    st = box.start()
    env = {k: v for k, v in os.environ.items() if not k.startswith("TIDB_")}
    env.update({"TIDB_HOST": f"{st.host}:{st.port}", "TIDB_USER": "root", "TIDB_PASSWORD": "", "TIDB_DATABASE": "test",
                })
    rows = []
    try:
        for duration in (float(x) for x in args.durations.split(",")):
            history = work / f"h-{duration:g}.jsonl"
            cmd = [sys.executable, "-m", "test_rig", "elle", "list-append", "--duration", f"{duration:g}",
                   "--connections", "4", "--keys", "8", "--isolation-level", args.level, "--history", str(history),
                   "--no-password-prompt"]
            if args.nemesis:
                cmd += ["--nemesis", args.nemesis, "--nemesis-interval", "10"]
            status, peak, last = peak_of(cmd, env)
            size = history.stat().st_size / 1e6 if history.exists() else 0.0
            txns = sum(1 for line in history.open() if '"type":"ok"' in line) if history.exists() else 0
            rows.append((duration, peak, size, txns))
            print(f"{args.server} {duration:g} s{' nemesis ' + args.nemesis if args.nemesis else ''}: exit {status}, "
                  f"client peak {peak:.0f} MB, history {size:.1f} MB, {txns} committed transactions  [{last[:80]}]")
    finally:
        box.destroy()
    if len(rows) == 2:
        (d1, p1, s1, _), (d2, p2, s2, _) = rows
        print(f"growth {d1:g} s -> {d2:g} s: memory x{p2 / p1:.2f}, history x{s2 / max(s1, 1e-9):.2f}")


if __name__ == "__main__":
    main()
