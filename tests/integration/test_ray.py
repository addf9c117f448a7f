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
from tests.helpers import env_for, run_cli, sql_on

#: Ray's servers bind the node's address; with this at 0 the node is 127.0.0.1 and nothing listens elsewhere.
LOOPBACK = {"RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0"}


def _pids_of(marker: str) -> list[int]:
    """The processes whose command line holds `marker`, and all their descendants: Ray's agents
    (ray::DashboardAgent, ray::RuntimeEnvAgent) rename their command line, so only their parent names the temp dir."""
    named, parents = [], {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/cmdline", "rb") as f:
                    if marker.encode() in f.read():
                        named.append(int(entry))
                with open(f"/proc/{entry}/stat", "rb") as f:  # "pid (comm) state ppid ...": comm may hold spaces
                    parents[int(entry)] = int(f.read().rsplit(b")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
    found, grew = set(named), True
    while grew:
        children = {pid for pid, parent in parents.items() if parent in found} - found
        found |= children
        grew = bool(children)
    return sorted(found)


def _alive(pids: set[int]) -> bool:
    """Whether any of `pids` still runs (a zombie, already dead, does not count)."""
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat", "rb") as f:
                if f.read().rsplit(b")", 1)[1].split()[0] != b"Z":
                    return True
        except (OSError, IndexError):
            continue
    return False


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
    # Every process of the cluster, its agents too, taken before any is killed: an agent whose parent died is
    # reparented and no longer found as a descendant (two outlived a CI run when only named processes were killed).
    cluster = set(_pids_of(temp))
    for sig in (signal.SIGTERM, signal.SIGKILL):
        cluster |= set(_pids_of(temp))
        for pid in cluster:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, sig)
        deadline = time.monotonic() + 10
        while _alive(cluster) and time.monotonic() < deadline:
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


@contextlib.contextmanager
def _database(st: SandboxState, name: str) -> Iterator[dict[str, str]]:
    sql_on(st, f"DROP DATABASE IF EXISTS {name}", f"CREATE DATABASE {name}")
    try:
        yield {**env_for(st), **LOOPBACK, "TIDB_DATABASE": name}
    finally:
        sql_on(st, f"DROP DATABASE IF EXISTS {name}")


def test_tpcc_on_two_ray_actors_merges_its_transaction_types_and_checks_the_data(
        ray_cluster: str, sandbox: SandboxState, tmp_path: Path) -> None:
    """TPC-C's own figures (per transaction type) cross the actors' boundary as they cross processes', and the
    check after the load reads what both actors' terminals wrote: the server holds one order per committed
    New-Order and one history row per committed Payment more than before."""
    small = ("--scale-down", "100", "--no-password-prompt")
    with _database(sandbox, "rig_ray_tpcc") as env:
        r = run_cli("bench", "tpcc-prepare", *small, env=env, timeout=180)
        assert r.returncode == 0, r.stdout + r.stderr
        count = "SELECT (SELECT COUNT(*) FROM rig_ray_tpcc.orders), (SELECT COUNT(*) FROM rig_ray_tpcc.history)"
        before = sql_on(sandbox, count)[0][0]
        out = tmp_path / "t.json"
        r = run_cli("bench", "tpcc", *small, "--processes", "2", "--connections", "2", "--duration", "3",
                    "--ray", ray_cluster, "--json", str(out), env=env, timeout=180)
        assert r.returncode == 0, r.stdout + r.stderr
        after = sql_on(sandbox, count)[0][0]
    data = json.loads(out.read_text())
    assert (data["outcome"], data["ray"]["actors"], data["processes"]) == ("passed", 2, 2)
    assert data["checks"]["summary"] == "12 of 12 conditions hold"
    by_type = data["transactions_by_type"]
    assert data["transactions"] == sum(w["operations"] for w in data["workers"]) > 0
    assert sum(s["count"] + s["rolled_back"] for s in by_type.values()) == data["transactions"]
    assert int(str(after[0])) - int(str(before[0])) == by_type["new_order"]["count"]
    assert int(str(after[1])) - int(str(before[1])) == by_type["payment"]["count"]


def test_a_user_workload_on_two_ray_actors_adds_up_per_task(ray_cluster: str, sandbox: SandboxState,
                                                            tmp_path: Path) -> None:
    """The example's Locust-style class, loaded by each actor from its file: per-task counts add up to the
    total, and `buy` (one UPDATE and one COMMIT) is what the server counted."""
    example = Path(__file__).resolve().parents[2] / "examples" / "bench_user.py"
    status = "SHOW GLOBAL STATUS WHERE Variable_name IN ('Com_update', 'Com_commit')"
    with _database(sandbox, "rig_ray_user") as env:
        r = run_cli("bench", "prepare", "--table-size", "2000", "--no-password-prompt", env=env, timeout=180)
        assert r.returncode == 0, r.stdout + r.stderr
        before = dict(sql_on(sandbox, status)[0])
        out = tmp_path / "u.json"
        r = run_cli("bench", "user", f"{example}:Shopper", "--processes", "2", "--connections", "4", "--duration",
                    "3", "--ray", ray_cluster, "--no-password-prompt", "--json", str(out), env=env, timeout=180)
        after = dict(sql_on(sandbox, status)[0])
    assert r.returncode == 0, r.stdout + r.stderr
    data = json.loads(out.read_text())
    assert (data["outcome"], data["ray"]["actors"]) == ("passed", 2)
    tasks = data["tasks"]
    assert sum(t["count"] for t in tasks.values()) == data["operations"] == sum(
        w["operations"] for w in data["workers"]) > 0
    assert int(str(after["Com_update"])) - int(str(before["Com_update"])) == tasks["buy"]["count"]
    assert int(str(after["Com_commit"])) - int(str(before["Com_commit"])) == tasks["buy"]["count"]
