"""Edges a user meets: a server that never answers, the hidden password prompt, JSON logs, refused levels."""

from __future__ import annotations

import asyncio
import json
import os
import pty
import re
import select
import signal
import socket
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from test_rig.db import Target
from test_rig.errors import RigError
from test_rig.isolation.catalogue import CATALOGUE
from test_rig.isolation.runner import Level, RunSettings, run_catalogue
from test_rig.servers.sandbox import SandboxState
from tests.helpers import RunningCli, create_user, run_cli


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A listener that accepts connections and never says a word (a hung server or a black hole)."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.1)
        while not stop.is_set():
            try:
                held.append(server.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield int(server.getsockname()[1])
    stop.set()
    thread.join()
    for s in held:
        s.close()
    server.close()


def test_silent_server_times_out_within_timeout_secs(silent_port: int, tmp_path: Path) -> None:
    cfg = tmp_path / "c.json"
    cfg.write_text('{"database": {"timeout_secs": 2}}')
    started = time.monotonic()
    r = run_cli("basic", "-c", str(cfg), "-H", f"127.0.0.1:{silent_port}", "--no-password-prompt")
    elapsed = time.monotonic() - started
    assert r.returncode == 1
    assert f"hint: Cannot reach 127.0.0.1:{silent_port}" in r.stdout
    assert "Traceback" not in r.stdout + r.stderr
    assert elapsed < 2 + 8  # timeout_secs 2, far below the 30 s default, with room for a loaded machine


def test_password_prompt_on_a_terminal_is_hidden(sandbox: SandboxState) -> None:
    secret = "Prompted-Pw-4242"
    create_user(sandbox, "prompted", secret)
    env = {k: v for k, v in os.environ.items() if not k.startswith("TIDB_")}
    env.update({"TIDB_HOST": f"127.0.0.1:{sandbox.port}", "TIDB_USER": "prompted"})
    pid, fd = pty.fork()
    if pid == 0:  # the child: test-rig on a real terminal
        os.execve(sys.executable, [sys.executable, "-m", "test_rig", "basic"], env)
    output = b""
    deadline = time.monotonic() + 30
    sent = False
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.2)
        if ready:
            try:
                chunk = os.read(fd, 4096)
            except OSError:
                break
            if not chunk:
                break
            output += chunk
        if not sent and b"Password for prompted@127.0.0.1" in output:
            os.write(fd, secret.encode() + b"\n")
            sent = True
    _, status = os.waitpid(pid, 0)
    text = re.sub(r"\x1b\[[0-9;]*m", "", output.decode(errors="replace"))
    assert sent, text
    assert os.waitstatus_to_exitcode(status) == 0, text
    assert "OK: connected to mariadb server" in text
    assert secret not in text


def test_json_log_format(tmp_path: Path) -> None:
    cfg = tmp_path / "c.toml"
    log = tmp_path / "log.jsonl"
    cfg.write_text(f'[database]\ntimeout_secs = 1\n[logging]\nformat = "json"\nfile = "{log}"\nconsole = false\n')
    r = run_cli("basic", "-c", str(cfg), "-H", "127.0.0.1:1", "--no-password-prompt")
    assert r.returncode == 1
    records = [json.loads(line) for line in log.read_text().splitlines()]
    assert records, "retries must be logged"
    assert all(set(rec) >= {"ts", "level", "logger", "message"} for rec in records)
    retry = next(rec for rec in records if rec["message"].startswith("retry connect to 127.0.0.1:1: attempt 1"))
    assert retry["level"] == "info" and retry["logger"] == "test_rig.resilience"
    assert r.stderr == ""  # console logging is off: nothing but the result on stdout


@pytest.mark.parametrize(("signum", "status", "name"),
                         [(signal.SIGINT, 130, "SIGINT"), (signal.SIGTERM, 143, "SIGTERM")])
def test_interrupt_while_connecting_to_a_silent_server_is_never_retried(silent_port: int, tmp_path: Path,
                                                                        signum: int, status: int, name: str) -> None:
    out, junit = tmp_path / "i.json", tmp_path / "i.xml"
    run = RunningCli("basic", "-H", f"127.0.0.1:{silent_port}", "--no-password-prompt", "--json", str(out),
                     "--junit", str(junit))
    run.wait_for("✓ Parsing Configuration")  # now it is waiting for the server's handshake
    started = time.monotonic()
    run.proc.send_signal(signum)
    assert run.finish() == status
    assert time.monotonic() - started < 5  # at once, not after the 30 s connect timeout
    assert "".join(run.stderr) == f"interrupted by {name}\n"
    data = json.loads(out.read_text())
    # the states that ended before the signal (Connecting was still waiting for the greeting), with their times
    assert [s["state"] for s in data.pop("states")] == ["Initial", "ParsingConfig"]
    assert data == {"command": "basic", "ok": False, "complete": False, "error": f"interrupted by {name}",
                    "outcome": "interrupted", "reason": f"interrupted by {name}"}
    assert f'<error message="the run did not finish: interrupted by {name}">' in junit.read_text()


def test_an_unknown_host_name_is_not_retried(tmp_path: Path) -> None:
    r = run_cli("basic", "-H", "no-such-host.invalid:4000", "--no-password-prompt")
    assert r.returncode == 1
    assert "FAILED: Connecting failed: (2005) Can't connect to MySQL server on 'no-such-host.invalid'" in r.stdout
    assert "retry" not in r.stderr


def test_log_file_flag_uses_default_path(sandbox: SandboxState, tmp_path: Path) -> None:
    r = run_cli("basic", "-H", f"127.0.0.1:{sandbox.port}", "--no-password-prompt", "--log-file", "-v", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "test-rig.log").is_file()
    assert "DEBUG" in (tmp_path / "test-rig.log").read_text()


def test_a_level_statement_the_server_cannot_parse_is_an_error_of_the_run(sandbox: SandboxState) -> None:
    """Only a refusal of the level itself makes a level unsupported; a syntax error is the run's error."""
    target = Target("t", sandbox.host, sandbox.port, "root", "", "test", 5)
    with pytest.raises(RigError) as info:
        asyncio.run(run_catalogue(target, [CATALOGUE["G0"], CATALOGUE["P4"]], [Level("snapshot")], RunSettings()))
    assert info.value.message.startswith("Could not open the connections for snapshot: (1064) You have an error in "
                                         "your SQL syntax")


@pytest.mark.parametrize(("args", "option", "value"), [
    (["bench", "select-1", "--duration", "nan"], "--duration", "nan"),
    (["bench", "point-select", "--duration", "inf"], "--duration", "inf"),
    (["bench", "select-1", "--nemesis", "kill", "--nemesis-interval", "nan"], "--nemesis-interval", "nan"),
    (["elle", "list-append", "--duration", "inf"], "--duration", "inf"),
    (["hunt", "--duration", "nan"], "--duration", "nan"),
    (["multi-connection", "--coordination-timeout", "inf"], "--coordination-timeout", "inf"),
])
def test_a_float_option_refuses_nan_and_inf_before_any_work(args: list[str], option: str, value: str) -> None:
    """NaN passed every range (no comparison with it is true) and ran into a confusing error mid-run; inf meant a
    run without end. Nothing listens at the address: exit 2 with click's sentence proves nothing was tried."""
    r = run_cli(*args, "-H", "127.0.0.1:1", "--no-password-prompt")
    assert (r.returncode, r.stdout) == (2, "")
    command = " ".join(args[:2]) if args[0] == "bench" else args[0]
    assert r.stderr == (f"error: Invalid value for '{option}': '{value}' is not a finite number; see "
                        f"'python -m test_rig {command} --help'.\n"), r.stderr


@pytest.mark.parametrize("args", [["bench", "point-select", "--duration", "1e9"],
                                  ["bench", "oltp-read-write", "--duration", "1e9"],
                                  ["bench", "user", "examples/bench_user.py", "--duration", "31536001"],
                                  ["bench", "select-1", "--warmup", "1e9"],
                                  ["elle", "list-append", "--duration", "1e9"]])
def test_a_duration_over_a_year_is_bad_input(args: list[str]) -> None:
    """`--duration 1e9` was accepted: the load's per-second slots were made for the whole run up front and filled
    24 GB before the first second was over (the kernel killed it), and SIGTERM could not stop it meanwhile. A year
    is the bound, as for job-monitor; nothing listens at the address: exit 2 proves nothing was tried."""
    r = run_cli(*args, "-H", "127.0.0.1:1", "--no-password-prompt")
    assert (r.returncode, r.stdout) == (2, "")
    flag = "--warmup" if "--warmup" in args else "--duration"
    command = " ".join(args[:2]) if args[0] == "bench" else args[0]
    assert r.stderr == (f"error: Invalid value for '{flag}': {float(args[-1])} is not in the range "
                        f"{'0' if flag == '--warmup' else '0.1'}<=x<=31536000; see 'python -m test_rig {command} "
                        "--help'.\n"), r.stderr


@pytest.mark.parametrize(("args", "config", "message"), [
    (["--log-file-path", "/proc/x.log"], None,
     "error: --log-file-path /proc/x.log cannot be written (No such file or directory); choose another path.\n"),
    (["--log-file-path", "/tmp"], None, "error: --log-file-path /tmp is a directory; give a file name such as "
                                        "/tmp/test-rig.log.\n"),
    ([], '[logging]\nfile = "/proc/y.log"\n',
     "error: logging.file /proc/y.log cannot be written (No such file or directory); choose another path.\n"),
])
def test_a_log_file_that_cannot_be_written_is_bad_input(tmp_path: Path, args: list[str], config: str | None,
                                                        message: str) -> None:
    """Tried before anything runs, like a report path (it was an internal error from the log's FileHandler). Nothing
    listens at the address: exit 2 proves nothing was tried."""
    if config is not None:
        (tmp_path / "c.toml").write_text(config)
        args = [*args, "-c", str(tmp_path / "c.toml")]
    r = run_cli("basic", *args, "-H", "127.0.0.1:1", "--no-password-prompt")
    assert (r.returncode, r.stdout, r.stderr) == (2, "", message)
