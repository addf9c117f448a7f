"""The examples a user copies first must run as their docstrings say."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_enhanced_error_handling_example(server_env: dict[str, str]) -> None:
    r = subprocess.run([sys.executable, str(ROOT / "examples" / "enhanced_error_handling.py")], env=server_env,
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    lines = r.stdout.splitlines()
    assert "   'SELEC 1'                              -> (1064) permanent  fail_fast" in lines
    assert any(line.startswith("   retry after attempt 1: (20") and "transient" in line for line in lines)
    assert "   breaker closed -> open" in lines
    assert sum("rejected at once" in line for line in lines) == 2
    assert lines[-1] == "all demonstrations behaved as described"
