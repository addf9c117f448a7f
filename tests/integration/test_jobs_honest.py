"""job-monitor tells the truth (issue 18): the JSON says the status the process exits with, a server that
stops answering for good leaves the run incomplete, a TiDB DDL job the monitor started is followed to its
end (also when it fails at once), Ctrl-C / SIGTERM cancel it on the server, progress is never 100 % while a
job runs, and bad numbers are refused before any work. Against real sandbox servers."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import signal
from pathlib import Path
from typing import Any

import pytest

from test_rig.db import Target, connect
from test_rig.servers.sandbox import Sandbox, SandboxState
from tests.helpers import RunningCli, env_for, run_cli

SIGNALS = [(signal.SIGINT, "SIGINT", 130), (signal.SIGTERM, "SIGTERM", 143)]


def target(st: SandboxState) -> Target:
    return Target("t", st.host, st.port, "root", "", "test", 10)


def sql(st: SandboxState, *statements: str) -> list[list[tuple[Any, ...]]]:
    """Run statements on a connection of the test's own; the rows of each."""

    async def go() -> list[list[tuple[Any, ...]]]:
        conn = await connect(target(st))
        try:
            return [(await conn.execute(s)).rows for s in statements]
        finally:
            await conn.close()

    return asyncio.run(go())


def monitor(st: SandboxState, *args: str) -> RunningCli:
    return RunningCli("job-monitor", "--no-show-details", "--no-password-prompt", *args, env=env_for(st))


def job_config(tmp_path: Path, statement: str, **settings: object) -> Path:
    path = tmp_path / "job.json"
    path.write_text(json.dumps({"monitor_duration": 120, "update_interval": 0.3, "show_details": False,
                                **settings, "job": statement}))
    return path


# --------------------------------------------------------------------------- interrupts and gaps (MariaDB)


@pytest.mark.parametrize(("signum", "name", "status"), SIGNALS)
def test_an_interrupted_run_says_in_its_json_the_status_it_exits_with(sandbox: SandboxState, tmp_path: Path,
                                                                      signum: int, name: str, status: int) -> None:
    out = tmp_path / "int.json"
    run = monitor(sandbox, "-t", "60", "--update-interval", "0.3", "--json", str(out))
    run.wait_for("no job running")
    run.proc.send_signal(signum)
    assert run.finish() == status
    data = json.loads(out.read_text())
    assert (data["exit_status"], data["complete"], data["ok"], data["interrupted_by"], data["stopped_because"],
            data["error"]) == (status, False, False, name, f"interrupted by {name}", f"interrupted by {name}")
    assert "".join(run.stderr).endswith(f"interrupted by {name}\n")
    assert "Traceback" not in run.output() and "None" not in run.output()


def test_a_refused_login_fails_the_run_at_once(sandbox: SandboxState, tmp_path: Path) -> None:
    """A wrong password was taken for an outage: every poll a gap, "server not answering since 0.0 s", and after
    the whole duration UNDECIDED. Refused is not unreachable: the run fails with the server's error at its first
    poll, as every command does (a duration of 300 s would outlast run_cli's timeout if it waited)."""
    out = tmp_path / "denied.json"
    env = {**env_for(sandbox), "TIDB_PASSWORD": "secretpw123"}
    r = run_cli("job-monitor", "-t", "300", "--update-interval", "1", "--json", str(out), env=env, timeout=60)
    denied = f"Access denied for user 'root'@'{sandbox.host}' (using password: YES)"
    assert r.returncode == 1, r.stdout + r.stderr
    assert r.stdout.splitlines()[-1] == f"FAILED: {denied}"
    assert r.stderr == f"error: {denied}\n"
    data = json.loads(out.read_text())
    assert (data["outcome"], data["reason"], data["complete"]) == ("failed", denied, False)
    assert "secretpw123" not in r.stdout + r.stderr + out.read_text()


@pytest.mark.faults
def test_a_server_down_to_the_end_leaves_the_run_incomplete(own_box: Sandbox, tmp_path: Path) -> None:
    st = own_box.state()
    assert st is not None
    out = tmp_path / "down.json"
    run = monitor(st, "-t", "5", "--update-interval", "0.3", "--json", str(out))
    run.wait_for("no job running")
    own_box.kill()
    run.wait_for("server not answering")
    assert run.finish(timeout=60) == 1
    data = json.loads(out.read_text())
    assert (data["complete"], data["ok"], data["exit_status"]) == (False, False, 1)
    gap = data["gaps"][-1]
    assert gap["resumed"] is False and gap["to"] is not None and 5.0 <= gap["to"] < 15 and gap["from"] < gap["to"]
    assert data["unobserved_seconds"] == pytest.approx(sum(g["to"] - g["from"] for g in data["gaps"]), abs=0.01)
    assert data["stopped_because"].startswith("the monitor duration of 5 s ran out; the server did not answer from ")
    assert data["stopped_because"].endswith(" s to the end, so the rest of the run was not observed")
    output = "".join(run.stdout)
    # While the server does not answer, nothing is claimed about jobs: no "no job running" after the gap began.
    after = output[output.index("server not answering"):]
    assert "no job running" not in after
    assert "nothing is claimed about jobs in them" in after and "–the end" in after
    assert "None" not in run.output() and "Traceback" not in run.output()


# --------------------------------------------------------------------------- bad numbers, before any work


CLOSED = {"TIDB_HOST": "127.0.0.1:1", "TIDB_USER": "root", "TIDB_PASSWORD": ""}  # nothing listens there


#: click's check of an option, in the program's one-line form (run_cli runs `python -m test_rig`)
NOT_FINITE = ("error: Invalid value for '-t' / '--monitor-duration': '{}' is not a finite number; see "
              "'python -m test_rig job-monitor --help'.\n")


@pytest.mark.parametrize(("args", "env", "message"), [
    (["--cancel", "-5"], {}, "error: Job id -5 is out of range: job ids are whole numbers from 1 to "
                             "9223372036854775807; give the id that job-monitor lists.\n"),
    (["--cancel", "0"], {}, "error: Job id 0 is out of range: job ids are whole numbers from 1 to "
                            "9223372036854775807; give the id that job-monitor lists.\n"),
    (["--cancel", "1; KILL 1"], {}, "error: Job id '1; KILL 1' is not a number; give the id that job-monitor "
                                    "lists.\n"),
    (["--job-id", "-1"], {}, "error: Job id -1 is out of range: job ids are whole numbers from 1 to "
                             "9223372036854775807; give the id that job-monitor lists.\n"),
    (["--job-id", "abc"], {}, "error: Job id 'abc' is not a number; give the id that job-monitor lists.\n"),
    (["--cancel", "5", "--until-done", "-t", "9"], {},
     "error: --cancel cancels one job and exits, so -t/--monitor-duration, --until-done would be ignored; drop "
     "them or run the monitor without --cancel.\n"),
    # on the command line, click's check of every float option refuses them, as it refuses `-t abc` or `-t -3`
    (["-t", "nan"], {}, NOT_FINITE.format("nan")),
    (["-t", "inf"], {}, NOT_FINITE.format("inf")),
    (["-t", "1e12"], {}, "error: -t/--monitor-duration: 1e+12 s is out of range; give more than 0 and at most "
                         "31536000 seconds (a year).\n"),
    (["--update-interval", "0.001", "-t", "5"], {},
     "error: --update-interval: 0.001 s is too short an update interval; give at least 0.1 s (polling more often "
     "only loads the server).\n"),
    ([], {"TIDB_UPDATE_INTERVAL": "inf"}, "error: environment variable TIDB_UPDATE_INTERVAL: inf is not a number "
                                          "of seconds; give a finite number such as 5.\n"),
    ([], {"TIDB_MONITOR_DURATION": "1e300"}, "error: environment variable TIDB_MONITOR_DURATION: 1e+300 s is out "
                                             "of range; give more than 0 and at most 31536000 seconds (a year).\n"),
])
def test_bad_numbers_are_refused_before_any_work(args: list[str], env: dict[str, str], message: str) -> None:
    """The server address is a closed port: reaching it would fail with exit 1, so exit 2 with the sentence
    proves nothing was sent anywhere (a negative --cancel id never becomes `KILL QUERY -5`)."""
    r = run_cli("job-monitor", *args, "--no-password-prompt", env={**env_for_closed(), **env})
    assert (r.returncode, r.stderr, r.stdout) == (2, message, "")


def env_for_closed() -> dict[str, str]:
    import os

    return {**{k: v for k, v in os.environ.items() if not k.startswith("TIDB_")}, **CLOSED}


@pytest.mark.parametrize(("name", "text", "message"), [
    ("null.json", '{"update_interval": null}', "update_interval must be a number of seconds above 0, not null."),
    ("nan.json", '{"monitor_duration": NaN}', "monitor_duration must be a number of seconds above 0, not nan."),
    ("inf.toml", "monitor_duration = inf", "monitor_duration must be a number of seconds above 0, not inf."),
    ("word.toml", 'show_details = "yes"', 'show_details must be true or false, not "yes".'),
])
def test_an_import_config_value_is_named_as_the_file_spells_it(tmp_path: Path, name: str, text: str,
                                                               message: str) -> None:
    path = tmp_path / name
    path.write_text(text)
    r = run_cli("job-monitor", "--import-config", str(path), "--no-password-prompt", env=env_for_closed())
    assert (r.returncode, r.stderr) == (2, f"error: Import config {path}: {message}\n")


# --------------------------------------------------------------------------- TiDB DDL jobs the monitor starts


def ddl_jobs(st: SandboxState, table: str) -> list[tuple[Any, ...]]:
    """ADMIN SHOW DDL JOBS rows (JOB_ID, JOB_TYPE, STATE) of `table`, running ones included."""
    res = sql(st, "ADMIN SHOW DDL JOBS 30")[0]
    return [(r[0], r[3], r[11]) for r in res if r[2] == table]


@pytest.mark.tidb
def test_a_ddl_job_that_fails_at_once_is_reported_failed_with_its_error(tidb: SandboxState, tmp_path: Path) -> None:
    """ADD UNIQUE INDEX over duplicate values: the job ends "rollback done" in tens of milliseconds, before
    the first poll; it is found by its statement and reported failed with the server's error, exit 1."""
    sql(tidb, "DROP TABLE IF EXISTS rig_dup", "CREATE TABLE rig_dup (id INT PRIMARY KEY, v INT)",
        "INSERT INTO rig_dup VALUES (1, 1), (2, 1), (3, 2)")
    out = tmp_path / "dup.json"
    cfg = job_config(tmp_path, "ALTER TABLE rig_dup ADD UNIQUE INDEX uv (v)")
    r = run_cli("job-monitor", "--import-config", str(cfg), "--until-done", "--json", str(out),
                "--no-password-prompt", env=env_for(tidb))
    assert r.returncode == 1, r.stdout + r.stderr
    [(job_id, job_type, state)] = [j for j in ddl_jobs(tidb, "rig_dup") if j[1] == "add index"]
    assert (job_type, state) == ("add index", "rollback done")
    data = json.loads(out.read_text())
    assert (data["ok"], data["complete"], data["exit_status"], data["stopped_because"]) == (
        False, True, 1, "every watched job ended")
    [job] = data["jobs"]
    assert (job["id"], job["kind"], job["source"], job["target"], job["status"]) == (
        str(job_id), "ddl", "ddl", "test.rig_dup", "failed")
    message = "the statement failed: (1062) Duplicate entry '1' for key 'rig_dup.uv'; the job was rolled back"
    assert job["final"]["message"] == message
    assert job["final"]["detail"]["STATE"] == "rollback done"
    assert f"ddl {job_id}  test.rig_dup  failed" in r.stdout and message in r.stdout
    assert "no job appeared" not in r.stdout


@pytest.mark.tidb
def test_a_ddl_refused_before_it_became_a_job_is_the_failed_statement(tidb: SandboxState, tmp_path: Path) -> None:
    sql(tidb, "DROP TABLE IF EXISTS rig_nocol", "CREATE TABLE rig_nocol (id INT PRIMARY KEY)")
    out = tmp_path / "nocol.json"
    cfg = job_config(tmp_path, "ALTER TABLE rig_nocol ADD INDEX i (nope)")
    r = run_cli("job-monitor", "--import-config", str(cfg), "--until-done", "--json", str(out),
                "--no-password-prompt", env=env_for(tidb))
    assert r.returncode == 1, r.stdout + r.stderr
    assert [j for j in ddl_jobs(tidb, "rig_nocol") if j[1] == "add index"] == []
    [job] = json.loads(out.read_text())["jobs"]
    assert (job["kind"], job["source"], job["target"], job["status"]) == ("statement", "own", "test.rig_nocol",
                                                                          "failed")
    assert job["final"]["message"] == "the statement failed: (1072) column does not exist: nope"


@pytest.fixture(scope="module")
def tidb_rows(tidb: SandboxState, tmp_path_factory: pytest.TempPathFactory) -> str:
    """300,000 rows on the session's TiDB, enough that ADD INDEX runs for seconds here."""
    tmp = tmp_path_factory.mktemp("tidb-rows")
    r = run_cli("gen-data", "--rows", "300000", "-o", str(tmp / "rows.csv"), "--table", "rig_honest_rows", "--load",
                "--no-password-prompt", env=env_for(tidb), timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    return "rig_honest_rows"


RUNNING_STATES = {"none", "queueing", "running", "rollingback", "cancelling", "pausing", "paused"}


@pytest.mark.tidb
@pytest.mark.parametrize(("signum", "name", "status"), SIGNALS)
def test_interrupting_the_monitor_cancels_its_ddl_job_on_the_server(tidb: SandboxState, tidb_rows: str,
                                                                    tmp_path: Path, signum: int, name: str,
                                                                    status: int) -> None:
    index = f"rig_cancel_{name.lower()}"
    out = tmp_path / "cancel.json"
    cfg = job_config(tmp_path, f"ALTER TABLE {tidb_rows} ADD INDEX {index} (name, note)")
    run = monitor(tidb, "--import-config", str(cfg), "--until-done", "--json", str(out))
    line = run.wait_for(" running ")
    while "ddl " not in line:  # its first poll may show the statement before its DDL job is found
        line = run.wait_for(" running ")
    assert f"test.{tidb_rows}" in line and "add index" in line
    run.proc.send_signal(signum)
    assert run.finish(timeout=120) == status
    # Nothing the monitor started is left running on the server, and the index was not built.
    jobs = ddl_jobs(tidb, tidb_rows)
    assert [j for j in jobs if j[2] in RUNNING_STATES] == []
    data = json.loads(out.read_text())
    [job] = data["jobs"]
    job_id = int(job["id"])
    [(_, job_type, state)] = [j for j in jobs if j[0] == job_id]
    assert job_type == "add index" and state in ("rollback done", "cancelled")
    assert sql(tidb, f"SHOW INDEX FROM {tidb_rows} WHERE Key_name = '{index}'")[0] == []
    said = (f"the monitor was interrupted: cancelled DDL job {job_id} on the server (ADMIN CANCEL DDL JOBS "
            f"{job_id}); it ended {state}")
    assert data["actions"] == [said]
    assert (data["exit_status"], data["complete"], data["interrupted_by"]) == (status, False, name)
    assert (job["status"], job["cancelled_by_monitor"], job["final"]["message"]) == (
        "cancelled", False, f"cancelled by the monitor (the monitor was interrupted); the server reports {state}")
    assert said in "".join(run.stdout)
    assert "".join(run.stderr).endswith(f"interrupted by {name}\n") and "Traceback" not in run.output()


@pytest.mark.tidb
def test_a_running_ddl_job_never_shows_100_percent_on_stale_statistics(tidb: SandboxState, tidb_rows: str,
                                                                         tmp_path: Path) -> None:
    """Statistics taken on 1,000 rows, then 299,000 more written: ROW_COUNT passes the estimate while the job
    runs, so the monitor counts the rows; a running sample is below 100 % whatever the counters say.

    TiDB writes its statistics delta (TABLE_ROWS of about 301,000 here) about once a minute, so once in a while
    it lands after this test read the stale 1,000 and before the monitor's first poll: the monitor then saw
    fresh statistics, rightly divides by them and has nothing to count. Both cases are told apart by TABLE_ROWS
    after the run, and each is checked exactly."""
    sql(tidb, "DROP TABLE IF EXISTS rig_stale", f"CREATE TABLE rig_stale LIKE {tidb_rows}",
        f"INSERT INTO rig_stale SELECT * FROM {tidb_rows} WHERE id <= 1000", "ANALYZE TABLE rig_stale",
        f"INSERT INTO rig_stale SELECT * FROM {tidb_rows} WHERE id > 1000")
    [[(estimate,)]] = sql(tidb, "SELECT TABLE_ROWS FROM information_schema.TABLES WHERE TABLE_SCHEMA = 'test' "
                                "AND TABLE_NAME = 'rig_stale'")
    out = tmp_path / "stale.json"
    cfg = job_config(tmp_path, "ALTER TABLE rig_stale ADD INDEX s (name, note)", update_interval=0.1)
    r = run_cli("job-monitor", "--import-config", str(cfg), "--until-done", "--json", str(out),
                "--no-password-prompt", env=env_for(tidb), timeout=180)
    assert r.returncode == 0, r.stdout + r.stderr
    [job] = json.loads(out.read_text())["jobs"]
    assert job["status"] == "finished" and job["samples"][-1]["progress"] == 1.0
    running = [s for s in job["samples"] if s["status"] == "running"]
    assert running and all(s["progress"] is None or s["progress"] < 1.0 for s in running)
    [[(after,)]] = sql(tidb, "SELECT TABLE_ROWS FROM information_schema.TABLES WHERE TABLE_SCHEMA = 'test' "
                             "AND TABLE_NAME = 'rig_stale'")
    past = [s for s in running if s["rows"] and s["rows"] > estimate]
    counted = [pytest.approx(min(0.999, s["rows"] / 300_000), abs=1e-4) for s in past]
    if after != estimate and past and past[0]["progress"] != counted[0]:
        # The delta landed before the monitor's first poll: every sample is ROW_COUNT over the fresh estimate.
        assert after > 300_000 and [s["progress"] for s in past] == [
            pytest.approx(min(0.999, s["rows"] / after), abs=1e-4) for s in past]
    else:
        # Past the stale estimate: the rows were counted (300,000), so progress is ROW_COUNT over the count.
        assert [s["progress"] for s in past] == counted
    assert "100.0%" not in "".join(line for line in r.stdout.splitlines(keepends=True) if " running " in line)


@pytest.mark.tidb
def test_the_ddl_source_counts_rows_when_the_statistics_are_stale(tidb: SandboxState) -> None:
    """A ROW_COUNT above what the statistics say (1,000 analysed, 1,500 there): the rows are counted, and a
    ROW_COUNT above even the count (concurrent writes) is capped below 100 %."""
    from test_rig.jobs.sources import DdlSource

    sql(tidb, "DROP TABLE IF EXISTS rig_stale_src", "CREATE TABLE rig_stale_src (id INT PRIMARY KEY)",
        "INSERT INTO rig_stale_src VALUES " + ", ".join(f"({n})" for n in range(1, 1001)),
        "ANALYZE TABLE rig_stale_src",
        "INSERT INTO rig_stale_src SELECT id + 1000 FROM rig_stale_src WHERE id <= 500")
    columns = ["JOB_ID", "DB_NAME", "TABLE_NAME", "JOB_TYPE", "SCHEMA_STATE", "SCHEMA_ID", "TABLE_ID", "ROW_COUNT",
               "CREATE_TIME", "START_TIME", "END_TIME", "STATE", "COMMENTS"]
    row = dict(zip(columns, [990001, "test", "rig_stale_src", "add index", "write reorganization", 2, 3, 1700, None,
                             None, None, "running", "txn-merge"], strict=True))

    async def read() -> Any:
        conn = await connect(target(tidb))
        try:
            return await DdlSource()._with_totals(conn, [row])
        finally:
            await conn.close()

    [job] = asyncio.run(read())
    assert (job.status, job.rows_done, job.rows_total, job.rows_total_estimated, job.progress) == (
        "running", 1700, 1500, False, 0.999)


@pytest.mark.tidb
def test_cancel_of_a_running_tidb_ddl_job_follows_it_to_its_end(tidb: SandboxState, tidb_rows: str) -> None:
    """`--cancel ID` of another client's running ADD INDEX: the server's answer is checked (TiDB reports a refusal
    in a RESULT row, not as an error) and the job is followed until it ended, so "cancelled" is not a guess."""
    import threading

    errors: list[BaseException] = []

    def add_index() -> None:
        try:
            sql(tidb, f"ALTER TABLE {tidb_rows} ADD INDEX rig_cancel_cli (note, name)")
        except BaseException as e:  # the test reads it
            errors.append(e)

    thread = threading.Thread(target=add_index, daemon=True)
    thread.start()
    running: list[tuple[Any, ...]] = []
    while not running and thread.is_alive():  # the job shows in ADMIN SHOW DDL JOBS within milliseconds
        running = [j for j in ddl_jobs(tidb, tidb_rows) if j[2] == "running" and j[1] == "add index"]
    assert running, "the ADD INDEX ended before it was seen running"
    [(job_id, _, _)] = running
    r = run_cli("job-monitor", "--cancel", str(job_id), "--no-password-prompt", env=env_for(tidb))
    thread.join(60)
    assert r.returncode == 0, r.stdout + r.stderr
    [(_, _, state)] = [j for j in ddl_jobs(tidb, tidb_rows) if j[0] == job_id]
    assert state in ("rollback done", "cancelled")
    assert r.stdout == f"cancelled ddl job {job_id} (test.{tidb_rows}); it ended {state}\nPASSED: every check passed\n"
    assert len(errors) == 1 and "(8214) Cancelled DDL job" in str(errors[0])
    again = run_cli("job-monitor", "--cancel", str(job_id), "--no-password-prompt", env=env_for(tidb))
    assert (again.returncode, again.stderr) == (
        2, f"error: ddl job {job_id} has already ended ({'failed' if state == 'rollback done' else 'cancelled'}); "
           "there is nothing to cancel.\n")


def test_a_statement_that_stopped_reporting_progress_but_still_runs_is_running(sandbox: SandboxState) -> None:
    """MariaDB's copying ALTER stops reporting its stages before it swaps the rebuilt table in; read then, the
    table was the old one, and the monitor said FAILED ("was not rebuilt") for an ALTER that then succeeded (a CI
    run caught it saying unknown). A statement its session still runs is running; once it ended, its outcome."""
    from test_rig.jobs.model import Job
    from test_rig.jobs.sources import statement_outcome

    async def go() -> tuple[Job, Job]:
        sleeper, monitor = await connect(target(sandbox)), await connect(target(sandbox))
        try:
            running = asyncio.ensure_future(sleeper.execute("SELECT SLEEP(30)"))
            session = str(sleeper.thread_id)
            for _ in range(400):  # until the server lists the statement
                if await monitor.scalar(f"SELECT INFO FROM information_schema.PROCESSLIST WHERE ID = {session}"):
                    break
            last = Job(session, "statement", None, "running", progress=0.5, detail={"info": "SELECT SLEEP(30)"})
            still = await statement_outcome(monitor, last, dt.datetime.now())
            await monitor.execute(f"KILL QUERY {session}")
            await asyncio.gather(running, return_exceptions=True)
            return still, await statement_outcome(monitor, last, dt.datetime.now())
        finally:
            await sleeper.close()
            await monitor.close()

    still, ended = asyncio.run(go())
    assert (still.status, still.progress, still.end_time, still.message) == (
        "running", 0.5, None, "still running; it no longer reports progress")
    assert (ended.status, ended.message) == (
        "ended (outcome unknown)", "the statement left the processlist; the server does not say whether it succeeded")
