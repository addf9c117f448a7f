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
