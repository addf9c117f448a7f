"""`test-rig gen-data`: deterministic rows for import and load tests, in CSV, TSV or SQL, with the matching
CREATE TABLE, and loading them into the target (LOAD DATA LOCAL INFILE; on TiDB, IMPORT INTO when the
server can read the file).

The same --seed gives the same bytes on every machine. Generation is a tight loop over integers from
one random generator, about a million rows in 2 seconds here (benchmarks/gen_data.py measures it).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import random
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .db import Connection, Target, connect, quote_ident, sql_literal
from .errors import DatabaseError, RigError, UsageError

FORMATS = ("csv", "tsv", "sql")
_WORDS = ("alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india", "juliet", "kilo",
          "lima", "mike", "november", "oscar", "papa")
_BASE = dt.datetime(2024, 1, 1)
CHUNK = 10_000


def create_table_sql(table: str) -> str:
    return (f"CREATE TABLE {quote_ident(table)} (\n  id BIGINT NOT NULL PRIMARY KEY,\n  k INT NOT NULL,\n"
            "  name VARCHAR(32) NOT NULL,\n  amount DECIMAL(12,2) NOT NULL,\n  created DATETIME NOT NULL,\n"
            "  note VARCHAR(64) NOT NULL,\n  KEY k_1 (k)\n)")


COLUMNS = ("id", "k", "name", "amount", "created", "note")


#: Lookup tables, so a row costs a few integer operations and one f-string (no datetime per row).
_DAYS = tuple((_BASE + dt.timedelta(days=d)).strftime("%Y-%m-%d") for d in range(366))
_HM = tuple(f"{h:02d}:{m:02d}" for h in range(24) for m in range(60))
_SS = tuple(f"{s:02d}" for s in range(64))  # 60..63 fold onto 00..03 below


def _lines(first: int, count: int, rng: random.Random, fmt: str) -> list[str]:
    """Rows first..first+count-1 as CSV/TSV lines or SQL value tuples; `rng` drives every value."""
    bits, words, days, hm, ss = rng.getrandbits, _WORDS, _DAYS, _HM, _SS
    out: list[str] = []
    append = out.append
    sep = "," if fmt == "csv" else "\t"
    for i in range(first, first + count):
        r = bits(64)
        cents = (r >> 25) & 0xFFFFFF
        created = f"{days[r % 366]} {hm[(r >> 9) % 1440]}:{ss[((r >> 20) & 63) % 60]}"
        note = f"{words[(r >> 4) & 15]} {words[(r >> 8) & 15]} {r >> 44}"
        name = f"{words[r & 15]}-{i % 9973}"
        if fmt == "sql":
            append(f"({i},{(r >> 49) & 0x7FFF},'{name}',{cents // 100}.{cents % 100:02d},'{created}','{note}')")
        else:
            append(f"{i}{sep}{(r >> 49) & 0x7FFF}{sep}{name}{sep}{cents // 100}.{cents % 100:02d}{sep}{created}{sep}"
                   f"{note}\n")
    return out


@dataclass
class Generated:
    path: Path
    schema_path: Path
    rows: int
    bytes: int
    fmt: str
    table: str

    def to_dict(self) -> dict[str, Any]:
        return {"path": str(self.path), "schema": str(self.schema_path), "rows": self.rows, "bytes": self.bytes,
                "format": self.fmt, "table": self.table}


def generate(path: Path, *, rows: int, fmt: str, seed: int = 0, table: str = "rig_gen",
             progress: Callable[[int], None] | None = None) -> Generated:
    """Write `rows` rows to `path` (CSV and TSV with a header line; SQL as INSERT batches after the
    CREATE TABLE), and the CREATE TABLE to `<path>.schema.sql`. Raises UsageError for a bad path."""
    if fmt not in FORMATS:
        raise UsageError(f"Unknown format {fmt!r}; use one of {', '.join(FORMATS)}.")
    if path.is_dir() or not path.parent.is_dir():
        raise UsageError(f"Cannot write {path}: give a file in an existing directory.")
    rng = random.Random(seed)
    schema_path = path.with_name(path.name + ".schema.sql")
    schema_path.write_text(create_table_sql(table) + ";\n", encoding="utf-8")
    sep = "," if fmt == "csv" else "\t"
    written = 0
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        if fmt == "sql":
            f.write(create_table_sql(table) + ";\n")
        else:
            f.write(sep.join(COLUMNS) + "\n")
        for first in range(1, rows + 1, CHUNK):
            lines = _lines(first, min(CHUNK, rows - first + 1), rng, fmt)
            if fmt == "sql":
                f.write(f"INSERT INTO {quote_ident(table)} VALUES {','.join(lines)};\n")
            else:
                f.write("".join(lines))
            written += len(lines)
            if progress is not None:
                progress(written)
    return Generated(path, schema_path, rows, path.stat().st_size, fmt, table)


@dataclass
class Loaded:
    method: str
    rows_in_table: int
    seconds: float
    note: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"method": self.method, "rows_in_table": self.rows_in_table, "seconds": round(self.seconds, 3),
                "note": self.note}


async def load(target: Target, data: Generated, *, replace_table: bool = True,
               progress: Callable[[float | None], None] | None = None) -> Loaded:
    """Create the table (dropping an old one when `replace_table`) and load the file into it; then count
    the rows. CSV/TSV: LOAD DATA LOCAL INFILE (on TiDB, IMPORT INTO first when the server is on this
    machine, since it reads the file itself). SQL: its statements, batch by batch."""
    loop = asyncio.get_running_loop()
    started = loop.time()
    conn = await connect(target, local_infile=True)
    note = None
    try:
        table = quote_ident(data.table)
        if replace_table:
            await conn.execute(f"DROP TABLE IF EXISTS {table}")
        await conn.execute(create_table_sql(data.table))
        if data.fmt == "sql":
            method = "INSERT batches"
            await _run_sql_file(conn, data, progress)
        else:
            method, note = await _load_delimited(conn, target, data, progress)
        count = int(await conn.scalar(f"SELECT COUNT(*) FROM {table}"))
    finally:
        await conn.close()
    return Loaded(method, count, loop.time() - started, note)


async def _load_delimited(conn: Connection, target: Target, data: Generated,
                          progress: Callable[[float | None], None] | None) -> tuple[str, str | None]:
    sep = "," if data.fmt == "csv" else "\\t"
    path = sql_literal(str(data.path.resolve()))
    note = None
    if conn.server.kind == "tidb" and target.host in ("127.0.0.1", "localhost", "::1"):
        try:
            await conn.execute(f"IMPORT INTO {quote_ident(data.table)} FROM {path} WITH skip_rows=1"
                               + (", fields_terminated_by='\\t'" if data.fmt == "tsv" else ""))
            return "IMPORT INTO", None
        except DatabaseError as e:
            note = f"IMPORT INTO was refused ({e}); loaded with LOAD DATA LOCAL INFILE instead"
    watcher = asyncio.create_task(_watch_load(target, conn.thread_id, progress)) if progress else None
    try:
        await conn.execute(f"LOAD DATA LOCAL INFILE {path} INTO TABLE {quote_ident(data.table)} "
                           f"FIELDS TERMINATED BY '{sep}' LINES TERMINATED BY '\\n' IGNORE 1 LINES "
                           f"({', '.join(COLUMNS)})")
    except DatabaseError as e:
        if e.code in (1148, 2068, 3948):
            raise RigError(f"The server refused LOAD DATA LOCAL INFILE ({e}); enable local_infile on the server "
                           "or load the file another way.") from None
        raise
    finally:
        if watcher is not None:
            watcher.cancel()
    return "LOAD DATA LOCAL INFILE", note


async def _watch_load(target: Target, thread_id: int | None, progress: Callable[[float | None], None]) -> None:
    """Report a LOAD DATA's progress from the server's processlist (MariaDB reports it); elsewhere
    the progress stays unknown."""
    if thread_id is None:
        return
    probe = await connect(target, database=False)
    try:
        while True:
            rows = await probe.query(f"SELECT STAGE, MAX_STAGE, PROGRESS FROM information_schema.PROCESSLIST "
                                     f"WHERE ID = {int(thread_id)}") if probe.server.kind == "mariadb" else []
            stage, max_stage, pct = (float(v or 0) for v in rows[0]) if rows else (0.0, 0.0, 0.0)
            # LOAD DATA LOCAL streams from the client, so the server often cannot know the total: it
            # then reports 0 %, which says nothing; only a moving figure is shown.
            progress(min(1.0, (max(stage, 1) - 1 + pct / 100) / max_stage) if max_stage and pct else None)
            await asyncio.sleep(0.25)
    except (DatabaseError, asyncio.CancelledError):
        pass
    finally:
        await probe.close()


async def _run_sql_file(conn: Connection, data: Generated, progress: Callable[[float | None], None] | None) -> None:
    done = 0
    with open(data.path, encoding="utf-8") as f:
        for line in f:
            if line.startswith("INSERT"):
                await conn.execute(line.rstrip().rstrip(";"))
                done += CHUNK
                if progress is not None:
                    progress(min(1.0, done / max(1, data.rows)))
