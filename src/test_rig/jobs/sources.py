"""Job sources: each lists the jobs a server reports and reads one by id, through one small interface.

Which source fits is chosen from the detected server kind (TiDB: import and DDL jobs together;
MariaDB: the processlist; MySQL: performance_schema stages); `--source` overrides it. Every poll also
reads the server's NOW(), so elapsed times and ETAs are computed in the server's clock.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from typing import Protocol

from test_rig.db import Connection, ServerInfo, quote_ident
from test_rig.errors import DatabaseError, UsageError
from test_rig.jobs.model import (
    FAILED,
    FINISHED,
    REORG_TYPES,
    UNKNOWN,
    Job,
    ddl_job,
    import_job,
    job_id_problem,
    processlist_job,
    stages_job,
)

SOURCES = ("import", "ddl", "processlist", "stages")


class JobSource(Protocol):
    name: str

    async def list_jobs(self, conn: Connection, now: dt.datetime) -> list[Job]: ...

    async def get_job(self, conn: Connection, job_id: str, now: dt.datetime) -> Job | None: ...

    async def ended(self, conn: Connection, last: Job, now: dt.datetime) -> Job:
        """The final state of a job that is no longer listed."""
        ...

    async def cancel(self, conn: Connection, job_id: str) -> None: ...


async def _dicts(conn: Connection, sql: str) -> list[dict[str, object]]:
    res = await conn.execute(sql)
    return [dict(zip(res.columns, row, strict=False)) for row in res.rows]


def _as_int_id(job_id: str) -> int:
    problem = job_id_problem(job_id)
    if problem is not None:
        raise UsageError(problem)
    return int(job_id)


class ImportSource:
    """TiDB `IMPORT INTO` jobs: SHOW IMPORT JOBS / SHOW IMPORT JOB <id> (v7 and v8 layouts)."""

    name = "import"

    async def list_jobs(self, conn: Connection, now: dt.datetime) -> list[Job]:
        return [import_job(r) for r in await _dicts(conn, "SHOW IMPORT JOBS")]

    async def get_job(self, conn: Connection, job_id: str, now: dt.datetime) -> Job | None:
        try:
            rows = await _dicts(conn, f"SHOW IMPORT JOB {_as_int_id(job_id)}")
        except DatabaseError as e:
            if e.code == 8170:  # import job does not exist
                return None
            raise
        return import_job(rows[0]) if rows else None

    async def ended(self, conn: Connection, last: Job, now: dt.datetime) -> Job:
        return await self.get_job(conn, last.id, now) or last

    async def cancel(self, conn: Connection, job_id: str) -> None:
        await conn.execute(f"CANCEL IMPORT JOB {_as_int_id(job_id)}")


class DdlSource:
    """TiDB DDL jobs: ADMIN SHOW DDL JOBS, with the table's row estimate as the total of reorganisations."""

    name = "ddl"

    def __init__(self, recent: int = 20) -> None:
        self.recent = recent
        # Per job: the table's rows and whether that is the statistics' estimate (True) or a count.
        self._totals: dict[str, tuple[int | None, bool]] = {}

    async def _with_totals(self, conn: Connection, rows: Sequence[dict[str, object]]) -> list[Job]:
        jobs = []
        for row in rows:
            total, estimated = None, False
            job_type = str(row.get("JOB_TYPE", "")).lower()
            state = str(row.get("STATE", "")).lower()
            if job_type.startswith(REORG_TYPES) and state not in ("synced", "done", "rollback done", "cancelled"):
                key = str(row.get("JOB_ID"))
                if key not in self._totals:
                    self._totals[key] = await self._table_rows(conn, row.get("DB_NAME"), row.get("TABLE_NAME"))
                total, estimated = self._totals[key]
                done = row.get("ROW_COUNT")
                if estimated and isinstance(done, int) and total is not None and done > total:
                    # The statistics are stale (more rows were written since they were taken): count once.
                    total, estimated = await self._table_rows(conn, row.get("DB_NAME"), row.get("TABLE_NAME"),
                                                              count=True)
                    self._totals[key] = (total, estimated)
            jobs.append(ddl_job(row, total, estimated=estimated))
        return jobs

    @staticmethod
    async def _table_rows(conn: Connection, db: object, table: object, *,
                          count: bool = False) -> tuple[int | None, bool]:
        """The table's rows and whether they are an estimate: TiDB's statistics (TABLE_ROWS) unless they are
        0 (no statistics yet) or `count` is asked, then COUNT(*)."""
        if not db or not table:
            return None, False
        if not count:
            value = await conn.scalar(
                f"SELECT TABLE_ROWS FROM information_schema.TABLES WHERE TABLE_SCHEMA = '{_quote(str(db))}' "
                f"AND TABLE_NAME = '{_quote(str(table))}'")
            if value:
                return int(value), True
        value = await conn.scalar(f"SELECT COUNT(*) FROM {quote_ident(str(db))}.{quote_ident(str(table))}")
        return (int(value) if value else None), False

    async def list_jobs(self, conn: Connection, now: dt.datetime) -> list[Job]:
        return await self._with_totals(conn, await _dicts(conn, f"ADMIN SHOW DDL JOBS {int(self.recent)}"))

    async def get_job(self, conn: Connection, job_id: str, now: dt.datetime) -> Job | None:
        rows = await _dicts(conn, f"ADMIN SHOW DDL JOBS 1000 WHERE JOB_ID = {_as_int_id(job_id)}")
        jobs = await self._with_totals(conn, rows)
        return jobs[0] if jobs else None

    async def ended(self, conn: Connection, last: Job, now: dt.datetime) -> Job:
        return await self.get_job(conn, last.id, now) or last

    async def cancel(self, conn: Connection, job_id: str) -> None:
        # TiDB answers a refused cancel with a row (RESULT "error: ..."), not with an error.
        res = await conn.execute(f"ADMIN CANCEL DDL JOBS {_as_int_id(job_id)}")
        result = str(res.rows[0][-1]) if res.rows else ""
        if result.lower().startswith("error"):
            raise DatabaseError(result.split(":", 1)[1].strip(), code=None)


class _StatementSource:
    """Statements of other sessions that report progress; their id is the session's id, they are
    cancelled with KILL QUERY, and their outcome is judged by statement_outcome."""

    name = ""
    QUERY = ""
    ID_COLUMN = ""
    parse: Callable[[dict[str, object], dt.datetime], Job]

    def __init__(self) -> None:
        # Per statement (session id, text): the InnoDB table id of its table when it was first seen running.
        self._table_ids: dict[tuple[str, str], int | None] = {}

    async def _with_table_id(self, conn: Connection, job: Job) -> Job:
        """Remember the table's InnoDB id while a rebuilding statement runs: a new id after it ended is the
        evidence that it swapped in a rebuilt table (statement_outcome)."""
        if _rebuilds(job) and job.target and "." in job.target:
            key = (job.id, str(job.detail.get("info")))
            if key not in self._table_ids:
                self._table_ids[key] = await innodb_table_id(conn, job.target)
            job.detail["innodb_table_id"] = self._table_ids[key]
        return job

    async def list_jobs(self, conn: Connection, now: dt.datetime) -> list[Job]:
        return [await self._with_table_id(conn, self.parse(r, now)) for r in await _dicts(conn, self.QUERY)]

    async def get_job(self, conn: Connection, job_id: str, now: dt.datetime) -> Job | None:
        rows = await _dicts(conn, self.QUERY + f" AND {self.ID_COLUMN} = {_as_int_id(job_id)}")
        return await self._with_table_id(conn, self.parse(rows[0], now)) if rows else None

    async def ended(self, conn: Connection, last: Job, now: dt.datetime) -> Job:
        return await statement_outcome(conn, last, now)

    async def cancel(self, conn: Connection, job_id: str) -> None:
        await conn.execute(f"KILL QUERY {_as_int_id(job_id)}")


class ProcesslistSource(_StatementSource):
    """MariaDB: statements that report progress (copying ALTER TABLE, CREATE INDEX, LOAD DATA, ...)."""

    name = "processlist"
    QUERY = ("SELECT ID, USER, DB, COMMAND, STATE, INFO, TIME_MS, STAGE, MAX_STAGE, PROGRESS "
             "FROM information_schema.PROCESSLIST WHERE MAX_STAGE > 0 AND ID <> CONNECTION_ID()")
    ID_COLUMN = "ID"
    parse = staticmethod(processlist_job)


class StagesSource(_StatementSource):
    """MySQL 8: performance_schema.events_stages_current (WORK_COMPLETED / WORK_ESTIMATED) with the
    thread's current statement."""

    name = "stages"
    QUERY = ("SELECT t.PROCESSLIST_ID, t.PROCESSLIST_TIME AS TIME, s.EVENT_NAME, s.WORK_COMPLETED, "
             "s.WORK_ESTIMATED, st.SQL_TEXT, st.CURRENT_SCHEMA "
             "FROM performance_schema.events_stages_current s "
             "JOIN performance_schema.threads t ON t.THREAD_ID = s.THREAD_ID "
             "LEFT JOIN performance_schema.events_statements_current st ON st.THREAD_ID = s.THREAD_ID "
             "WHERE s.WORK_ESTIMATED IS NOT NULL AND t.PROCESSLIST_ID <> CONNECTION_ID()")
    ID_COLUMN = "t.PROCESSLIST_ID"
    parse = staticmethod(stages_job)


def _rebuilds(job: Job) -> bool:
    info = str(job.detail.get("info") or "").lstrip().upper()
    return info.startswith(("ALTER", "CREATE INDEX", "CREATE UNIQUE INDEX", "OPTIMIZE"))


async def innodb_table_id(conn: Connection, target: str) -> int | None:
    """The InnoDB id of table `db.table` (MariaDB: INNODB_SYS_TABLES, MySQL 8: INNODB_TABLES); None for a
    table of another engine or one the server does not list. A rebuilt table gets a new id."""
    db, table = target.split(".", 1)
    view = "INNODB_SYS_TABLES" if conn.server.kind == "mariadb" else "INNODB_TABLES"
    try:
        value = await conn.scalar(f"SELECT TABLE_ID FROM information_schema.{view} "
                                  f"WHERE NAME = '{_quote(db)}/{_quote(table)}'")
    except DatabaseError as e:
        if e.code in (1109, 1227):  # no such view here, or no PROCESS privilege to read it
            return None
        raise
    return int(value) if value is not None else None


async def statement_outcome(conn: Connection, last: Job, now: dt.datetime) -> Job:
    """What became of a statement that left the processlist. The processlist does not say whether it
    succeeded; the evidence used: a copying ALTER TABLE / CREATE INDEX that succeeded has swapped in a
    rebuilt table, which has a new InnoDB table id. (CREATE_TIME is no evidence: InnoDB reports the data
    file's ctime, which any page write, crash recovery included, moves on.) Without such evidence the
    outcome is reported as unknown, never as finished.

    A statement that stopped reporting progress may still be running: MariaDB's copying ALTER drops its stages
    (MAX_STAGE 0) before it swaps the rebuilt table in, and read in that window the table was still the old one
    (a FAILED verdict for an ALTER that then succeeded) or not listed at all. So while its session still runs
    the same statement it is running, with the progress last seen, and asked again at the next poll."""
    if last.id.isdecimal() and last.detail.get("info"):
        running = await conn.scalar(f"SELECT INFO FROM information_schema.PROCESSLIST WHERE ID = {int(last.id)}")
        if running is not None and str(running) == str(last.detail["info"]):
            return Job(**{**last.__dict__, "message": "still running; it no longer reports progress"})
    status, message = UNKNOWN, "the statement left the processlist; the server does not say whether it succeeded"
    before = last.detail.get("innodb_table_id")
    if _rebuilds(last) and last.target and "." in last.target and isinstance(before, int):
        after = await innodb_table_id(conn, last.target)
        if after is not None and after != before:
            status, message = FINISHED, (f"the table was rebuilt at or before {now:%Y-%m-%d %H:%M:%S} (its InnoDB "
                                         f"table id changed from {before} to {after})")
        elif after == before:
            status, message = FAILED, (f"the statement ended but {last.target} was not rebuilt (its InnoDB table id "
                                       f"is still {before}): it failed or was killed")
    return Job(**{**last.__dict__, "status": status, "message": message, "end_time": now,
                  "progress": 1.0 if status == FINISHED else last.progress})


def _quote(value: str) -> str:
    return value.replace("\\", "\\\\").replace("'", "''")


def sources_for(server: ServerInfo, chosen: str | None) -> list[JobSource]:
    """The sources to poll: `chosen` (--source) or those that fit the server."""
    by_name: dict[str, JobSource] = {"import": ImportSource(), "ddl": DdlSource(),
                                     "processlist": ProcesslistSource(), "stages": StagesSource()}
    if chosen is not None:
        return [by_name[chosen]]
    if server.kind == "tidb":
        return [by_name["import"], by_name["ddl"]]
    if server.kind == "mariadb":
        return [by_name["processlist"]]
    return [by_name["stages"]]


__all__ = ["SOURCES", "JobSource", "sources_for"]
