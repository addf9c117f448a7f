"""One model for every kind of long-running job, and the pure parsers that turn a server's rows into it.

Parsers read columns by name, so a layout that adds columns (TiDB 8's SHOW IMPORT JOB, newer ADMIN
SHOW DDL JOBS) parses as well as the older one. They are pure: rows in, Jobs out; times stay in the
server's clock and are compared only with the server's own NOW().
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

PENDING, RUNNING, PAUSED = "pending", "running", "paused"
FINISHED, FAILED, CANCELLED, UNKNOWN = "finished", "failed", "cancelled", "ended (outcome unknown)"
#: Statuses after which a job never changes again.
ENDED = frozenset({FINISHED, FAILED, CANCELLED, UNKNOWN})
#: The most progress a job that has not finished can show: 100 % means finished, nothing else does.
UNFINISHED_CAP = 0.999

Row = Mapping[str, Any]


@dataclass
class Job:
    """A job as one poll saw it. Times are the server's (naive, in its time zone)."""

    id: str
    kind: str  # import | ddl | statement
    target: str | None
    status: str
    phase: str | None = None
    progress: float | None = None  # 0..1 over the whole job, when the server says
    rows_done: int | None = None
    rows_total: int | None = None
    #: rows_total is the server's estimate (table statistics), not a count.
    rows_total_estimated: bool = False
    bytes_done: int | None = None
    bytes_total: int | None = None
    speed: float | None = None  # bytes (import) or rows (others) per second
    eta_seconds: float | None = None
    create_time: dt.datetime | None = None
    start_time: dt.datetime | None = None
    end_time: dt.datetime | None = None
    last_update: dt.datetime | None = None
    message: str | None = None
    detail: dict[str, Any] = field(default_factory=dict)

    @property
    def ended(self) -> bool:
        return self.status in ENDED

    def elapsed(self, server_now: dt.datetime) -> float | None:
        """Seconds the job has run, in the server's clock (never local time against server time)."""
        if self.start_time is None:
            return None
        end = self.end_time or server_now
        return max(0.0, (end - self.start_time).total_seconds())

    def to_dict(self) -> dict[str, Any]:
        def iso(t: dt.datetime | None) -> str | None:
            return t.isoformat(sep=" ") if t is not None else None

        return {"id": self.id, "kind": self.kind, "target": self.target, "status": self.status, "phase": self.phase,
                "progress": self.progress, "rows_done": self.rows_done, "rows_total": self.rows_total,
                "rows_total_estimated": self.rows_total_estimated,
                "bytes_done": self.bytes_done, "bytes_total": self.bytes_total, "speed": self.speed,
                "eta_seconds": self.eta_seconds, "create_time": iso(self.create_time),
                "start_time": iso(self.start_time), "end_time": iso(self.end_time),
                "last_update": iso(self.last_update), "message": self.message,
                "detail": {k: (iso(v) if isinstance(v, dt.datetime) else v) for k, v in self.detail.items()}}


def capped(progress: float | None, status: str) -> float | None:
    """Progress as it may be shown: 1.0 for a finished job, below 1.0 for any other, whatever the server's
    counters say (stale statistics, a step at 100 % with steps after it)."""
    if status == FINISHED:
        return 1.0
    if progress is None:
        return None
    return max(0.0, min(UNFINISHED_CAP, progress))


# --------------------------------------------------------------------------- value parsing

_MAX_ID = 2**63 - 1  # job ids and session ids are BIGINTs on every server


def job_id_problem(text: str) -> str | None:
    """Why `text` is not a job id (a whole number from 1 to 2**63-1), as one sentence; None when it is one.
    Checked before anything is sent to the server, so an id is never pasted into SQL unchecked."""
    value = text.strip()
    if re.fullmatch(r"[+-]?[0-9]+", value) is None:
        return f"Job id {text!r} is not a number; give the id that job-monitor lists."
    if not 1 <= int(value) <= _MAX_ID:
        return (f"Job id {value} is out of range: job ids are whole numbers from 1 to {_MAX_ID}; give the id that "
                "job-monitor lists.")
    return None

_UNITS = {"": 1, "B": 1, "K": 1000, "KB": 1000, "M": 1000**2, "MB": 1000**2, "G": 1000**3, "GB": 1000**3,
          "T": 1000**4, "TB": 1000**4, "P": 1000**5, "PB": 1000**5, "KIB": 1024, "MIB": 1024**2, "GIB": 1024**3,
          "TIB": 1024**4, "PIB": 1024**5}
_SIZE = re.compile(r"^\s*([0-9]+(?:\.[0-9]+)?)\s*([KMGTP]?I?B?)\s*(?:/S)?\s*$", re.I)


def parse_size(value: Any) -> int | None:
    """Bytes from a number or a human size as TiDB prints it ("11GB", "1.5GiB", "2.052MB/s", "512B")."""
    if value is None or value == "":
        return None
    if isinstance(value, int | float):
        return int(value)
    m = _SIZE.match(str(value))
    if not m:
        return None
    unit = m.group(2).upper()
    if unit not in _UNITS:
        return None
    return int(float(m.group(1)) * _UNITS[unit])


def parse_int(value: Any) -> int | None:
    if value is None or value == "":
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def parse_time(value: Any) -> dt.datetime | None:
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        return value
    text = str(value).strip()
    for fmt in ("%Y-%m-%d %H:%M:%S.%f", "%Y-%m-%d %H:%M:%S"):
        try:
            return dt.datetime.strptime(text, fmt)
        except ValueError:
            continue
    return None


def parse_percent(value: Any) -> float | None:
    """0..1 from "50%", "50.5", 50 (a percentage)."""
    if value is None or value == "":
        return None
    text = str(value).strip().rstrip("%").strip()
    try:
        return max(0.0, min(1.0, float(text) / 100.0))
    except ValueError:
        return None


def parse_duration(value: Any) -> float | None:
    """Seconds from "HH:MM:SS", "1h2m3s", "3.5s" or a number of seconds."""
    if value is None or value == "" or value == "N/A":
        return None
    if isinstance(value, int | float):
        return float(value)
    text = str(value).strip()
    m = re.match(r"^(\d+):(\d{2}):(\d{2})$", text)
    if m:
        return int(m.group(1)) * 3600 + int(m.group(2)) * 60 + int(m.group(3))
    parts = re.findall(r"(\d+(?:\.\d+)?)(h|ms|m|s)", text)
    if parts and "".join(a + b for a, b in parts) == text:
        scale = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001}
        return sum(float(a) * scale[b] for a, b in parts)
    return None


def _get(row: Row, *names: str) -> Any:
    """A column by name, case-insensitively (servers and versions differ in case)."""
    lowered = {k.lower(): v for k, v in row.items()}
    for name in names:
        if name.lower() in lowered:
            return lowered[name.lower()]
    return None


def _text(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


# --------------------------------------------------------------------------- TiDB IMPORT INTO

IMPORT_STATUS = {"pending": PENDING, "running": RUNNING, "finished": FINISHED, "failed": FAILED,
                 "cancelled": CANCELLED, "canceled": CANCELLED}


def import_job(row: Row) -> Job:
    """A row of SHOW IMPORT JOBS / SHOW IMPORT JOB <id>, in the v7 (13 columns) or v8 (21) layout."""
    raw_status = (_text(_get(row, "Status")) or "").lower()
    status = IMPORT_STATUS.get(raw_status, raw_status or UNKNOWN)
    total = parse_size(_get(row, "Source_File_Size"))
    step = _text(_get(row, "Cur_Step"))
    step_done = parse_size(_get(row, "Cur_Step_Processed_Size"))
    step_total = parse_size(_get(row, "Cur_Step_Total_Size"))
    progress = parse_percent(_get(row, "Cur_Step_Progress_Pct"))
    if progress is None and step_done is not None and step_total:
        progress = step_done / step_total
    progress = capped(progress, status)
    phase = _text(_get(row, "Phase"))
    return Job(
        id=str(_get(row, "Job_ID")), kind="import", target=_text(_get(row, "Target_Table")), status=status,
        phase=" / ".join(p for p in (phase, step) if p) or None, progress=progress,
        rows_done=parse_int(_get(row, "Imported_Rows")), bytes_done=step_done,
        bytes_total=step_total if step_total is not None else total,
        speed=parse_size(_get(row, "Cur_Step_Speed")), eta_seconds=parse_duration(_get(row, "Cur_Step_ETA")),
        create_time=parse_time(_get(row, "Create_Time")), start_time=parse_time(_get(row, "Start_Time")),
        end_time=parse_time(_get(row, "End_Time")), last_update=parse_time(_get(row, "Last_Update_Time")),
        message=_text(_get(row, "Result_Message")), detail=dict(row))


# --------------------------------------------------------------------------- TiDB DDL

DDL_STATE = {"none": PENDING, "queueing": PENDING, "running": RUNNING, "rollingback": RUNNING,
             "cancelling": RUNNING, "pausing": RUNNING, "paused": PAUSED, "synced": FINISHED, "done": FINISHED,
             "rollback done": FAILED, "cancelled": CANCELLED}
#: DDL jobs that rewrite or scan the table's rows, whose ROW_COUNT measures progress.
REORG_TYPES = ("add index", "add primary key", "modify column", "reorganize partition", "alter table multi-schema")


#: What COMMENTS holds on a healthy job: how the reorganisation runs, not why a job failed.
_REORG_OPTIONS = re.compile(r"^(txn|txn-merge|ingest|dxf|cloud|[a-z_]+=\S*)$", re.I)


def ddl_job(row: Row, table_rows: int | None = None, *, estimated: bool = False) -> Job:
    """A row of ADMIN SHOW DDL JOBS; `table_rows` (the table's rows, `estimated` when they come from
    statistics) turns ROW_COUNT into progress for jobs that reorganise data (ADD INDEX and friends)."""
    state = (_text(_get(row, "STATE")) or "").lower()
    status = DDL_STATE.get(state, state or UNKNOWN)
    job_type = (_text(_get(row, "JOB_TYPE")) or "").lower()
    rows_done = parse_int(_get(row, "ROW_COUNT"))
    progress: float | None = None
    total = table_rows if job_type.startswith(REORG_TYPES) else None
    if total and rows_done is not None:
        progress = rows_done / total
    progress = capped(progress, status)
    db, table = _text(_get(row, "DB_NAME")), _text(_get(row, "TABLE_NAME"))
    message = None
    if state == "rollback done":
        comments = _text(_get(row, "COMMENTS"))
        options = [part.strip() for part in (comments or "").split(",")]
        reason = None if comments is None or all(_REORG_OPTIONS.match(p) for p in options) else comments
        message = "the job was rolled back" + (f": {reason}" if reason else "")
    return Job(
        id=str(_get(row, "JOB_ID")), kind="ddl", target=".".join(p for p in (db, table) if p) or None, status=status,
        phase=" / ".join(p for p in (job_type or None, _text(_get(row, "SCHEMA_STATE"))) if p) or None,
        progress=progress, rows_done=rows_done, rows_total=total, rows_total_estimated=bool(total) and estimated,
        create_time=parse_time(_get(row, "CREATE_TIME")), start_time=parse_time(_get(row, "START_TIME")),
        end_time=parse_time(_get(row, "END_TIME")), message=message, detail=dict(row))


# --------------------------------------------------------------------------- MariaDB processlist, MySQL stages


def processlist_job(row: Row, server_now: dt.datetime) -> Job:
    """A MariaDB information_schema.PROCESSLIST row of a statement that reports progress. PROGRESS is
    the percent within the current stage; overall progress counts the stages already done."""
    stage, max_stage = parse_int(_get(row, "STAGE")) or 0, parse_int(_get(row, "MAX_STAGE")) or 0
    within = parse_percent(_get(row, "PROGRESS"))
    progress = None
    if max_stage > 0 and within is not None:
        progress = capped((max(stage, 1) - 1 + within) / max_stage, RUNNING)
    time_ms = _get(row, "TIME_MS")
    started = server_now - dt.timedelta(milliseconds=float(time_ms)) if time_ms is not None else None
    info = _text(_get(row, "INFO"))
    db = _text(_get(row, "DB"))
    return Job(id=str(_get(row, "ID")), kind="statement", target=statement_target(info, db), status=RUNNING,
               phase=f"stage {stage} of {max_stage}" if max_stage else _text(_get(row, "STATE")), progress=progress,
               start_time=started, message=None, detail={"info": info, "state": _text(_get(row, "STATE")),
                                                         "db": db, "user": _text(_get(row, "USER"))})


def stages_job(row: Row, server_now: dt.datetime) -> Job:
    """A MySQL 8 performance_schema.events_stages_current row joined with the thread's statement."""
    done, estimated = parse_int(_get(row, "WORK_COMPLETED")), parse_int(_get(row, "WORK_ESTIMATED"))
    progress = capped(done / estimated, RUNNING) if done is not None and estimated else None
    info = _text(_get(row, "SQL_TEXT"))
    db = _text(_get(row, "CURRENT_SCHEMA"))
    seconds = _get(row, "TIME")
    return Job(id=str(_get(row, "PROCESSLIST_ID")), kind="statement", target=statement_target(info, db),
               status=RUNNING, phase=_text(_get(row, "EVENT_NAME")), progress=progress, rows_done=done,
               rows_total=estimated,
               start_time=server_now - dt.timedelta(seconds=float(seconds)) if seconds is not None else None,
               detail={"info": info, "db": db})


_TARGET = re.compile(r"^\s*(?:ALTER\s+(?:ONLINE\s+|IGNORE\s+)*TABLE|CREATE\s+(?:UNIQUE\s+|FULLTEXT\s+|SPATIAL\s+)?"
                     r"INDEX\s+\S+\s+ON|OPTIMIZE\s+TABLE|LOAD\s+DATA\s+.*?INTO\s+TABLE|INSERT\s+INTO|IMPORT\s+INTO)"
                     r"\s+(`[^`]+`(?:\.`[^`]+`)?|[\w$]+(?:\.[\w$]+)?)", re.I | re.S)


def statement_target(sql: str | None, db: str | None) -> str | None:
    """db.table a statement works on, when its text says (ALTER TABLE, CREATE INDEX, LOAD DATA, ...)."""
    if not sql:
        return None
    m = _TARGET.match(sql)
    if not m:
        return None
    name = m.group(1).replace("`", "")
    return name if "." in name or not db else f"{db}.{name}"
