"""The nemesis against real servers: sandbox kills and pauses, KILL CONNECTION, and network faults through a
real Toxiproxy (./run-tests.sh builds toxiproxy-server with `go install`)."""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path
from statistics import mean
from typing import Any

import pytest

from test_rig.history.model import NEMESIS, read_history
from test_rig.servers.sandbox import Sandbox, SandboxState
from tests.helpers import RunningCli, browse, env_for, run_cli


def _box_env(box: Sandbox) -> dict[str, str]:
    """Point test-rig at the test's own sandbox, and let the nemesis find it as `sandbox start` would leave it."""
    st = box.state()
    assert st is not None
    return {**env_for(st), "TEST_RIG_SANDBOX_DIR": str(box.dir)}


def _bench(env: dict[str, str], out: Path, *args: str, timeout: float = 120) -> dict[str, Any]:
    r = run_cli("bench", "point-select", "--connections", "4", "--table-size", "500", "--json", str(out),
                "--no-password-prompt", *args, env=env, timeout=timeout)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "Traceback" not in r.stdout + r.stderr
    data: dict[str, Any] = json.loads(out.read_text())
    assert data["ok"] is True and data["nemesis"]["ok"] is True
    return data


def _inside(data: dict[str, Any]) -> list[dict[str, Any]]:
    """Timeline seconds that lie wholly inside a fault window."""
    windows = data["nemesis"]["windows"]
    return [e for e in data["timeline"] if any(w["start_s"] < e["t"] - 1 and e["t"] <= w["end_s"] for w in windows)]


def _outside(data: dict[str, Any]) -> list[dict[str, Any]]:
    return [e for e in data["timeline"] if not e["faults"]]


def test_kill_every_5_seconds_shows_outages_inside_the_windows_and_recovery_after(own_box: Sandbox,
                                                                                 tmp_path: Path) -> None:
    data = _bench(_box_env(own_box), tmp_path / "k.json", "--duration", "30", "--nemesis", "kill",
                  "--nemesis-interval", "5", "--html", str(tmp_path / "k.html"))
    windows = data["nemesis"]["windows"]
    assert [w["kind"] for w in windows] == ["kill"] * 5  # at 5, 10, 15, 20 and 25 s
    assert all(w["action"].startswith("SIGKILL to the sandbox server") for w in windows)
    assert all(w["heal"].startswith("restarted the sandbox server") for w in windows)
    for w in windows:
        during = [e for e in data["timeline"] if w["start_s"] < e["t"] - 1 and e["t"] <= w["end_s"]]
        assert during and all(e["ops"] == 0 for e in during), (w, data["timeline"])
        after = [e for e in data["timeline"] if e["t"] - 1 >= w["end_s"] and not e["faults"]]
        between = [e for e in after if e["t"] <= w["start_s"] + 5]  # before the next fault
        assert between and any(e["ops"] > 0 for e in between), (w, data["timeline"])  # the load came back
    assert data["reconnects"] >= 5 and set(data["errors_by_code"]) <= {"2013", "2006"}
    html = (tmp_path / "k.html").read_text()
    assert "<table id='faults'>" in html and html.count("<td>kill</td>") == 5
    seen = browse(tmp_path / "k.html", evaluate="""() => ({
        bands: document.querySelectorAll('#throughput .shapelayer path').length,
        labels: [...document.querySelectorAll('#throughput .annotation-text')].map(a => a.textContent)})""")
    assert seen["errors"] == [] and seen["requests"] == [] and not seen["blank"]
    assert seen["value"] == {"bands": 5, "labels": ["kill"] * 5}  # each window shaded and named on the plot
    assert own_box.running() is not None  # the server is left running


def test_ctrl_c_during_a_kill_restarts_the_server_and_keeps_the_windows(own_box: Sandbox, tmp_path: Path) -> None:
    out = tmp_path / "i.json"
    run = RunningCli("bench", "point-select", "--connections", "2", "--table-size", "500", "--duration", "120",
                     "--nemesis", "kill", "--nemesis-interval", "2", "--nemesis-duration", "1.9", "--json", str(out),
                     "--no-password-prompt", env=_box_env(own_box))
    run.wait_for("nemesis start kill")
    run.proc.send_signal(signal.SIGINT)
    assert run.finish(timeout=60) == 130, run.output()
    assert "Traceback" not in run.output()
    data = json.loads(out.read_text())
    assert data["ok"] is False and data["error"] == "interrupted by SIGINT"
    [window] = data["nemesis"]["windows"]
    assert window["kind"] == "kill" and window["ok"] is True and window["heal"].startswith("restarted")
    assert own_box.running() is not None


def test_pause_and_user_commands_work_against_a_server_test_rig_does_not_own(own_box: Sandbox,
                                                                            tmp_path: Path) -> None:
    st = own_box.state()
    assert st is not None
    env = _box_env(own_box)
    env.pop("TEST_RIG_SANDBOX_DIR")  # as for a server elsewhere: only the commands can reach it
    history = tmp_path / "h.jsonl"
    r = run_cli("elle", "list-append", "--duration", "8", "--nemesis", "pause", "--nemesis-interval", "3",
                "--nemesis-duration", "1.5", "--nemesis-command", f"pause=kill -STOP {st.pid}",
                "--nemesis-command", f"resume=kill -CONT {st.pid}", "--history", str(history),
                "--json", str(tmp_path / "e.json"), "--no-password-prompt", env=env)
    assert r.returncode == 0, r.stdout + r.stderr
    data = json.loads((tmp_path / "e.json").read_text())
    assert [w["action"] for w in data["nemesis"]["windows"]] == [f"ran pause command: kill -STOP {st.pid}"] * 2
    assert data["valid"] is True  # serializable still holds across the pauses
    events = [(op.f, op.value) for op in read_history(history) if op.process == NEMESIS]
    assert events == [("start-pause", f"ran pause command: kill -STOP {st.pid}"),
                      ("stop-pause", f"ran resume command: kill -CONT {st.pid}")] * 2
    assert data["timeline"][4]["faults"] == ["pause"]  # [4 s, 5 s) lies inside the first window


def test_kill_connections_kills_the_runs_own_sessions_and_the_workers_reconnect(any_server: SandboxState,
                                                                               tmp_path: Path) -> None:
    data = _bench(env_for(any_server), tmp_path / "c.json", "--duration", "5", "--nemesis", "kill-connections",
                  "--nemesis-interval", "2")
    windows = data["nemesis"]["windows"]
    assert [w["action"] for w in windows] == ["KILL CONNECTION of 2 of the run's 4 sessions"] * 2
    assert data["reconnects"] >= 2 and data["errors"] >= 2
    assert data["timeline"][-1]["ops"] > 0


def test_kill_connections_with_worker_processes_finds_the_sessions_on_the_server(sandbox: SandboxState,
                                                                                tmp_path: Path) -> None:
    data = _bench(env_for(sandbox), tmp_path / "p.json", "--duration", "4", "--processes", "2", "--nemesis",
                  "kill-connections", "--nemesis-interval", "3")
    [window] = data["nemesis"]["windows"]
    assert window["action"] == "KILL CONNECTION of 2 of the run's 4 sessions"
    assert data["reconnects"] == 2 and data["operations"] == sum(w["operations"] for w in data["workers"])


# --------------------------------------------------------------------------- through Toxiproxy


def test_latency_shows_a_step_in_p50_and_a_throughput_drop(sandbox: SandboxState, tmp_path: Path) -> None:
    data = _bench(env_for(sandbox), tmp_path / "l.json", "--duration", "9", "--nemesis", "latency",
                  "--nemesis-interval", "3", "--nemesis-duration", "2.5", "--nemesis-latency", "50")
    assert "through Toxiproxy" in data["nemesis"]["description"]
    inside, outside = _inside(data), _outside(data)
    assert inside and outside
    assert all(e["p50_ms"] >= 50.0 for e in inside), data["timeline"]
    assert all(e["p50_ms"] < 50.0 for e in outside), data["timeline"]
    assert mean(e["ops"] for e in inside) < mean(e["ops"] for e in outside) / 5
    assert data["errors"] == 0


def test_reset_gives_lost_connections_that_reconnecting_gets_over(sandbox: SandboxState, tmp_path: Path) -> None:
    data = _bench(env_for(sandbox), tmp_path / "r.json", "--duration", "6", "--nemesis", "reset",
                  "--nemesis-interval", "3", "--nemesis-duration", "1")
    [window] = data["nemesis"]["windows"]  # from 3 s to 4 s
    assert window["kind"] == "reset"
    lost = data["errors_by_code"].get("2013", 0) + data["errors_by_code"].get("2006", 0)
    assert lost >= 4  # every one of the 4 connections was lost (2013 reading the reply, 2006 sending)
    assert data["reconnects"] >= 4
    assert all(e["errors"] == 0 for e in data["timeline"] if not e["faults"])
    assert data["timeline"][5]["ops"] > 0, data["timeline"]  # [5 s, 6 s): the load is back


def test_a_3_second_partition_is_a_gap_and_the_load_recovers(sandbox: SandboxState, tmp_path: Path) -> None:
    data = _bench(env_for(sandbox), tmp_path / "p.json", "--duration", "12", "--nemesis", "partition",
                  "--nemesis-interval", "6", "--nemesis-duration", "3")
    [window] = data["nemesis"]["windows"]  # from 6 s to 9 s
    assert window["kind"] == "partition" and window["action"] == "Toxiproxy: every byte both ways dropped (black hole)"
    during = [e for e in data["timeline"] if window["start_s"] < e["t"] - 1 and e["t"] <= window["end_s"]]
    assert len(during) == 2 and all(e["ops"] == 0 for e in during), data["timeline"]  # [7, 8) and [8, 9)
    # Before, and after: a request lost in the partition is dropped after the 2 s op timeout, and a connect that
    # got no handshake gives up after as long, so the load is back within a few seconds of the heal.
    assert data["timeline"][4]["ops"] > 0 and data["timeline"][11]["ops"] > 0, data["timeline"]


# --------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(("args", "message"), [
    (["--nemesis", "explode"], "Unknown nemesis kind 'explode'; use one or more of kill, pause, kill-connections"),
    (["--nemesis", "kill", "--nemesis-interval", "-5"], "--nemesis-interval -5 must be a positive number of seconds"),
    (["--nemesis-interval", "5"], "--nemesis-interval has no effect without --nemesis KIND"),
    (["--nemesis", "kill", "--nemesis-command", "kill=true"],
     "--nemesis kill needs control of the server and 127.0.0.1:"),
])
def test_bad_nemesis_input_is_a_clear_error(sandbox: SandboxState, tmp_path: Path, args: list[str],
                                            message: str) -> None:
    # a server that is no sandbox this user started: no sandbox directory, and a state directory (where every
    # started sandbox leaves its note) of its own
    env = {**env_for(sandbox), "TEST_RIG_SANDBOX_DIR": str(tmp_path / "none"), "XDG_STATE_HOME": str(tmp_path / "st")}
    r = run_cli("bench", "point-select", "--duration", "1", "--no-password-prompt", *args, env=env)
    assert r.returncode == 2, r.stdout + r.stderr
    assert message in r.stderr and "Traceback" not in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1


def test_network_faults_without_toxiproxy_say_how_to_get_it(sandbox: SandboxState, tmp_path: Path) -> None:
    env = {**env_for(sandbox), "XDG_CACHE_HOME": str(tmp_path / "cache"), "PATH": os.defpath}
    env.pop("TOXIPROXY_SERVER_BIN", None)
    r = run_cli("bench", "point-select", "--duration", "1", "--nemesis", "latency", "--no-password-prompt", env=env)
    assert r.returncode == 2, r.stdout + r.stderr
    assert ("The network nemesis kinds need Toxiproxy and none was found; install it with "
            "`test-rig sandbox build-toxiproxy`") in r.stderr
    r = run_cli("bench", "point-select", "--duration", "1", "--nemesis", "reset", "--toxiproxy",
                "http://127.0.0.1:9", "--no-password-prompt", env=env)
    assert r.returncode == 2 and "Nothing answers as Toxiproxy at http://127.0.0.1:9" in r.stderr
    r = run_cli("bench", "point-select", "--duration", "1", "--nemesis", "partition", "--no-password-prompt",
                env={**env, "TOXIPROXY_SERVER_BIN": str(tmp_path / "none")})
    assert r.returncode == 2 and (f"TOXIPROXY_SERVER_BIN={tmp_path / 'none'} is not an executable file; point it at "
                                  "a toxiproxy-server binary") in r.stderr


def test_a_fault_that_cannot_be_healed_fails_the_run(sandbox: SandboxState, tmp_path: Path) -> None:
    out = tmp_path / "f.json"
    r = run_cli("bench", "point-select", "--connections", "2", "--table-size", "500", "--duration", "3",
                "--nemesis", "kill", "--nemesis-interval", "2", "--nemesis-command", "kill=true",
                "--nemesis-command", "start=false [/x]", "--json", str(out), "--no-password-prompt",
                env=env_for(sandbox))
    assert r.returncode == 1, r.stdout + r.stderr
    assert "Traceback" not in r.stdout + r.stderr
    error = "nemesis: kill could not be healed: the start command exited with status 1: false [/x]"
    assert f"The run did not test what was asked: {error}" in r.stdout
    data = json.loads(out.read_text())
    assert data["ok"] is False and data["error"] == error
    [window] = data["nemesis"]["windows"]
    assert window["action"] == "ran kill command: true" and window["ok"] is False


def test_kill_finds_a_sandbox_started_with_dir_anywhere(tmp_path: Path) -> None:
    """`sandbox start --dir D` (D anywhere, no TEST_RIG_SANDBOX_DIR): the nemesis finds it by its port, from the
    note every started sandbox leaves in the state directory, and kills and restarts it."""
    where = tmp_path / "somewhere" / "else"
    r = run_cli("sandbox", "start", "--dir", str(where))
    assert r.returncode == 0, r.stdout + r.stderr
    box = Sandbox(where)
    try:
        st = box.state()
        assert st is not None
        data = _bench(env_for(st), tmp_path / "d.json", "--duration", "6", "--nemesis", "kill",
                      "--nemesis-interval", "2", "--nemesis-duration", "1")
        assert [w["kind"] for w in data["nemesis"]["windows"]][:1] == ["kill"]
        assert all(w["heal"].startswith("restarted the sandbox server") for w in data["nemesis"]["windows"])
    finally:
        box.destroy()
