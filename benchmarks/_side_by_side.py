"""What the side-by-side benchmarks (oltp.py, user_workload.py) share: a test-rig run as a child process, timed
by its client CPU from the moment it prints that the load started (its imports and connecting are not the load),
the CPU of the children reaped so far, and the medians of the rounds."""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

TEST_RIG = [sys.executable, "-m", "test_rig"]

_CHILDREN = [0.0, 0.0]


def cpu_split_of(pid: int) -> tuple[float, float]:
    """user and system seconds of a live process so far, from /proc (all its threads)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    tick = os.sysconf("SC_CLK_TCK")
    return int(fields[11]) / tick, int(fields[12]) / tick


def cpu_of(pid: int) -> float:
    """user + system seconds of a live process so far, from /proc (all its threads)."""
    return sum(cpu_split_of(pid))


def children_cpu_split() -> tuple[float, float]:
    """User and system CPU seconds of the child processes reaped since the previous call (of this or
    children_cpu)."""
    import resource

    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    user, system = usage.ru_utime - _CHILDREN[0], usage.ru_stime - _CHILDREN[1]
    _CHILDREN[:] = [usage.ru_utime, usage.ru_stime]
    return user, system


def children_cpu() -> float:
    """CPU seconds of the child processes reaped since the previous call (this process's children's usage)."""
    return sum(children_cpu_split())


def test_rig_run(args: list[str], rate: str, count: str,
                 split: list[tuple[float, float]] | None = None,
                 command: list[str] | None = None) -> tuple[float, float]:
    """(the result's `rate`, client CPU seconds per `count` during the load) of one `test-rig` run with `args`
    (its --json is added); SystemExit when it fails. With `split`, its user and system seconds per `count` are
    appended to it. `command`: what runs test-rig (default TEST_RIG)."""
    with tempfile.NamedTemporaryFile(suffix=".json") as out:
        proc = subprocess.Popen([*(command or TEST_RIG), *args, "--json", out.name], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
        assert proc.stdout is not None
        at_start = None
        for line in proc.stdout:
            if line.startswith("load started") and at_start is None:
                at_start = cpu_split_of(proc.pid)
        proc.wait()
        user, system = children_cpu_split()
        if proc.returncode or at_start is None:
            raise SystemExit(f"test-rig {' '.join(args[:2])} failed ({proc.returncode}): "
                             f"{proc.stderr.read() if proc.stderr else ''}")
        data = json.loads(Path(out.name).read_text())
        n = int(data[count])
        if split is not None:
            split.append(((user - at_start[0]) / n, (system - at_start[1]) / n))
        return float(data[rate]), (user + system - sum(at_start)) / n


def medians(values: list[tuple[float, float]]) -> tuple[float, float]:
    """The median rate and the median CPU per operation of a workload's rounds."""
    return statistics.median(v[0] for v in values), statistics.median(v[1] for v in values)


def parser(doc: str) -> argparse.ArgumentParser:
    """The options every side-by-side benchmark takes: the run's length and connections, the table size, rounds."""
    ap = argparse.ArgumentParser(description=doc.splitlines()[0])
    ap.add_argument("--duration", type=float, default=10)
    ap.add_argument("--connections", type=int, default=8)
    ap.add_argument("--table-size", type=int, default=10_000)
    ap.add_argument("--rounds", type=int, default=3)
    return ap
