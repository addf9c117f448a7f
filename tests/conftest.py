"""Shared fixtures: a clean environment for every test and one sandbox MariaDB per session."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from test_rig.servers.sandbox import Sandbox, SandboxState
from tests.helpers import RunningCli, env_for


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    """No TIDB_* variable or config file from the developer's shell leaks into a test; no program a test started
    in the background outlives it (one a failed test left running loaded the machine and the sandbox of the tests
    after it, which then failed too)."""
    for name in list(os.environ):
        if name.startswith("TIDB_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    yield
    RunningCli.stop_left_running()


@pytest.fixture(scope="session")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxState]:
    """A private MariaDB for the whole session. Fails (never skips) when no server is installed."""
    box = Sandbox(tmp_path_factory.mktemp("sandbox"))
    state = box.start()
    yield state
    box.destroy()


@pytest.fixture(scope="session")
def tidb(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxState]:
    """A private TiDB (unistore engine) for the whole session. The binary comes from TIDB_SERVER_BIN,
    PATH or the build cache (./run-tests.sh builds it once per machine). Fails, never skips."""
    box = Sandbox(tmp_path_factory.mktemp("tidb"), server="tidb")
    state = box.start()
    yield state
    box.destroy()


@pytest.fixture(scope="session")
def tls_box(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxState]:
    """A private MariaDB with TLS (its own CA and certificate) for the session; the tests only connect to it."""
    box = Sandbox(tmp_path_factory.mktemp("tls-sandbox"), tls=True)
    state = box.start()
    yield state
    box.destroy()


@pytest.fixture
def own_box(tmp_path: Path) -> Iterator[Sandbox]:
    """A MariaDB of the test's own, for tests that kill and restart their server."""
    box = Sandbox(tmp_path / "own-sandbox")
    box.start()
    yield box
    box.destroy()


@pytest.fixture(params=["mariadb", "tidb"])
def any_server(request: pytest.FixtureRequest) -> SandboxState:
    """The session's MariaDB and the session's TiDB in turn, for behaviour meant to be the same on both."""
    state: SandboxState = request.getfixturevalue("sandbox" if request.param == "mariadb" else "tidb")
    return state


@pytest.fixture
def server_env(sandbox: SandboxState) -> dict[str, str]:
    return env_for(sandbox)
