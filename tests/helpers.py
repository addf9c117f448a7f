"""Helpers for tests that run test-rig as a user would."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any


def env_for(state: Any) -> dict[str, str]:
    """The environment that points test-rig at a sandbox (a SandboxState), as `sandbox env` would."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TIDB_")}
    env.update({"TIDB_HOST": f"{state.host}:{state.port}", "TIDB_USER": "root", "TIDB_PASSWORD": "",
                "TIDB_DATABASE": "test"})
    return env


def run_cli(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None,
            timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """Run `python -m test_rig ARGS` as a user would, without a terminal on stdin."""
    base = {k: v for k, v in os.environ.items() if not k.startswith("TIDB_")}
    return subprocess.run([sys.executable, "-m", "test_rig", *args], env=env or base, cwd=cwd,
                          capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)


class RunningCli:
    """`python -m test_rig ARGS` in the background, its output read as it comes, so a test can wait
    for an event the program reports (a line) instead of sleeping."""

    def __init__(self, *args: str, env: dict[str, str] | None = None, cwd: Path | None = None) -> None:
        import queue
        import signal
        import threading

        base = {k: v for k, v in os.environ.items() if not k.startswith("TIDB_")}
        self.proc = subprocess.Popen([sys.executable, "-m", "test_rig", *args], env=env or base, cwd=cwd,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                     stdin=subprocess.DEVNULL,
                                     preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
        self.lines: queue.Queue[tuple[str, str]] = queue.Queue()
        self.stdout: list[str] = []
        self.stderr: list[str] = []
        self._pumps = [threading.Thread(target=self._pump, args=(name, stream, sink), daemon=True)
                       for name, stream, sink in (("stdout", self.proc.stdout, self.stdout),
                                                  ("stderr", self.proc.stderr, self.stderr))]
        for pump in self._pumps:
            pump.start()

    def _pump(self, name: str, stream: object, sink: list[str]) -> None:
        for line in iter(stream.readline, ""):  # type: ignore[attr-defined]
            sink.append(line)
            self.lines.put((name, line))

    def wait_for(self, text: str, timeout: float = 60) -> str:
        """Block until a line containing `text` appears on stdout or stderr; return that line."""
        import queue
        import time

        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"no line with {text!r} within {timeout} s; got:\n{self.output()}")
            try:
                _, line = self.lines.get(timeout=min(left, 0.5))
            except queue.Empty:
                if self.proc.poll() is not None and self.lines.empty():
                    raise AssertionError(f"exited {self.proc.returncode} before printing {text!r}:\n"
                                         f"{self.output()}") from None
                continue
            if text in line:
                return line

    def finish(self, timeout: float = 60) -> int:
        """Wait for the program to end and for all of its output; return its exit status."""
        code = self.proc.wait(timeout=timeout)
        for pump in self._pumps:
            pump.join(timeout)
        return code

    def output(self) -> str:
        return "".join(self.stdout) + "".join(self.stderr)


def create_user(state: Any, name: str, password: str = "", grants: str = "ALL ON *.*", limit: str = "") -> None:
    """(Re)create user `name` on a sandbox (a SandboxState) with `grants` and an optional resource limit."""
    import asyncio

    from test_rig.db import Target, connect

    async def create() -> None:
        conn = await connect(Target("admin", state.host, state.port, "root", "", None, 10))
        try:
            await conn.execute(f"DROP USER IF EXISTS '{name}'@'%'")
            await conn.execute(f"CREATE USER '{name}'@'%%' IDENTIFIED BY %s {limit}", [password])
            await conn.execute(f"GRANT {grants} TO '{name}'@'%'")
        finally:
            await conn.close()

    asyncio.run(create())
