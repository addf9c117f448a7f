"""The errors oracle's watch on a sandbox's own log: a panic the server recovered from is a finding, with the
statements sent shortly before it; ordinary lines are not."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

from test_rig.hunt.runner import HuntRun, HuntSpec, _scan_log


def test_a_logged_panic_is_a_finding_with_the_statements_before_it(tmp_path: Path) -> None:
    log = tmp_path / "tidb.log"
    log.write_text('[2026/12/02 01:00:00.000 +00:00] [INFO] [server.go:1] ["start"]\n')
    run = HuntRun(HuntSpec(("errors",)))
    run.server.update({"kind": "tidb", "version": "8.0.11-TiDB-v8.4.0"})
    worker = SimpleNamespace(recent=["SELECT 1", "SELECT (a0.c0) DIV (0) AS r0 FROM t0 AS a0"])
    offset = _scan_log(log, 0, run, [worker])  # type: ignore[list-item]
    assert run.findings == {} and offset == log.stat().st_size
    with log.open("a") as f:
        f.write('[2026/12/02 01:00:01.000 +00:00] [ERROR] [conn.go:1] ["connection running loop panic"] '
                '[error="runtime error: index out of range [1] with length 1"]\n')
    _scan_log(log, offset, run, [worker])  # type: ignore[list-item]
    (finding,) = run.findings.values()
    assert finding.kind == "server-log" and "connection running loop panic" in finding.description
    assert finding.queries == worker.recent and not finding.known
