"""The user-workload path against the built-in point select, side by side in one run: `bench point-select` and
`bench user` with a User whose one task runs the same point select on the same table.

Usage: .venv/bin/python benchmarks/user_workload.py [--duration 10] [--connections 8] [--rounds 3]
Starts its own sandbox MariaDB and prints, per operation, the client CPU (user + system time of the test-rig
process from the moment it prints that the load started to its exit) and the throughput; target: the user path
costs at most 1.5x the built-in point select's client CPU per operation.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import tempfile
from pathlib import Path

from _side_by_side import TEST_RIG, children_cpu, medians, parser, test_rig_run

from test_rig.load.bench import TABLE
from test_rig.servers.sandbox import Sandbox

USER = f'''
from test_rig.load.user import User, task


class PointSelect(User):
    @task
    async def point_select(self, conn):
        await conn.fetch("SELECT c FROM {TABLE} WHERE id=%s", (self.rng.randint(1, TABLE_SIZE),))
'''


def run(port: int, args: argparse.Namespace, workload: list[str]) -> tuple[float, float]:
    """(operations/s, client CPU seconds per operation during the load) of one test-rig bench run."""
    return test_rig_run(["bench", *workload, "-H", f"127.0.0.1:{port}", "-u", "root", "--no-password-prompt", "-d",
                         "test", "--connections", str(args.connections), "--duration", str(args.duration)],
                        "qps", "operations")


def main() -> None:
    args = parser(__doc__).parse_args()
    box = Sandbox(Path(tempfile.mkdtemp(prefix="bench-user-")))
    st = box.start()
    user_file = Path(tempfile.mkdtemp(prefix="bench-user-class-")) / "point_select_user.py"
    user_file.write_text(USER.replace("TABLE_SIZE", str(args.table_size)))
    try:
        builtin = ["point-select", "--table-size", str(args.table_size)]
        subprocess.run([*TEST_RIG, "bench", *builtin, "-H", f"127.0.0.1:{st.port}", "-u", "root",
                        "--no-password-prompt", "-d", "test", "--duration", "1"], check=True, capture_output=True)
        children_cpu()
        runs: dict[str, list[tuple[float, float]]] = {"bench point-select": [], "bench user (one point select)": []}
        for _ in range(args.rounds):
            runs["bench point-select"].append(run(st.port, args, builtin))
            runs["bench user (one point select)"].append(run(st.port, args, ["user", f"{user_file}:PointSelect"]))
        print(f"point select, {args.connections} connections, {args.duration:g} s x {args.rounds} rounds, "
              "interleaved:")
        median = {}
        for name, values in runs.items():
            median[name] = medians(values)
            print(f"  {name:<31} median {median[name][0]:8.0f} ops/s  {median[name][1] * 1e6:6.1f} us client CPU "
                  "per operation  rounds: " + ", ".join(f"{q:.0f}/{c * 1e6:.1f} us" for q, c in values))
        ours, base = median["bench user (one point select)"], median["bench point-select"]
        print(f"user / built-in: client CPU per operation {ours[1] / base[1]:.2f} (target <= 1.5), "
              f"operations/s {ours[0] / base[0]:.2f}")
    finally:
        box.destroy()
        shutil.rmtree(user_file.parent, ignore_errors=True)


if __name__ == "__main__":
    main()
