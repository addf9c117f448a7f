"""`test-rig isolation` against the sandbox MariaDB, judged only from what the server did."""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from test_rig.db import Target, connect
from test_rig.isolation.catalogue import ALL_TESTS
from test_rig.servers.sandbox import SandboxState
from tests.helpers import RunningCli, create_user, run_cli

ROOT = Path(__file__).resolve().parents[2]
LEVELS = ["read-uncommitted", "read-committed", "repeatable-read", "serializable"]


def leftover_schemas(sandbox: SandboxState) -> list[str]:
    async def q() -> list[str]:
        conn = await connect(Target("t", sandbox.host, sandbox.port, "root", "", None, 5))
        rows = await conn.query("SHOW DATABASES LIKE 'rig\\_iso\\_%'")
        await conn.close()
        return [r[0] for r in rows]

    return asyncio.run(q())


@pytest.fixture(scope="module")
def full_run(sandbox: SandboxState, tmp_path_factory: pytest.TempPathFactory) -> tuple[subprocess.CompletedProcess[str],
                                                                                       dict, Path]:
    out = tmp_path_factory.mktemp("iso")
    env = {"PATH": "/usr/bin:/bin", "HOME": str(out), "TIDB_HOST": f"127.0.0.1:{sandbox.port}", "TIDB_USER": "root",
           "TIDB_PASSWORD": "", "TIDB_DATABASE": "test"}
    r = run_cli("isolation", "--isolation-level", "all", "--json", str(out / "out.json"), "--junit",
                str(out / "out.xml"), "--expect", "mysql-innodb", "--explain", "G1a", env=env, timeout=300)
    return r, json.loads((out / "out.json").read_text()), out


def test_matches_hermitage_mysql_profile(full_run: tuple[subprocess.CompletedProcess[str], dict, Path]) -> None:
    r, data, _ = full_run
    assert r.returncode == 0, r.stdout + r.stderr
    assert "every cell that profile mysql-innodb states agrees" in r.stdout
    assert data["differences"] == []


def test_json_shape(full_run: tuple[subprocess.CompletedProcess[str], dict, Path]) -> None:
    _, data, _ = full_run
    assert data["command"] == "isolation"
    assert data["server"]["kind"] == "mariadb"
    assert data["session_variables"] == {}
    assert [(x["test"], x["isolation"]) for x in data["results"]] == [(t.name, lv) for lv in LEVELS for t in ALL_TESTS]
    for x in data["results"]:
        assert x["txn_mode"] is None
        assert x["outcome"] in ("prevented", "anomaly")
        assert x["explanation"]
        for step in x["steps"]:
            assert set(step) >= {"txn", "sql", "rows", "blocked", "error", "skipped"}
    g1a_ru = next(x for x in data["results"] if x["test"] == "G1a" and x["isolation"] == "read-uncommitted")
    assert g1a_ru["outcome"] == "anomaly"
    read = next(s for s in g1a_ru["steps"] if s["txn"] == "T2" and s["sql"].startswith("SELECT"))
    assert read["rows"] == [[1, 101], [2, 20]]
    p4_ser = next(x for x in data["results"] if x["test"] == "P4" and x["isolation"] == "serializable")
    assert any(s["error_code"] == 1213 for s in p4_ser["steps"])
    assert any(s["skipped"] for s in p4_ser["steps"])
    assert any(s["blocked"] for s in p4_ser["steps"])


def test_scaled_variants_count_losses(full_run: tuple[subprocess.CompletedProcess[str], dict, Path]) -> None:
    _, data, _ = full_run
    scaled = {(s["test"], s["isolation"]): s for s in data["scaled"]}
    rr = scaled[("lost-update-scaled", "repeatable-read")]
    assert (rr["rows"], rr["transactions"], rr["committed"]) == (10, 2, 2)
    assert rr["lost_updates"] == 10  # every row lost one of the two committed increments
    skew = scaled[("write-skew-scaled", "repeatable-read")]
    assert skew["violations"] == 10
    ser = scaled[("lost-update-scaled", "serializable")]
    assert ser["lost_updates"] == 0 and ser["committed"] + ser["aborted"] == 2
    assert scaled[("write-skew-scaled", "serializable")]["violations"] == 0


def test_console_table_and_explain(full_run: tuple[subprocess.CompletedProcess[str], dict, Path]) -> None:
    r, _, _ = full_run
    lines = r.stdout.splitlines()
    header = next(line for line in lines if "G-single-dependencies" in line)
    assert all(t.name in header for t in ALL_TESTS)
    ru_row = next(line for line in lines if line.startswith("│ read-uncommitted"))
    assert ru_row.count("✗") == 13 and ru_row.count("✓") == 2
    ser_row = next(line for line in lines if line.startswith("│ serializable"))
    assert ser_row.count("✓") == 15
    assert "-- G1a (Aborted Reads (dirty reads, cascaded aborts)) at read-committed: prevented" in lines
    assert "-- connection T2" in lines


def test_junit_has_a_case_per_test_and_level(full_run: tuple[subprocess.CompletedProcess[str], dict, Path]) -> None:
    _, _, out = full_run
    cases = ET.parse(out / "out.xml").getroot().findall(".//testcase")
    assert len(cases) == 60
    assert {c.get("name") for c in cases} >= {"G0 at read-uncommitted", "G2-two-edges at serializable"}
    assert not ET.parse(out / "out.xml").getroot().findall(".//failure")


def test_nothing_left_behind(sandbox: SandboxState, full_run: tuple[subprocess.CompletedProcess[str], dict, Path]
                             ) -> None:
    assert leftover_schemas(sandbox) == []


def test_expect_reports_every_differing_cell(server_env: dict[str, str], tmp_path: Path) -> None:
    wrong = tmp_path / "wrong.toml"
    wrong.write_text('[cells.read-committed]\nG1a = "anomaly"\nP4 = "prevented"\n')
    r = run_cli("isolation", "--isolation-level", "read-committed", "--test", "G1a", "--test", "P4", "--expect",
                str(wrong), "--no-password-prompt", env=server_env, timeout=120)
    assert r.returncode == 1
    assert "2 cell(s) differ from profile" in r.stdout
    assert "G1a at read-committed: expected anomaly, observed prevented" in r.stdout
    assert "P4 at read-committed: expected prevented, observed anomaly" in r.stdout


def test_a_profile_that_states_no_cell_of_the_run_is_refused_before_any_cell_runs(sandbox: SandboxState,
                                                                                   server_env: dict[str, str]) -> None:
    """`--expect tidb` on MariaDB at repeatable-read compared no cell (the profile states that level per TiDB
    transaction mode) and passed, exit 0: now one sentence, exit 2, and no schema was made."""
    r = run_cli("isolation", "--isolation-level", "repeatable-read", "--expect", "tidb", "--no-password-prompt",
                env=server_env, timeout=120)
    assert r.returncode == 2, r.stdout + r.stderr
    assert r.stderr.endswith("error: Profile tidb states no cell of this run (repeatable-read; its levels: "
                             "read-uncommitted, read-committed/pessimistic, read-committed/optimistic, "
                             "repeatable-read/pessimistic, repeatable-read/optimistic, serializable); choose the "
                             "profile for this server, or other levels.\n"), r.stderr
    assert "Traceback" not in r.stderr and "PASSED" not in r.stdout
    assert leftover_schemas(sandbox) == []


def test_two_runs_at_once_do_not_interfere(sandbox: SandboxState, server_env: dict[str, str]) -> None:
    args = [sys.executable, "-m", "test_rig", "isolation", "--isolation-level", "repeatable-read", "--expect",
            "mysql-innodb", "--no-password-prompt"]
    procs = [subprocess.Popen(args, env=server_env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(2)]
    outs = [p.communicate(timeout=180) for p in procs]
    for p, (out, err) in zip(procs, outs, strict=True):
        assert p.returncode == 0, out + err
        assert "every cell that profile mysql-innodb states agrees" in out
    assert leftover_schemas(sandbox) == []


@pytest.mark.parametrize(("signum", "status"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)], ids=["ctrl-c", "sigterm"])
def test_interrupt_leaves_nothing_and_keeps_partial_results(sandbox: SandboxState, server_env: dict[str, str],
                                                            tmp_path: Path, signum: int, status: int) -> None:
    out, junit = tmp_path / "partial.json", tmp_path / "partial.xml"
    run = RunningCli("isolation", "--no-password-prompt", "--json", str(out), "--junit", str(junit), env=server_env)
    run.wait_for("read-uncommitted: 15 test(s) judged")
    run.proc.send_signal(signum)
    assert run.finish() == status, run.output()
    name = "SIGINT" if signum == signal.SIGINT else "SIGTERM"
    assert f"interrupted by {name}" in "".join(run.stderr)
    assert "Traceback" not in run.output()
    data = json.loads(out.read_text())
    assert data["complete"] is False and data["ok"] is False
    assert data["error"] == f"interrupted by {name}"
    assert 15 <= len(data["results"]) < 60
    xml = junit.read_text()
    assert f'<error message="the run did not finish: interrupted by {name}">' in xml
    assert leftover_schemas(sandbox) == []


def test_bad_session_var_is_a_usage_error(server_env: dict[str, str]) -> None:
    r = run_cli("isolation", "--session-var", "no_such_variable_xyz=1", "--no-password-prompt", env=server_env)
    assert r.returncode == 2
    assert r.stderr.startswith("error: `SET SESSION no_such_variable_xyz = 1` failed on the server with (1193)")
    r2 = run_cli("isolation", "--session-var", "novalue", "--no-password-prompt", env=server_env)
    assert r2.returncode == 2 and "is not NAME=VALUE" in r2.stderr
    r4 = run_cli("isolation", "--session-var", "a b=1", "--no-password-prompt", env=server_env)
    assert r4.returncode == 2 and "with a plain variable name" in r4.stderr
    r3 = run_cli("isolation", "--explain", "G9", "--no-password-prompt", env=server_env)
    assert r3.returncode == 2 and r3.stderr.startswith("error: Unknown isolation test 'G9'")


def test_session_var_is_applied(server_env: dict[str, str], tmp_path: Path) -> None:
    out = tmp_path / "o.json"
    r = run_cli("isolation", "--isolation-level", "repeatable-read", "--test", "P4", "--session-var",
                "innodb_snapshot_isolation=ON", "--session-var", "innodb_lock_wait_timeout=5", "--json", str(out),
                "--no-password-prompt", env=server_env)
    assert r.returncode == 0, r.stderr
    data = json.loads(out.read_text())
    assert data["session_variables"] == {"innodb_snapshot_isolation": "ON", "innodb_lock_wait_timeout": 5}
    # With snapshot isolation on, MariaDB refuses T2's update of a row changed since T2's snapshot.
    p4 = data["results"][0]
    assert p4["outcome"] == "prevented"
    assert any(s["error_code"] == 1020 for s in p4["steps"])


def test_catalogue_test_via_run_and_example_script(sandbox: SandboxState, server_env: dict[str, str]) -> None:
    r = run_cli("run", str(ROOT / "examples" / "isolation_handlers.py"), "--no-password-prompt", env=server_env,
                timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "3 passed, 0 failed" in r.stdout
    script = str(ROOT / "examples" / "run_isolation_test.py")
    rr = subprocess.run([sys.executable, script, "--test", "G2-item"], env=server_env, capture_output=True, text=True,
                        timeout=60)
    assert rr.returncode == 1 and rr.stdout.startswith("ANOMALY: G2-item at repeatable-read: anomaly")
    ser = subprocess.run([sys.executable, script, "--test", "G2-item", "--isolation-level", "serializable"],
                         env=server_env, capture_output=True, text=True, timeout=60)
    assert ser.returncode == 0 and ser.stdout.startswith("PREVENTED: G2-item at serializable: prevented")


def _readme_rows() -> dict[str, list[str]]:
    """The observed MariaDB table as the README shows it: row label → one mark per catalogue test."""
    rows: dict[str, list[str]] = {}
    for line in (ROOT / "README.md").read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == len(ALL_TESTS) + 1 and set(cells[1:]) <= {"✓", "✗"}:
            rows.setdefault(cells[0], cells[1:])
    return rows


def test_the_readme_table_is_what_the_run_observes(full_run: tuple[subprocess.CompletedProcess[str], dict, Path]
                                                   ) -> None:
    _, data, _ = full_run
    mark = {"prevented": "✓", "anomaly": "✗"}
    observed = {lv: [mark[x["outcome"]] for x in data["results"] if x["isolation"] == lv] for lv in LEVELS}
    readme = _readme_rows()
    assert {lv: readme[lv] for lv in LEVELS} == observed


def test_the_readme_snapshot_isolation_row_is_what_the_run_observes(server_env: dict[str, str],
                                                                    tmp_path: Path) -> None:
    out = tmp_path / "si.json"
    r = run_cli("isolation", "--isolation-level", "repeatable-read", "--session-var", "innodb_snapshot_isolation=ON",
                "--json", str(out), "--no-password-prompt", env=server_env, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    mark = {"prevented": "✓", "anomaly": "✗"}
    observed = [mark[x["outcome"]] for x in json.loads(out.read_text())["results"]]
    assert _readme_rows()["repeatable-read with `--session-var innodb_snapshot_isolation=ON`"] == observed


def test_a_read_only_session_decides_nothing(sandbox: SandboxState, server_env: dict[str, str],
                                             tmp_path: Path) -> None:
    """Every write fails with 1792: the run shows nothing about isolation and must say so."""
    out, junit = tmp_path / "ro.json", tmp_path / "ro.xml"
    r = run_cli("isolation", "--isolation-level", "read-committed", "--session-var", "tx_read_only=1", "--json",
                str(out), "--junit", str(junit), "--expect", "mysql-innodb", "--no-password-prompt", env=server_env,
                timeout=120)
    assert r.returncode == 1, r.stdout + r.stderr
    row = next(line for line in r.stdout.splitlines() if line.startswith("│ read-committed"))
    assert row.count("?") == 15 and "✓" not in row and "✗" not in row
    assert "15 cell(s) undecided" in r.stdout
    data = json.loads(out.read_text())
    assert data["ok"] is False and data["undecided"] == 15
    assert {x["outcome"] for x in data["results"]} == {"undecided"}
    g1a = next(x for x in data["results"] if x["test"] == "G1a")
    assert g1a["explanation"] == ("T1's `UPDATE test SET value = 101 WHERE id = 1` failed with (1792) Cannot execute "
                                  "statement in a READ ONLY transaction, which is not concurrency control refusing "
                                  "the transaction, so this run cannot show whether the anomaly is prevented")
    assert len(data["differences"]) == 15
    assert len(ET.parse(junit).getroot().findall(".//failure")) == 15
    assert leftover_schemas(sandbox) == []


def test_a_connection_limit_is_an_error_not_an_unsupported_level(sandbox: SandboxState, server_env: dict[str, str],
                                                                 tmp_path: Path) -> None:
    create_user(sandbox, "rig_limited", grants="ALL ON *.*", limit="WITH MAX_USER_CONNECTIONS 2")
    out, junit = tmp_path / "lim.json", tmp_path / "lim.xml"
    env = dict(server_env, TIDB_USER="rig_limited")
    r = run_cli("isolation", "--isolation-level", "read-committed", "--json", str(out), "--junit", str(junit),
                "--no-password-prompt", env=env, timeout=120)
    assert r.returncode == 1, r.stdout + r.stderr
    last = r.stderr.splitlines()[-1]  # before it: the connect retries, logged
    assert last.startswith("error: Could not open the connections for read-committed: ")
    assert "(1226) User 'rig_limited' has exceeded the 'max_user_connections' resource" in last
    assert last.endswith("this is not the server refusing the level, so the run stops here.")
    data = json.loads(out.read_text())
    assert data["ok"] is False and data["complete"] is False and data["results"] == []
    assert not ET.parse(junit).getroot().findall(".//skipped")
    # A run stopped by an error is failed (results.judge since 63f264d), so its JUnit case is a failure.
    assert len(ET.parse(junit).getroot().findall(".//failure")) == 1
    assert ET.parse(junit).getroot().findall(".//error") == []
    assert (data["outcome"], data["reason"]) == ("failed", data["error"])
    assert leftover_schemas(sandbox) == []


def test_a_user_who_may_not_create_the_schema_gets_a_hint(sandbox: SandboxState, server_env: dict[str, str],
                                                          tmp_path: Path) -> None:
    create_user(sandbox, "rig_nocreate", grants="SELECT ON *.*")
    out = tmp_path / "nc.json"
    r = run_cli("isolation", "--json", str(out), "--no-password-prompt", env=dict(server_env, TIDB_USER="rig_nocreate"),
                timeout=60)
    assert r.returncode == 1, r.stdout + r.stderr
    assert r.stderr.startswith("error: User rig_nocreate may not create the run's own schema rig_iso_")
    assert "grant it CREATE and DROP on `rig\\_iso\\_%`" in r.stderr
    assert json.loads(out.read_text())["ok"] is False


def test_blocks_are_confirmed_by_the_server(sandbox: SandboxState) -> None:
    """G0 at repeatable-read: T2's write to row 1 waits for T1's lock, and the server says so."""
    target = Target("t", sandbox.host, sandbox.port, "root", "", "test", 5)
    from test_rig.isolation.catalogue import CATALOGUE
    from test_rig.isolation.runner import run_one

    result = asyncio.run(run_one(target, CATALOGUE["G0"], "repeatable-read"))
    assert result.outcome == "prevented"
    write = next(s for s in result.steps if s.label == "T2 writes 1")
    assert write.blocked
    assert write.block_evidence == "the server reported a lock wait (information_schema.INNODB_TRX trx_state LOCK WAIT)"
    assert "waited until T1 committed; the server reported a lock wait" in result.explanation
