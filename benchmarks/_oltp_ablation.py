"""`bench oltp-read-write` with one part of its per-statement work taken out, to measure what that part costs in a
real run (benchmarks/oltp.py --ablate MODE runs it beside sysbench and test-rig as they are):

- no-framing: every read is taken as one whole answer, nothing of it looked at (wrong in general: a measuring
  device only; on this workload each answer does come in one read);
- no-range-framing: the same for reads of 1,000 bytes or more (the range selects' answers) only;
- no-draws: each connection sends its first transaction's statements again and again (no values drawn).

Usage: python benchmarks/_oltp_ablation.py MODE ARGS... (ARGS: test-rig's, e.g. bench oltp-read-write ...).
Why a patch and not an option of the product: these runs give wrong figures by design (no-framing does not know
whether a statement succeeded), and a user must never be able to ask for one."""

from __future__ import annotations

import sys
from typing import Any

from test_rig.load import fast

MODES = ("no-framing", "no-range-framing", "no-draws")


def _answered_unread(loop: fast.TransactionLoop) -> None:
    """What TransactionLoop does once it knows a statement's answer is whole (its `_complete`: the answer's time
    noted, the next statement written or the next transaction begun), and nothing else."""
    loop._complete()


def ablate(mode: str) -> None:
    loop = fast.TransactionLoop
    framed = loop.data_received
    if mode == "no-framing":
        loop.data_received = lambda self, data: _answered_unread(self)  # type: ignore[method-assign]
    elif mode == "no-range-framing":
        loop.data_received = (  # type: ignore[method-assign]
            lambda self, data: framed(self, data) if len(data) < 1000 else _answered_unread(self))
    elif mode == "no-draws":
        begin = loop.run

        def run(self: fast.TransactionLoop, transport: Any, script: Any, *args: Any) -> Any:
            self.next_script = lambda: script
            return begin(self, transport, script, *args)

        loop.run = run  # type: ignore[method-assign,assignment]
    else:
        raise SystemExit(f"unknown mode {mode!r}: give one of {', '.join(MODES)}")


if __name__ == "__main__":
    ablate(sys.argv[1])
    from test_rig.cli import main

    main(sys.argv[2:], prog_name="test-rig")
