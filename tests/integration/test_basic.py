"""`test-rig basic` and the sandbox, run as a user would, against the session's MariaDB."""

from __future__ import annotations

import json
import re
import socket
import time
from pathlib import Path

import pytest

from test_rig.servers.sandbox import SandboxState
from tests.helpers import run_cli

SECRET = "Sup3r-Secret-PW"


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def secret_user(sandbox: SandboxState) -> str:
    import asyncio

    from test_rig.db import Target, connect

    async def create() -> None:
        conn = await connect(Target("admin", sandbox.host, sandbox.port, "root", "", None, 10))
        await conn.execute("CREATE USER IF NOT EXISTS 'secretuser'@'%%' IDENTIFIED BY %s", [SECRET])
        await conn.execute("GRANT ALL ON *.* TO 'secretuser'@'%'")
        await conn.close()

    asyncio.run(create())
    return "secretuser"


def test_basic_succeeds_and_writes_json(sandbox: SandboxState, tmp_path: Path) -> None:
    out = tmp_path / "out.json"
    junit = tmp_path / "out.xml"
    r = run_cli("basic", "-H", f"127.0.0.1:{sandbox.port}", "-u", "root", "--no-password-prompt",
                "--json", str(out), "--junit", str(junit))
    assert r.returncode == 0, r.stdout + r.stderr
    for display in ("Connecting to MariaDB", "Testing Connection", "Verifying Database", "Getting Server Version"):
        assert display in r.stdout
    assert "connected to mariadb server, version 10." in r.stdout
    data = json.loads(out.read_text())
    assert data["command"] == "basic"
    assert data["ok"] is True
    assert data["server"]["kind"] == "mariadb"
    assert data["server"]["version"].startswith("10.")
    assert [s["state"] for s in data["states"]] == ["Initial", "ParsingConfig", "Connecting", "TestingConnection",
                                                    "VerifyingDatabase", "GettingVersion", "Completed"]
    assert all(isinstance(s["ms"], float) for s in data["states"])
    # the JSON's keys as documented before the flow returned a RunResult
    assert sorted(data) == ["command", "complete", "error", "hint", "ok", "outcome", "reason", "retries", "seconds",
                            "server", "states"]
    assert (data["error"], data["hint"], data["complete"], data["retries"]) == (None, None, True, [])
    assert '<testcase name="basic"' in junit.read_text()


def test_python_dash_m_is_the_same_command(sandbox: SandboxState, server_env: dict[str, str]) -> None:
    r = run_cli("basic", "--no-password-prompt", env=server_env)
    assert r.returncode == 0, r.stderr


def test_closed_port_fails_within_timeout_with_connection_hint(tmp_path: Path) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text("[database]\ntimeout_secs = 2\n")
    port = _closed_port()
    started = time.monotonic()
    r = run_cli("basic", "-c", str(cfg), "-H", f"127.0.0.1:{port}", "--no-password-prompt", "--json",
                str(tmp_path / "f.json"))
    elapsed = time.monotonic() - started
    assert r.returncode == 1
    assert f"hint: Cannot reach 127.0.0.1:{port}: check the host and port" in r.stdout
    # Three real attempts open the breaker (threshold 3); what it rejects afterwards is not an attempt.
    assert (f"FAILED: Connecting failed: connect to 127.0.0.1:{port} failed after 3 attempts in ") in r.stdout
    assert "then the circuit breaker opened and stopped the retries (circuit 'database' is open after 3 " \
           "consecutive failures" in r.stdout
    assert f"retry connect to 127.0.0.1:{port}: attempt 1 failed ((2003) Can't connect" in r.stderr
    assert f"retry connect to 127.0.0.1:{port}: attempt 3 failed" in r.stderr
    assert "attempt 4" not in r.stderr
    assert "Traceback" not in r.stdout + r.stderr
    # Every line on stderr is a log line of one format: time, level, logger, message.
    assert all(re.match(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} [A-Z]+ test_rig\.[a-z]+: ", line)
               for line in r.stderr.splitlines()), r.stderr
    assert elapsed < 2 + 8  # timeout_secs 2, far below the 30 s default, with room for a loaded machine
    data = json.loads((tmp_path / "f.json").read_text())
    assert data["ok"] is False
    assert data["states"][-1]["state"] == "Error"
    assert len(data["retries"]) >= 3


def test_wrong_password_fails_fast_without_retry_and_never_shows_it(sandbox: SandboxState, secret_user: str,
                                                                   tmp_path: Path) -> None:
    wrong = "Wr0ng-" + SECRET
    log = tmp_path / "run.log"
    out = tmp_path / "f.json"
    started = time.monotonic()
    r = run_cli("basic", "-H", f"127.0.0.1:{sandbox.port}", "-u", secret_user, "--password", wrong,
                "--log-file-path", str(log), "--log-level", "debug", "--json", str(out))
    assert time.monotonic() - started < 2 + 8  # one attempt, no retry: far below any retry schedule
    assert r.returncode == 1
    assert "hint: Access denied: check the user name and password" in r.stdout
    assert "retry" not in r.stderr
    for text in (r.stdout, r.stderr, log.read_text(), out.read_text()):
        assert wrong not in text


def test_right_password_from_env_never_appears(sandbox: SandboxState, secret_user: str, tmp_path: Path,
                                               server_env: dict[str, str]) -> None:
    env = dict(server_env, TIDB_USER=secret_user, TIDB_PASSWORD=SECRET)
    log = tmp_path / "run.log"
    out = tmp_path / "f.json"
    r = run_cli("basic", "-v", "--log-file-path", str(log), "--json", str(out), env=env)
    assert r.returncode == 0, r.stderr
    r2 = run_cli("show-config", "--sources", env=env)
    for text in (r.stdout, r.stderr, log.read_text(), out.read_text(), r2.stdout, r2.stderr):
        assert SECRET not in text
    assert "environment variable TIDB_PASSWORD" in r2.stdout


def test_password_from_a_config_file_never_appears(sandbox: SandboxState, secret_user: str, tmp_path: Path) -> None:
    cfg = tmp_path / "tidb_config.toml"
    cfg.write_text(f'[database]\nhost = "127.0.0.1:{sandbox.port}"\nusername = "{secret_user}"\n'
                   f'password = "{SECRET}"\n[logging]\nfile = "{tmp_path / "run.log"}"\nlevel = "debug"\n')
    out = tmp_path / "o.json"
    r = run_cli("basic", "--json", str(out), "--junit", str(tmp_path / "o.xml"), cwd=tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr
    shown = run_cli("show-config", "--sources", cwd=tmp_path)
    bad = run_cli("basic", "-d", "no_such_db", "--json", str(tmp_path / "bad.json"), cwd=tmp_path)
    assert bad.returncode == 1
    for text in (r.stdout, r.stderr, shown.stdout, bad.stdout, bad.stderr, out.read_text(),
                 (tmp_path / "o.xml").read_text(), (tmp_path / "run.log").read_text(),
                 (tmp_path / "bad.json").read_text()):
        assert SECRET not in text
    assert json.loads(shown.stdout)["sources"]["database.password"] == f"file {cfg}, key database.password"


def test_unknown_database_hint(sandbox: SandboxState) -> None:
    r = run_cli("basic", "-H", f"127.0.0.1:{sandbox.port}", "-d", "no_such_db", "--no-password-prompt")
    assert r.returncode == 1
    assert "(1049) Unknown database 'no_such_db'" in r.stdout
    assert "hint: Unknown database no_such_db: check -d/--database or create it first." in r.stdout


def test_session_variables_are_applied(sandbox: SandboxState) -> None:
    import asyncio

    from test_rig.db import Target, connect

    async def check() -> tuple[object, object]:
        t = Target("s", sandbox.host, sandbox.port, "root", "", "test", 10,
                   session_variables={"innodb_lock_wait_timeout": 7, "sql_mode": "ANSI_QUOTES"})
        conn = await connect(t)
        got = await conn.query("SELECT @@SESSION.innodb_lock_wait_timeout, @@SESSION.sql_mode")
        await conn.close()
        return got[0]

    assert asyncio.run(check()) == (7, "ANSI_QUOTES")


def test_sandbox_cli_lifecycle(tmp_path: Path) -> None:
    d = str(tmp_path / "box")
    r = run_cli("sandbox", "start", "--dir", d)
    assert r.returncode == 0, r.stderr
    port = int(r.stdout.split("127.0.0.1:")[1].split()[0])
    assert port != 3306
    env_out = run_cli("sandbox", "env", "--dir", d).stdout.splitlines()
    assert env_out == [f"export TIDB_HOST=127.0.0.1:{port}", "export TIDB_USER=root", "export TIDB_PASSWORD=",
                       "export TIDB_DATABASE=test"]
    assert run_cli("sandbox", "status", "--dir", d).returncode == 0
    assert run_cli("sandbox", "stop", "--dir", d).stdout.strip() == "sandbox stopped"
    status = run_cli("sandbox", "status", "--dir", d)
    assert status.returncode == 1 and status.stdout.startswith("not running")
    env_fail = run_cli("sandbox", "env", "--dir", d)
    assert env_fail.returncode == 2 and env_fail.stderr.startswith("error: No sandbox is running")
