"""A job the monitor started itself (the import config's `job`): the statement on a connection of its own,
the server job it became (a TiDB DDL job found by its statement text, or the job id a detached IMPORT INTO
answers with), how it ended, and how to stop it on the server when the monitor stops first."""

from __future__ import annotations

import asyncio
import datetime as dt
from dataclasses import dataclass, field, replace

from test_rig.db import Connection, Result, Target, connect, for_cleanup
from test_rig.errors import DatabaseError, RigError
from test_rig.jobs.model import CANCELLED, ENDED, FAILED, FINISHED, RUNNING, UNKNOWN, Job, statement_target
from test_rig.jobs.sources import DdlSource, ImportSource

#: Statements TiDB runs as DDL jobs (the ones ADMIN SHOW DDL JOBS lists).
_DDL_VERBS = ("ALTER", "CREATE", "DROP", "TRUNCATE", "RENAME", "FLASHBACK", "RECOVER")
#: How long a stop waits for the server to end the job it was asked to cancel.
STOP_WAIT_SECONDS = 60.0


def _normalised(sql: str) -> str:
    return " ".join(sql.split()).rstrip("; ")


@dataclass
class OwnJob:
    """The monitor's own statement and what it is known to have become on the server."""

    sql: str
    target: str | None  # db.table the statement works on, when its text says
    session_id: str  # CONNECTION_ID() of the statement's connection
    server_kind: str
    started: dt.datetime | None  # in the server's clock
    task: asyncio.Task[Result]
    #: The highest DDL job id before the statement ran (TiDB): its own job has a higher one.
    ddl_floor: int | None = None
    source: str | None = None  # "ddl" or "import" once the server job is known
    job_id: str | None = None
    #: No server job is left to find (found, or the statement ended without one).
    resolved: bool = False
    #: What the monitor did to stop it, in words, once it has.
    stopped: list[str] = field(default_factory=list)

    @property
    def expects_ddl_job(self) -> bool:
        return self.server_kind == "tidb" and is_ddl_statement(self.sql)

    def outcome(self) -> tuple[str, str] | None:
        """How the statement ended on its own connection (status, message); None while it runs."""
        if not self.task.done():
            return None
        if self.task.cancelled():
            return UNKNOWN, "the monitor stopped waiting for the statement; the server did not say how it ended"
        error = self.task.exception()
        if error is not None:
            return FAILED, f"the statement failed: {error}"
        return FINISHED, "the statement completed on the monitor's own connection"

    def statement_job(self) -> Job:
        """The statement itself as a job, for a statement that is no server job (or not yet known as one)."""
        ended = self.outcome()
        status, message = ended if ended is not None else (RUNNING, None)
        return Job(self.session_id, "statement", self.target, status, progress=1.0 if status == FINISHED else None,
                   start_time=self.started, message=message, detail={"info": self.sql})

    def merge(self, job: Job) -> Job:
        """A server job (DDL or import) with what the statement's own connection said: the server's state
        decides the status, the statement's error explains a failure the server only names."""
        ended = self.outcome()
        if ended is None or ended[0] == FINISHED or self.source == "import":
            return job
        if job.status == FINISHED:  # the server says it succeeded (its connection may have died after)
            return job
        return replace(job, message=ended[1] + (f"; {job.message}" if job.message else ""))

    async def resolve(self, conn: Connection) -> None:
        """Find the DDL job the statement became: the job after `ddl_floor` whose query is this statement
        (ADMIN SHOW DDL JOB QUERIES), also when it ended before anyone looked (rollback done, cancelled)."""
        if self.resolved or not self.expects_ddl_job or self.ddl_floor is None:
            self.resolved = self.resolved or not self.expects_ddl_job
            return
        statement_ended = self.task.done()  # read before looking: a job created later is not missed
        res = await conn.execute(f"ADMIN SHOW DDL JOBS 50 WHERE JOB_ID > {int(self.ddl_floor)}")
        ids = sorted(int(row[res.columns.index("JOB_ID")]) for row in res.rows)
        wanted = _normalised(self.sql)
        for job_id in ids:
            queries = await conn.execute(f"ADMIN SHOW DDL JOB QUERIES {job_id}")
            if any(_normalised(str(row[-1])) == wanted for row in queries.rows):
                self.source, self.job_id, self.resolved = "ddl", str(job_id), True
                return
        if statement_ended:
            self.resolved = True  # it ended without a DDL job (refused before one was created, or a no-op)

    async def stop(self, target: Target, why: str) -> Job | None:
        """Stop the job on the server if it still runs: ADMIN CANCEL DDL JOBS, CANCEL IMPORT JOB, or KILL QUERY
        of the statement; wait (up to STOP_WAIT_SECONDS) for it to end. Records what was done in `stopped`
        and returns the job's final state as the server reports it (None when nothing was running). A statement
        that has ended with no server job to look for needs no connection; a server that does not answer a new one
        within CLEANUP_CONNECT_SECS is not waited for longer (an interrupt during a partition took 30 s)."""
        if self.task.done() and self.job_id is None and not self.expects_ddl_job:
            return None  # the statement ended on the monitor's own connection, and no job was made for it
        admin: Connection | None = None
        try:
            admin = await connect(for_cleanup(target), database=False)
            if self.expects_ddl_job and not self.resolved:
                await self.resolve(admin)
            server_job = await self._server_job(admin)
            if self.source is not None and self.job_id is not None and server_job is not None:
                if server_job.ended:
                    return None
                return await self._cancel_server_job(admin, why)
            if self.task.done():
                return None
            await admin.execute(f"KILL QUERY {int(self.session_id)}")
            await asyncio.wait({self.task}, timeout=STOP_WAIT_SECONDS)  # its outcome is read, not raised, here
            ended = self.outcome()
            if ended is None:
                self.stopped.append(f"{why}: killed the monitor's own statement (KILL QUERY {self.session_id}); it "
                                    f"was still running {STOP_WAIT_SECONDS:g} s later")
                return None
            if ended[0] == FINISHED:
                self.stopped.append(f"{why}: the monitor's own statement completed before KILL QUERY "
                                    f"{self.session_id} reached it")
                return self.statement_job()
            self.stopped.append(f"{why}: killed the monitor's own statement (KILL QUERY {self.session_id})")
            return replace(self.statement_job(), status=CANCELLED,
                           message=f"killed by the monitor ({why}); {ended[1]}")
        except (DatabaseError, RigError, OSError) as e:
            self.stopped.append(f"{why}: could not stop the monitor's own job on the server: {e}")
            return None
        except BaseException:  # a second Ctrl-C: stop at once, but say what may be left
            left = f"{self.source} job {self.job_id}" if self.job_id is not None else "its statement"
            self.stopped.append(f"{why}: stopped again before it could make sure the monitor's own job ended on the "
                                f"server; {left} may still be running")
            self.task.cancel()
            raise
        finally:
            if admin is not None:
                await admin.close()

    async def _server_job(self, conn: Connection) -> Job | None:
        if self.job_id is None:
            return None
        now = await conn.scalar("SELECT NOW(6)")
        source = DdlSource() if self.source == "ddl" else ImportSource()
        return await source.get_job(conn, self.job_id, now if isinstance(now, dt.datetime) else dt.datetime.now())

    async def _cancel_server_job(self, conn: Connection, why: str) -> Job | None:
        assert self.job_id is not None
        source = DdlSource() if self.source == "ddl" else ImportSource()
        name = "DDL" if self.source == "ddl" else "import"
        sql = f"ADMIN CANCEL DDL JOBS {self.job_id}" if self.source == "ddl" else f"CANCEL IMPORT JOB {self.job_id}"
        try:
            await source.cancel(conn, self.job_id)
        except DatabaseError as e:
            final = await self._server_job(conn)
            if final is not None and final.ended:  # it ended between the look and the cancel
                self.stopped.append(f"{why}: {name} job {self.job_id} had already ended "
                                    f"{final.detail.get('STATE') or final.status}; nothing to cancel")
                return None
            self.stopped.append(f"{why}: the server refused to cancel {name} job {self.job_id} ({sql}): {e}")
            return final
        final = await self._server_job(conn)
        waited = 0.0
        while final is not None and not final.ended and waited < STOP_WAIT_SECONDS:
            # The statement's connection answers when the job has ended; an import has no such answer.
            if not self.task.done():
                await asyncio.wait({self.task}, timeout=0.2)
            else:
                await asyncio.sleep(0.2)
            waited += 0.2
            final = await self._server_job(conn)
        state = "no longer listed" if final is None else str(final.detail.get("STATE") or final.status)
        if final is not None and final.status in ENDED:
            self.stopped.append(f"{why}: cancelled {name} job {self.job_id} on the server ({sql}); it ended "
                                f"{state}")
        else:
            self.stopped.append(f"{why}: asked the server to cancel {name} job {self.job_id} ({sql}); it was still "
                                f"{state} {STOP_WAIT_SECONDS:g} s later")
        if final is not None and final.status in (FAILED, CANCELLED):
            final = replace(final, status=CANCELLED, message=f"cancelled by the monitor ({why}); the server reports "
                                                             f"{state}")
        return final


def is_ddl_statement(sql: str) -> bool:
    words = sql.lstrip().split(None, 1)
    return bool(words) and words[0].upper() in _DDL_VERBS


async def start_own_job(target: Target, conn: Connection, sql: str) -> OwnJob:
    """Start `sql` on `conn` (a connection of the monitor's own) and return it as an OwnJob. On TiDB the
    highest DDL job id is read first, so the statement's DDL job can be told from older ones."""
    floor = None
    if conn.server.kind == "tidb" and is_ddl_statement(sql):
        res = await conn.execute("ADMIN SHOW DDL JOBS 1")
        ids = [int(row[res.columns.index("JOB_ID")]) for row in res.rows]
        floor = max(ids, default=0)
    # The job's start in the server's clock: elapsed times are never local time against server time.
    started = await conn.scalar("SELECT NOW(6)")
    task = asyncio.create_task(conn.execute(sql))
    return OwnJob(sql, statement_target(sql, target.database), str(conn.thread_id), conn.server.kind,
                  started if isinstance(started, dt.datetime) else None, task, ddl_floor=floor,
                  resolved=not (conn.server.kind == "tidb" and is_ddl_statement(sql)))


async def read_first_answer(own: OwnJob, wait: float = 0.5) -> None:
    """Wait briefly for the statement's answer: a detached TiDB IMPORT INTO answers at once with its job row,
    and that job is the one to follow. (Separate from start_own_job so that a caller holds the OwnJob, and can
    stop it, before anything else is awaited.)"""
    done, _ = await asyncio.wait({own.task}, timeout=wait)
    if done and not own.task.cancelled() and own.task.exception() is None:
        result = own.task.result()
        if result.columns and "Job_ID" in result.columns and result.rows:
            own.source, own.job_id = "import", str(result.rows[0][result.columns.index("Job_ID")])
            own.resolved = True
