"""Tests that need a live TiDB: they run only when TIDB_HOST (with TIDB_USER, TIDB_PASSWORD) names one.

No TiDB can be installed on the build machines, so CI runs none of these; everything TiDB-specific
that can be checked offline (version parsing, level planning, profiles, error codes) is in tests/unit.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.helpers import run_cli

LIVE = {k: v for k, v in os.environ.items() if k.startswith("TIDB_")}  # read before fixtures clean the env

pytestmark = [pytest.mark.tidb,
              pytest.mark.skipif("TIDB_HOST" not in LIVE, reason="needs a live TiDB named by TIDB_HOST")]


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TIDB_")}
    env.update(LIVE)
    return env


def test_basic_detects_tidb(tmp_path: Path) -> None:
    out = tmp_path / "b.json"
    r = run_cli("basic", "--no-password-prompt", "--json", str(out), env=_env())
    assert r.returncode == 0, r.stdout + r.stderr
    data = json.loads(out.read_text())
    assert data["server"]["kind"] == "tidb"
    assert data["server"]["txn_mode"] in ("pessimistic", "optimistic")


def test_isolation_against_tidb_profile(tmp_path: Path) -> None:
    out = tmp_path / "i.json"
    r = run_cli("isolation", "--no-password-prompt", "--expect", "tidb", "--json", str(out), env=_env(), timeout=600)
    data = json.loads(out.read_text())
    assert r.returncode == 0, "\n".join(data["differences"])
    outcomes = {(x["test"], x["isolation"]) : x["outcome"] for x in data["results"]}
    assert outcomes[("G0", "serializable")] == "unsupported"
