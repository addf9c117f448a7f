"""`gen-data` loses nothing the user had: existing files need --force, an interrupted write leaves no
file that looks complete, `--load` swaps a new table in only when it holds every row, an existing
table needs --replace, and an interrupted load leaves the old rows in place and no partial table."""

from __future__ import annotations

import asyncio
import json
import re
import signal
import time
from pathlib import Path

import pytest

from test_rig.db import Target, connect
from test_rig.load.gendata import Generated, load
from test_rig.servers.sandbox import SandboxState
from tests.helpers import RunningCli, env_for, run_cli


def target(st: SandboxState) -> Target:
    return Target("t", st.host, st.port, "root", "", "test", 10)


def query(st: SandboxState, sql: str) -> list[tuple[object, ...]]:
    async def go() -> list[tuple[object, ...]]:
        conn = await connect(target(st))
        try:
            return [tuple(r) for r in await conn.query(sql)]
        finally:
            await conn.close()

    return asyncio.run(go())


def tables_like(st: SandboxState, table: str) -> list[str]:
    """Every table whose name starts with `table`: the table itself and any new or old one a load left."""
    return sorted(str(r[0]) for r in query(st, "SELECT TABLE_NAME FROM information_schema.TABLES WHERE "
                                               f"TABLE_SCHEMA = 'test' AND TABLE_NAME LIKE '{table}%'"))


def make_old_table(st: SandboxState, table: str) -> None:
    """The user's table: five rows that no load produces (ids 101..105)."""
    query(st, f"DROP TABLE IF EXISTS {table}")
    query(st, f"CREATE TABLE {table} (id BIGINT PRIMARY KEY, note VARCHAR(20))")
    query(st, f"INSERT INTO {table} VALUES (101,'mine'),(102,'mine'),(103,'mine'),(104,'mine'),(105,'mine')")


OLD_ROWS = [(i, "mine") for i in range(101, 106)]


def test_an_existing_file_is_kept_without_force(tmp_path: Path) -> None:
    out = tmp_path / "d.csv"
    out.write_text("precious\n")
    r = run_cli("gen-data", "--rows", "10", "-o", str(out))
    assert r.returncode == 2
    assert r.stderr == f"error: {out} already exists; pass --force to overwrite it or choose another -o.\n"
    assert out.read_text() == "precious\n"
    assert not (tmp_path / "d.csv.schema.sql").exists()
    # The schema file is the user's too.
    out.unlink()
    schema = tmp_path / "d.csv.schema.sql"
    schema.write_text("mine\n")
    r = run_cli("gen-data", "--rows", "10", "-o", str(out))
    assert r.returncode == 2
    assert r.stderr == f"error: {schema} already exists; pass --force to overwrite it or choose another -o.\n"
    assert schema.read_text() == "mine\n" and not out.exists()
    # --force replaces both, with exactly what a fresh run writes.
    out.write_text("precious\n")
    r = run_cli("gen-data", "--rows", "10", "-o", str(out), "--force")
    assert r.returncode == 0, r.stderr
    fresh = tmp_path / "fresh.csv"
    assert run_cli("gen-data", "--rows", "10", "-o", str(fresh)).returncode == 0
    assert out.read_bytes() == fresh.read_bytes()
    assert schema.read_text().startswith("CREATE TABLE `rig_gen` (")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d.csv", "d.csv.schema.sql", "fresh.csv",
                                                          "fresh.csv.schema.sql"]


def test_every_output_is_checked_before_anything_is_written(tmp_path: Path) -> None:
    r = run_cli("gen-data", "--rows", "10", "-o", "/proc/x.csv")
    assert r.returncode == 2
    assert r.stderr == "error: -o /proc/x.csv cannot be written (No such file or directory); choose another path.\n"
    out = tmp_path / "d.csv"
    r = run_cli("gen-data", "--rows", "10", "-o", str(out), "--json", "/proc/nope/r.json")
    assert r.returncode == 2
    assert r.stderr == ("error: --json /proc/nope/r.json cannot be written (No such file or directory); choose "
                        "another path.\n")
    r = run_cli("gen-data", "--rows", "10", "-o", str(out), "--junit", str(tmp_path))
    assert r.returncode == 2
    assert r.stderr == (f"error: --junit {tmp_path} is a directory; give a file name such as "
                        f"{tmp_path / 'result.xml'}.\n")
    r = run_cli("gen-data", "--rows", "10", "-o", str(out), "--json", str(out))
    assert r.returncode == 2
    assert r.stderr == f"error: --json {out} is the data file's own path; choose another name for one of them.\n"
    r = run_cli("gen-data", "--rows", "10", "-o", str(out), "--replace")
    assert r.returncode == 2
    assert r.stderr == "error: --replace has no effect without --load; add --load or leave --replace out.\n"
    # database.table was loaded as one table named `nosuchdb.t` in the connection's database, unsaid
    r = run_cli("gen-data", "--rows", "10", "-o", str(out), "--table", "nosuchdb.t", "--load", "-H", "127.0.0.1:1",
                "--no-password-prompt")
    assert r.returncode == 2
    assert r.stderr == ("error: --table 'nosuchdb.t' holds a dot: give the table name alone (--table t) and its "
                        "database with -d/--database (nosuchdb).\n")
    assert list(tmp_path.iterdir()) == []


def test_an_interrupted_write_leaves_no_file(tmp_path: Path) -> None:
    out = tmp_path / "big.csv"
    cli = RunningCli("gen-data", "--rows", "5000000", "-o", str(out), "--json", str(tmp_path / "r.json"))
    deadline = time.monotonic() + 30
    while not list(tmp_path.glob(".big.csv.*.partial")):  # the write has begun
        assert time.monotonic() < deadline and cli.proc.poll() is None, cli.output()
        time.sleep(0.02)
    cli.proc.send_signal(signal.SIGINT)
    assert cli.finish() == 130
    assert ("".join(cli.stdout), "".join(cli.stderr)) == ("INTERRUPTED: interrupted by SIGINT\n",
                                                          "interrupted by SIGINT\n")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.json"]
    assert json.loads((tmp_path / "r.json").read_text()) == {"command": "gen-data", "ok": False, "complete": False,
                                                             "error": "interrupted by SIGINT",
                                                             "outcome": "interrupted",
                                                             "reason": "interrupted by SIGINT"}


def test_an_existing_table_is_refused_before_any_work(sandbox: SandboxState, tmp_path: Path) -> None:
    make_old_table(sandbox, "rig_safe_keep")
    out = tmp_path / "d.csv"
    r = run_cli("gen-data", "--rows", "100", "-o", str(out), "--table", "rig_safe_keep", "--load",
                "--no-password-prompt", env=env_for(sandbox))
    assert r.returncode == 2
    assert r.stderr == ("error: Table test.rig_safe_keep already exists; pass --replace to replace it (its rows are "
                        "kept until the new ones are all loaded) or choose another --table.\n")
    assert not out.exists()
    assert query(sandbox, "SELECT id, note FROM rig_safe_keep ORDER BY id") == OLD_ROWS
    assert tables_like(sandbox, "rig_safe_keep") == ["rig_safe_keep"]


def test_replace_swaps_in_the_complete_new_table(any_server: SandboxState, tmp_path: Path) -> None:
    make_old_table(any_server, "rig_safe_swap")
    out, report = tmp_path / "d.csv", tmp_path / "r.json"
    r = run_cli("gen-data", "--rows", "3000", "-o", str(out), "--table", "rig_safe_swap", "--load", "--replace",
                "--json", str(report), "--no-password-prompt", env=env_for(any_server), timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout.splitlines()[1] == ("loading into a new table, swapped in for test.rig_safe_swap once it holds "
                                        "all 3000 rows (the old test.rig_safe_swap stays until then)")
    assert r.stdout.splitlines()[-2].endswith(": 3000 rows in test.rig_safe_swap (replacing the old table)")
    assert r.stdout.splitlines()[-1] == "PASSED: every check passed"
    loaded = json.loads(report.read_text())["loaded"]
    assert (loaded["rows_in_table"], loaded["rows_loaded"], loaded["swapped"], loaded["replaced"]) == \
        (3000, 3000, True, True)
    assert query(any_server, "SELECT COUNT(*), MIN(id), MAX(id) FROM rig_safe_swap") == [(3000, 1, 3000)]
    assert tables_like(any_server, "rig_safe_swap") == ["rig_safe_swap"]


def test_a_short_load_is_never_swapped_in(sandbox: SandboxState, tmp_path: Path) -> None:
    """A load that gives fewer rows than were written (here: the file holds 1,000 rows, the record says 1,001)
    leaves the user's table as it was and drops the new one."""
    make_old_table(sandbox, "rig_safe_short")
    out = tmp_path / "d.csv"
    assert run_cli("gen-data", "--rows", "1000", "-o", str(out), "--table", "rig_safe_short").returncode == 0
    claimed = Generated(out, tmp_path / "d.csv.schema.sql", 1001, out.stat().st_size, "csv", "rig_safe_short")
    loaded = asyncio.run(load(target(sandbox), claimed, replace_table=True))
    assert (loaded.rows_loaded, loaded.swapped, loaded.rows_in_table) == (1000, False, 5)
    assert query(sandbox, "SELECT id, note FROM rig_safe_short ORDER BY id") == OLD_ROWS
    assert tables_like(sandbox, "rig_safe_short") == ["rig_safe_short"]


def _load_is_running(st: SandboxState) -> bool:
    return bool(query(st, "SELECT ID FROM information_schema.PROCESSLIST WHERE INFO LIKE 'LOAD DATA%'"))


@pytest.mark.parametrize(("sig", "status", "name"), [(signal.SIGINT, 130, "SIGINT"), (signal.SIGTERM, 143, "SIGTERM")])
def test_an_interrupted_load_keeps_the_old_rows(sandbox: SandboxState, tmp_path: Path, sig: int, status: int,
                                                name: str) -> None:
    table = f"rig_safe_{name.lower()}"
    make_old_table(sandbox, table)
    report = tmp_path / "r.json"
    cli = RunningCli("gen-data", "--rows", "800000", "-o", str(tmp_path / "d.csv"), "--table", table, "--load",
                     "--replace", "--json", str(report), "--no-password-prompt", env=env_for(sandbox))
    cli.wait_for("loading into a new table", timeout=60)
    deadline = time.monotonic() + 30
    while not _load_is_running(sandbox):
        assert time.monotonic() < deadline and cli.proc.poll() is None, cli.output()
        time.sleep(0.05)
    time.sleep(0.5)  # rows are going into the new table now
    cli.proc.send_signal(sig)
    assert cli.finish(timeout=90) == status
    assert cli.stdout[-2:] == [f"test.{table} was left as it was; the partial new table was removed.\n",
                               f"INTERRUPTED: interrupted by {name}\n"]
    assert cli.stderr == [f"interrupted by {name}\n"]
    assert query(sandbox, f"SELECT id, note FROM {table} ORDER BY id") == OLD_ROWS
    assert tables_like(sandbox, table) == [table]
    assert not _load_is_running(sandbox)
    # The JSON says what the table holds now: the old rows (the interrupt came before the swap).
    data = json.loads(report.read_text())
    assert data == {"command": "gen-data", "ok": False, "complete": False, "error": f"interrupted by {name}",
                    "outcome": "interrupted", "reason": f"interrupted by {name}", "generated": data["generated"],
                    "table_state": f"test.{table} was left as it was; the partial new table was removed."}
    assert data["generated"]["rows"] == 800000


def test_a_load_stopped_while_the_server_is_silent_names_the_new_table_it_left(sandbox: SandboxState,
                                                                                tmp_path: Path) -> None:
    """SIGTERM once the server (behind a forwarder) went silent mid-load: the run ends soon, 143, the old rows
    stay, and the new table it could not drop is named in the console, the report and the verdict line (it is
    there: dropped here afterwards); before, only the console's sentence said it, and the clean-up's connection
    waited the run's whole timeout."""
    from tests.helpers import SilencingForwarder

    table = "rig_safe_silent"
    make_old_table(sandbox, table)
    report = tmp_path / "r.json"
    with SilencingForwarder(sandbox.host, sandbox.port) as forwarder:
        env = {**env_for(sandbox), "TIDB_HOST": f"127.0.0.1:{forwarder.port}"}
        cli = RunningCli("gen-data", "--rows", "800000", "-o", str(tmp_path / "d.csv"), "--table", table, "--load",
                         "--replace", "--json", str(report), "--no-password-prompt", env=env)
        cli.wait_for("loading into a new table", timeout=60)
        deadline = time.monotonic() + 30
        while not _load_is_running(sandbox):
            assert time.monotonic() < deadline and cli.proc.poll() is None, cli.output()
            time.sleep(0.05)
        forwarder.silence()
        cli.proc.send_signal(signal.SIGTERM)
        assert cli.finish(timeout=90) == 143, cli.output()
    [staging] = [t for t in tables_like(sandbox, table) if t != table]
    said = f"interrupted by SIGTERM; left on the server, as it could not be dropped: test.{staging}"
    data = json.loads(report.read_text())
    assert (data["left_on_server"], data["complete"], data["outcome"], data["reason"]) == (
        [f"test.{staging}"], False, "interrupted", said)
    assert data["table_state"].startswith(f"test.{table} was left as it was, but the partial new table "
                                          f"test.{staging} could not be removed (")
    # the statement could not be stopped either (no connection for the KILL): said too
    assert re.search(r" \(its load, connection \d+, may still be running there\): drop it by hand\.$",
                     data["table_state"]), data["table_state"]
    assert cli.stdout[-1] == f"INTERRUPTED: {said}\n"
    assert query(sandbox, f"SELECT id, note FROM {table} ORDER BY id") == OLD_ROWS
    query(sandbox, f"DROP TABLE {staging}")
    query(sandbox, f"DROP TABLE {table}")
