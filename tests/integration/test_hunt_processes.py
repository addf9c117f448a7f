"""`hunt --processes`: the connections split over worker processes, each with databases of its own; the merged
figures are the sums of each process's own, nothing is left on the server, and SIGTERM stops every process,
which drops its databases, and still writes the report."""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

import pytest

from test_rig.servers.sandbox import SandboxState
from tests.helpers import RunningCli, env_for, run_cli, sql_on
from tests.integration.test_hunt import hunt_databases, known_regressions


def test_two_processes_merge_into_sums_and_leave_no_database(sandbox: SandboxState, tmp_path: Path) -> None:
    log = tmp_path / "hunt.log"
    proc = run_cli("hunt", "--processes", "2", "--connections", "2", "--queries", "400", "--seed", "2",
                   "--oracle", "tlp-where,norec,plans", "--json", str(tmp_path / "r.json"), "--log", str(log),
                   "--known", str(known_regressions(tmp_path)), env=env_for(sandbox))
    data = json.loads((tmp_path / "r.json").read_text())
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "2 connection(s) over 2 processes" in proc.stdout
    parts = data["process_results"]
    assert (data["processes"], len(parts), [p["first_worker"] for p in parts]) == (2, 2, [0, 1])
    assert [p["connections"] for p in parts] == [1, 1] and all(p["checked_total"] > 0 for p in parts)
    for key in ("checked_total", "statements", "rounds", "candidates", "confirmed", "flaky"):
        assert data[key] == sum(p[key] for p in parts), key
    for oracle in ("tlp-where", "norec", "plans"):
        assert data["checked"][oracle] == sum(p["checked"].get(oracle, 0) for p in parts)
    assert sum(f["count"] for f in data["findings"]) == sum(p["finds"] for p in parts)
    assert data["checked_total"] >= 400
    assert data["databases"] == [d for p in parts for d in p["databases"]] and len(data["databases"]) == 4
    assert (data["complete"], data["databases_dropped"], data["outcome"]) == (True, True, "passed")
    assert hunt_databases(sandbox) == []
    text = log.read_text()  # one log, both processes' workers tagged, no part files left
    assert "/* w0 */ CREATE DATABASE" in text and "/* w1 */ CREATE DATABASE" in text
    assert list(tmp_path.glob("hunt.log.p*")) == []


@pytest.mark.parametrize("console_script", [False, True], ids=["python -m test_rig", "test-rig"])
def test_sigterm_stops_every_process_and_drops_their_databases(sandbox: SandboxState, tmp_path: Path,
                                                               console_script: bool) -> None:
    """Also as the `test-rig` script: its workers import it again, and installed the program's signal handling in
    themselves, which ignored the stop, so the hunt ran on and left the databases behind."""
    cli = RunningCli("hunt", "--duration", "60", "--processes", "2", "--connections", "2", "--json",
                     str(tmp_path / "r.json"), env=env_for(sandbox), console_script=console_script)
    cli.wait_for(" s: ")
    # Both processes' databases seen on the server (each worker drops and makes its database again every round,
    # so one looked at once may be between the two: seen 1 of 2 in one CI run)
    seen: set[str] = set()  # the workers' own databases (not their replays'): w0 is the first process's, w1 the other's
    deadline = time.monotonic() + 30
    while seen != {"w0", "w1"}:
        assert time.monotonic() < deadline and cli.proc.poll() is None, (seen, cli.output())
        seen |= {str(row[0]).rpartition("_")[2] for row in hunt_databases(sandbox)} & {"w0", "w1"}
        time.sleep(0.02)  # between two looks at the server
    cli.proc.send_signal(signal.SIGTERM)
    assert cli.finish() == 143, cli.output()
    data = json.loads((tmp_path / "r.json").read_text())
    assert (data["complete"], data["ok"], data["error"]) == (False, False, "interrupted by SIGTERM")
    assert len(data["process_results"]) == 2 and len(data["databases"]) == 4
    # each process was stopped by the signal, not by the end of its 60 s
    assert [p["complete"] for p in data["process_results"]] == [False, False]
    assert data["databases_dropped"] is True
    assert data["checked_total"] == sum(p["checked_total"] for p in data["process_results"])
    assert hunt_databases(sandbox) == []


def test_more_processes_than_connections_is_bad_input(sandbox: SandboxState) -> None:
    proc = run_cli("hunt", "--processes", "3", "--connections", "2", env=env_for(sandbox))
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert proc.stderr == ("error: --processes 3 is more than --connections 2; each process needs a connection of "
                           "its own: give at least as many connections as processes.\n")
    assert hunt_databases(sandbox) == []


def test_a_worker_process_that_is_killed_has_its_databases_named_as_left(sandbox: SandboxState,
                                                                          tmp_path: Path) -> None:
    """SIGKILL of one of the two worker processes (it cannot drop anything): the run says one process gave no
    result, and names the databases that process had made as left on the server, which they are (dropped here
    afterwards); before, the merged report said every database was dropped."""
    cli = RunningCli("hunt", "--duration", "60", "--processes", "2", "--connections", "2", "--json",
                     str(tmp_path / "r.json"), env=env_for(sandbox))
    cli.wait_for(" s: ")
    children = [int(pid) for pid in Path(f"/proc/{cli.proc.pid}/task/{cli.proc.pid}/children").read_text().split()]
    # the worker processes are the ones whose command line runs multiprocessing's spawn (not its resource tracker)
    workers = [pid for pid in children if b"spawn_main" in Path(f"/proc/{pid}/cmdline").read_bytes()]
    assert len(workers) == 2
    os.kill(workers[1], signal.SIGKILL)
    cli.proc.send_signal(signal.SIGTERM)
    assert cli.finish() == 143, cli.output()
    data = json.loads((tmp_path / "r.json").read_text())
    left = data["left_on_server"]
    on_server = sorted(str(row[0]) for row in hunt_databases(sandbox))
    assert left and sorted(left) == on_server  # the killed one's, exactly
    assert data["databases_dropped"] is False and data["reason"].endswith(
        f"left on the server, as it could not be dropped: {', '.join(left)}")
    sql_on(sandbox, *(f"DROP DATABASE {name}" for name in left))
