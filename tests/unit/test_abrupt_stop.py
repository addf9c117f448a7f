"""A second signal stops the program at once, wherever it is: the program's last line is still its own.

The stop can land between the making of a coroutine and its first await (asyncmy's socket open, seen in CI's
interrupt sweep); the interpreter then printed "coroutine ... was never awaited" after "interrupted by SIGINT"."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

SCRIPT = textwrap.dedent("""
    import asyncio, os, signal
    from test_rig.environment import PROGRAM_STOP, run_async

    async def body():
        pending = asyncio.sleep(10)  # made, not yet awaited, when the second signal stops the program
        os.kill(os.getpid(), signal.SIGINT)  # the first cancels the run
        os.kill(os.getpid(), signal.SIGTERM)  # the second stops it here, at once
        await pending

    PROGRAM_STOP.install()
    try:
        run_async(body)
    except KeyboardInterrupt as stop:
        PROGRAM_STOP.end(stop)
""")


def test_a_stop_at_once_leaves_no_word_of_the_coroutine_it_abandoned(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, cwd=tmp_path, timeout=60)
    assert (done.returncode, done.stderr) == (130, "interrupted by SIGINT\n")


VERDICT_SIGNALLED = textwrap.dedent("""
    import os, signal, sys
    from test_rig.environment import Environment

    printing = Environment.print_verdict

    def signalled(self, *args, **kwargs):  # SIGTERM as the verdict's line is printed
        os.kill(os.getpid(), signal.SIGTERM)
        return printing(self, *args, **kwargs)

    Environment.print_verdict = signalled
    from test_rig.cli import main
    main(sys.argv[1:], prog_name="test-rig")
""")


def test_a_signal_as_the_verdict_is_printed_does_not_turn_the_run_into_an_interrupted_one(tmp_path: Path) -> None:
    """The run is over once its reports are written and its verdict is being printed: a SIGTERM then changes
    nothing. Before, the program ended 143 and rewrote the JSON as interrupted under a PASSED line (the audit sent
    a signal at the end of `bench tpcc-check`: PASSED, then "interrupted by SIGTERM", 5 times in 5)."""
    import json

    history = tmp_path / "h.jsonl"  # two transactions, one after the other: valid
    history.write_text("".join(json.dumps(op) + "\n" for op in [
        {"type": "invoke", "f": "txn", "value": [["append", "x", 1]], "process": 0, "time": 1, "index": 0},
        {"type": "ok", "f": "txn", "value": [["append", "x", 1]], "process": 0, "time": 2, "index": 1},
        {"type": "invoke", "f": "txn", "value": [["r", "x", None]], "process": 1, "time": 3, "index": 2},
        {"type": "ok", "f": "txn", "value": [["r", "x", [1]]], "process": 1, "time": 4, "index": 3}]))
    out = tmp_path / "r.json"
    done = subprocess.run([sys.executable, "-c", VERDICT_SIGNALLED, "check", str(history), "--workload",
                           "list-append", "--json", str(out)], capture_output=True, text=True, cwd=tmp_path,
                          timeout=60)
    data = json.loads(out.read_text())
    assert (done.returncode, done.stderr, data["outcome"]) == (0, "", "passed"), done.stdout + done.stderr
    assert done.stdout.splitlines()[-1].startswith("PASSED: ")


BEFORE_THE_TASK = textwrap.dedent("""
    import asyncio, gc, os, signal
    from test_rig.environment import PROGRAM_STOP, run_async

    running = asyncio.Runner.run

    def signalled(self, coro, **kwargs):  # SIGTERM after run_async made its coroutine, before a task runs it
        os.kill(os.getpid(), signal.SIGTERM)
        return running(self, coro, **kwargs)

    asyncio.Runner.run = signalled

    async def body():
        await asyncio.sleep(10)

    PROGRAM_STOP.install()
    try:
        run_async(body)
    except KeyboardInterrupt as stop:
        stop.with_traceback(None)  # the frames let go, as click's handling of the stop lets them go
        gc.collect()
        PROGRAM_STOP.end(stop)
""")


def test_a_signal_before_the_run_began_leaves_no_word_of_its_coroutine(tmp_path: Path) -> None:
    """The interrupt sweep in CI once ended `basic` (SIGTERM at 0.3 s) with "RuntimeWarning: ... was never
    awaited" after "interrupted by SIGTERM": the signal came after run_async made its main coroutine and before
    the event loop's task first ran it."""
    done = subprocess.run([sys.executable, "-c", BEFORE_THE_TASK], capture_output=True, text=True, cwd=tmp_path,
                          timeout=60)
    assert (done.returncode, done.stderr) == (143, "interrupted by SIGTERM\n")
