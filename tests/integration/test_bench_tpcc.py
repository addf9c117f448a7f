"""`bench tpcc-prepare`, `bench tpcc`, `bench tpcc-check` and `bench tpcc-cleanup` against the MariaDB and TiDB
sandboxes, run as a user runs them, on data scaled down 100× (1,000 items, 30 customers per district). What the
run reports is compared with what the server holds afterwards (orders and history rows added), and a row
corrupted behind the workload's back makes the check fail and name the condition."""

from __future__ import annotations

import json
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from test_rig.servers.sandbox import SandboxState
from tests.helpers import RunningCli, env_for, run_cli, sql_on
from tests.integration.test_report_any import PASSED, rerendered

SMALL = ("--scale-down", "100", "--no-password-prompt")
LOADED_ORDERS = 300  # 10 districts × 30 orders, as tpcc-prepare --scale-down 100 loads them
LOADED_HISTORY = 300


def _env(st: SandboxState, database: str) -> dict[str, str]:
    return {**env_for(st), "TIDB_DATABASE": database}


def _fresh(st: SandboxState, database: str) -> dict[str, str]:
    sql_on(st, f"DROP DATABASE IF EXISTS {database}", f"CREATE DATABASE {database}")
    return _env(st, database)


@pytest.fixture(scope="module")
def prepared(sandbox: SandboxState) -> Iterator[dict[str, str]]:
    env = _fresh(sandbox, "rig_tpcc")
    r = run_cli("bench", "tpcc-prepare", *SMALL, env=env)
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout.splitlines()[-2] == ("prepared 6077 rows in " + r.stdout.splitlines()[-2].split(" in ")[1]
                                         .split(":")[0] + ": item 1000, warehouse 1, stock 1000, district 10, "
                                         "customer 300, history 300, orders 300, order_line 3076, new_order 90")
    yield env
    sql_on(sandbox, "DROP DATABASE IF EXISTS rig_tpcc")


def _run_and_compare(st: SandboxState, env: dict[str, str], database: str, tmp_path: Path,
                     *extra: str) -> dict[str, Any]:
    """A short run: every output passes, the check says 12 of 12, and the server holds an order per committed
    New-Order and a history row per committed Payment more than it did."""
    before = sql_on(st, "SELECT COUNT(*) FROM orders", "SELECT COUNT(*) FROM history", database=database)
    out, junit, html = tmp_path / "t.json", tmp_path / "t.xml", tmp_path / "t.html"
    r = run_cli("bench", "tpcc", *SMALL, "--connections", "4", "--duration", "2", *extra, "--json", str(out),
                "--junit", str(junit), "--html", str(html), env=env)
    assert r.returncode == 0, r.stdout + r.stderr
    data = json.loads(out.read_text())
    assert (data["command"], data["outcome"], data["ok"], data["complete"]) == ("bench tpcc", "passed", True, True)
    assert r.stdout.splitlines()[-2:] == ["consistency check: 12 of 12 conditions hold", "PASSED: every check passed"]
    assert data["checks"]["summary"] == "12 of 12 conditions hold" and data["checks"]["held"] == 12
    assert junit.read_text().count("<testcase") == 13 and 'failures="0"' in junit.read_text()
    assert 'data-verdict="passed"' in html.read_text()
    assert rerendered(out) == PASSED
    by_type = data["transactions_by_type"]
    assert set(by_type) == {"new_order", "payment", "order_status", "delivery", "stock_level"}
    assert sum(s["count"] + s["rolled_back"] for s in by_type.values()) == data["transactions"] > 0
    assert data["tpmC"] == round(by_type["new_order"]["count"] * 60 / data["seconds"], 1)
    assert {"p50_ms", "p95_ms", "p99_ms", "max_ms", "errors_by_code"} <= set(by_type["payment"])
    after = sql_on(st, "SELECT COUNT(*) FROM orders", "SELECT COUNT(*) FROM history", database=database)
    assert after[0][0][0] - before[0][0][0] == by_type["new_order"]["count"]
    assert after[1][0][0] - before[1][0][0] == by_type["payment"]["count"]
    return data


def test_prepare_run_check_cleanup_on_mariadb(sandbox: SandboxState, prepared: dict[str, str],
                                              tmp_path: Path) -> None:
    _run_and_compare(sandbox, prepared, "rig_tpcc", tmp_path)
    r = run_cli("bench", "tpcc-check", "--no-password-prompt", env=prepared)
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout.splitlines() == ["consistency check: 12 of 12 conditions hold", "PASSED: every check passed"]


def test_on_tidb(tidb: SandboxState, tmp_path: Path) -> None:
    env = _fresh(tidb, "rig_tpcc")
    try:
        r = run_cli("bench", "tpcc-prepare", *SMALL, "--json", str(tmp_path / "p.json"), env=env)
        assert r.returncode == 0, r.stdout + r.stderr
        assert rerendered(tmp_path / "p.json") == PASSED
        _run_and_compare(tidb, env, "rig_tpcc", tmp_path, "--connections", "2")
        r = run_cli("bench", "tpcc-cleanup", "--no-password-prompt", "--json", str(tmp_path / "c.json"), env=env)
        assert r.returncode == 0, r.stdout + r.stderr
        assert rerendered(tmp_path / "c.json") == PASSED
        assert sql_on(tidb, "SHOW TABLES", database="rig_tpcc")[0] == []
    finally:
        sql_on(tidb, "DROP DATABASE IF EXISTS rig_tpcc")


def test_a_district_next_order_id_changed_behind_the_workloads_back_fails_the_check(
        sandbox: SandboxState, prepared: dict[str, str], tmp_path: Path) -> None:
    move = "UPDATE district SET d_next_o_id = d_next_o_id {} 5 WHERE d_w_id = 1 AND d_id = 3"
    (next_o_id,), = sql_on(sandbox, "SELECT d_next_o_id FROM district WHERE d_w_id = 1 AND d_id = 3",
                                     database="rig_tpcc")[0]
    # the earlier tests' deliveries may have emptied the district's new orders: then their max is NULL
    (max_no,), = sql_on(sandbox, "SELECT MAX(no_o_id) FROM new_order WHERE no_w_id = 1 AND no_d_id = 3",
                                  database="rig_tpcc")[0]
    shown_max_no = "NULL" if max_no is None else max_no
    sql_on(sandbox, move.format("+"), database="rig_tpcc")
    out, junit = tmp_path / "c.json", tmp_path / "c.xml"
    try:
        r = run_cli("bench", "tpcc-check", "--no-password-prompt", "--json", str(out), "--junit", str(junit),
                    env=prepared)
    finally:
        sql_on(sandbox, move.format("-"), database="rig_tpcc")
    assert r.returncode == 1, r.stdout + r.stderr
    summary = ("11 of 12 conditions hold; broken: 3.3.2.2 (D_NEXT_O_ID - 1 = max(O_ID) = max(NO_O_ID), 1 row)")
    assert r.stdout.splitlines() == [
        f"consistency check: {summary}",
        "  3.3.2.2 D_NEXT_O_ID - 1 = max(O_ID) = max(NO_O_ID): broken in 1 row(s):",
        f"    w_id=1  d_id=3  d_next_o_id={next_o_id + 5}  max_o_id={next_o_id - 1}  max_no_o_id={shown_max_no}",
        f"FAILED: TPC-C consistency check failed: {summary}"]
    data = json.loads(out.read_text())
    assert (data["outcome"], data["ok"], data["checks"]["broken"]) == ("failed", False, ["3.3.2.2"])
    assert rerendered(out) == ("failed", f"FAILED: TPC-C consistency check failed: {summary}")
    assert junit.read_text().count("<failure") == 1


def test_a_customer_balance_changed_before_a_run_fails_the_runs_own_check(
        sandbox: SandboxState, prepared: dict[str, str], tmp_path: Path) -> None:
    """The check at the end of a run finds it, whatever the transactions did to that customer since."""
    change = "UPDATE customer SET c_balance = c_balance {} 1 WHERE c_w_id = 1 AND c_d_id = 1 AND c_id = 1"
    sql_on(sandbox, change.format("+"), database="rig_tpcc")
    out, html = tmp_path / "r.json", tmp_path / "r.html"
    try:
        r = run_cli("bench", "tpcc", *SMALL, "--connections", "2", "--duration", "1", "--json", str(out),
                    "--html", str(html), env=prepared)
    finally:
        sql_on(sandbox, change.format("-"), database="rig_tpcc")
    assert r.returncode == 1, r.stdout + r.stderr
    data = json.loads(out.read_text())
    assert (data["outcome"], data["checks"]["broken"]) == ("failed", ["3.3.2.10", "3.3.2.12"])
    assert data["error"].startswith("TPC-C consistency check failed: 10 of 12 conditions hold; broken: 3.3.2.10 ")
    assert r.stdout.splitlines()[-1] == f"FAILED: {data['error']}"
    rows = {c["clause"]: c["rows"] for c in data["checks"]["conditions"]}
    assert [(x["w_id"], x["d_id"], x["c_id"]) for x in rows["3.3.2.10"] + rows["3.3.2.12"]] == [(1, 1, 1)] * 2
    assert data["transactions"] > 0 and 'data-verdict="failed"' in html.read_text()


def test_runs_under_the_nemesis_and_in_two_processes(sandbox: SandboxState, prepared: dict[str, str],
                                                     tmp_path: Path) -> None:
    """KILL CONNECTION of the sessions twice: transactions fail with a lost connection, the terminals reconnect,
    the data stays consistent. Then two worker processes: their figures merge to the totals."""
    out = tmp_path / "n.json"
    r = run_cli("bench", "tpcc", *SMALL, "--connections", "2", "--duration", "2.5", "--nemesis", "kill-connections",
                "--nemesis-interval", "1", "--json", str(out), env=prepared)
    assert r.returncode == 0, r.stdout + r.stderr
    data = json.loads(out.read_text())
    assert data["outcome"] == "passed" and len(data["nemesis"]["windows"]) == 2
    assert data["checks"]["summary"] == "12 of 12 conditions hold"
    assert data["reconnects"] > 0 and set(data["errors_by_code"]) <= {"2013", "2006", "1927"}
    failed = sum(s["errors"] for s in data["transactions_by_type"].values())
    assert failed == data["errors"] == sum(data["errors_by_code"].values()) > 0

    out = tmp_path / "p.json"
    r = run_cli("bench", "tpcc", *SMALL, "--connections", "2", "--processes", "2", "--duration", "1.5",
                "--json", str(out), env=prepared)
    assert r.returncode == 0, r.stdout + r.stderr
    data = json.loads(out.read_text())
    assert data["processes"] == 2 and data["transactions"] == sum(w["operations"] for w in data["workers"]) > 0
    assert sum(s["count"] + s["rolled_back"] for s in data["transactions_by_type"].values()) == data["transactions"]
    assert data["checks"]["summary"] == "12 of 12 conditions hold"


def test_ctrl_c_keeps_the_figures_and_skips_the_check(sandbox: SandboxState, prepared: dict[str, str],
                                                      tmp_path: Path) -> None:
    out = tmp_path / "i.json"
    run = RunningCli("bench", "tpcc", *SMALL, "--connections", "2", "--duration", "60", "--json", str(out),
                     env=prepared)
    run.wait_for("   1 s:")
    run.proc.send_signal(signal.SIGINT)
    assert run.finish(timeout=60) == 130, run.output()
    assert "Traceback" not in run.output()
    data = json.loads(out.read_text())
    assert (data["complete"], data["outcome"], data["error"]) == (False, "interrupted", "interrupted by SIGINT")
    assert data["transactions"] > 0 and data["checks"] == {"summary": "not run: the run was interrupted"}


def test_bad_input_is_refused_before_any_load(sandbox: SandboxState, prepared: dict[str, str]) -> None:
    def refused(*args: str, env: dict[str, str] = prepared) -> str:
        """The one sentence on stderr, exit 2; nothing printed but the run's headline (the tables are looked at
        after it), no load started."""
        r = run_cli("bench", *args, "--no-password-prompt", env=env)
        assert r.returncode == 2 and len(r.stdout.splitlines()) <= 1, r.stdout + r.stderr
        assert "load started" not in r.stdout and "Traceback" not in r.stderr
        return r.stderr.strip()

    assert refused("tpcc", "--mix", "45,43,4") == (
        "error: --mix 45,43,4 is not a transaction mix; give five weights for new-order/payment/order-status/"
        "delivery/stock-level (the default is 45,43,4,4,4) or name=weight pairs such as new-order=50,payment=50.")
    assert refused("tpcc", "--mix", "refund=3").startswith("error: --mix refund=3: unknown transaction 'refund';")
    assert refused("tpcc", "--warehouses", "0") == (
        "error: --warehouses 0: TPC-C needs at least one warehouse; give --warehouses 1 or more.")
    assert refused("tpcc-prepare", "--warehouses", "0").startswith("error: --warehouses 0:")
    where = f"database rig_tpcc on {sandbox.host}:{sandbox.port}"
    assert refused("tpcc", "--warehouses", "2", "--scale-down", "100") == (
        f"error: {where} holds 1 warehouse(s), fewer than --warehouses 2; run with --warehouses 1 or clean up and "
        "`test-rig bench tpcc-prepare --warehouses 2 --scale-down 100`.")
    assert refused("tpcc") == (f"error: {where} holds 1000 items and 30 customers per district, not the 100000 and "
                               "3000 of --scale-down 1; give the --scale-down it was prepared with.")
    assert refused("tpcc-prepare", "--scale-down", "100") == (
        f"error: warehouse, district, customer, history, new_order, orders, order_line, item, stock already exist in "
        f"{where}; run `test-rig bench tpcc-cleanup` first, or prepare into another database with -d.")
    empty = _fresh(sandbox, "rig_tpcc_empty")
    try:
        assert refused("tpcc", "--duration", "1", env=empty) == (
            f"error: the TPC-C tables warehouse, district, customer, history, new_order, orders, order_line, item, "
            f"stock are missing in database rig_tpcc_empty on {sandbox.host}:{sandbox.port}; run `test-rig bench "
            "tpcc-prepare --warehouses 1` first.")
        assert sql_on(sandbox, "SHOW TABLES", database="rig_tpcc_empty")[0] == []
    finally:
        sql_on(sandbox, "DROP DATABASE IF EXISTS rig_tpcc_empty")


def test_an_order_gone_behind_the_workloads_back_fails_the_transactions_and_the_check(
        sandbox: SandboxState, tmp_path: Path) -> None:
    """District 1's oldest new order loses its ORDER row: every Delivery fails on it (the row it needs is missing),
    which without a nemesis fails the run, and the check names the conditions the orphan breaks."""
    env = _fresh(sandbox, "rig_tpcc_gone")
    out = tmp_path / "g.json"
    try:
        r = run_cli("bench", "tpcc-prepare", *SMALL, env=env)
        assert r.returncode == 0, r.stdout + r.stderr
        sql_on(sandbox, "DELETE FROM orders WHERE o_w_id = 1 AND o_d_id = 1 AND o_id = 22",
                         database="rig_tpcc_gone")
        r = run_cli("bench", "tpcc", *SMALL, "--connections", "1", "--duration", "0.5", "--mix", "delivery=1",
                    "--json", str(out), env=env)
        assert r.returncode == 1, r.stdout + r.stderr
        data = json.loads(out.read_text())
        failed = data["errors"]
        assert failed > 0 and data["errors_by_code"] == {"MissingRow": failed} and data["transactions"] == 0
        assert data["transactions_by_type"]["delivery"]["errors_by_code"] == {"MissingRow": failed}
        assert data["checks"]["broken"] == ["3.3.2.4", "3.3.2.5", "3.3.2.6", "3.3.2.11"]
        missing = data["error_messages"]["MissingRow"]
        assert missing.startswith("no row for: SELECT ") and list(data["error_messages"]) == ["MissingRow"]
        assert data["error"] == ("TPC-C consistency check failed: " + data["checks"]["summary"]
                                 + f"; and no transaction completed; {failed} failed (MissingRow ×{failed}: {missing})")
        assert r.stdout.splitlines()[-1] == f"FAILED: {data['error']}"
    finally:
        sql_on(sandbox, "DROP DATABASE IF EXISTS rig_tpcc_gone")


def test_an_interrupted_prepare_leaves_no_table(sandbox: SandboxState, tmp_path: Path) -> None:
    env = _fresh(sandbox, "rig_tpcc_cut")
    out = tmp_path / "p.json"
    try:
        run = RunningCli("bench", "tpcc-prepare", "--no-password-prompt", "--json", str(out), env=env)  # spec-sized
        run.wait_for("loading stock")
        run.proc.send_signal(signal.SIGINT)
        assert run.finish(timeout=60) == 130, run.output()
        assert "Traceback" not in run.output()
        data = json.loads(out.read_text())
        assert (data["complete"], data["outcome"]) == (False, "interrupted")
        assert sql_on(sandbox, "SHOW TABLES", database="rig_tpcc_cut")[0] == []
    finally:
        sql_on(sandbox, "DROP DATABASE IF EXISTS rig_tpcc_cut")
