"""`job-monitor` and `gen-data` against real servers: a copying ALTER TABLE on MariaDB (also with the
server killed and restarted mid-monitoring), an ADD INDEX on TiDB, bad input."""

from __future__ import annotations

import asyncio
import json
import threading
from pathlib import Path

import pytest

from test_rig.db import Target, connect
from test_rig.servers.sandbox import Sandbox, SandboxState
from tests.helpers import RunningCli, browse, env_for, run_cli

ROWS = 2_000_000  # enough that MariaDB's table copy takes several seconds here


def target(st: SandboxState) -> Target:
    return Target("t", st.host, st.port, "root", "", "test", 10)


def load_table(st: SandboxState, tmp_path: Path, rows: int, table: str) -> None:
    out = tmp_path / f"{table}.csv"
    r = run_cli("gen-data", "--rows", str(rows), "-o", str(out), "--table", table, "--load", "--json",
                str(tmp_path / f"{table}-gen.json"), "--no-password-prompt", env=env_for(st), timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    data = json.loads((tmp_path / f"{table}-gen.json").read_text())
    assert data["loaded"]["rows_in_table"] == rows  # the load reproduces the row count exactly

    async def analyze() -> None:
        # MariaDB's progress of a copying ALTER is rows copied over the table's row estimate: until InnoDB's
        # background statistics catch up with the load (their timing varies), the estimate of the freshly renamed
        # table is near 0 and the copy stage reads 50 % from its first moment. The statistics made current, the
        # progress the monitor sees is the copy's own.
        conn = await connect(target(st))
        try:
            await conn.execute(f"ANALYZE TABLE {table}")
        finally:
            await conn.close()

    asyncio.run(analyze())


class Statement:
    """A statement running on a connection of its own in a background thread, as another client's."""

    def __init__(self, st: SandboxState, sql: str) -> None:
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, args=(st, sql), daemon=True)
        self.thread.start()

    def _run(self, st: SandboxState, sql: str) -> None:
        async def go() -> None:
            conn = await connect(target(st))
            try:
                await conn.execute(sql)
            finally:
                await conn.close()

        try:
            asyncio.run(go())
        except BaseException as e:  # the test reads it
            self.error = e


def wait_for_progress_statement(st: SandboxState) -> None:
    async def listed() -> bool:
        conn = await connect(target(st))
        try:
            return bool(await conn.scalar("SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE MAX_STAGE > 0"))
        finally:
            await conn.close()

    for _ in range(400):
        if asyncio.run(listed()):
            return
    raise AssertionError("the ALTER never showed in the processlist")


@pytest.fixture(scope="module")
def big_table(sandbox: SandboxState, tmp_path_factory: pytest.TempPathFactory) -> str:
    """A table of ROWS rows on the session's MariaDB, loaded once for this module."""
    load_table(sandbox, tmp_path_factory.mktemp("big"), ROWS, "rig_jobs_alter")
    return "rig_jobs_alter"


def test_a_copying_alter_is_watched_until_it_finishes(sandbox: SandboxState, big_table: str, tmp_path: Path) -> None:
    alter = Statement(sandbox, "ALTER TABLE rig_jobs_alter ENGINE=InnoDB, ALGORITHM=COPY")
    wait_for_progress_statement(sandbox)
    out, page = tmp_path / "out.json", tmp_path / "job-monitor-report.html"
    r = run_cli("job-monitor", "--until-done", "--update-interval", "0.5", "-t", "120", "--json", str(out),
                "--html", str(page), "--no-show-details", "--no-password-prompt", env=env_for(sandbox), timeout=180)
    alter.thread.join(60)
    assert alter.error is None
    assert r.returncode == 0, r.stdout + r.stderr
    data = json.loads(out.read_text())
    assert data["ok"] is True and data["complete"] is True and data["stopped_because"] == "every watched job ended"
    [job] = data["jobs"]
    assert (job["kind"], job["target"], job["status"]) == ("statement", "test.rig_jobs_alter", "finished")
    assert job["final"]["message"].startswith("the table was rebuilt at ")
    progress = [s["progress"] for s in job["samples"] if s["progress"] is not None]
    rising = sorted(set(progress))
    assert len(rising) >= 3 and progress == sorted(progress)  # at least three increasing values, never falling
    assert progress[-1] == 1.0
    assert "statement" in r.stdout and "finished" in r.stdout
    seen = browse(page, evaluate="() => document.getElementById('progress').data.map(t => t.y)")
    assert seen["errors"] == [] and seen["requests"] == [] and seen["blank"] is False
    assert seen["value"] == [[s["progress"] for s in job["samples"]]]  # the job's progress curve


@pytest.mark.faults
def test_monitoring_rides_out_a_server_restart(own_box: Sandbox, tmp_path: Path) -> None:
    st = own_box.state()
    assert st is not None
    load_table(st, tmp_path, 2_000_000, "rig_jobs_crash")
    alter = Statement(st, "ALTER TABLE rig_jobs_crash ENGINE=InnoDB, ALGORITHM=COPY")
    wait_for_progress_statement(st)
    out = tmp_path / "crash.json"
    run = RunningCli("job-monitor", "--until-done", "--update-interval", "0.5", "-t", "60", "--json", str(out),
                     "--no-show-details", "--no-password-prompt", env=env_for(st))
    # The monitor has seen the ALTER while it still copies rows: killed then, it cannot have swapped the table
    # in (killed in stage 2, MariaDB's DDL recovery may finish it, and "finished" would be right).
    run.wait_for("stage 1 of 2")
    own_box.kill()
    run.wait_for("server not answering")
    own_box.restart()  # waits for the killed server's port to be free
    code = run.finish(timeout=120)
    alter.thread.join(30)
    assert alter.error is not None  # the ALTER died with the server
    output = run.output()
    assert "Traceback" not in output
    data = json.loads(out.read_text())
    assert data["complete"] is True
    assert len(data["gaps"]) >= 1
    gap = data["gaps"][0]
    assert gap["to"] is not None and gap["to"] > gap["from"]
    [job] = data["jobs"]
    # The copy never swapped in: the job failed, and the exit status says so.
    assert job["status"] == "failed" and code == 1
    assert "was not rebuilt" in job["final"]["message"]


@pytest.mark.tidb
def test_an_add_index_on_tidb_is_watched_until_synced(tidb: SandboxState, tmp_path: Path) -> None:
    load_table(tidb, tmp_path, 200_000, "rig_jobs_ddl")
    add = Statement(tidb, "ALTER TABLE rig_jobs_ddl ADD INDEX name_note (name, note)")
    out = tmp_path / "ddl.json"
    r = run_cli("job-monitor", "--until-done", "--update-interval", "0.3", "-t", "120", "--json", str(out),
                "--no-show-details", "--no-password-prompt", env=env_for(tidb), timeout=180)
    add.thread.join(60)
    assert add.error is None
    assert r.returncode == 0, r.stdout + r.stderr
    data = json.loads(out.read_text())
    jobs = [j for j in data["jobs"] if j["target"] == "test.rig_jobs_ddl"]
    assert len(jobs) == 1
    job = jobs[0]
    assert (job["kind"], job["status"]) == ("ddl", "finished")
    assert job["final"]["phase"] == "add index / public" and job["final"]["rows_done"] == 200_000
    assert job["samples"][-1]["progress"] == 1.0


@pytest.mark.parametrize(("args", "message"), [
    (["-t", "0"], "Invalid value for '-t' / '--monitor-duration'"),
    (["-t", "2", "--update-interval", "5"], "error: The update interval (5 s) is longer than the monitor duration "
                                            "(2 s); shorten --update-interval or lengthen -t/--monitor-duration.\n"),
    (["--job-id", "987654"], "error: Job 987654 is not known to the server (looked in: processlist); check the id "
                             "with `test-rig job-monitor` without --job-id.\n"),
    (["--job-id", "abc"], "error: Job id 'abc' is not a number; give the id that job-monitor lists.\n"),
])
def test_bad_input_is_one_sentence_and_exit_2(server_env: dict[str, str], args: list[str], message: str) -> None:
    r = run_cli("job-monitor", *args, "--no-password-prompt", env=server_env)
    assert r.returncode == 2
    assert message in r.stderr
    assert "Traceback" not in r.stderr


@pytest.mark.parametrize(("name", "text", "message"), [
    ("missing.json", None, "cannot be read (No such file or directory); check the path given to --import-config."),
    ("bad.json", "{not json", "is not valid JSON: Expecting property name enclosed in double quotes"),
    ("bad.toml", "monitor_duration = ", "is not valid TOML: "),
    ("neg.toml", "update_interval = -1", "update_interval must be a number of seconds above 0, not -1."),
    ("extra.json", '{"monitor_duraton": 5}', "monitor_duraton is not a known key"),
])
def test_a_bad_import_config_is_refused(server_env: dict[str, str], tmp_path: Path, name: str, text: str | None,
                                        message: str) -> None:
    path = tmp_path / name
    if text is not None:
        path.write_text(text)
    r = run_cli("job-monitor", "--import-config", str(path), "--no-password-prompt", env=server_env)
    assert r.returncode == 2
    assert r.stderr.startswith(f"error: Import config {path}")
    assert message in r.stderr


def test_import_config_priority(server_env: dict[str, str], tmp_path: Path) -> None:
    """CLI > environment > import config > defaults; with nothing running the monitor ends at its duration."""
    cfg = tmp_path / "import.toml"
    cfg.write_text("monitor_duration = 1.5\nupdate_interval = 0.5\nshow_details = false\n")
    out = tmp_path / "p.json"
    r = run_cli("job-monitor", "--import-config", str(cfg), "--json", str(out), "--no-password-prompt",
                env=server_env)
    assert r.returncode == 0, r.stdout + r.stderr
    settings = json.loads(out.read_text())["settings"]
    assert (settings["monitor_duration"], settings["update_interval"]) == (1.5, 0.5)
    env = dict(server_env, TIDB_UPDATE_INTERVAL="0.25")
    r2 = run_cli("job-monitor", "--import-config", str(cfg), "-t", "1", "--json", str(out), "--no-password-prompt",
                 env=env)
    assert r2.returncode == 0, r2.stdout + r2.stderr
    settings = json.loads(out.read_text())["settings"]
    assert (settings["monitor_duration"], settings["update_interval"]) == (1.0, 0.25)


def test_until_done_with_nothing_running_exits_3(server_env: dict[str, str], tmp_path: Path) -> None:
    out = tmp_path / "n.json"
    r = run_cli("job-monitor", "--until-done", "-t", "1", "--update-interval", "0.5", "--json", str(out),
                "--no-password-prompt", env=server_env)
    assert r.returncode == 3
    assert "no job appeared in time" in r.stdout
    assert json.loads(out.read_text())["exit_status"] == 3


def test_a_job_from_the_import_config_is_started_and_watched(sandbox: SandboxState, big_table: str,
                                                             tmp_path: Path) -> None:
    cfg = tmp_path / "job.json"
    cfg.write_text(json.dumps({"monitor_duration": 120, "update_interval": 0.5, "show_details": False,
                               "job": f"ALTER TABLE {big_table} ENGINE=InnoDB, ALGORITHM=COPY"}))
    out = tmp_path / "own.json"
    r = run_cli("job-monitor", "--import-config", str(cfg), "--until-done", "--json", str(out),
                "--no-password-prompt", env=env_for(sandbox), timeout=180)
    assert r.returncode == 0, r.stdout + r.stderr
    [job] = json.loads(out.read_text())["jobs"]
    assert job["status"] == "finished"
    assert job["final"]["message"] == "the statement completed on the monitor's own connection"


def test_gen_data_is_deterministic_and_refuses_bad_paths(tmp_path: Path) -> None:
    a, b = tmp_path / "a.tsv", tmp_path / "b.tsv"
    for path in (a, b):
        assert run_cli("gen-data", "--rows", "1000", "--format", "tsv", "--seed", "7", "-o", str(path)).returncode == 0
    assert a.read_bytes() == b.read_bytes()
    assert a.read_text().splitlines()[0] == "id\tk\tname\tamount\tcreated\tnote"
    assert len(a.read_text().splitlines()) == 1001
    assert (tmp_path / "a.tsv.schema.sql").read_text().startswith("CREATE TABLE `rig_gen` (")
    r = run_cli("gen-data", "--rows", "10", "-o", str(tmp_path / "no" / "x.csv"))
    assert r.returncode == 2
    assert r.stderr == f"error: Cannot write {tmp_path / 'no' / 'x.csv'}: give a file in an existing directory.\n"


def test_gen_data_sql_loads_too(sandbox: SandboxState, tmp_path: Path) -> None:
    out = tmp_path / "d.sql"
    r = run_cli("gen-data", "--rows", "25000", "--format", "sql", "-o", str(out), "--table", "rig_gen_sql", "--load",
                "--no-password-prompt", env=env_for(sandbox), timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "loaded with INSERT batches" in r.stdout and "25000 rows in test.rig_gen_sql" in r.stdout


def test_cancel_kills_a_running_statement(sandbox: SandboxState, big_table: str, tmp_path: Path) -> None:
    alter = Statement(sandbox, f"ALTER TABLE {big_table} ENGINE=InnoDB, ALGORITHM=COPY")
    wait_for_progress_statement(sandbox)

    async def running_id() -> int:
        conn = await connect(target(sandbox))
        try:
            return int(await conn.scalar("SELECT ID FROM information_schema.PROCESSLIST WHERE MAX_STAGE > 0"))
        finally:
            await conn.close()

    job_id = asyncio.run(running_id())
    r = run_cli("job-monitor", "--cancel", str(job_id), "--no-password-prompt", env=env_for(sandbox))
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout.strip().splitlines() == [f"cancelled processlist job {job_id} (test.{big_table})",
                                             "PASSED: every check passed"]
    alter.thread.join(60)
    assert alter.error is not None and "Query execution was interrupted" in str(alter.error)
    again = run_cli("job-monitor", "--cancel", str(job_id), "--no-password-prompt", env=env_for(sandbox))
    assert again.returncode == 2
    assert again.stderr == (f"error: Job {job_id} is not known to the server; list the jobs with `test-rig "
                            "job-monitor`.\n")


def _own_alter_config(tmp_path: Path, table: str, duration: float) -> Path:
    cfg = tmp_path / "own-alter.json"
    cfg.write_text(json.dumps({"monitor_duration": duration, "update_interval": 0.3, "show_details": False,
                               "job": f"ALTER TABLE {table} ENGINE=InnoDB, ALGORITHM=COPY"}))
    return cfg


def _copies_running(st: SandboxState) -> int:
    async def count() -> int:
        conn = await connect(target(st))
        try:
            return int(await conn.scalar("SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE INFO LIKE "
                                         "'ALTER TABLE%ALGORITHM=COPY' AND ID <> CONNECTION_ID()"))
        finally:
            await conn.close()

    return asyncio.run(count())


def test_sigterm_kills_the_monitors_own_statement_and_says_so(sandbox: SandboxState, big_table: str,
                                                              tmp_path: Path) -> None:
    import signal

    out = tmp_path / "own-term.json"
    run = RunningCli("job-monitor", "--import-config", str(_own_alter_config(tmp_path, big_table, 120)),
                     "--until-done", "--json", str(out), "--no-password-prompt", env=env_for(sandbox))
    run.wait_for("stage 1 of 2")
    run.proc.send_signal(signal.SIGTERM)
    assert run.finish() == 143
    assert _copies_running(sandbox) == 0  # nothing the monitor started is left running
    data = json.loads(out.read_text())
    [job] = data["jobs"]
    said = f"the monitor was interrupted: killed the monitor's own statement (KILL QUERY {job['id']})"
    assert data["actions"] == [said] and said in "".join(run.stdout)
    assert (data["exit_status"], data["complete"], data["interrupted_by"]) == (143, False, "SIGTERM")
    assert (job["status"], job["cancelled_by_monitor"], job["final"]["message"]) == (
        "cancelled", False, "killed by the monitor (the monitor was interrupted); the statement failed: (1317) Query "
                            "execution was interrupted")
    assert "".join(run.stderr).endswith("interrupted by SIGTERM\n") and "Traceback" not in run.output()


def test_the_monitors_own_statement_is_killed_when_its_duration_runs_out(sandbox: SandboxState, big_table: str,
                                                                         tmp_path: Path) -> None:
    out = tmp_path / "own-time.json"
    r = run_cli("job-monitor", "--import-config", str(_own_alter_config(tmp_path, big_table, 1.5)), "--until-done",
                "--json", str(out), "--no-password-prompt", env=env_for(sandbox))
    assert r.returncode == 3, r.stdout + r.stderr
    assert _copies_running(sandbox) == 0
    data = json.loads(out.read_text())
    [job] = data["jobs"]
    said = f"the monitor duration ran out: killed the monitor's own statement (KILL QUERY {job['id']})"
    assert data["actions"] == [said] and said in r.stdout
    assert (job["status"], job["cancelled_by_monitor"]) == ("cancelled", True)
    assert (data["exit_status"], data["complete"]) == (3, True)
    assert "time ran out with jobs still running" in r.stdout


def test_an_interrupt_after_the_monitors_own_statement_ended_needs_no_connection(sandbox: SandboxState,
                                                                                   tmp_path: Path) -> None:
    """The monitor's own statement has ended (it completed on the monitor's connection) and then the server goes
    silent and SIGTERM comes: there is nothing to stop, so nothing is tried. Before, the monitor opened a connection
    to stop it and waited the run's 30 s timeout for the silent server, then said it could not stop the job."""
    from tests.helpers import sql_on, stopped_while_silent

    sql_on(sandbox, "DROP TABLE IF EXISTS test.rig_own_quick", "CREATE TABLE test.rig_own_quick (id INT PRIMARY KEY)")
    cfg = tmp_path / "own-quick.json"
    cfg.write_text(json.dumps({"monitor_duration": 60, "update_interval": 0.3, "show_details": False,
                               "job": "ALTER TABLE test.rig_own_quick ENGINE=InnoDB, ALGORITHM=COPY"}))
    out = tmp_path / "own-quick-result.json"
    stopped_while_silent(sandbox, "job-monitor", "--import-config", str(cfg), "--json", str(out),
                         started="the statement completed on the monitor's own connection")
    data = json.loads(out.read_text())
    assert (data["actions"], data["complete"], data["interrupted_by"]) == ([], False, "SIGTERM")
    sql_on(sandbox, "DROP TABLE test.rig_own_quick")
