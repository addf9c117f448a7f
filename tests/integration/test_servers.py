"""Behaviour meant to be the same on every server: each test runs against the session's MariaDB and
the session's TiDB (`any_server`)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from test_rig.servers.sandbox import SandboxState
from tests.helpers import env_for, run_cli

ROOT = Path(__file__).resolve().parents[2]
KIND = {"mariadbd": "mariadb", "tidb-server": "tidb"}
CONNECTING = {"mariadbd": "Connecting to MariaDB", "tidb-server": "Connecting to TiDB"}


def test_basic_detects_the_server(any_server: SandboxState, tmp_path: Path) -> None:
    out = tmp_path / "b.json"
    r = run_cli("basic", "--no-password-prompt", "--json", str(out), env=env_for(any_server))
    assert r.returncode == 0, r.stdout + r.stderr
    assert CONNECTING[any_server.kind] in r.stdout
    data = json.loads(out.read_text())
    assert data["ok"] is True and data["complete"] is True
    assert data["server"]["kind"] == KIND[any_server.kind]
    if any_server.kind == "tidb-server":
        assert "-TiDB-v" in data["server"]["version"]
        assert data["server"]["txn_mode"] == "pessimistic"
    else:
        assert "-MariaDB" in data["server"]["version"]
        assert "txn_mode" not in data["server"]


def test_multi_connection(any_server: SandboxState, tmp_path: Path) -> None:
    out = tmp_path / "m.json"
    r = run_cli("multi-connection", "--connection-count", "3", "--no-password-prompt", "--json", str(out),
                env=env_for(any_server))
    assert r.returncode == 0, r.stdout + r.stderr
    assert "3 of 3 connections succeeded, 0 failed" in r.stdout
    data = json.loads(out.read_text())
    assert [e["kind"] for e in data["events"]].count("ConnectionEstablished") == 3
    assert [e["kind"] for e in data["events"]][-2:] == ["AllConnectionsReady", "TestCompleted"]


def test_run_with_the_seed_handler(any_server: SandboxState) -> None:
    r = run_cli("run", str(ROOT / "examples" / "readme_handler.py"), "--no-password-prompt", env=env_for(any_server))
    assert r.returncode == 0, r.stdout + r.stderr
    assert "1 passed, 0 failed" in r.stdout


def test_bench(any_server: SandboxState, tmp_path: Path) -> None:
    out = tmp_path / "b.json"
    r = run_cli("bench", "point-select", "--connections", "4", "--duration", "2", "--table-size", "500",
                "--no-password-prompt", "--json", str(out), env=env_for(any_server))
    assert r.returncode == 0, r.stdout + r.stderr
    data = json.loads(out.read_text())
    assert data["ok"] is True and data["errors"] == 0
    assert [t["t"] for t in data["timeline"]] == [1, 2]
    assert all(t["ops"] > 0 for t in data["timeline"])
    assert data["operations"] == sum(t["ops"] for t in data["timeline"])


def test_bench_select_1_needs_no_table(any_server: SandboxState, tmp_path: Path) -> None:
    out = tmp_path / "s.json"
    r = run_cli("bench", "select-1", "--connections", "2", "--duration", "2", "--no-password-prompt",
                "--json", str(out), env=env_for(any_server))
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout.startswith(f"test-rig bench select-1: 2 connections, 2 s, against {any_server.host}:")
    data = json.loads(out.read_text())
    assert data["workload"] == "select-1" and data["ok"] is True and data["errors"] == 0
    assert [t["t"] for t in data["timeline"]] == [1, 2] and all(t["ops"] > 0 for t in data["timeline"])


def test_the_binary_finder_takes_the_variable_then_path_then_the_cache(tmp_path: Path,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """servers.binaries.find, for every program test-rig runs: the variable that names it (which must name an
    executable), else PATH, else the build cache; None when there is none."""
    from test_rig.errors import UsageError
    from test_rig.servers import binaries

    def executable(path: Path) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("#!/bin/sh\n")
        path.chmod(0o755)
        return path

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))
    monkeypatch.delenv("TOXIPROXY_SERVER_BIN", raising=False)
    assert binaries.find("toxiproxy-server") is None
    cached = executable(binaries.cached("toxiproxy-server"))
    assert cached == tmp_path / "cache" / "test-rig" / "toxiproxy" / binaries.TOXIPROXY_VERSION / "toxiproxy-server"
    assert binaries.find("toxiproxy-server") == cached
    on_path = executable(tmp_path / "bin" / "toxiproxy-server")
    assert binaries.find("toxiproxy-server") == on_path
    named = executable(tmp_path / "elsewhere" / "tp")
    monkeypatch.setenv("TOXIPROXY_SERVER_BIN", str(named))
    assert binaries.find("toxiproxy-server") == named
    monkeypatch.setenv("TOXIPROXY_SERVER_BIN", str(tmp_path / "none"))
    with pytest.raises(UsageError, match=r"TOXIPROXY_SERVER_BIN=.*/none is not an executable file; point it at a "
                                         r"toxiproxy-server binary or unset it to let test-rig build one\."):
        binaries.find("toxiproxy-server")
    monkeypatch.delenv("TIDB_SERVER_BIN", raising=False)
    assert binaries.find("tidb-server") is None
    with pytest.raises(UsageError, match=r"^No tidb-server found; run `test-rig sandbox build-tidb` or set "
                                         r"TIDB_SERVER_BIN\.$"):
        binaries.require("tidb-server")


def test_ensure_built_leaves_the_users_own_binary_and_builds_into_the_cache(tmp_path: Path,
                                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """servers.binaries.ensure_built, behind `sandbox build-tidb` and `build-toxiproxy`: a binary of the user's
    (its variable or PATH) is kept unless forced; otherwise the build is asked, with `force` passed on."""
    from test_rig.servers import binaries

    calls: list[bool] = []

    def build(*, force: bool, progress: object) -> Path:
        calls.append(force)
        return binaries.cached("toxiproxy-server")

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))
    monkeypatch.delenv("TOXIPROXY_SERVER_BIN", raising=False)
    cached = binaries.cached("toxiproxy-server")
    assert binaries.ensure_built("toxiproxy-server", build) == (cached, False)
    mine = tmp_path / "bin" / "toxiproxy-server"
    mine.parent.mkdir()
    mine.write_text("#!/bin/sh\n")
    mine.chmod(0o755)
    assert binaries.ensure_built("toxiproxy-server", build) == (mine, True)
    assert binaries.ensure_built("toxiproxy-server", build, force=True) == (cached, False)
    assert calls == [False, True]
