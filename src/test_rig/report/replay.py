"""Step logs as scripts a person can replay: one block of SQL per connection, each step numbered in the
global order and annotated with what it returned, blocked on, or failed with (the hypothesis habit:
a failure is reported as a program to run again)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from test_rig.coordinator import StepRecord


def describe(step: Any) -> str:
    """What one step did, in a few words."""
    if step.skipped:
        return "skipped (its transaction was already aborted)"
    prefix = ""
    if step.blocked:
        confirmed = (step.block_evidence or "").startswith("the server")
        prefix = "BLOCKED (lock wait seen by the server), then " if confirmed else "BLOCKED (timing only), then "
    if step.error is not None:
        return f"{prefix}ERROR {step.error_code}: {step.error}"
    if step.rows is not None:
        rows = ", ".join("(" + ", ".join(str(v) for v in row) + ")" for row in step.rows)
        return f"{prefix}rows: {rows or 'none'}"
    if step.rowcount is not None and step.sql.split()[0].upper() in ("UPDATE", "DELETE", "INSERT", "REPLACE"):
        return f"{prefix}{step.rowcount} row(s) affected"
    return f"{prefix}ok"


def replay_script(steps: Sequence[StepRecord], *, header: Sequence[str] = (), setup: Sequence[str] = (),
                  session: Sequence[str] = (), connections: Sequence[str] | None = None) -> str:
    """The steps as per-connection SQL: `header` comment lines, the `setup` to run first on any connection,
    then for each connection its `session` statements and its steps with their outcomes."""
    out = [f"-- {line}" for line in header]
    if setup:
        out.append("-- set-up, on any connection, in an empty schema:")
        out += [f"{sql};" for sql in setup]
    out.append("-- Then run the numbered steps in number order, each on its own connection.")
    names = list(connections) if connections is not None else list(dict.fromkeys(s.conn for s in steps))
    for name in names:
        out.append(f"-- connection {name}")
        out += [f"{sql};" for sql in session]
        for i, step in enumerate(steps, start=1):
            if step.conn == name:
                out.append(f"{step.sql + ';':<58} -- #{i} {describe(step)}")
    return "\n".join(out)
