"""Helpers for tests that run test-rig as a user would."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def run_cli(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None,
            timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """Run `python -m test_rig ARGS` as a user would, without a terminal on stdin."""
    base = {k: v for k, v in os.environ.items() if not k.startswith("TIDB_")}
    return subprocess.run([sys.executable, "-m", "test_rig", *args], env=env or base, cwd=cwd,
                          capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)
