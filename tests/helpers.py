"""Helpers for tests that run test-rig as a user would."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any, ClassVar


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
    for an event the program reports (a line) instead of sleeping. One still running when its test ends (the test
    failed before it stopped it) is stopped then (`stop_left_running`, conftest.py), so that it does not load the
    machine and the sandbox of the tests after it."""

    started: ClassVar[list[RunningCli]] = []

    def __init__(self, *args: str, env: dict[str, str] | None = None, cwd: Path | None = None,
                 console_script: bool = False) -> None:
        import queue
        import signal
        import threading

        base = {k: v for k, v in os.environ.items() if not k.startswith("TIDB_")}
        # console_script: the `test-rig` script pip installed, as users start it (its worker processes import it)
        program = [str(Path(sys.executable).parent / "test-rig")] if console_script else [sys.executable, "-m",
                                                                                          "test_rig"]
        self.proc = subprocess.Popen([*program, *args], env=env or base, cwd=cwd,
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
        RunningCli.started.append(self)

    @classmethod
    def stop_left_running(cls) -> None:
        """SIGTERM to every program a test started and left running (it stops in order: its worker processes, its
        databases dropped), SIGKILL to one still there 30 s later."""
        import signal

        left, cls.started = [run for run in cls.started if run.proc.poll() is None], []
        for run in left:
            run.proc.send_signal(signal.SIGTERM)
        for run in left:
            try:
                run.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                run.proc.kill()
                run.proc.wait()

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


ARTIFACTS = Path(os.environ.get("TEST_RIG_ARTIFACTS") or Path(__file__).resolve().parents[1] / "test-artifacts")


def png_is_blank(png: bytes) -> bool:
    """Whether a PNG screenshot shows (nearly) nothing: almost every decoded byte the same value."""
    import struct
    import zlib

    pos, data = 8, b""
    while pos < len(png):
        length, kind = struct.unpack(">I4s", png[pos:pos + 8])
        if kind == b"IDAT":
            data += png[pos + 8:pos + 8 + length]
        pos += 12 + length
    pixels = zlib.decompress(data)
    most = max(pixels.count(v) for v in set(pixels[:: max(1, len(pixels) // 20000)]))
    return most > 0.995 * len(pixels)


def browse(report: Path, *, click: str | None = None, evaluate: str = "() => null") -> dict[str, Any]:
    """Open an HTML report in Debian's headless Chromium (Playwright), optionally click an element, and return
    the console errors, every request that left the page, the value of `evaluate`, and the screenshot's path
    (kept in test-artifacts/). Fails, never skips, when Chromium is missing."""
    from playwright.sync_api import sync_playwright

    chromium = "/usr/bin/chromium"
    assert Path(chromium).is_file(), "Debian's chromium package is missing; ./run-tests.sh installs it"
    errors: list[str] = []
    requests: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=["--no-sandbox", "--headless=new"])
        try:
            page = browser.new_page(viewport={"width": 1200, "height": 900})
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.on("request", lambda r: requests.append(r.url))
            page.goto(report.resolve().as_uri())
            page.wait_for_load_state("load")
            if click:
                page.click(click)
            value = page.evaluate(evaluate)
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            shot = ARTIFACTS / (report.stem + ".png")
            png = page.screenshot(path=str(shot), full_page=True)
        finally:
            browser.close()
    return {"errors": errors, "requests": [r for r in requests if not r.startswith("file:")], "value": value,
            "screenshot": shot, "blank": png_is_blank(png)}


def elle_schemas(state: Any) -> list[Any]:
    """The rig_elle_* schemas left on a sandbox server (an elle run must drop its own, whatever happens)."""
    import asyncio

    from test_rig.db import Target, connect

    async def look() -> list[Any]:
        conn = await connect(Target("t", state.host, state.port, "root", "", None, 5))
        try:
            return await conn.query("SHOW DATABASES LIKE 'rig\\_elle\\_%'")
        finally:
            await conn.close()

    return asyncio.run(look())


class SilencingForwarder:
    """A TCP forwarder on a loopback port to `host:port`, in a thread of its own, that `silence()` turns into a
    server that has gone silent: nothing more is forwarded either way on the connections it carries, and new
    ones are taken and never answered. (A partition as a client sees it, without Toxiproxy.)

    `lose_answer_to`: the first statement whose bytes hold it is forwarded to the server, and the connection that
    sent it is then dropped before the answer is forwarded back: the server did it, the client never learns so."""

    def __init__(self, host: str, port: int, *, lose_answer_to: bytes | None = None) -> None:
        import asyncio
        import threading

        self.upstream = (host, port)
        self.silent = threading.Event()
        self.loop = asyncio.new_event_loop()
        ready = threading.Event()
        self.port = 0
        self.answers_lost = 0
        self.lost_statement = b""  # the bytes of the statement whose answer was lost

        async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, to_server: bool,
                       cut: asyncio.Event) -> None:
            try:
                while data := await reader.read(65536):
                    if self.silent.is_set():
                        return  # dropped: never written
                    if not to_server and cut.is_set():  # the answer to the statement whose answer is lost
                        self.answers_lost += 1
                        writer.transport.abort()
                        return
                    if to_server and lose_answer_to is not None and lose_answer_to in data \
                            and not self.answers_lost:
                        cut.set()  # before the statement goes: its answer cannot come back before
                        self.lost_statement = data
                    writer.write(data)
                    await writer.drain()
            except OSError:
                pass

        async def forward(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            self.held.append(writer)
            if self.silent.is_set():
                return  # taken, never answered
            up_reader, up_writer = await asyncio.open_connection(*self.upstream)
            self.held.append(up_writer)
            cut = asyncio.Event()
            self.pipes += [asyncio.ensure_future(pipe(reader, up_writer, True, cut)),
                           asyncio.ensure_future(pipe(up_reader, writer, False, cut))]

        async def serve() -> None:
            self.server = await asyncio.start_server(forward, "127.0.0.1", 0)
            self.port = self.server.sockets[0].getsockname()[1]
            ready.set()

        self.held: list[asyncio.StreamWriter] = []
        self.pipes: list[asyncio.Future[None]] = []
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        asyncio.run_coroutine_threadsafe(serve(), self.loop)
        ready.wait(10)

    def silence(self) -> None:
        self.silent.set()

    def close(self) -> None:
        def stop() -> None:
            self.server.close()
            for writer in self.held:
                writer.transport.abort()
            for task in self.pipes:
                task.cancel()
            self.loop.call_soon(self.loop.stop)  # once the pipes have seen their cancellation

        self.loop.call_soon_threadsafe(stop)
        self.thread.join(10)

    def __enter__(self) -> SilencingForwarder:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def sql_on(state: Any, *statements: str, database: str | None = None) -> list[list[tuple[Any, ...]]]:
    """Run `statements` as root on a sandbox (a SandboxState), on one connection of their own (in `database`, else
    in none); each one's rows."""
    import asyncio

    from test_rig.db import Target, connect

    async def run() -> list[list[tuple[Any, ...]]]:
        conn = await connect(Target("t", state.host, state.port, "root", "", database, 10),
                             database=database is not None)
        try:
            return [list(await conn.query(sql)) for sql in statements]
        finally:
            await conn.close()

    return asyncio.run(run())


def stopped_while_silent(state: Any, *args: str, started: str, database: str = "test") -> RunningCli:
    """`test-rig ARGS` run against a sandbox (in `database`) through a SilencingForwarder, stopped by SIGTERM once
    it printed `started` and the forwarder went silent; it must end with 143 (the program's stop on SIGTERM)."""
    import signal

    with SilencingForwarder(state.host, state.port) as forwarder:
        env = {**env_for(state), "TIDB_HOST": f"127.0.0.1:{forwarder.port}", "TIDB_DATABASE": database}
        cli = RunningCli(*args, "--no-password-prompt", env=env)
        cli.wait_for(started)
        forwarder.silence()
        cli.proc.send_signal(signal.SIGTERM)
        assert cli.finish() == 143, cli.output()
    return cli
