"""The errors oracle's watch on a sandbox's own log: a panic the server recovered from in one of the run's own
sessions is a finding, with the statements sent shortly before it; ordinary lines are not, nor is a panic of
another client's session."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

from test_rig.hunt.runner import HuntRun, HuntSpec, _scan_log, panic_key


def test_a_logged_panic_is_a_finding_with_the_statements_before_it(tmp_path: Path) -> None:
    log = tmp_path / "tidb.log"
    log.write_text('[2026/12/02 01:00:00.000 +00:00] [INFO] [server.go:1] ["start"]\n')
    run = HuntRun(HuntSpec(("errors",)))
    run.server.update({"kind": "tidb", "version": "8.0.11-TiDB-v8.4.0"})
    worker = SimpleNamespace(recent=["SELECT 1", "SELECT (a0.c0) DIV (0) AS r0 FROM t0 AS a0"])
    offset = _scan_log(log, 0, run, [worker], {2097266})  # type: ignore[list-item]
    assert run.findings == {} and offset == log.stat().st_size
    with log.open("a") as f:
        f.write('[2026/12/02 01:00:01.000 +00:00] [ERROR] [conn.go:1] ["connection running loop panic"] '
                '[conn=2097266] [error="runtime error: index out of range [1] with length 1"]\n')
    _scan_log(log, offset, run, [worker], {2097266})  # type: ignore[list-item]
    (finding,) = run.findings.values()
    assert finding.kind == "server-log" and "connection running loop panic" in finding.description
    assert finding.queries == worker.recent and not finding.known


PANIC_OF_ANOTHER_SESSION = (
    '[2026/12/02 16:28:08.508 +00:00] [ERROR] [conn.go:1042] ["connection running loop panic"] [conn=2097266] '
    '[session_alias=] [lastSQL="SELECT COUNT(*) AS n FROM ((SELECT t0.c0 AS c0 FROM t0) UNION (SELECT t0.c0 AS c0 '
    'FROM t0)) AS a0 WHERE ((NULLIF((a0.c0), (1))) IN (SELECT COUNT((s1.c0)) AS x FROM t0 AS s1))"] '
    '[err="interface conversion: expression.Expression is *expression.ScalarFunction, not *expression.Column"]\n')


def test_a_panic_of_a_session_the_run_did_not_open_is_not_its_finding(tmp_path: Path) -> None:
    """A 5-minute TiDB hunt reported as two new bugs the planner panics of a person's `mariadb` client trying a
    reduced file on the same sandbox: the log names the session (conn=), which was none of the run's."""
    log = tmp_path / "tidb.log"
    log.write_text(PANIC_OF_ANOTHER_SESSION)
    run = HuntRun(HuntSpec(("errors",)))
    run.server.update({"kind": "tidb", "version": "8.0.11-TiDB-v8.4.0"})
    worker = SimpleNamespace(recent=["SELECT 1"])
    offset = _scan_log(log, 0, run, [worker], {2097160, 2097162})  # type: ignore[list-item]
    assert run.findings == {} and run.others_log_panics == 1 and offset == log.stat().st_size
    assert run.to_dict()["server_log_other_sessions"] == 1
    # the same line from one of the run's own sessions is a finding
    _scan_log(log, 0, run, [worker], {2097160, 2097266})  # type: ignore[list-item]
    (finding,) = run.findings.values()
    assert finding.kind == "server-log" and "connection running loop panic" in finding.description
    assert finding.error == {"log_lines": [PANIC_OF_ANOTHER_SESSION.rstrip()]}


def test_a_log_line_that_names_no_session_or_a_run_of_several_processes_takes_every_panic(tmp_path: Path) -> None:
    """A crash names no session: it is the whole server's. With --processes the watching process does not know
    the other processes' sessions (sessions None), so every panic counts, as before."""
    log = tmp_path / "server.log"
    log.write_text("2026-12-02 16:00:00 0 [ERROR] mysqld got signal 11 ;\n")
    run = HuntRun(HuntSpec(("errors",)))
    run.server.update({"kind": "mariadb", "version": "10.11.19-MariaDB"})
    worker = SimpleNamespace(recent=["SELECT 1"])
    _scan_log(log, 0, run, [worker], {5})  # type: ignore[list-item]
    assert [f.kind for f in run.findings.values()] == ["server-log"] and run.others_log_panics == 0
    other = tmp_path / "tidb.log"
    other.write_text(PANIC_OF_ANOTHER_SESSION)
    run = HuntRun(HuntSpec(("errors",)))
    _scan_log(other, 0, run, [worker], None)  # type: ignore[list-item]
    assert [f.kind for f in run.findings.values()] == ["server-log"] and run.others_log_panics == 0


COP_PANIC = (
    '[2026/12/03 04:38:01.100 +00:00] [ERROR] [coprocessor.go:1234] ["copIteratorWork meet panic"] [session_alias=] '
    '[r="runtime error: index out of range [7] with length 4"] ["stack trace"="github.com/pingcap/tidb/pkg/store/copr.'
    '(*liteCopIteratorWorker).liteSendReq.func1\\n\\tgithub.com/pingcap/tidb/pkg/store/copr/coprocessor.go:1240\\n'
    'runtime.gopanic\\n\\truntime/panic.go:860\\nruntime.goPanicIndex\\n\\truntime/panic.go:115\\n'
    'encoding/binary.littleEndian.PutUint64\\n\\tencoding/binary/binary.go:120\\n"]\n')


def test_one_panic_reached_by_many_statements_is_one_finding_and_two_panics_two(tmp_path: Path) -> None:
    """A 10-minute TiDB hunt reported one planner panic as 35 findings, one per log scan: a logged panic is now
    signed by its error and the function that panicked, not by when it was seen."""
    first = PANIC_OF_ANOTHER_SESSION.replace("conn=2097266", "conn=5").replace("16:28:08", "16:28:09")
    again = first.replace("conn=5", "conn=6").replace("IN (SELECT", "NOT IN (SELECT")
    log = tmp_path / "tidb.log"
    log.write_text(first)
    run = HuntRun(HuntSpec(("errors",)))
    run.server.update({"kind": "tidb", "version": "8.0.11-TiDB-v8.4.0"})
    worker = SimpleNamespace(recent=["SELECT 1"])
    offset = _scan_log(log, 0, run, [worker], {5, 6})  # type: ignore[list-item]
    with log.open("a") as f:
        f.write(again + COP_PANIC)
    _scan_log(log, offset, run, [worker], {5, 6})  # type: ignore[list-item]
    planner, cop = run.findings.values()
    assert (planner.count, cop.count) == (2, 1)
    assert planner.signature != cop.signature and "index out of range" in cop.description


def test_a_panic_is_keyed_by_its_error_and_where_it_panicked() -> None:
    assert panic_key(PANIC_OF_ANOTHER_SESSION) == (
        "interface conversion: expression.Expression is *expression.ScalarFunction, not *expression.Column")
    assert panic_key(COP_PANIC) == "binary.littleEndian.PutUint64: runtime error: index out of range [_] with length _"
    assert panic_key("2026-12-02 16:00:00 0 [ERROR] mysqld got signal 11 ;") == "[ERROR] mysqld got signal ;"


def test_two_panics_of_one_long_message_at_two_functions_sign_two_ways() -> None:
    """The signature keeps 120 characters of its message: the function that panicked comes first, so a long
    error text cannot push it out."""
    from test_rig.hunt.finding import signature

    message = "interface conversion: expression.Expression is *expression.ScalarFunction, not *expression.Column"
    frames = ("github.com/pingcap/tidb/pkg/server.(*clientConn).Run.func1\\n\\truntime/x.go:1\\nruntime.gopanic"
              "\\n\\truntime/panic.go:860\\ngithub.com/pingcap/tidb/pkg/planner/core/operator/logicalop.(*LogicalJoin)."
              "{}\\n\\tlogical_join.go:1023")
    server = {"kind": "tidb", "version": "8.0.11-TiDB-v8.4.0"}
    keys = [panic_key(f'[ERROR] ["connection running loop panic"] [conn=5] [err="{message}"] '
                      f'[stack="{frames.format(function)}"]') for function in ("GetNAJoinKeys", "BuildKeyInfo")]
    assert keys[0] == f"logicalop.(*LogicalJoin).GetNAJoinKeys: {message}"
    assert signature("server-log", "errors", server, [], [], None, keys[0]) != signature(
        "server-log", "errors", server, [], [], None, keys[1])
