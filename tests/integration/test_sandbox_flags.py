"""`sandbox` flags: --dir with --name is refused, and every hint printed repeats the --name or --dir the
user gave, so that following it acts on the same sandbox (checked by running the hint)."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import tempfile
from pathlib import Path

import pytest

from tests.helpers import env_for, run_cli


@pytest.fixture
def state_home(tmp_path: Path) -> dict[str, str]:
    """An environment whose named sandboxes live under the test's own directory."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TIDB_") and k != "TEST_RIG_SANDBOX_DIR"}
    env["XDG_STATE_HOME"] = str(tmp_path / "state")
    return env


def follow(hint: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run the `test-rig ...` command quoted in a hint, as a user copying it would."""
    found = re.search(r"`(test-rig [^`]+)`|\$\((test-rig [^)]+)\)", hint)
    assert found, hint
    argv = shlex.split(found.group(1) or found.group(2))
    return run_cli(*argv[1:], env=env, cwd=cwd)


@pytest.mark.parametrize("action", ["start", "stop", "status", "env"])
def test_dir_with_name_is_refused(action: str, tmp_path: Path, state_home: dict[str, str]) -> None:
    d = tmp_path / "box"
    r = run_cli("sandbox", action, "--dir", str(d), "--name", "n1", env=state_home)
    assert r.returncode == 2
    assert r.stderr == "error: --dir and --name both choose the sandbox's directory; give only one of them.\n"
    assert r.stdout == ""
    assert not d.exists() and not (tmp_path / "state").exists()


def test_a_name_that_is_not_a_plain_word_is_refused(tmp_path: Path, state_home: dict[str, str]) -> None:
    r = run_cli("sandbox", "start", "--name", "../elsewhere", env=state_home)
    assert r.returncode == 2
    assert r.stderr == ("error: --name ../elsewhere must be up to 64 letters, digits, '.', '_' or '-' (it names a "
                        "directory); choose another name.\n")
    assert not (tmp_path / "state").exists()


@pytest.mark.parametrize("how", ["name", "dir"])
def test_every_hint_acts_on_the_same_sandbox(how: str, tmp_path: Path, state_home: dict[str, str]) -> None:
    # A relative --dir, given from one directory; the hints are followed from another.
    here, elsewhere = tmp_path / "here", tmp_path / "elsewhere"
    here.mkdir()
    elsewhere.mkdir()
    chosen = ["--name", "flags1"] if how == "name" else ["--dir", "box"]
    box_dir = tmp_path / "state" / "test-rig" / "sandbox-flags1" if how == "name" else here / "box"
    again = "--name flags1" if how == "name" else f"--dir {box_dir}"
    started = run_cli("sandbox", "start", *chosen, env=state_home, cwd=here)
    try:
        assert started.returncode == 0, started.stderr
        lines = started.stdout.splitlines()
        port = int(lines[0].split("127.0.0.1:")[1].split()[0])
        assert lines[0].endswith(f"dir {box_dir})")
        assert lines[1] == f'point test-rig at it with: eval "$(test-rig sandbox env {again})"'
        env = follow(lines[1], state_home, elsewhere)
        assert env.returncode == 0, env.stderr
        assert env.stdout.splitlines()[0] == f"export TIDB_HOST=127.0.0.1:{port}"

        # "Already running" names the same sandbox in its `stop` hint.
        other_port = port + 1 if port < 65535 else port - 1
        busy = run_cli("sandbox", "start", *chosen, "--port", str(other_port), env=state_home, cwd=here)
        assert busy.returncode == 2
        assert busy.stderr == (f"error: A sandbox is already running in {box_dir} on "
                               f"port {port}; stop it first with `test-rig sandbox stop {again}`.\n")
        stopped = follow(busy.stderr, state_home, elsewhere)
        assert stopped.returncode == 0 and stopped.stdout == "sandbox stopped\n"

        # Once stopped, `env` and `status` point at `start` of the same sandbox, which reuses its port.
        missing = run_cli("sandbox", "env", *chosen, env=state_home, cwd=here)
        assert missing.returncode == 2
        assert missing.stderr == (f"error: No sandbox is running in {box_dir}; start one "
                                  f"with `test-rig sandbox start {again}`.\n")
        status = run_cli("sandbox", "status", *chosen, env=state_home, cwd=here)
        assert status.returncode == 1
        assert status.stdout == (f"not running (dir {box_dir}); start it with "
                                 f"`test-rig sandbox start {again}`\n")
        restarted = follow(missing.stderr, state_home, elsewhere)
        assert restarted.returncode == 0, restarted.stderr
        assert f"127.0.0.1:{port} " in restarted.stdout and f"dir {box_dir})" in restarted.stdout
    finally:
        run_cli("sandbox", "stop", "--destroy", *(["--name", "flags1"] if how == "name" else ["--dir", str(box_dir)]),
                env=state_home)
    assert not box_dir.exists()


def test_env_finds_a_sandbox_started_with_dir_by_its_port(tmp_path: Path, state_home: dict[str, str]) -> None:
    """`sandbox env --port P` finds the sandbox serving P wherever its --dir (find_sandbox, from the registry of
    started sandboxes in the state directory), as the nemesis does."""
    where = tmp_path / "somewhere" / "else"
    r = run_cli("sandbox", "start", "--dir", str(where), env=state_home)
    assert r.returncode == 0, r.stdout + r.stderr
    found = re.search(r"running on 127\.0\.0\.1:(\d+)", r.stdout)
    assert found, r.stdout
    port = int(found.group(1))
    try:
        by_port = run_cli("sandbox", "env", "--port", str(port), env=state_home)
        assert by_port.returncode == 0, by_port.stderr
        assert by_port.stdout == run_cli("sandbox", "env", "--dir", str(where), env=state_home).stdout
        assert f"export TIDB_HOST=127.0.0.1:{port}\n" in by_port.stdout
        both = run_cli("sandbox", "env", "--port", str(port), "--dir", str(where), env=state_home)
        assert (both.returncode, both.stderr) == (2, "error: --port finds the sandbox by its port; give it without "
                                                     "--dir and --name.\n")
    finally:
        run_cli("sandbox", "stop", "--dir", str(where), "--destroy", env=state_home)
    gone = run_cli("sandbox", "env", "--port", str(port), env=state_home)
    assert (gone.returncode, gone.stderr) == (2, f"error: No sandbox is running on 127.0.0.1:{port}; `test-rig "
                                                 "sandbox status` shows the default one, or start one with --port.\n")


def test_a_sandbox_in_a_deep_directory_starts_and_leaves_no_socket_behind(tmp_path: Path) -> None:
    """mariadbd refuses a Unix socket path over 107 bytes; a sandbox whose directory is that deep (pytest-xdist's
    temporary directories were) keeps its socket in the temporary directory instead, and removes it at the end."""
    from test_rig.servers.sandbox import Sandbox

    box = Sandbox(tmp_path / ("deep-" * 20) / "box")
    assert len(os.fsencode(box.dir / "server.sock")) > 107
    socket_file = box.socket_path
    assert socket_file.parent == Path(tempfile.gettempdir()) and socket_file.name.startswith("test-rig-")
    try:
        state = box.start()
        r = run_cli("basic", "--no-password-prompt", env=env_for(state))
        assert r.returncode == 0, r.stdout + r.stderr
        assert socket_file.is_socket()
    finally:
        box.destroy()
    assert not socket_file.exists() and not socket_file.with_name(socket_file.name + ".lock").exists()
