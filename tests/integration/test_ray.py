"""`bench --ray`: the workers as Ray actors on a real local Ray cluster (started here on loopback), merged into
one result like worker processes."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from hdrh.histogram import HdrHistogram

from test_rig.servers.sandbox import SandboxState, free_port
from tests.helpers import env_for, run_cli

#: Ray's servers bind the node's address; with this at 0 the node is 127.0.0.1 and nothing listens elsewhere.
LOOPBACK = {"RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0"}


def _pids_of(marker: str) -> list[int]:
    pids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/cmdline", "rb") as f:
                    if marker.encode() in f.read():
                        pids.append(int(entry))
            except OSError:
                continue
    return pids


@pytest.fixture(scope="module")
def ray_cluster() -> Iterator[str]:
    """A one-node Ray cluster on 127.0.0.1 with 2 CPUs, in a temp dir of its own; its processes are killed after
    (not `ray stop`, which would stop every Ray on the machine)."""
    temp = tempfile.mkdtemp(prefix="rig-ray-", dir="/tmp")  # short: Ray's socket paths must fit 107 bytes
    port = free_port()
    ray = str(Path(sys.executable).parent / "ray")
    done = subprocess.run([ray, "start", "--head", "--node-ip-address=127.0.0.1", f"--port={port}", "--num-cpus=2",
                           "--include-dashboard=false", "--disable-usage-stats", f"--temp-dir={temp}",
                           "--object-store-memory=100000000"], env={**os.environ, **LOOPBACK},
                          capture_output=True, text=True, timeout=180, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    yield f"127.0.0.1:{port}"
    for sig in (signal.SIGTERM, signal.SIGKILL):
        for pid in _pids_of(temp):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, sig)
        deadline = time.monotonic() + 10
        while _pids_of(temp) and time.monotonic() < deadline:
            time.sleep(0.1)
    shutil.rmtree(temp, ignore_errors=True)


def test_two_ray_actors_give_one_merged_result_of_the_usual_shape(ray_cluster: str, sandbox: SandboxState,
                                                                  tmp_path: Path) -> None:
    local, remote = tmp_path / "p.json", tmp_path / "r.json"
    for out, extra in ((local, []), (remote, ["--ray", ray_cluster])):
        r = run_cli("bench", "point-select", "--processes", "2", "--connections", "4", "--duration", "3",
                    "--table-size", "500", "--json", str(out), "--no-password-prompt", *extra,
                    env={**env_for(sandbox), **LOOPBACK}, timeout=180)
        assert r.returncode == 0, r.stdout + r.stderr
    processes, ray = json.loads(local.read_text()), json.loads(remote.read_text())
    assert set(ray) - {"ray"} == set(processes)  # the shape of a --processes run, plus what the cluster was
    assert ray["ray"]["actors"] == 2 and ray["ray"]["nodes"] == ["127.0.0.1"]
    assert len(ray["ray"]["clock_offsets_ms"]) == 2
    assert ray["processes"] == 2 and len(ray["workers"]) == 2
    assert ray["operations"] == sum(w["operations"] for w in ray["workers"]) > 0
    assert [t["t"] for t in ray["timeline"]] == [1, 2, 3]
    assert sum(t["ops"] for t in ray["timeline"]) == ray["operations"]
    hist = HdrHistogram(1, 3_600_000_000, 3)
    for worker in ray["workers"]:
        hist.add(HdrHistogram.decode(worker["histogram"]))
    for p in (50, 95, 99):
        assert ray[f"p{p}_ms"] == round(hist.get_value_at_percentile(p) / 1000.0, 3)


def test_ray_with_nothing_listening_is_bad_input(sandbox: SandboxState) -> None:
    port = free_port()
    r = run_cli("bench", "point-select", "--ray", f"127.0.0.1:{port}", "--duration", "1", "--no-password-prompt",
                env=env_for(sandbox))
    assert r.returncode == 2, r.stdout + r.stderr
    assert f"Nothing is listening at 127.0.0.1:{port} for --ray" in r.stderr and "Traceback" not in r.stderr
    assert r.stdout == ""  # refused before anything ran
