"""`bench prepare`, the OLTP workloads and `bench cleanup` against the MariaDB and TiDB sandboxes, run as a user
runs them. The statements each run sent are counted by the server itself (MariaDB: SHOW GLOBAL STATUS Com_*;
TiDB, whose SHOW STATUS has no Com_* counters: its status port's tidb_executor_statement_total by type) and must
equal what the run reports and, per transaction, what sysbench's scripts send for the same options."""

from __future__ import annotations

import asyncio
import json
import re
import signal
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from test_rig.servers.sandbox import SandboxState
from tests.helpers import RunningCli, env_for, run_cli, sql_on
from tests.integration.test_report_any import PASSED, rerendered

# Our statement types -> the server's counter of that statement.
COUNTER = {"point_select": "select", "simple_range": "select", "sum_range": "select", "order_range": "select",
           "distinct_range": "select", "random_points": "select", "random_ranges": "select",
           "index_update": "update", "non_index_update": "update", "delete": "delete", "insert": "insert",
           "begin": "begin", "commit": "commit", "rollback": "rollback"}
VERBS = ("select", "update", "insert", "delete", "begin", "commit", "rollback")


def counters(st: SandboxState) -> dict[str, int]:
    """The server's own count of each statement verb so far."""
    if st.kind.startswith("tidb"):
        text = urllib.request.urlopen(f"http://127.0.0.1:{st.status_port}/metrics", timeout=10).read().decode()
        out = dict.fromkeys(VERBS, 0)
        for m in re.finditer(r'^tidb_executor_statement_total\{[^}]*type="(\w+)"[^}]*\} (\S+)$', text, re.M):
            if m.group(1).lower() in out:
                out[m.group(1).lower()] += int(float(m.group(2)))
        return out
    rows = sql_on(st, "SHOW GLOBAL STATUS WHERE Variable_name IN ("
                                + ", ".join(f"'Com_{v}'" for v in VERBS) + ")")[0]
    return {str(name)[4:].lower(): int(value) for name, value in rows}


def connect_selects(st: SandboxState) -> int:
    """SELECTs test-rig's connect sends (VERSION(), CONNECTION_ID(), and on TiDB @@tidb_txn_mode)."""
    return 3 if st.kind.startswith("tidb") else 2


def delta(st: SandboxState, before: dict[str, int], after: dict[str, int]) -> dict[str, int]:
    """What the server counted between two readings, less the SELECTs of the second reading's own connection
    (MariaDB's counters are read over SQL; TiDB's over HTTP)."""
    own = 0 if st.kind.startswith("tidb") else connect_selects(st)
    return {v: after[v] - before[v] - (own if v == "select" else 0) for v in VERBS}


def reported(data: dict[str, Any]) -> dict[str, int]:
    """The statements the run says it sent, by server counter: the ones that succeeded and the ones that failed."""
    out = dict.fromkeys(VERBS, 0)
    for kind, s in data["statements"].items():
        out[COUNTER[kind]] += s["count"] + s["errors"]
    return out


def env_db(st: SandboxState, database: str) -> dict[str, str]:
    return {**env_for(st), "TIDB_DATABASE": database}


@pytest.fixture(scope="module")
def prepared(sandbox: SandboxState) -> Iterator[dict[str, str]]:
    """A database on the MariaDB sandbox with sbtest1..2 of 2000 rows each, dropped at the end."""
    sql_on(sandbox, "DROP DATABASE IF EXISTS rig_oltp", "CREATE DATABASE rig_oltp")
    env = env_db(sandbox, "rig_oltp")
    r = run_cli("bench", "prepare", "--tables", "2", "--table-size", "2000", "--no-password-prompt", env=env)
    assert r.returncode == 0, r.stdout + r.stderr
    yield env
    sql_on(sandbox, "DROP DATABASE IF EXISTS rig_oltp")


def _acceptance(st: SandboxState, tmp_path: Path, database: str, duration: str) -> None:
    """prepare --tables 2 --table-size 10000, oltp-read-write on 8 connections, cleanup: every output says the
    same, and the server counted exactly the statements the run reports."""
    sql_on(st, f"DROP DATABASE IF EXISTS {database}", f"CREATE DATABASE {database}")
    env = env_db(st, database)
    try:
        r = run_cli("bench", "prepare", "--tables", "2", "--table-size", "10000", "--no-password-prompt",
                    "--json", str(tmp_path / "prepare.json"), env=env)
        assert r.returncode == 0, r.stdout + r.stderr
        assert r.stdout.splitlines()[-1] == "PASSED: every check passed"
        assert json.loads((tmp_path / "prepare.json").read_text())["rows"] == 20_000
        assert rerendered(tmp_path / "prepare.json") == PASSED
        rows = sql_on(st, "SELECT COUNT(*), MIN(id), MAX(id) FROM sbtest1",
                                "SELECT COUNT(*), MIN(id), MAX(id) FROM sbtest2", "SHOW INDEX FROM sbtest2",
                                database=database)
        assert [tuple(rows[0][0]), tuple(rows[1][0])] == [(10_000, 1, 10_000)] * 2
        assert {str(r[2]) for r in rows[2]} == {"PRIMARY", "k_2"}

        out, junit, html = tmp_path / "rw.json", tmp_path / "rw.xml", tmp_path / "rw.html"
        before = counters(st)
        r = run_cli("bench", "oltp-read-write", "--tables", "2", "--table-size", "10000", "--connections", "8",
                    "--duration", duration, "--no-password-prompt", "--json", str(out), "--junit", str(junit),
                    "--html", str(html), env=env)
        after = counters(st)
        assert r.returncode == 0, r.stdout + r.stderr
        data = json.loads(out.read_text())
        assert (data["outcome"], data["ok"], data["complete"]) == ("passed", True, True)
        assert r.stdout.splitlines()[-1] == "PASSED: every check passed"
        assert "failures=\"0\"" in junit.read_text() and "errors=\"0\"" in junit.read_text()
        assert 'data-verdict="passed"' in html.read_text()
        assert data["command"] == "bench oltp-read-write" and data["connections"] == 8
        assert data["transactions"] == data["operations"] > 0
        assert data["per_transaction"] == {"point_select": 10, "simple_range": 1, "sum_range": 1, "order_range": 1,
                                           "distinct_range": 1, "index_update": 1, "non_index_update": 1,
                                           "delete": 1, "insert": 1, "begin": 1, "commit": 1}
        # every completed transaction committed once; the server saw every statement the run reports, and the
        # SELECTs of the connections' set-up and of the check that the tables exist (one MAX(id) per table)
        assert data["statements"]["commit"]["count"] == data["transactions"]
        expected = reported(data)
        expected["select"] += connect_selects(st) * 9 + 2
        assert delta(st, before, after) == expected
        assert data["queries"]["total"] == sum(s["count"] for s in data["statements"].values())
        assert {"p50_ms", "p95_ms", "p99_ms", "max_ms", "per_second"} <= set(data["statements"]["point_select"])

        r = run_cli("report", str(out), "--html", str(tmp_path / "again.html"))
        assert r.returncode == 0, r.stdout + r.stderr
        assert 'data-verdict="passed"' in (tmp_path / "again.html").read_text()

        r = run_cli("bench", "cleanup", "--tables", "2", "--no-password-prompt", "--json", str(tmp_path / "c.json"),
                    env=env)
        assert r.returncode == 0, r.stdout + r.stderr
        assert "dropped sbtest1, sbtest2" in r.stdout
        assert rerendered(tmp_path / "c.json") == PASSED
        assert sql_on(st, "SHOW TABLES LIKE 'sbtest%'", database=database)[0] == []
    finally:
        sql_on(st, f"DROP DATABASE IF EXISTS {database}")


def test_prepare_read_write_cleanup_on_mariadb(sandbox: SandboxState, tmp_path: Path) -> None:
    _acceptance(sandbox, tmp_path, "rig_oltp_accept", "3")


def test_prepare_read_write_cleanup_on_tidb(tidb: SandboxState, tmp_path: Path) -> None:
    _acceptance(tidb, tmp_path, "rig_oltp_accept", "2")


@pytest.mark.parametrize(("workload", "options", "per_transaction"), [
    # oltp_read_write with other counts: point 3 + ranges 2 + 0 + 1 + 1 selects, 2 + 1 updates, 2 delete/inserts
    ("oltp-read-write", ["--point-selects", "3", "--simple-ranges", "2", "--sum-ranges", "0", "--index-updates", "2",
                         "--delete-inserts", "2"],
     {"select": 7, "update": 3, "delete": 2, "insert": 2, "begin": 1, "commit": 1, "rollback": 0}),
    # --skip-trx: the same reads in autocommit, no BEGIN/COMMIT
    ("oltp-read-only", ["--skip-trx"],
     {"select": 14, "update": 0, "delete": 0, "insert": 0, "begin": 0, "commit": 0, "rollback": 0}),
    ("oltp-write-only", [],
     {"select": 0, "update": 2, "delete": 1, "insert": 1, "begin": 1, "commit": 1, "rollback": 0}),
    ("select-random-ranges", [],
     {"select": 1, "update": 0, "delete": 0, "insert": 0, "begin": 0, "commit": 0, "rollback": 0}),
    ("oltp-insert", [], {"select": 0, "update": 0, "delete": 0, "insert": 1, "begin": 0, "commit": 0, "rollback": 0}),
    ("oltp-update-index", ["--index-updates", "3"],
     {"select": 0, "update": 3, "delete": 0, "insert": 0, "begin": 0, "commit": 0, "rollback": 0}),
    # the other four single-statement workloads, with their defaults
    ("oltp-point-select", [], {"select": 1, "update": 0, "delete": 0, "insert": 0, "begin": 0, "commit": 0,
                               "rollback": 0}),
    ("oltp-update-non-index", [], {"select": 0, "update": 1, "delete": 0, "insert": 0, "begin": 0, "commit": 0,
                                   "rollback": 0}),
    ("oltp-delete", [], {"select": 0, "update": 0, "delete": 1, "insert": 0, "begin": 0, "commit": 0, "rollback": 0}),
    ("select-random-points", [], {"select": 1, "update": 0, "delete": 0, "insert": 0, "begin": 0, "commit": 0,
                                  "rollback": 0}),
])
def test_statements_per_transaction_equal_sysbenchs(sandbox: SandboxState, prepared: dict[str, str], workload: str,
                                                     options: list[str], per_transaction: dict[str, int],
                                                     tmp_path: Path) -> None:
    out = tmp_path / "r.json"
    before = counters(sandbox)
    r = run_cli("bench", workload, "--tables", "2", "--table-size", "2000", "--connections", "1", "--duration", "1",
                *options, "--no-password-prompt", "--json", str(out), env=prepared)
    after = counters(sandbox)
    assert r.returncode == 0, r.stdout + r.stderr
    data = json.loads(out.read_text())
    txns = data["transactions"]
    assert txns > 0 and data["ignored_errors"] == 0 and data["failed_transactions"] == 0
    tables = 1 if workload.startswith("select-random") else 0 if workload == "oltp-insert" else 2
    expected = {verb: n * txns for verb, n in per_transaction.items()}
    expected["select"] += connect_selects(sandbox) * 2 + tables  # and one MAX(id) per table read
    assert delta(sandbox, before, after) == expected
    assert rerendered(out) == PASSED  # `test-rig report` renders every workload's result


def test_worker_processes_merge_the_statement_figures(sandbox: SandboxState, prepared: dict[str, str],
                                                      tmp_path: Path) -> None:
    out = tmp_path / "p.json"
    before = counters(sandbox)
    r = run_cli("bench", "oltp-read-only", "--tables", "2", "--table-size", "2000", "--connections", "2",
                "--processes", "2", "--duration", "1.5", "--no-password-prompt", "--json", str(out), env=prepared)
    after = counters(sandbox)
    assert r.returncode == 0, r.stdout + r.stderr
    data = json.loads(out.read_text())
    assert data["processes"] == 2 and data["transactions"] == sum(w["operations"] for w in data["workers"]) > 0
    assert data["statements"]["point_select"]["count"] == 10 * data["transactions"]
    expected = reported(data)
    expected["select"] += connect_selects(sandbox) * 3 + 2
    assert delta(sandbox, before, after) == expected


def test_ctrl_c_keeps_the_figures_so_far(sandbox: SandboxState, prepared: dict[str, str], tmp_path: Path) -> None:
    out = tmp_path / "i.json"
    run = RunningCli("bench", "oltp-read-only", "--tables", "2", "--table-size", "2000", "--connections", "2",
                     "--duration", "60", "--no-password-prompt", "--json", str(out), env=prepared)
    run.wait_for("load started")
    run.wait_for("   1 s:")
    run.proc.send_signal(signal.SIGINT)
    assert run.finish(timeout=60) == 130, run.output()
    assert "Traceback" not in run.output()
    data = json.loads(out.read_text())
    assert (data["complete"], data["outcome"]) == (False, "interrupted")
    assert data["error"] == "interrupted by SIGINT"
    assert data["transactions"] > 0 and data["statements"]["begin"]["count"] >= data["transactions"]


def test_errors_sysbench_would_stop_at_fail_the_run(sandbox: SandboxState, tmp_path: Path) -> None:
    """A table whose c cannot hold sysbench's 119 characters: every UPDATE of c fails (1406, data too long) and
    no one ignores it, so the run fails, in every output."""
    sql_on(sandbox, "DROP DATABASE IF EXISTS rig_oltp_bad", "CREATE DATABASE rig_oltp_bad")
    env = env_db(sandbox, "rig_oltp_bad")
    try:
        r = run_cli("bench", "prepare", "--table-size", "100", "--no-password-prompt", env=env)
        assert r.returncode == 0, r.stdout + r.stderr
        sql_on(sandbox, "UPDATE sbtest1 SET c = ''", "ALTER TABLE sbtest1 MODIFY c CHAR(10) NOT NULL",
                         database="rig_oltp_bad")
        out, junit, html = tmp_path / "f.json", tmp_path / "f.xml", tmp_path / "f.html"
        r = run_cli("bench", "oltp-update-non-index", "--table-size", "100", "--connections", "1", "--duration",
                    "0.5", "--no-password-prompt", "--json", str(out), "--junit", str(junit), "--html", str(html),
                    env=env)
        assert r.returncode == 1, r.stdout + r.stderr
        data = json.loads(out.read_text())
        assert (data["ok"], data["outcome"]) == (False, "failed")
        failed = data["failed_transactions"]
        assert failed > 0 and data["errors_by_code"] == {"1406": failed} and data["transactions"] == 0
        # the code with the server's own words for it: what was refused, and why
        assert data["error_messages"] == {"1406": "Data too long for column 'c' at row 1"}
        assert data["error"] == (f"no transaction completed; {failed} failed (1406 ×{failed}: Data too long for "
                                 "column 'c' at row 1)")
        assert r.stdout.splitlines()[-1] == f"FAILED: {data['error']}"
        assert "<failure" in junit.read_text() and 'data-verdict="failed"' in html.read_text()
    finally:
        sql_on(sandbox, "DROP DATABASE IF EXISTS rig_oltp_bad")


def test_bad_input_is_refused_before_any_load(sandbox: SandboxState, prepared: dict[str, str]) -> None:
    r = run_cli("bench", "oltp-read-wrte", "--no-password-prompt", env=prepared)
    assert r.returncode == 2 and "No such command 'oltp-read-wrte'" in r.stderr
    r = run_cli("bench", "oltp-read-write", "--tables", "0", "--no-password-prompt", env=prepared)
    assert r.returncode == 2
    assert r.stderr.strip() == "error: --tables 0: the tables are sbtest1, sbtest2, ...; give --tables 1 or more."
    r = run_cli("bench", "oltp-read-write", "--mysql-ignore-errors", "deadlock", "--no-password-prompt", env=prepared)
    assert r.returncode == 2 and "'deadlock' is not an error code" in r.stderr
    r = run_cli("bench", "oltp-read-only", "--connections", "2", "--processes", "2", "--warmup", "1",
                "--no-password-prompt", env=prepared)
    assert (r.returncode, r.stdout) == (2, "")
    assert r.stderr.startswith("error: --warmup applies to a run in one process; with --processes leave it out")
    # a run before prepare: the tables are missing, nothing of the workload reaches the server
    sql_on(sandbox, "DROP DATABASE IF EXISTS rig_oltp_empty", "CREATE DATABASE rig_oltp_empty")
    try:
        before = counters(sandbox)
        r = run_cli("bench", "oltp-read-write", "--tables", "3", "--no-password-prompt",
                    env=env_db(sandbox, "rig_oltp_empty"))
        after = counters(sandbox)
        assert r.returncode == 2, r.stdout + r.stderr
        assert r.stderr.strip() == (f"error: sbtest1, sbtest2, sbtest3 are missing in database rig_oltp_empty on "
                                    f"{sandbox.host}:{sandbox.port}; run `test-rig bench prepare --tables 3 "
                                    "--table-size 10000` first.")
        assert delta(sandbox, before, after) == {**dict.fromkeys(VERBS, 0), "select": connect_selects(sandbox)}
    finally:
        sql_on(sandbox, "DROP DATABASE IF EXISTS rig_oltp_empty")
    r = run_cli("bench", "prepare", "--tables", "2", "--no-password-prompt", env=prepared)
    assert r.returncode == 2
    assert r.stderr.strip() == (f"error: sbtest1, sbtest2 already exist in database rig_oltp on {sandbox.host}:"
                                f"{sandbox.port}; run `test-rig bench cleanup --tables 2` first, or prepare into "
                                "another database with -d.")


def test_runs_under_the_nemesis_with_its_windows(sandbox: SandboxState, prepared: dict[str, str],
                                                 tmp_path: Path) -> None:
    """KILL CONNECTION of half the sessions twice: the transactions hit fail with a lost connection, the workers
    reconnect, the load goes on, and the run passes (the errors are the faults' doing)."""
    out = tmp_path / "n.json"
    r = run_cli("bench", "oltp-read-write", "--tables", "2", "--table-size", "2000", "--connections", "2",
                "--duration", "2.5", "--nemesis", "kill-connections", "--nemesis-interval", "1", "--no-password-prompt",
                "--json", str(out), env=prepared)
    assert r.returncode == 0, r.stdout + r.stderr
    data = json.loads(out.read_text())
    assert data["outcome"] == "passed" and len(data["nemesis"]["windows"]) == 2
    assert data["reconnects"] > 0 and data["failed_transactions"] == sum(data["errors_by_code"].values()) > 0
    assert set(data["errors_by_code"]) <= {"2013", "2006", "1927"}
    assert [bool(t.get("faults")) for t in data["timeline"]] == [False, True, True]
    assert all(t["ops"] > 0 for t in data["timeline"])


def test_an_interrupted_prepare_leaves_no_table(sandbox: SandboxState, tmp_path: Path) -> None:
    sql_on(sandbox, "DROP DATABASE IF EXISTS rig_oltp_cut", "CREATE DATABASE rig_oltp_cut")
    out = tmp_path / "p.json"
    try:
        run = RunningCli("bench", "prepare", "--tables", "2", "--table-size", "2000000", "--no-password-prompt",
                         "--json", str(out), env=env_db(sandbox, "rig_oltp_cut"))
        run.wait_for("sbtest1: inserting 2000000 rows")
        run.proc.send_signal(signal.SIGINT)
        assert run.finish(timeout=60) == 130, run.output()
        assert "Traceback" not in run.output()
        data = json.loads(out.read_text())
        assert (data["complete"], data["outcome"]) == (False, "interrupted")
        assert sql_on(sandbox, "SHOW TABLES LIKE 'sbtest%'", database="rig_oltp_cut")[0] == []
    finally:
        sql_on(sandbox, "DROP DATABASE IF EXISTS rig_oltp_cut")


def test_the_features_run_without_the_command_line(sandbox: SandboxState) -> None:
    """prepare, a run and cleanup called as the pytest plugin or a script calls them: an Environment in, a RunResult
    out, whose dict is the one `--json` writes (the command, the figures, the verdict)."""
    from test_rig.config import load_config
    from test_rig.environment import Environment
    from test_rig.load import oltp
    from test_rig.load.bench import LoadEvents, LoadSettings

    sql_on(sandbox, "DROP DATABASE IF EXISTS rig_oltp_api", "CREATE DATABASE rig_oltp_api")
    values = {"database.host": f"{sandbox.host}:{sandbox.port}", "database.username": "root",
              "database.password": "", "database.database": "rig_oltp_api"}
    env = Environment(loaded=load_config(None, values, environ={}, cwd=Path("/nonexistent")))
    opts = oltp.OltpOptions(tables=1, table_size=500)
    try:
        made = asyncio.run(oltp.run_prepare(env, opts))
        assert (made.command, made.ok, made.payload["rows"], made.payload["tables"]) == (
            "bench prepare", True, 500, ["sbtest1"])
        started: list[int] = []
        run = asyncio.run(oltp.run(env, "oltp-point-select", opts, LoadSettings(connections=2, duration=1.0),
                                   events=LoadEvents(on_load_start=started.append)))
        data = run.to_dict()
        assert (run.command, run.ok, run.complete, started) == ("bench oltp-point-select", True, True, [2])
        assert data["transactions"] == data["operations"] == data["statements"]["point_select"]["count"] > 0
        assert run.verdict.outcome == "passed"
        gone = asyncio.run(oltp.run_cleanup(env, 1))
        assert (gone.ok, gone.payload) == (True, {"dropped": ["sbtest1"], "absent": [], "left": []})
    finally:
        sql_on(sandbox, "DROP DATABASE IF EXISTS rig_oltp_api")
