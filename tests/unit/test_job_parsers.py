"""The job parsers on rows in the exact layouts the servers print (TiDB docs for SHOW IMPORT JOB v7.5 and
v8.x; ADMIN SHOW DDL JOBS as this project's TiDB prints it; MariaDB's PROCESSLIST). No database."""

from __future__ import annotations

import datetime as dt

import pytest

from test_rig.jobs.model import (
    CANCELLED,
    FAILED,
    FINISHED,
    PENDING,
    RUNNING,
    Job,
    ddl_job,
    import_job,
    job_id_problem,
    parse_duration,
    parse_size,
    processlist_job,
    statement_target,
)
from test_rig.jobs.monitor import Gap, MonitorRun, MonitorSettings, Watched

V7_COLUMNS = ["Job_ID", "Data_Source", "Target_Table", "Table_ID", "Phase", "Status", "Source_File_Size",
              "Imported_Rows", "Result_Message", "Create_Time", "Start_Time", "End_Time", "Created_By"]
V8_COLUMNS = ["Job_ID", "Group_Key", "Data_Source", "Target_Table", "Table_ID", "Phase", "Status", "Source_File_Size",
              "Imported_Rows", "Result_Message", "Create_Time", "Start_Time", "End_Time", "Created_By",
              "Last_Update_Time", "Cur_Step", "Cur_Step_Processed_Size", "Cur_Step_Total_Size",
              "Cur_Step_Progress_Pct", "Cur_Step_Speed", "Cur_Step_ETA"]


def v7(*values: object) -> dict[str, object]:
    assert len(values) == 13
    return dict(zip(V7_COLUMNS, values, strict=True))


def v8(*values: object) -> dict[str, object]:
    assert len(values) == 21
    return dict(zip(V8_COLUMNS, values, strict=True))


# The TiDB 7.5 docs' SHOW IMPORT JOBS and SHOW IMPORT JOB 60001 examples, and the other statuses in that layout.
V7_FINISHED = v7(1, "/path/to/file.csv", "`test`.`foo`", 116, "", "finished", "11GB", 950000, "",
                 "2023-06-26 11:23:59.281257", "2023-06-26 11:23:59.484932", "2023-06-26 13:04:30.622952", "root@%")
V7_PENDING = v7(60001, "/path/to/small.csv", "`test`.`t`", 361, "", "pending", "16B", None, "",
                "2023-06-08 15:59:37.047703", None, None, "root@%")
V7_RUNNING = v7(2, "/path/to/file.csv", "`test`.`bar`", 130, "importing", "running", "1.194TB", 49995000, "",
                "2023-06-26 15:42:45.079237", "2023-06-26 15:42:45.388108", None, "root@%")
V7_FAILED = v7(3, "/path/to/bad.csv", "`test`.`baz`", 131, "importing", "failed", "1.2GB", 0,
               "[Lightning:Restore:ErrChecksumMismatch]checksum mismatched remote vs local",
               "2023-06-26 15:42:45.079237", "2023-06-26 15:42:45.388108", "2023-06-26 15:50:01.000001", "root@%")
V7_CANCELED = v7(4, "/path/to/file.csv", "`test`.`qux`", 132, "importing", "canceled", "11GB", 10, "cancelled by user",
                 "2023-06-26 15:42:45.079237", "2023-06-26 15:42:45.388108", "2023-06-26 15:43:00.000001", "root@%")

# The TiDB 8.x docs' example rows (Group_Key added, Last_Update_Time and Cur_Step_* at the end).
V8_FINISHED = v8(1, "", "/path/to/file.csv", "`test`.`foo`", 116, "", "finished", "11GB", 950000, "",
                 "2023-06-26 11:23:59.281257", "2023-06-26 11:23:59.484932", "2023-06-26 13:04:30.622952", "root@%",
                 "0000-00-00 00:00:00", None, None, None, None, None, None)
V8_RUNNING = v8(2, "", "/path/to/file.csv", "`test`.`bar`", 118, "global-sorting", "running", "277.5GiB", 0, "",
                "2025-07-09 10:40:18.580706", "2025-07-09 10:40:19.092528", None, "root@%", "2025-07-09 10:47:15",
                "encode", "4.55GB", "298GB", "1", "10.96MB/s", "07:26:03")
V8_CANCELLED = v8(5, "g1", "/path/to/file.csv", "`test`.`t5`", 120, "importing", "cancelled", "1GB", 5, "",
                  "2025-07-09 10:40:18.580706", "2025-07-09 10:40:19.092528", "2025-07-09 10:41:00.000000", "root@%",
                  "2025-07-09 10:41:00", "import", "10MB", "1GB", "1", "1MB/s", "00:16:30")
V8_FAILED = v8(6, "", "/path/to/file.csv", "`test`.`t6`", 121, "validating", "failed", "2GiB", 100, "checksum mismatch",
               "2025-07-09 10:40:18.580706", "2025-07-09 10:40:19.092528", "2025-07-09 11:00:00.000000", "root@%",
               "2025-07-09 11:00:00", "post-process", None, None, None, None, None)


@pytest.mark.parametrize(("row", "status", "progress"), [
    (V7_FINISHED, FINISHED, 1.0), (V7_PENDING, PENDING, None), (V7_RUNNING, RUNNING, None), (V7_FAILED, FAILED, None),
    (V7_CANCELED, CANCELLED, None), (V8_FINISHED, FINISHED, 1.0), (V8_RUNNING, RUNNING, 0.01),
    (V8_CANCELLED, CANCELLED, 0.01), (V8_FAILED, FAILED, None)])
def test_import_statuses_in_both_layouts(row: dict[str, object], status: str, progress: float | None) -> None:
    job = import_job(row)
    assert job.status == status
    assert job.progress == progress
    assert job.kind == "import"


def test_import_v7_finished_row() -> None:
    job = import_job(V7_FINISHED)
    assert (job.id, job.target, job.rows_done, job.bytes_total) == ("1", "`test`.`foo`", 950000, 11_000_000_000)
    assert job.start_time == dt.datetime(2023, 6, 26, 11, 23, 59, 484932)
    assert job.end_time == dt.datetime(2023, 6, 26, 13, 4, 30, 622952)
    assert job.elapsed(dt.datetime(2030, 1, 1)) == pytest.approx(6031.13802)  # start to end, not to "now"


def test_import_v7_pending_row_has_no_start() -> None:
    job = import_job(V7_PENDING)
    assert (job.rows_done, job.start_time, job.bytes_total) == (None, None, 16)
    assert job.elapsed(dt.datetime(2023, 6, 8, 16, 0, 0)) is None


def test_import_v8_running_row() -> None:
    job = import_job(V8_RUNNING)
    assert job.phase == "global-sorting / encode"
    assert (job.bytes_done, job.bytes_total) == (4_550_000_000, 298_000_000_000)
    assert job.speed == 10_960_000
    assert job.eta_seconds == 7 * 3600 + 26 * 60 + 3
    assert job.last_update == dt.datetime(2025, 7, 9, 10, 47, 15)
    # Elapsed in the server's clock: its NOW() minus its Start_Time.
    assert job.elapsed(dt.datetime(2025, 7, 9, 10, 50, 19, 92528)) == 600.0


def test_a_failed_import_keeps_its_message() -> None:
    assert import_job(V7_FAILED).message == "[Lightning:Restore:ErrChecksumMismatch]checksum mismatched remote vs local"
    assert import_job(V8_FAILED).message == "checksum mismatch"


def test_a_zero_last_update_time_is_no_time() -> None:
    assert import_job(V8_FINISHED).last_update is None


# ADMIN SHOW DDL JOBS as the TiDB sandbox prints it (13 columns; older versions lack COMMENTS).
DDL_COLUMNS = ["JOB_ID", "DB_NAME", "TABLE_NAME", "JOB_TYPE", "SCHEMA_STATE", "SCHEMA_ID", "TABLE_ID", "ROW_COUNT",
               "CREATE_TIME", "START_TIME", "END_TIME", "STATE", "COMMENTS"]


def ddl(*values: object) -> dict[str, object]:
    return dict(zip(DDL_COLUMNS, values, strict=True))


T = dt.datetime(2026, 11, 27, 18, 16, 38, 961000)


@pytest.mark.parametrize(("state", "status"), [
    ("none", PENDING), ("queueing", PENDING), ("running", RUNNING), ("rollingback", RUNNING),
    ("cancelling", RUNNING), ("pausing", RUNNING), ("paused", "paused"), ("synced", FINISHED), ("done", FINISHED),
    ("rollback done", FAILED), ("cancelled", CANCELLED)])
def test_every_ddl_state(state: str, status: str) -> None:
    row = ddl(342, "test", "rig_gen", "add index", "write reorganization", 2, 341, 0, T, T, None, state, "txn-merge")
    assert ddl_job(row).status == status


def test_add_index_progress_is_row_count_over_the_table() -> None:
    running = ddl(342, "test", "rig_gen", "add index", "write reorganization", 2, 341, 157662, T, T, None, "running",
                  "txn-merge")
    job = ddl_job(running, table_rows=300000)
    assert job.progress == pytest.approx(0.52554)
    assert (job.target, job.phase, job.rows_done, job.rows_total) == ("test.rig_gen",
                                                                      "add index / write reorganization", 157662,
                                                                      300000)
    done = ddl(342, "test", "rig_gen", "add index", "public", 2, 341, 300000, T, T, T, "synced", "txn-merge")
    assert ddl_job(done).progress == 1.0


def test_a_ddl_without_reorganisation_has_no_row_progress() -> None:
    job = ddl_job(ddl(339, "test", "p", "create table", "none", 2, 338, 0, T, T, None, "running", ""), 1000)
    assert (job.progress, job.rows_total) == (None, None)


def test_a_rolled_back_ddl_says_so() -> None:
    row = ddl(350, "test", "t", "add index", "none", 2, 349, 12, T, T, T, "rollback done", "duplicate entry")
    job = ddl_job(row)
    assert (job.status, job.message) == (FAILED, "the job was rolled back: duplicate entry")


def test_an_older_ddl_layout_without_comments_parses() -> None:
    row = {k: v for k, v in ddl(7, "d", "t", "add index", "public", 1, 2, 5, T, T, T, "synced", "").items()
           if k != "COMMENTS"}
    assert ddl_job(row).status == FINISHED


def test_mariadb_progress_counts_the_stages_already_done() -> None:
    now = dt.datetime(2026, 11, 27, 18, 29, 3)
    row = {"ID": 11, "USER": "root", "DB": "test", "COMMAND": "Query", "STATE": "copy to tmp table",
           "INFO": "ALTER TABLE rig_gen ENGINE=InnoDB, ALGORITHM=COPY", "TIME_MS": 2535.653, "STAGE": 1,
           "MAX_STAGE": 2, "PROGRESS": 40.760}
    job = processlist_job(row, now)
    assert job.progress == pytest.approx(0.2038)
    assert (job.target, job.phase) == ("test.rig_gen", "stage 1 of 2")
    assert job.start_time == now - dt.timedelta(milliseconds=2535.653)
    second = processlist_job({**row, "STAGE": 2, "PROGRESS": 0, "STATE": "Enabling keys"}, now)
    assert second.progress == 0.5


@pytest.mark.parametrize(("sql", "db", "target"), [
    ("ALTER TABLE rig_gen ENGINE=InnoDB", "test", "test.rig_gen"),
    ("alter online table `other`.`t` add column x int", "test", "other.t"),
    ("CREATE UNIQUE INDEX i ON t (a)", "d", "d.t"),
    ("LOAD DATA LOCAL INFILE '/x.csv' INTO TABLE t2 FIELDS TERMINATED BY ','", "d", "d.t2"),
    ("SELECT 1", "d", None)])
def test_statement_target(sql: str, db: str, target: str | None) -> None:
    assert statement_target(sql, db) == target


@pytest.mark.parametrize(("text", "value"), [("11GB", 11_000_000_000), ("277.5GiB", 297_963_356_160), ("16B", 16),
                                             ("10.96MB/s", 10_960_000), ("", None), ("n/a", None), (1234, 1234)])
def test_parse_size(text: object, value: int | None) -> None:
    assert parse_size(text) == value


@pytest.mark.parametrize(("text", "value"), [("07:26:03", 26763.0), ("2m", 120.0), ("1h2m3s", 3723.0),
                                             ("N/A", None), ("soon", None)])
def test_parse_duration(text: str, value: float | None) -> None:
    assert parse_duration(text) == value


def test_mysql_stages_row() -> None:
    """performance_schema.events_stages_current joined with threads and events_statements_current."""
    from test_rig.jobs.model import stages_job

    now = dt.datetime(2026, 1, 1, 12, 0, 10)
    row = {"PROCESSLIST_ID": 42, "TIME": 10, "EVENT_NAME": "stage/innodb/alter table (read PK and internal sort)",
           "WORK_COMPLETED": 1520, "WORK_ESTIMATED": 4000, "SQL_TEXT": "ALTER TABLE t ADD INDEX i (a)",
           "CURRENT_SCHEMA": "shop"}
    job = stages_job(row, now)
    assert (job.id, job.target, job.progress) == ("42", "shop.t", 0.38)
    assert job.phase == "stage/innodb/alter table (read PK and internal sort)"
    assert job.start_time == dt.datetime(2026, 1, 1, 12, 0, 0)


# --------------------------------------------------------------------------- issue 18: honest progress and verdicts


def test_stale_statistics_never_show_a_running_job_at_100_percent() -> None:
    """The issue's example: ROW_COUNT 328058 over a statistics estimate of 200000 while the job runs."""
    row = ddl(342, "test", "rig_gen", "add index", "write reorganization", 2, 341, 328058, T, T, None, "running",
              "txn-merge")
    job = ddl_job(row, table_rows=200000, estimated=True)
    assert (job.status, job.progress, job.rows_done, job.rows_total, job.rows_total_estimated) == (
        RUNNING, 0.999, 328058, 200000, True)
    from test_rig.jobs.report import job_line

    line = job_line(job, 4.0)
    assert " 99.9%" in line and "rows 328058/~200000" in line and "100.0%" not in line
    counted = ddl_job(row, table_rows=400000)
    assert (counted.progress, counted.rows_total_estimated) == (pytest.approx(0.820145), False)
    assert "rows 328058/400000" in job_line(counted, 4.0)
    done = ddl(342, "test", "rig_gen", "add index", "public", 2, 341, 328058, T, T, T, "synced", "txn-merge")
    assert ddl_job(done, table_rows=200000, estimated=True).progress == 1.0


def test_a_step_at_100_percent_is_not_a_finished_import_nor_a_finished_statement() -> None:
    running = {**V8_RUNNING, "Cur_Step_Progress_Pct": "100%"}
    assert (import_job(running).status, import_job(running).progress) == (RUNNING, 0.999)
    now = dt.datetime(2026, 11, 27, 18, 29, 3)
    last_stage = {"ID": 11, "USER": "root", "DB": "test", "COMMAND": "Query", "STATE": "Enabling keys",
                  "INFO": "ALTER TABLE t ENGINE=InnoDB", "TIME_MS": 10.0, "STAGE": 2, "MAX_STAGE": 2, "PROGRESS": 100}
    assert processlist_job(last_stage, now).progress == 0.999
    from test_rig.jobs.model import stages_job

    stage = {"PROCESSLIST_ID": 42, "TIME": 10, "EVENT_NAME": "stage/innodb/alter table (end)", "WORK_COMPLETED": 4100,
             "WORK_ESTIMATED": 4000, "SQL_TEXT": "ALTER TABLE t ADD INDEX i (a)", "CURRENT_SCHEMA": "shop"}
    assert stages_job(stage, now).progress == 0.999


def test_a_rollback_names_no_reorganisation_option_as_its_reason() -> None:
    """COMMENTS of a real rolled-back ADD INDEX on this TiDB is "txn-merge": how it ran, not why it failed."""
    for comments in ("txn-merge", "ingest, DXF", "txn", ""):
        row = ddl(350, "test", "t", "add index", "none", 2, 349, 0, T, T, T, "rollback done", comments)
        assert ddl_job(row).message == "the job was rolled back"


@pytest.mark.parametrize(("text", "problem"), [
    ("42", None), ("9223372036854775807", None),
    ("-5", "Job id -5 is out of range: job ids are whole numbers from 1 to 9223372036854775807; give the id that "
           "job-monitor lists."),
    ("0", "Job id 0 is out of range: job ids are whole numbers from 1 to 9223372036854775807; give the id that "
          "job-monitor lists."),
    ("9223372036854775808", "Job id 9223372036854775808 is out of range: job ids are whole numbers from 1 to "
                            "9223372036854775807; give the id that job-monitor lists."),
    ("abc", "Job id 'abc' is not a number; give the id that job-monitor lists."),
    ("1e3", "Job id '1e3' is not a number; give the id that job-monitor lists."),
    ("5; DROP TABLE t", "Job id '5; DROP TABLE t' is not a number; give the id that job-monitor lists.")])
def test_job_ids_are_checked_before_they_reach_sql(text: str, problem: str | None) -> None:
    assert job_id_problem(text) == problem


def _run(*statuses: str, until_done: bool = False) -> MonitorRun:
    run = MonitorRun(MonitorSettings(10, 1, until_done=until_done))
    for i, status in enumerate(statuses):
        run.jobs[f"ddl:{i}"] = Watched("ddl", Job(str(i), "ddl", "test.t", status))
    run.complete = True
    return run


def test_an_interrupted_run_says_the_status_it_exits_with() -> None:
    for name, status in (("SIGINT", 130), ("SIGTERM", 143)):
        run = _run(RUNNING)
        run.interrupt(name, status)
        data = run.to_dict()
        assert (run.exit_status, data["exit_status"], data["complete"], data["interrupted_by"],
                data["stopped_because"]) == (status, status, False, name, f"interrupted by {name}")


def test_a_gap_to_the_end_is_an_incomplete_run_and_a_closed_gap_claims_nothing() -> None:
    run = _run(FINISHED)
    run.gaps.append(Gap(2.0, 5.5, "(2003) Can't connect", resumed=True))
    assert (run.exit_status, run.unobserved_seconds) == (0, 3.5)
    run.gaps.append(Gap(7.0, 12.0, "(2003) Can't connect"))
    assert run.unobserved_to_end is run.gaps[-1]
    assert (run.exit_status, run.to_dict()["unobserved_seconds"]) == (1, 8.5)
    assert run.to_dict()["gaps"][-1] == {"from": 7.0, "to": 12.0, "error": "(2003) Can't connect", "resumed": False}


def test_a_job_the_monitor_cancelled_when_time_ran_out_was_still_running() -> None:
    run = _run(CANCELLED, until_done=True)
    assert run.exit_status == 1  # cancelled by someone else: the job did not succeed
    run.jobs["ddl:0"].cancelled_by_monitor = True
    assert run.exit_status == 3  # the monitor's duration ran out while it ran, as for any job still running


def test_the_monitor_plan_takes_each_value_from_where_it_has_precedence_and_refuses_bad_ones() -> None:
    """jobs.options without the command line: command line > environment > import config > config file >
    defaults, each refusal one sentence naming where the value came from."""
    from pathlib import Path
    from types import SimpleNamespace

    from test_rig.errors import UsageError
    from test_rig.jobs.importconfig import ImportConfig
    from test_rig.jobs.options import MonitorOptions, plan

    configured = SimpleNamespace(monitor_duration=300.0, update_interval=5.0, show_details=True)
    imported = ImportConfig(Path("imp.toml"), {"monitor_duration": 60.0, "update_interval": 2.0}, "ALTER TABLE t")
    sources = {"monitor.update_interval": "environment variable TIDB_UPDATE_INTERVAL"}
    p = plan(MonitorOptions(job_ids=("7",), until_done=True), imported, configured, sources)
    assert (p.settings.duration, p.settings.interval, p.show_details, p.job_sql) == (60.0, 5.0, True,
                                                                                      "ALTER TABLE t")
    assert p.describe("127.0.0.1:4000") == ("test-rig job-monitor: the job of the import config, jobs 7 on "
                                            "127.0.0.1:4000, every 5 s for up to 60 s or until done")
    assert plan(MonitorOptions(monitor_duration=10.0), imported, configured, sources).settings.duration == 10.0
    with pytest.raises(UsageError, match=r"^The update interval \(5 s\) is longer than the monitor duration \(3 s\)"):
        plan(MonitorOptions(monitor_duration=3.0), None, configured, {})
    with pytest.raises(UsageError, match=r"^update_interval in import config imp.toml: 0.01 s is too short an "
                                         r"update interval; give at least 0.1 s"):
        plan(MonitorOptions(), ImportConfig(Path("imp.toml"), {"update_interval": 0.01}), configured, {})
    with pytest.raises(UsageError, match=r"^--cancel cancels one job and exits, so -t/--monitor-duration, "
                                         r"--until-done would be ignored; drop them"):
        MonitorOptions(monitor_duration=5.0, until_done=True, cancel_id="12").check()
