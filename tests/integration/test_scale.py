"""`bench --processes P`: the load split over worker processes, merged into one result of the usual shape."""

from __future__ import annotations

import asyncio
import json
import signal
from pathlib import Path

import pytest
from hdrh.histogram import HdrHistogram

from test_rig.db import Target, connect
from test_rig.servers.sandbox import SandboxState
from tests.helpers import RunningCli, env_for, run_cli


def test_two_processes_merge_into_one_result(sandbox: SandboxState, tmp_path: Path) -> None:
    one, two = tmp_path / "one.json", tmp_path / "two.json"
    for out, processes in ((one, "1"), (two, "2")):
        r = run_cli("bench", "point-select", "--processes", processes, "--connections", "4", "--duration", "3",
                    "--table-size", "500", "--json", str(out), "--no-password-prompt", env=env_for(sandbox))
        assert r.returncode == 0, r.stdout + r.stderr
    single, merged = json.loads(one.read_text()), json.loads(two.read_text())
    assert set(merged) - {"workers"} == set(single)  # the same shape as a one-process run
    assert merged["processes"] == 2 and len(merged["workers"]) == 2
    assert merged["operations"] == sum(w["operations"] for w in merged["workers"]) > 0
    assert sum(t["ops"] for t in merged["timeline"]) == merged["operations"]
    assert [t["t"] for t in merged["timeline"]] == [1, 2, 3]
    # The percentiles come from the merged histogram: merge the workers' own and compare.
    hist = HdrHistogram(1, 3_600_000_000, 3)
    for worker in merged["workers"]:
        hist.add(HdrHistogram.decode(worker["histogram"]))
    assert hist.get_total_count() == merged["operations"]
    for p in (50, 95, 99):
        assert merged[f"p{p}_ms"] == round(hist.get_value_at_percentile(p) / 1000.0, 3)


@pytest.mark.parametrize("console_script", [False, True], ids=["python -m test_rig", "test-rig"])
def test_ctrl_c_stops_every_worker_and_keeps_the_merged_figures(sandbox: SandboxState, tmp_path: Path,
                                                                console_script: bool) -> None:
    """Also as the `test-rig` script, whose workers import it again (they once ignored the signal)."""
    out = tmp_path / "i.json"
    run = RunningCli("bench", "point-select", "--processes", "2", "--connections", "2", "--duration", "60",
                     "--table-size", "500", "--json", str(out), "--no-password-prompt", env=env_for(sandbox),
                     console_script=console_script)
    run.wait_for("load started")
    asyncio.run(_until_selects_run(sandbox))
    run.proc.send_signal(signal.SIGINT)
    assert run.finish(timeout=60) == 130, run.output()
    assert "Traceback" not in run.output()
    data = json.loads(out.read_text())
    assert data["complete"] is False and data["processes"] == 2
    assert data["operations"] == sum(w["operations"] for w in data["workers"]) > 0


async def _until_selects_run(st: SandboxState) -> None:
    """Wait until the server has answered a few thousand point selects more than it had (the load runs)."""
    conn = await connect(Target("t", st.host, st.port, "root", "", None, 5))
    try:
        first = int((await conn.query("SHOW GLOBAL STATUS LIKE 'Com_select'"))[0][1])
        for _ in range(2000):
            now = int((await conn.query("SHOW GLOBAL STATUS LIKE 'Com_select'"))[0][1])
            if now - first > 2000:
                return
            await asyncio.sleep(0.01)  # a poll interval while waiting for the event
    finally:
        await conn.close()
    raise AssertionError("the load never ran")


def test_more_processes_than_connections_is_bad_input(sandbox: SandboxState) -> None:
    r = run_cli("bench", "point-select", "--processes", "3", "--connections", "2", "--no-password-prompt",
                env=env_for(sandbox))
    assert r.returncode == 2
    assert r.stderr == ("error: --processes 3 is more than --connections 2; each process needs at least one "
                        "connection.\n")


def test_elle_from_two_processes_merges_one_history_with_unique_clients_and_values(sandbox: SandboxState,
                                                                                  tmp_path: Path) -> None:
    from test_rig.history.model import pair, read_history

    history, out = tmp_path / "h.jsonl", tmp_path / "e.json"
    r = run_cli("elle", "list-append", "--processes", "2", "--connections", "4", "--duration", "3",
                "--history", str(history), "--json", str(out), "--no-password-prompt", env=env_for(sandbox))
    assert r.returncode == 0, r.stdout + r.stderr
    ops = read_history(history)
    assert [op.index for op in ops] == list(range(len(ops)))
    assert [op.time for op in ops] == sorted(op.time for op in ops)  # one timeline, the machine's monotonic clock
    txns = pair(ops)  # raises if two clients shared a number (an invoke while "its" previous one was open)
    assert {t.process for t in txns} == {0, 1, 2, 3}  # no connection was lost, so no client took a new number
    appended = [m[2] for t in txns for m in t.mops if m[0] == "append"]
    assert len(appended) == len(set(appended)) > 0  # values unique across the processes
    data = json.loads(out.read_text())
    assert data["valid"] is True and data["stats"]["ok"] == sum(t.type == "ok" for t in txns)
    assert data["stats"]["ok"] + data["stats"]["fail"] == len(txns)
