"""Shared fixtures: a clean environment for every test and one sandbox MariaDB per session."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from test_rig.sandbox import Sandbox, SandboxState


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No TIDB_* variable or config file from the developer's shell leaks into a test."""
    for name in list(os.environ):
        if name.startswith("TIDB_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)


@pytest.fixture(scope="session")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxState]:
    """A private MariaDB for the whole session. Fails (never skips) when no server is installed."""
    box = Sandbox(tmp_path_factory.mktemp("sandbox"))
    state = box.start()
    yield state
    box.destroy()


@pytest.fixture
def server_env(sandbox: SandboxState) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TIDB_")}
    env.update({"TIDB_HOST": f"{sandbox.host}:{sandbox.port}", "TIDB_USER": "root", "TIDB_PASSWORD": "",
                "TIDB_DATABASE": "test"})
    return env
