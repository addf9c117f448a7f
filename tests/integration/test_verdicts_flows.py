"""One verdict, every output: `basic`, `simple-multi-connection`, `multi-connection`, `run`, `bench point-select` and
`bench select-1`, each run so that it passes, fails, is undecided and is interrupted, against the session's
MariaDB (or a listener that never answers), with the console's last line, --json, --junit, --html, the exit
status and `test-rig report`'s re-rendering of the JSON checked together for each run."""

from __future__ import annotations

import asyncio
import contextlib
import html
import json
import re
import signal
import socket
import textwrap
import threading
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from test_rig.db import Target, connect
from test_rig.servers.sandbox import SandboxState
from tests.helpers import RunningCli, create_user, env_for, run_cli, sql_on

STATUS = {"passed": 0, "failed": 1, "undecided": 1, "interrupted": 130}


@contextlib.contextmanager
def silent_listener() -> Iterator[tuple[int, threading.Event]]:
    """A listener that accepts connections and never says a word: no run against it can see how it ends. The
    event is set once a connection arrived (the run is then waiting for a handshake that never comes)."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(64)
    server.settimeout(0.2)
    held: list[socket.socket] = []
    stop, arrived = threading.Event(), threading.Event()

    def accept() -> None:
        while not stop.is_set():
            try:
                held.append(server.accept()[0])
            except OSError:
                continue
            arrived.set()

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield int(server.getsockname()[1]), arrived
    finally:
        stop.set()
        thread.join()
        for s in held:
            s.close()
        server.close()


@pytest.fixture(scope="module")
def silent_port() -> Iterator[int]:
    with silent_listener() as (port, _):
        yield port


@pytest.fixture(scope="module")
def wrong_password(sandbox: SandboxState) -> list[str]:
    """Options naming a user that exists, with a password that is not hers: every connection is refused."""
    create_user(sandbox, "verdicts", "Right-Pw-1")
    return ["-u", "verdicts", "--password", "Wrong-Pw-2"]


@dataclass
class Reports:
    json: Path
    junit: Path
    html: Path

    @classmethod
    def under(cls, where: Path, name: str) -> Reports:
        return cls(where / f"{name}.json", where / f"{name}.xml", where / f"verdict-{name}.html")

    def args(self) -> list[str]:
        return ["--json", str(self.json), "--junit", str(self.junit), "--html", str(self.html)]


def banner(page: Path) -> tuple[str, str]:
    found = re.search(r'<div class="banner [a-z]+" id="status" data-verdict="([a-z]+)">(.*?)</div>', page.read_text())
    assert found, "no status banner"
    return found.group(1), html.unescape(found.group(2))


def agree(reports: Reports, status: int, stdout: str, stderr: str, outcome: str, last_line: str) -> dict[str, object]:
    """Every output of one run tells the same story: the exit status, the console's last line, the JSON's
    ok/outcome/complete, the JUnit file's failure or error case, the HTML banner, and the banner that
    `test-rig report` renders again from the JSON. Returns the JSON."""
    assert status == STATUS[outcome], stdout + stderr
    assert "Traceback" not in stdout + stderr
    assert stdout.splitlines()[-1] == last_line, stdout
    if outcome == "interrupted":
        assert stderr.splitlines()[-1] == "interrupted by SIGINT", stderr
    data = json.loads(reports.json.read_text())
    assert (data["ok"], data["outcome"], data["complete"]) == (outcome == "passed", outcome, outcome != "interrupted")
    cases = list(ET.parse(reports.junit).getroot().iter("testcase"))
    failures = [f.get("message") for c in cases for f in c.iter("failure")]
    errors = [e.get("message") for c in cases for e in c.iter("error")]
    if outcome == "passed":
        assert (failures, errors) == ([], [])
    elif outcome == "failed":
        assert failures and not errors, (failures, errors)
    elif outcome == "undecided":
        assert not failures and errors and all(str(e).startswith("undecided: ") for e in errors), (failures, errors)
    else:
        assert f"the run did not finish: {last_line.removeprefix('INTERRUPTED: ')}" in errors, (failures, errors)
    shown = banner(reports.html)
    assert shown[0] == outcome
    again = reports.html.with_name("again-" + reports.html.name)
    r = run_cli("report", str(reports.json), "--html", str(again))
    assert (r.returncode, r.stderr) == (0, ""), r.stdout + r.stderr
    assert banner(again) == shown
    return data


def finished(reports: Reports, *args: str, env: dict[str, str], outcome: str, last_line: str) -> dict[str, object]:
    r = run_cli(*args, *reports.args(), "--no-password-prompt", env=env)
    return agree(reports, r.returncode, r.stdout, r.stderr, outcome, last_line)


def interrupted(reports: Reports, *args: str, env: dict[str, str], started: str | threading.Event,
                error: str = "interrupted by SIGINT") -> dict[str, object]:
    """Run, wait until the run printed `started` (a line the feature prints once its work began) or until that
    event is set, then send SIGINT."""
    run = RunningCli(*args, *reports.args(), "--no-password-prompt", env=env)
    if isinstance(started, str):
        run.wait_for(started)
    else:
        assert started.wait(60), run.output()
    run.proc.send_signal(signal.SIGINT)
    status = run.finish()
    return agree(reports, status, "".join(run.stdout), "".join(run.stderr), "interrupted", f"INTERRUPTED: {error}")


def config(tmp_path: Path, text: str) -> str:
    path = tmp_path / "c.toml"
    path.write_text(text)
    return str(path)


# --------------------------------------------------------------------------- basic


def test_basic_passes_fails_is_undecided_and_is_interrupted(sandbox: SandboxState, silent_port: int,
                                                             wrong_password: list[str], tmp_path: Path) -> None:
    env = env_for(sandbox)
    data = finished(Reports.under(tmp_path, "pass"), "basic", env=env, outcome="passed",
                    last_line="PASSED: every check passed")
    assert "undecided" not in data and data["server"]["kind"] == "mariadb"  # type: ignore[index]
    data = finished(Reports.under(tmp_path, "fail"), "basic", *wrong_password, env=env, outcome="failed",
                    last_line="FAILED: Connecting failed: (1045) Access denied for user 'verdicts'@'127.0.0.1' "
                              "(using password: YES)")
    assert data["error"] == "Connecting failed: (1045) Access denied for user 'verdicts'@'127.0.0.1' (using " \
                            "password: YES)"
    # The whole flow may take 1 s, each connection attempt 30: it is stopped in Connecting, still waiting for a
    # handshake that never comes. Whether the server works is unknown: undecided, not failed.
    silent = ["-c", config(tmp_path, "[test]\ntimeout_secs = 1\n[database]\ntimeout_secs = 30\n"),
              "-H", f"127.0.0.1:{silent_port}"]
    data = finished(Reports.under(tmp_path, "undecided"), "basic", *silent, env=env, outcome="undecided",
                    last_line="UNDECIDED: 1 check could not be decided")
    assert data["undecided"] == 1
    assert data["unknown"] == ["state machine did not finish within 1 s (stuck in state Connecting)"]
    junit = ET.parse(Reports.under(tmp_path, "undecided").junit).getroot()  # the why, not "undecided: failed"
    assert [e.get("message") for e in junit.iter("error")] == [
        "undecided: state machine did not finish within 1 s (stuck in state Connecting)"]
    assert [s["state"] for s in data["states"]] == ["Initial", "ParsingConfig", "Error"]
    data = interrupted(Reports.under(tmp_path, "interrupted"), "basic", "-H", f"127.0.0.1:{silent_port}", env=env,
                       started="✓ Parsing Configuration")
    assert data["error"] == "interrupted by SIGINT"
    # the states the console showed as ended are kept (Connecting was in flight, waiting for the handshake)
    assert [s["state"] for s in data["states"]] == ["Initial", "ParsingConfig"]


# --------------------------------------------------------------------------- simple-multi-connection, multi-connection


@pytest.mark.parametrize("command", ["simple-multi-connection", "multi-connection"])
def test_connections_pass_fail_and_are_undecided(command: str, sandbox: SandboxState, silent_port: int,
                                                 wrong_password: list[str], tmp_path: Path) -> None:
    env = env_for(sandbox)
    two = [command, "--connection-count", "2"]
    data = finished(Reports.under(tmp_path, "pass"), *two, env=env, outcome="passed",
                    last_line="PASSED: every check passed")
    assert [c["ok"] for c in data["connections"]] == [True, True]  # type: ignore[union-attr]
    data = finished(Reports.under(tmp_path, "fail"), *two, *wrong_password, env=env, outcome="failed",
                    last_line="FAILED: 2 of 2 connections failed")
    assert data["failed"] == 2
    silent = ["-c", config(tmp_path, "[test]\ntimeout_secs = 1\n[database]\ntimeout_secs = 30\n"),
              "-H", f"127.0.0.1:{silent_port}"]
    data = finished(Reports.under(tmp_path, "undecided"), *two, *silent, env=env, outcome="undecided",
                    last_line="UNDECIDED: 2 checks could not be decided")
    assert (data["failed"], data["undecided"]) == (0, 2)
    assert [c["undecided"] for c in data["connections"]] == [True, True]  # type: ignore[union-attr]


def test_simple_multi_connection_interrupted_while_connecting(sandbox: SandboxState, tmp_path: Path) -> None:
    with silent_listener() as (port, arrived):
        data = interrupted(Reports.under(tmp_path, "interrupted"), "simple-multi-connection", "--connection-count",
                           "2", "-H", f"127.0.0.1:{port}", env=env_for(sandbox), started=arrived)
    assert data["error"] == "interrupted by SIGINT"


def test_multi_connection_interrupted_keeps_the_events_seen(sandbox: SandboxState, silent_port: int,
                                                           tmp_path: Path) -> None:
    """One connection reaches the server and waits at the barrier for the other, which waits for a handshake
    that never comes; SIGINT then ends the run with the events seen so far."""
    cfg = tmp_path / "c.json"
    cfg.write_text(json.dumps({"connections": [{"name": "real", "host": f"127.0.0.1:{sandbox.port}"},
                                               {"name": "silent", "host": f"127.0.0.1:{silent_port}"}]}))
    data = interrupted(Reports.under(tmp_path, "interrupted"), "multi-connection", "-c", str(cfg),
                       "--connection-count", "2", env=env_for(sandbox), started="ConnectionEstablished{id: real}")
    assert data["error"] == "interrupted by SIGINT"
    assert [(e["kind"], e["connection"]) for e in data["events"]] == [  # type: ignore[union-attr]
        ("ConnectionEstablished", "real")]


# --------------------------------------------------------------------------- run


HANDLERS = {
    "passes": """
        class Passes(StateHandler):
            async def execute(self, ctx):
                return State.VERIFYING_DATABASE
    """,
    "fails": """
        class Fails(StateHandler):
            async def execute(self, ctx):
                raise ValueError("the check found a wrong value")
    """,
    "sleeps": """
        class Sleeps(StateHandler):
            async def execute(self, ctx):
                await ctx.connection.execute("SELECT SLEEP(60) AS rig_sleeps")
                return State.VERIFYING_DATABASE
    """,
    "sleeps_in_a_thread": """
        from test_rig_python import PyState, PyStateHandler

        class SleepsInAThread(PyStateHandler):
            def execute(self, context):
                context.connection.execute_query("SELECT SLEEP(60) AS rig_sleeps")
                return PyState.completed()
    """,
    "waits": """
        class Waits(StateHandler):
            async def execute(self, ctx):
                print("handler started", flush=True)
                await asyncio.sleep(100)
                return State.VERIFYING_DATABASE
    """,
}


def handler(tmp_path: Path, name: str) -> str:
    path = tmp_path / f"test_{name}.py"
    path.write_text("import asyncio\nfrom test_rig import State, StateHandler\n" + textwrap.dedent(HANDLERS[name]))
    return str(path)


def test_run_passes_fails_is_undecided_and_is_interrupted(sandbox: SandboxState, tmp_path: Path) -> None:
    env = env_for(sandbox)
    data = finished(Reports.under(tmp_path, "pass"), "run", handler(tmp_path, "passes"), env=env, outcome="passed",
                    last_line="PASSED: every check passed")
    assert [r["ok"] for r in data["results"]] == [True]  # type: ignore[union-attr]
    data = finished(Reports.under(tmp_path, "fail"), "run", handler(tmp_path, "fails"), env=env, outcome="failed",
                    last_line="FAILED: 1 of 1 handler(s) failed")
    assert [r["error"] for r in data["results"]] == [  # type: ignore[union-attr]
        "Fails raised ValueError in state TestingConnection: the check found a wrong value"]
    one_second = ["-c", config(tmp_path, "[test]\ntimeout_secs = 1\n")]
    data = finished(Reports.under(tmp_path, "undecided"), "run", handler(tmp_path, "waits"), *one_second, env=env,
                    outcome="undecided", last_line="UNDECIDED: 1 check could not be decided")
    assert [r["error"] for r in data["results"]] == [  # type: ignore[union-attr]
        "state machine did not finish within 1 s (stuck in state TestingConnection)"]
    data = interrupted(Reports.under(tmp_path, "interrupted"), "run", handler(tmp_path, "passes"),
                       handler(tmp_path, "waits"), env=env, started="handler started",
                       error="interrupted by SIGINT after 1 of 2 handler(s)")
    assert data["error"] == "interrupted by SIGINT after 1 of 2 handler(s)"
    assert [r["handler"].rsplit(":", 1)[1] for r in data["results"]] == ["Passes"]  # type: ignore[union-attr]


def _sleeping(sandbox: SandboxState, alias: str) -> list[tuple[object, ...]]:
    """The connections running `SELECT SLEEP(60) AS alias` (this query's own text holds the pattern too: it is
    left out)."""
    return sql_on(sandbox, "SELECT ID FROM information_schema.PROCESSLIST WHERE INFO LIKE "
                           f"'SELECT SLEEP(60) AS {alias}%' AND ID <> CONNECTION_ID()")[0]


def _kills(sandbox: SandboxState) -> int:
    return int(str(sql_on(sandbox, "SHOW GLOBAL STATUS LIKE 'Com_kill'")[0][0][1]))


def _stopped_on_the_server(sandbox: SandboxState, alias: str, count: int, run: Callable[[threading.Event], None]
                           ) -> tuple[list[tuple[object, ...]], int]:
    """`run(started)` (an interrupted run) with `started` set once `count` statements `SELECT SLEEP(60) AS alias`
    run on the server; then, once they have ended (or 10 s), those still running and the KILLs the server
    counted meanwhile."""
    kills_before = _kills(sandbox)
    started = threading.Event()

    def watch() -> None:  # the event: the statements run on the server
        deadline = time.monotonic() + 60
        while len(_sleeping(sandbox, alias)) < count and time.monotonic() < deadline:
            time.sleep(0.05)
        started.set()

    threading.Thread(target=watch, daemon=True).start()
    run(started)
    deadline = time.monotonic() + 10  # the event: the statements have ended
    while _sleeping(sandbox, alias) and time.monotonic() < deadline:
        time.sleep(0.05)
    return _sleeping(sandbox, alias), _kills(sandbox) - kills_before


@pytest.mark.parametrize("kind", ["sleeps", "sleeps_in_a_thread"])
def test_an_interrupted_handlers_statement_is_stopped_on_the_server(kind: str, sandbox: SandboxState,
                                                                    tmp_path: Path) -> None:
    """Ctrl-C while a handler's statement runs (SELECT SLEEP(60), from a coroutine handler and from a plain one's
    thread): the run ends as interrupted, and the program stopped the statement on the server (one KILL, and the
    statement gone). Closing the connection alone left it running (MariaDB's SLEEP looks for a closed client every
    5 s; a long SELECT would run to its end)."""
    def run(started: threading.Event) -> None:
        data = interrupted(Reports.under(tmp_path, "sleeps"), "run", handler(tmp_path, kind), env=env_for(sandbox),
                           started=started, error="interrupted by SIGINT after 0 of 1 handler(s)")
        assert data["error"] == "interrupted by SIGINT after 0 of 1 handler(s)"

    assert _stopped_on_the_server(sandbox, "rig_sleeps", 1, run) == ([], 1)


def test_an_interrupted_user_workloads_statements_are_stopped_on_the_server(sandbox: SandboxState,
                                                                           tmp_path: Path) -> None:
    """The same for `bench user`, whose tasks' statements take the fast path (FastConnection): three users each in
    SELECT SLEEP(60) when Ctrl-C comes; the run is interrupted, each statement was killed (three KILLs) and none
    runs on."""
    workload = tmp_path / "sleepy.py"
    workload.write_text("from test_rig.load.user import User, task\n\n\nclass Sleepy(User):\n    @task\n"
                        "    async def nap(self, conn):\n        await conn.execute('SELECT SLEEP(60) AS rig_naps')\n")

    def run(started: threading.Event) -> None:
        data = interrupted(Reports.under(tmp_path, "naps"), "bench", "user", str(workload), "--connections", "3",
                           "--duration", "120", env=env_for(sandbox), started=started)
        assert data["complete"] is False

    assert _stopped_on_the_server(sandbox, "rig_naps", 3, run) == ([], 3)


# --------------------------------------------------------------------------- bench


@pytest.fixture(scope="module")
def query_limited(sandbox: SandboxState) -> list[str]:
    """A user allowed 4 statements an hour: the 2 connections' own set-up uses them, so every SELECT of the load
    is refused (1226) and no operation completes."""
    create_user(sandbox, "verdicts_limited", "Limited-Pw-3", limit="WITH MAX_QUERIES_PER_HOUR 4")
    return ["-u", "verdicts_limited", "--password", "Limited-Pw-3"]


@pytest.mark.parametrize("workload", ["select-1", "point-select"])
def test_bench_passes_fails_and_is_interrupted(workload: str, sandbox: SandboxState, tmp_path: Path) -> None:
    env = env_for(sandbox)
    run = ["bench", workload, "--connections", "2", *(["--table-size", "200"] if workload == "point-select" else [])]
    data = finished(Reports.under(tmp_path, "pass"), *run, "--duration", "1", env=env, outcome="passed",
                    last_line="PASSED: every check passed")
    assert data["operations"] > 0  # type: ignore[operator]
    # A fault that is injected (the kill command succeeds) but cannot be healed: the run did not test what was asked.
    error = "nemesis: kill could not be healed: the start command exited with status 1: false"
    data = finished(Reports.under(tmp_path, "fail"), *run, "--duration", "2", "--nemesis", "kill",
                    "--nemesis-interval", "1", "--nemesis-command", "kill=true", "--nemesis-command", "start=false",
                    env=env, outcome="failed", last_line=f"FAILED: {error}")
    assert data["error"] == error
    data = interrupted(Reports.under(tmp_path, "interrupted"), *run, "--duration", "60", env=env, started="   1 s: ")
    assert data["error"] == "interrupted by SIGINT"
    assert data["operations"] == sum(t["ops"] for t in data["timeline"]) > 0  # type: ignore[union-attr]


def test_bench_that_measured_nothing_is_undecided(sandbox: SandboxState, query_limited: list[str],
                                                  tmp_path: Path) -> None:
    data = finished(Reports.under(tmp_path, "undecided"), "bench", "select-1", "--connections", "2", "--duration",
                    "1", *query_limited, env=env_for(sandbox), outcome="undecided",
                    last_line="UNDECIDED: 1 check could not be decided")
    assert data["operations"] == 0 and data["undecided"] == 1
    assert set(data["errors_by_code"]) == {"1226"}  # type: ignore[arg-type]
    refused = data["error_messages"]["1226"]  # type: ignore[index]
    assert "'max_queries_per_hour' resource" in refused
    assert data["unknown"] == [f"no operation completed in 1 s ({data['errors']} errors: 1226 ×{data['errors']}: "
                               f"{refused}): nothing was measured"]


@pytest.mark.parametrize("spread", [["--processes", "2"], ["--ray", "auto"]])
def test_a_warmup_that_worker_processes_would_skip_is_refused(spread: list[str], sandbox: SandboxState,
                                                             tmp_path: Path) -> None:
    out = tmp_path / "w.json"
    r = run_cli("bench", "select-1", "--connections", "2", "--warmup", "1", *spread, "--json", str(out),
                "--no-password-prompt", env=env_for(sandbox))
    assert (r.returncode, r.stdout) == (2, "")
    assert r.stderr == (f"error: --warmup applies to a run in one process; with {spread[0]} leave it out (or make "
                        "--duration longer and read the timeline from the warm seconds).\n")
    assert not out.exists()


def test_two_point_select_runs_started_together_share_their_table(sandbox: SandboxState, tmp_path: Path) -> None:
    """The second run waits for the first one's load of rig_sbtest1 and reuses it, instead of dropping the table
    the first is filling (which failed it with "Table ... doesn't exist")."""


    async def admin(sql: str) -> object:
        conn = await connect(Target("admin", sandbox.host, sandbox.port, "root", "", None, 10))
        try:
            return await conn.scalar(sql)
        finally:
            await conn.close()

    asyncio.run(admin("DROP DATABASE IF EXISTS rig_bench_race"))
    asyncio.run(admin("CREATE DATABASE rig_bench_race"))
    try:
        env = {**env_for(sandbox), "TIDB_DATABASE": "rig_bench_race"}
        runs = [RunningCli("bench", "point-select", "--connections", "1", "--duration", "0.5", "--table-size",
                           "20000", "--json", str(tmp_path / f"{n}.json"), "--no-password-prompt", env=env)
                for n in ("a", "b")]
        assert [run.finish(timeout=120) for run in runs] == [0, 0], [run.output() for run in runs]
        assert [json.loads((tmp_path / f"{n}.json").read_text())["outcome"] for n in ("a", "b")] == ["passed"] * 2
        assert asyncio.run(admin("SELECT COUNT(*) FROM rig_bench_race.rig_sbtest1")) == 20000
    finally:
        asyncio.run(admin("DROP DATABASE IF EXISTS rig_bench_race"))


@pytest.mark.parametrize("command", ["simple-multi-connection", "multi-connection"])
def test_an_option_every_configured_connection_overrides_is_named(command: str, sandbox: SandboxState,
                                                                  tmp_path: Path) -> None:
    """-H names a closed port, but both configured connections name their own host: the run uses theirs and says
    that -H was not used (it used to be silently ignored); -u, which no entry sets, is used and not named."""
    cfg = tmp_path / "c.json"
    cfg.write_text(json.dumps({"connections": [{"name": n, "host": f"127.0.0.1:{sandbox.port}"} for n in "ab"]}))
    r = run_cli(command, "-c", str(cfg), "-H", "127.0.0.1:1", "-u", "root", "--connection-count", "2",
                "--no-password-prompt", env=env_for(sandbox))
    assert r.returncode == 0, r.stdout + r.stderr
    notes = [line for line in r.stdout.splitlines() if line.startswith("note: ")]
    assert notes == ["note: -H/--host is not used: every entry of `connections` in the configuration sets its own "
                     "host"]
    assert r.stdout.splitlines()[-1] == "PASSED: every check passed"
