"""Interrupts at any moment (issue 18, point 4): SIGINT or SIGTERM at many points of a command's first two
seconds ends it with exit 130 or 143, one line, no traceback, and the --json and --junit asked for, saying
`complete: false`.

Offsets are counted from the program's first instruction, which takes over SIGTERM: the test waits for that
event in /proc (the signal mask the kernel reports), because before it Python itself is still starting, which no
program can handle. Whether the program's heavy imports come after that instruction is checked on its own below.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
import xml.etree.ElementTree as ET
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

from test_rig.servers.sandbox import SandboxState
from tests.helpers import env_for

CONSOLE_SCRIPT = Path(sys.executable).with_name("test-rig")

#: each command with options that keep it busy well past the sweep's two seconds (basic is the exception: it
#: is done in well under a second, so its later offsets may find it finished)
COMMANDS: dict[str, list[str]] = {
    "basic": ["basic"],
    "isolation": ["isolation"],
    "bench": ["bench", "point-select", "--connections", "2", "--duration", "30", "--table-size", "100"],
    "elle": ["elle", "list-append", "--connections", "2", "--duration", "30"],
    "job-monitor": ["job-monitor", "-t", "30", "--update-interval", "1"],
    "gen-data": ["gen-data", "--rows", "10000000", "-o", "data.csv"],  # 1M now ends before 2 s
}

STEP = 0.05
SWEEP_SECONDS = 2.0


def sweep_points() -> list[tuple[str, float, signal.Signals]]:
    """The 0.05 s grid over the first 2 s, dealt out over the commands so each gets a handful of offsets spread
    over the whole window (and every offset is tried by one of them), SIGINT and SIGTERM in turn."""
    names = list(COMMANDS)
    points = []
    for i in range(int(SWEEP_SECONDS / STEP)):
        sig = signal.SIGINT if (i // len(names)) % 2 == 0 else signal.SIGTERM
        points.append((names[i % len(names)], round(i * STEP, 2), sig))
    return points


def _handles_sigterm(pid: int) -> bool:
    """Whether the process has a handler for SIGTERM (the kernel's caught-signal mask in /proc)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("SigCgt:"):
            return bool(int(line.split()[1], 16) & (1 << (signal.SIGTERM - 1)))
    return False


@dataclass
class Ending:
    status: int
    stdout: str
    stderr: str
    report: dict[str, object] | None
    junit: ET.Element | None
    signalled_alive: bool


def interrupt(args: list[str], offset: float, sig: signal.Signals, *, env: dict[str, str], cwd: Path,
              console_script: bool) -> Ending:
    """Start test-rig ARGS --json --junit, wait for its first instruction, then `offset` seconds, send `sig`."""
    json_path, junit_path = cwd / "out.json", cwd / "out.xml"
    program = [str(CONSOLE_SCRIPT)] if console_script else [sys.executable, "-m", "test_rig"]
    proc = subprocess.Popen([*program, *args, "--json", str(json_path), "--junit", str(junit_path)], env=env,
                            cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            stdin=subprocess.DEVNULL,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.monotonic() + 60
    while not _handles_sigterm(proc.pid):  # the event: the program's first instruction has run
        assert proc.poll() is None, f"exited {proc.returncode} before handling signals: {proc.communicate()}"
        assert time.monotonic() < deadline, "the program never installed its signal handlers"
        time.sleep(0.001)
    time.sleep(offset)  # the fixed-offset sweep the issue asks for
    alive = proc.poll() is None
    proc.send_signal(sig)
    stdout, stderr = proc.communicate(timeout=90)
    report = json.loads(json_path.read_text()) if json_path.exists() else None
    junit = ET.parse(junit_path).getroot() if junit_path.exists() else None
    return Ending(proc.returncode, stdout, stderr, report, junit, alive)


def assert_interrupted(ending: Ending, sig: signal.Signals, what: str) -> None:
    name = sig.name
    assert "Traceback" not in ending.stderr, what
    assert ending.status == (130 if sig == signal.SIGINT else 143), what
    lines = ending.stderr.splitlines()
    assert lines[-1] == f"interrupted by {name}", what
    assert sum("interrupted by" in line for line in lines) == 1, what
    assert "Aborted!" not in ending.stderr, what
    assert ending.report is not None, what
    assert ending.report["complete"] is False, what
    assert ending.report["ok"] is False, what
    assert ending.report["error"] == f"interrupted by {name}", what
    assert ending.junit is not None, what
    errors = [e.get("message", "") for e in ending.junit.iter("error")]
    assert any(f"interrupted by {name}" in message for message in errors), what


def test_interrupt_sweep(sandbox: SandboxState, tmp_path: Path) -> None:
    env = env_for(sandbox)
    points = sweep_points()

    def run(index: int) -> tuple[str, Ending]:
        name, offset, sig = points[index]
        cwd = tmp_path / f"{index:02d}-{name}"
        cwd.mkdir()
        what = f"{name} {sig.name} at {offset:.2f} s"
        return what, interrupt(COMMANDS[name], offset, sig, env=env, cwd=cwd, console_script=index % 2 == 0)

    with ThreadPoolExecutor(max_workers=3) as pool:
        endings = list(pool.map(run, range(len(points))))
    finished = []
    for (name, offset, sig), (what, ending) in zip(points, endings, strict=True):
        if name == "basic" and ending.status == 0:
            # done before the signal could interrupt it (basic takes well under a second): a complete run
            assert offset >= 0.1, what
            assert ending.report is not None and ending.report["complete"] is True, what
            assert "interrupted" not in ending.stderr and "Traceback" not in ending.stderr, what
            assert "OK: connected" in ending.stdout, what
            finished.append(what)
            continue
        assert name != "basic" or ending.signalled_alive, what
        assert_interrupted(ending, sig, what)
    assert len(finished) < len([p for p in points if p[0] == "basic"]), "basic was never interrupted"


@pytest.mark.parametrize("console_script", [True, False], ids=["console-script", "python-m"])
def test_interrupt_before_options_are_parsed(tmp_path: Path, console_script: bool) -> None:
    """At offset 0 the program is still loading its commands: the report can only say that nothing ran, and it
    is written where the command line asks (--json and --junit read from it before click parses it)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TIDB_")}
    ending = interrupt(["bench", "select-1", "--duration", "30"], 0.0, signal.SIGTERM, env=env, cwd=tmp_path,
                       console_script=console_script)
    assert_interrupted(ending, signal.SIGTERM, "at the first instruction")
    assert ending.report is not None and ending.report["command"] in ("bench select-1", "bench")


def test_second_signal_while_the_partial_report_is_written(sandbox: SandboxState, tmp_path: Path) -> None:
    """Ctrl-C, then SIGTERM and Ctrl-C again every few milliseconds while the run cleans up and writes what it
    has: the first signal decides (130), the report is whole, one line, no traceback."""
    env = env_for(sandbox)
    json_path = tmp_path / "iso.json"
    proc = subprocess.Popen([str(CONSOLE_SCRIPT), "isolation", "--json", str(json_path)], env=env, cwd=tmp_path,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, stdin=subprocess.DEVNULL,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    assert proc.stdout is not None
    for line in proc.stdout:  # the event: the catalogue has started running on the server
        if line.startswith("test-rig isolation:"):
            break
    proc.send_signal(signal.SIGINT)
    while proc.poll() is None:
        for sig in (signal.SIGTERM, signal.SIGINT):
            try:
                proc.send_signal(sig)
            except ProcessLookupError:
                break
            time.sleep(0.002)
    _, stderr = proc.communicate(timeout=60)
    assert "Traceback" not in stderr
    assert proc.returncode == 130, stderr
    assert stderr.splitlines()[-1] == "interrupted by SIGINT"
    report = json.loads(json_path.read_text())
    assert (report["complete"], report["ok"], report["error"]) == (False, False, "interrupted by SIGINT")


@pytest.mark.parametrize("console_script", [True, False], ids=["console-script", "python-m"])
def test_signal_handlers_come_before_heavy_imports(tmp_path: Path, console_script: bool) -> None:
    """The program's first instruction takes over SIGTERM before any third-party module is loaded, so an
    interrupt while the program loads is handled too."""
    start = (f"sys.argv = [{str(CONSOLE_SCRIPT)!r}, '--version']; runpy.run_path(sys.argv[0], run_name='__main__')"
             if console_script else
             "sys.argv = ['test-rig', '--version']; runpy.run_module('test_rig', run_name='__main__', alter_sys=True)")
    code = textwrap.dedent(f"""
        import runpy, signal, sys
        seen = []
        original = signal.signal
        def spy(sig, handler):
            if sig == signal.SIGTERM and not seen:
                seen.append(sorted({{m.split('.')[0] for m in sys.modules}}
                                   & {{'pydantic', 'click', 'rich', 'asyncmy', 'uvloop', 'tenacity', 'asyncio'}}))
            return original(sig, handler)
        signal.signal = spy
        try:
            {start}
        finally:
            print('loaded before the handlers:', seen, file=sys.stderr)
    """)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "test-rig" in done.stdout
    assert done.stderr.strip().splitlines()[-1] == "loaded before the handlers: [[]]"


@pytest.mark.parametrize("console_script", [True, False], ids=["console-script", "python-m"])
@pytest.mark.parametrize("module", ["json", "test_rig.errors", "click"])
def test_a_signal_while_the_first_modules_load_ends_the_run_in_order(tmp_path: Path, console_script: bool,
                                                                     module: str) -> None:
    """SIGINT sent by the program to itself at the moment it first imports `module`: json and test_rig.errors load
    with environment.py, before PROGRAM_STOP can take signals (a Ctrl-C there, in the first tens of milliseconds,
    gave a traceback and no report, or was dropped in the import machinery and the run went on to pass), click
    after it. Each ends the same way: 130, one line, the report."""
    out = tmp_path / "early.json"
    argv = [str(CONSOLE_SCRIPT) if console_script else "test-rig", "basic", "--no-password-prompt", "-H",
            "127.0.0.1:1", "--json", str(out)]
    start = ("runpy.run_path(sys.argv[0], run_name='__main__')" if console_script else
             "runpy.run_module('test_rig', run_name='__main__', alter_sys=True)")
    code = textwrap.dedent(f"""
        import os, runpy, signal, sys
        class Tripwire:
            def find_spec(self, name, path=None, target=None):
                if name == {module!r}:
                    sys.meta_path.remove(self)
                    os.kill(os.getpid(), signal.SIGINT)
                return None
        sys.argv = {argv!r}
        sys.meta_path.insert(0, Tripwire())
        {start}
    """)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path, timeout=60,
                          stdin=subprocess.DEVNULL)
    assert "Traceback" not in done.stderr
    assert (done.returncode, done.stderr.splitlines()[-1:]) == (130, ["interrupted by SIGINT"]), done.stderr
    report = json.loads(out.read_text())
    assert (report["complete"], report["ok"], report["error"]) == (False, False, "interrupted by SIGINT")


#: What the program does after a stop that could not be raised where the signal came: it waits for the stop, in the
#: try that `where` (_stopped_just_after) runs in too; `where` says with `survived`, set the moment after the signal,
#: that the stop was not raised there. (It used to print there, and gc.collect() first: under load that took long
#: enough for the signal, delivered again 20 ms later, to land before the try.)
_WAITS_FOR_THE_STOP = """\
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        time.sleep(0.005)
    print("never raised")
except Interrupted as stop:
    print(survived)
    print(f"raised just after: {stop.signal_name}")
"""


def _stopped_just_after(where: str) -> tuple[int, str, str]:
    """Run `where` (Python that takes a SIGINT at a place the stop cannot be raised, then sets `survived`) in a
    program whose signals PROGRAM_STOP has, then wait for the stop: exit status, stdout, stderr."""
    script = ("import signal, sys, time, types\nfrom test_rig.environment import PROGRAM_STOP\n"
              "from test_rig.errors import Interrupted\nPROGRAM_STOP.install([])\ntry:\n"
              + textwrap.indent(textwrap.dedent(where).strip("\n"), "    ") + "\n" + _WAITS_FOR_THE_STOP)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60,
                          stdin=subprocess.DEVNULL)
    return done.returncode, done.stdout, done.stderr


def test_a_signal_where_the_interpreter_drops_exceptions_stops_the_program_just_after_it() -> None:
    """A stop raised where the interpreter can only print an exception and drop it (a destructor here; in a run of
    the sweep pydantic-core's callback into Python while job-monitor loaded pydantic, SIGINT at 0.8 s, printed
    "Exception ignored in: 'SecretStr'"): nothing is printed, and the program takes the signal again a moment
    later."""
    assert _stopped_just_after('''
        class Dropped:
            def __del__(self):
                PROGRAM_STOP._on_signal(signal.SIGINT, sys._getframe())  # the signal, inside the destructor

        Dropped()  # destroyed at once: its last reference goes
        survived = "not raised inside the destructor"
    ''') == (0, "not raised inside the destructor\nraised just after: SIGINT\n", "")


def test_a_signal_inside_the_import_machinery_stops_the_program_just_after_it() -> None:
    """A stop raised in importlib's bookkeeping (a module lock's weakref callback) would be printed by the
    interpreter as "Exception ignored ... Traceback" and lost (seen once in the sweep, job-monitor SIGINT at
    0.8 s): the program takes the signal again a moment later, outside it, and stops there."""
    assert _stopped_just_after('''
        code = types.SimpleNamespace(co_filename="<frozen importlib._bootstrap>")
        importlib_frame = types.SimpleNamespace(f_code=code)
        PROGRAM_STOP._on_signal(signal.SIGINT, importlib_frame)
        survived = "not raised inside importlib"
    ''') == (0, "not raised inside importlib\nraised just after: SIGINT\n", "")
