"""The console lines of simple-multi-connection and multi-connection, read from a result as its JSON holds it."""

from __future__ import annotations

from typing import Any

from rich.text import Text

from test_rig.config import AppConfig
from test_rig.flows.multi import console_lines, opening


def _result(**more: Any) -> dict[str, Any]:
    return {"command": "simple-multi-connection", "ok": False, "complete": True, "failed": 1, "undecided": 1,
            "connections": [
                {"name": "conn-1", "target": "127.0.0.1:3306", "ok": True, "server": {"version": "10.11.6"}},
                {"name": "conn-2", "target": "127.0.0.1:3306", "ok": False, "error": "refused [errno 111]",
                 "hint": "is the server running?"},
                {"name": "conn-3", "target": "127.0.0.1:3306", "ok": False, "undecided": True,
                 "error": "stopped by test.timeout_secs"}], **more}


def test_one_line_per_connection_then_the_tally_in_its_colour() -> None:
    lines = console_lines(_result())
    assert [str(line) for line in lines] == [
        "  ✓ conn-1       127.0.0.1:3306         ok      10.11.6",
        "  ✗ conn-2       127.0.0.1:3306         FAILED  refused [errno 111]",  # brackets kept: never markup
        "      hint: is the server running?",
        "  ✗ conn-3       127.0.0.1:3306         UNDECIDED stopped by test.timeout_secs",
        "1 of 3 connections succeeded, 1 failed, 1 undecided (stopped by the timeout)"]
    assert isinstance(lines[-1], Text) and lines[-1].style == "red"


def test_multi_connection_adds_its_heading_and_shared_state() -> None:
    lines = console_lines(_result(command="multi-connection", failed=0, undecided=0,
                                  connections=_result()["connections"][:1], shared_state={"conn-1": "Disconnected"}))
    assert [str(line) for line in lines] == ["results:", "  ✓ conn-1       127.0.0.1:3306         ok      10.11.6",
                                             "1 of 1 connections succeeded, 0 failed", "final shared state:",
                                             '{\n  "conn-1": "Disconnected"\n}']
    assert isinstance(lines[2], Text) and lines[2].style == "green"


def test_an_interrupted_run_has_no_lines_and_the_first_line_counts_connections() -> None:
    assert console_lines(_result(complete=False)) == []
    assert opening("multi-connection", AppConfig(), None, set()) == [
        "test-rig multi-connection: 5 connections under the coordinator", "events:"]
    assert opening("simple-multi-connection", AppConfig(), 3, set()) == [
        "test-rig simple-multi-connection: 3 connections"]

