"""The program's first instructions: when this process is test-rig's console script (or `python -m test_rig`), a
recorder of SIGINT and SIGTERM is installed as this module is imported, before anything heavy is.

environment.py and what it loads take tens of milliseconds, and a Ctrl-C in that time went to Python's own handler
(a traceback and no report, or a KeyboardInterrupt dropped in the import machinery and a run that then passed).
environment.PROGRAM_STOP.install takes over from the recorder, with the signals it recorded (`EARLY`) and the
handlers it replaced (`REPLACED`, given back when a test runs the program in its own process). Nothing here imports
test_rig's other modules, nor `signal` (which imports enum): `_signal` is the C module behind it.
"""

from __future__ import annotations

import os
import sys


def is_the_program() -> bool:
    """Whether this process is the console script or `python -m test_rig` (whose __main__ imports the CLI first),
    and not a worker multiprocessing spawned for --processes: a worker imports its parent's main module again (with
    the parent's argv), and must keep its own signal handling (workers.py), or a Ctrl-C never stops it."""
    # A spawned worker's interpreter was started as `python -c "from multiprocessing.spawn import spawn_main; ..."
    # --multiprocessing-fork`: sys.argv is the parent's by now, sys.orig_argv still its own (parent_process() is
    # not set yet while the main module is imported).
    script = sys.argv[0] if sys.argv else ""
    return ((os.path.basename(script).startswith("test-rig")
             or script.endswith(os.path.join("test_rig", "__main__.py")))
            and "--multiprocessing-fork" not in getattr(sys, "orig_argv", ()))


#: Signals that came before PROGRAM_STOP could take them, and the handlers the recorder replaced.
EARLY: list[int] = []
REPLACED: dict[int, object] = {}


def _record(signum: int, _frame: object) -> None:
    EARLY.append(signum)


if is_the_program():
    import _signal  # type: ignore[import-not-found]  # (no stub: the C module behind signal)

    for _sig in (_signal.SIGINT, _signal.SIGTERM):
        if _signal.getsignal(_sig) != _signal.SIG_IGN:  # a SIGINT the shell ignores (a background job) stays so
            REPLACED[_sig] = _signal.signal(_sig, _record)
