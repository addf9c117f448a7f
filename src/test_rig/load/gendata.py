"""`test-rig gen-data`: deterministic rows for import and load tests, in CSV, TSV or SQL, with the matching
CREATE TABLE, and loading them into the target (LOAD DATA LOCAL INFILE; on TiDB, IMPORT INTO when the
server can read the file).

The same --seed gives the same bytes on every machine. Generation is a tight loop over integers from
one random generator, about a million rows in 2 seconds here (benchmarks/gen_data.py measures it).

Nothing the user had is lost: files are written under a temporary name and renamed when complete, an
existing file is only replaced when asked, and a load goes into a new table that is swapped in (one
RENAME TABLE) only when it holds exactly the rows written; anything else, an interrupt included, drops
the new table and leaves the user's table as it was.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import os
import random
import secrets
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from test_rig import timeouts
from test_rig.db import Connection, Target, answer_lost, connect, for_cleanup, quote_ident, sql_literal
from test_rig.errors import DatabaseError, RigError, UsageError
from test_rig.options import option
from test_rig.report.files import Case, Suite, check_writable
from test_rig.results import RunResult

if TYPE_CHECKING:
    from rich.console import Console

#: A progress callback: the phase, the work done and the total (None: not known).
Progress = Callable[[str, int | float | None, int | float | None], None]

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


def schema_path_for(path: Path) -> Path:
    """Where the CREATE TABLE for the data file `path` goes."""
    return path.with_name(path.name + ".schema.sql")


@dataclass(frozen=True)
class GenDataOptions:
    """The gen-data command's options as typed, each with its help (test_rig.options: the command's options are
    made from them)."""

    rows: int | None = option(None, "How many rows.", low=1, high=1_000_000_000, required=True)
    fmt: str = option("csv", choices=("csv", "tsv", "sql"), flag="--format")
    output: str | None = option(None, "Where to write the data.", flag="-o --output", metavar="FILE", required=True)
    force: bool = option(False, "Overwrite FILE (and FILE.schema.sql) if they exist.")
    seed: int = option(0, "The same seed gives the same bytes.")
    table: str = option("rig_gen", "Table name for CREATE TABLE and --load.")
    load: bool = option(False, "Load the file into a new table and swap it in for --table when the row count is "
                        "exact.")
    replace: bool = option(False, "With --load: replace an existing --table (its rows stay until the new ones are "
                           "all loaded).")

    @property
    def path(self) -> Path:
        return Path(self.output or "")

    def check(self, reports: Mapping[str, str | None], connection_flags: Sequence[str] = ()) -> None:
        """check_request for these options; a --table written database.table is refused (it was made as one table
        of that name, `nosuchdb.t`, in the connection's database, and the user was not told)."""
        if "." in self.table:
            database, _, name = self.table.partition(".")
            raise UsageError(f"--table {self.table!r} holds a dot: give the table name alone (--table {name or 't'}) "
                             f"and its database with -d/--database ({database or 'db'}).")
        check_request(self.path, force=self.force, load=self.load, replace=self.replace, reports=reports,
                      connection_flags=connection_flags)


def check_request(path: Path, *, force: bool, load: bool, replace: bool, reports: Mapping[str, str | None],
                  connection_flags: Sequence[str] = ()) -> None:
    """Refuse, before anything is written or loaded, what a run could not do as asked: --replace without
    --load, `connection_flags` (connection options typed) without --load, which connects to nothing, the data
    file (`check_output`), and a report (`reports`: option → path) that is the data file or cannot be written.
    Raises UsageError."""
    if replace and not load:
        raise UsageError("--replace has no effect without --load; add --load or leave --replace out.")
    for flag in connection_flags if not load else ():  # an option for a server nothing is sent to is an error
        raise UsageError(f"{flag} has no effect without --load (gen-data alone connects to nothing); add --load or "
                         f"leave {flag.split('/')[-1]} out.")
    check_output(path, force=force)
    for flag, report in reports.items():
        if report and Path(report).resolve() in (path.resolve(), path.resolve().with_name(path.name + ".schema.sql")):
            raise UsageError(f"{flag} {report} is the data file's own path; choose another name for one of them.")
        if report:
            check_writable(report, flag)


def check_output(path: Path, *, force: bool) -> None:
    """Refuse, before anything runs, a data file (or its schema file) that cannot be written, or that
    exists when `force` is not given. Raises UsageError."""
    if path.is_dir() or not path.parent.is_dir():
        raise UsageError(f"Cannot write {path}: give a file in an existing directory.")
    for target in (path, schema_path_for(path)):
        if target.is_dir():
            raise UsageError(f"Cannot write {target}: it is a directory; choose another -o.")
        if target.exists() and not force:
            raise UsageError(f"{target} already exists; pass --force to overwrite it or choose another -o.")
        check_writable(target, "-o" if target == path else "The schema file")


def _temporary_beside(path: Path) -> Path:
    """A new, unique name in the same directory (so the final rename is atomic), hidden and marked
    partial so that nobody takes it for the finished file."""
    return path.with_name(f".{path.name}.{secrets.token_hex(4)}.partial")


def generate(path: Path, *, rows: int, fmt: str, seed: int = 0, table: str = "rig_gen", force: bool = True,
             progress: Callable[[int], None] | None = None) -> Generated:
    """Write `rows` rows to `path` (CSV and TSV with a header line; SQL as INSERT batches after the
    CREATE TABLE), and the CREATE TABLE to `<path>.schema.sql`. Both are written under temporary names
    and renamed when complete, so an interrupted write leaves the old files (or none), never a
    truncated one. Raises UsageError for a bad path, or an existing file without `force`."""
    if fmt not in FORMATS:
        raise UsageError(f"Unknown format {fmt!r}; use one of {', '.join(FORMATS)}.")
    check_output(path, force=force)
    rng = random.Random(seed)
    schema_path = schema_path_for(path)
    sep = "," if fmt == "csv" else "\t"
    written = 0
    partial_schema, partial_data = _temporary_beside(schema_path), _temporary_beside(path)
    try:
        partial_schema.write_text(create_table_sql(table) + ";\n", encoding="utf-8")
        with open(partial_data, "x", encoding="utf-8", newline="\n") as f:
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
        if not force:
            for final in (schema_path, path):  # appeared while we were writing: still not ours to replace
                if final.exists():
                    raise UsageError(f"{final} already exists; pass --force to overwrite it or choose another -o.")
        os.replace(partial_schema, schema_path)
        os.replace(partial_data, path)  # last: a complete data file exists only once everything is written
    except OSError as e:
        raise RigError(f"Could not write {path}: {e.strerror or e}; free some space or choose another -o.") from None
    finally:
        for leftover in (partial_schema, partial_data):
            with contextlib.suppress(OSError):
                leftover.unlink()
    return Generated(path, schema_path, rows, path.stat().st_size, fmt, table)


@dataclass
class Loaded:
    method: str
    #: rows in the user's table afterwards: the new rows when they were swapped in, else the old count
    #: (None when there was no table)
    rows_in_table: int | None
    seconds: float
    note: str | None = None
    #: rows the new table held before the swap
    rows_loaded: int = 0
    #: whether the new rows are now the table (only when rows_loaded was exactly the rows written)
    swapped: bool = False
    #: whether a table of that name existed before, and was replaced by the swap
    replaced: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {"method": self.method, "rows_in_table": self.rows_in_table, "rows_loaded": self.rows_loaded,
                "swapped": self.swapped, "replaced": self.replaced, "seconds": round(self.seconds, 3),
                "note": self.note}


async def _table_rows(conn: Connection, table: str) -> int | None:
    """Rows in `table` of the connection's database, None when there is no such table."""
    found = await conn.scalar("SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() "
                              f"AND TABLE_NAME = {sql_literal(table)}")
    if not int(found or 0):
        return None
    return int(await conn.scalar(f"SELECT COUNT(*) FROM {quote_ident(table)}"))


def _refuse_existing(target: Target, table: str) -> UsageError:
    return UsageError(f"Table {target.database}.{table} already exists; pass --replace to replace it (its rows are "
                      "kept until the new ones are all loaded) or choose another --table.")


async def check_table(target: Target, table: str, *, replace: bool) -> bool:
    """Before any work: whether `table` exists in the target database. Raises UsageError when it does
    and `replace` is not given, or when the name is too long for the new table beside it."""
    if not 0 < len(table) <= 64:
        raise UsageError(f"--table {table!r} must be 1 to 64 characters long; choose a shorter name.")
    conn = await connect(target)
    try:
        exists = await _table_rows(conn, table) is not None
    finally:
        await conn.close()
    if exists and not replace:
        raise _refuse_existing(target, table)
    return exists


def staging_name(table: str) -> str:
    """The new table a load fills before it is swapped in: unique per run, at most 64 characters."""
    return f"{table[:40]}__rig_load_{secrets.token_hex(4)}"


async def load(target: Target, data: Generated, *, replace_table: bool = False,
               progress: Callable[[float | None], None] | None = None,
               notify: Callable[[str], None] | None = None, left: list[str] | None = None) -> Loaded:
    """Load the file into a new table, count its rows, and swap it in with one RENAME TABLE only when
    the count is exactly the rows written; otherwise drop it and leave the table as it was.

    CSV/TSV: LOAD DATA LOCAL INFILE (on TiDB, IMPORT INTO first when the server is on this machine,
    since it reads the file itself). SQL: its statements, batch by batch. An existing table is replaced
    only with `replace_table` (else UsageError). An error or cancellation (Ctrl-C, SIGTERM) stops the
    load on the server, drops the new table and says so through `notify` before it propagates (a table it could
    not drop is added to `left`, as `database.table`)."""
    loop = asyncio.get_running_loop()
    started = loop.time()
    table, staging = data.table, staging_name(data.table)
    old = f"{table[:40]}__rig_old_{secrets.token_hex(4)}"
    conn = await connect(target, local_infile=True)
    phase = "checking"  # then "creating" (CREATE sent), "loading", "swapping" (RENAME sent), "swapped"
    old_rows: int | None = None
    try:
        old_rows = await _table_rows(conn, table)
        if old_rows is not None and not replace_table:
            raise _refuse_existing(target, table)
        phase = "creating"  # an interrupt or a lost answer may leave it made all the same: dropped if it is there
        try:
            await conn.execute(create_table_sql(staging))
        except BaseException as e:
            if not answer_lost(e):  # refused: nothing was made
                phase = "checking"
            raise
        phase = "loading"
        note = None
        if data.fmt == "sql":
            method = "INSERT batches"
            await _run_sql_file(conn, data, staging, progress)
        else:
            method, note = await _load_delimited(conn, target, data, staging, progress)
        count = int(await conn.scalar(f"SELECT COUNT(*) FROM {quote_ident(staging)}"))
        if count != data.rows:
            await conn.execute(f"DROP TABLE {quote_ident(staging)}")
            phase = "checking"
            return Loaded(method, old_rows, loop.time() - started, note, rows_loaded=count)
        phase = "swapping"
        await _swap(conn, target, table, staging, old, replace=replace_table)
        phase = "swapped"
        await conn.execute(f"DROP TABLE IF EXISTS {quote_ident(old)}")
        return Loaded(method, count, loop.time() - started, note, rows_loaded=count, swapped=True,
                      replaced=old_rows is not None)
    except BaseException:
        if phase != "checking":
            # In a task of its own, as db.drop_schema and db.drop_tables run: its time limits then count in a task
            # that is not being cancelled (before timeouts.timeout, Python 3.11.2's asyncio.timeout turned their
            # expiry, in this task, into the interrupt's CancelledError, and the clean-up never said what it left).
            said = await asyncio.shield(_clean_up(conn, target, data, staging, old, phase=phase,
                                                  had_table=old_rows is not None, left=left))
            if notify is not None:
                notify(said)
        raise
    finally:
        if not conn.closed:
            await conn.close()


async def _swap(conn: Connection, target: Target, table: str, staging: str, old: str, *, replace: bool) -> None:
    """Put the new table in place of `table` atomically: one RENAME TABLE of both, so no reader ever
    sees the table missing or half loaded."""
    t, s, o = quote_ident(table), quote_ident(staging), quote_ident(old)
    exists = await _table_rows(conn, table) is not None
    if exists and not replace:  # it appeared while loading
        raise _refuse_existing(target, table)
    await conn.execute(f"RENAME TABLE {t} TO {o}, {s} TO {t}" if exists else f"RENAME TABLE {s} TO {t}")


async def _clean_up(conn: Connection, target: Target, data: Generated, staging: str, old: str, *, phase: str,
                    had_table: bool, left: list[str] | None = None) -> str:
    """After an error or an interrupt: stop what `conn` was doing on the server, drop what the load made,
    and say in one sentence what the user's table now holds. The statement may have been cut off
    mid-way, so the connection is dropped and the work is done on a new one, within a bounded time.
    An interrupted RENAME either happened or did not: the new table's name tells which."""
    thread_id = conn.thread_id
    conn.abort()
    where = f"{target.database}.{data.table}"
    swapped = phase == "swapped"
    killed = thread_id is None or phase == "swapped"  # nothing of the load's can still run on the server

    async def tidy() -> None:
        nonlocal swapped, killed
        # a server that does not answer a new connection soon will not answer the DROP either (db.drop_schema)
        admin = await connect(for_cleanup(target))
        try:
            if thread_id is not None:
                # The connection itself, which was dropped here: KILL QUERY left a LOAD DATA LOCAL waiting in its
                # network read for the rest of the file (the server had not seen the socket close, as behind a
                # proxy) until net_read_timeout, 30 s, holding its table's lock, so the DROP below waited with it.
                with contextlib.suppress(DatabaseError):
                    await admin.execute(f"KILL {int(thread_id)}")
                killed = True
            if phase == "swapping":
                swapped = await _table_rows(admin, staging) is None
            await admin.execute(f"DROP TABLE IF EXISTS {quote_ident(old if swapped else staging)}")
        finally:
            await admin.close()

    try:
        async with timeouts.timeout(60):  # not wait_for, which can drop a cancellation as the tidying ends
            await tidy()
        problem = None
    except (DatabaseError, TimeoutError) as e:
        problem = str(e) or "no answer within 60 s"
        if left is not None:
            left.append(f"{target.database}.{old if swapped else staging}")
    if swapped:
        head = f"{where} holds the {data.rows} new rows"
        return (f"{head}; the old rows were removed." if problem is None else
                f"{head}; the old rows are still in {target.database}.{old} ({problem}): drop it by hand.")
    head = f"{where} was left as it was" if had_table else f"{where} was not created"
    running = "" if killed else f" (its load, connection {thread_id}, may still be running there)"
    return (f"{head}; the partial new table was removed." if problem is None else
            f"{head}, but the partial new table {target.database}.{staging} could not be removed ({problem}){running}:"
            " drop it by hand.")


async def _load_delimited(conn: Connection, target: Target, data: Generated, into: str,
                          progress: Callable[[float | None], None] | None) -> tuple[str, str | None]:
    sep = "," if data.fmt == "csv" else "\\t"
    path = sql_literal(str(data.path.resolve()))
    note = None
    if conn.server.kind == "tidb" and target.host in ("127.0.0.1", "localhost", "::1"):
        try:
            await conn.execute(f"IMPORT INTO {quote_ident(into)} FROM {path} WITH skip_rows=1"
                               + (", fields_terminated_by='\\t'" if data.fmt == "tsv" else ""))
            return "IMPORT INTO", None
        except DatabaseError as e:
            note = f"IMPORT INTO was refused ({e}); loaded with LOAD DATA LOCAL INFILE instead"
    watcher = asyncio.create_task(_watch_load(target, conn.thread_id, progress)) if progress else None
    # The statement runs as a task of its own: asyncmy answers a cancellation of LOAD DATA LOCAL by sending the
    # end-of-file packet and waiting for it to drain, which a server that has stopped reading (gone silent) never
    # lets happen, so the cancellation would never arrive. An interrupt aborts the connection instead (the
    # server then drops the half-sent load; `load` cleans up on a new one) and waits for the task to end.
    statement = asyncio.ensure_future(conn.execute(
        f"LOAD DATA LOCAL INFILE {path} INTO TABLE {quote_ident(into)} FIELDS TERMINATED BY '{sep}' "
        f"LINES TERMINATED BY '\\n' IGNORE 1 LINES ({', '.join(COLUMNS)})"))
    try:
        await asyncio.shield(statement)
    except asyncio.CancelledError:
        conn.abort()
        with contextlib.suppress(BaseException):
            await statement
        raise
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


async def _run_sql_file(conn: Connection, data: Generated, into: str,
                        progress: Callable[[float | None], None] | None) -> None:
    """The file's INSERT batches, aimed at the new table `into` instead of the one they name."""
    done = 0
    prefix = f"INSERT INTO {quote_ident(data.table)} VALUES "
    with open(data.path, encoding="utf-8") as f:
        for line in f:
            if line.startswith(prefix):
                await conn.execute(f"INSERT INTO {quote_ident(into)} VALUES {line[len(prefix):].rstrip().rstrip(';')}")
                done += CHUNK
                if progress is not None:
                    progress(min(1.0, done / max(1, data.rows)))


@dataclass
class GenDataRun:
    """What a gen-data run did: the file written and, with a load, what the target's table now holds; also
    when it was interrupted (then `complete` is False and `table_state` says whether the old rows stayed or
    the complete new set was swapped in)."""

    generated: Generated | None = None
    loaded: Loaded | None = None
    #: what the user's table holds now, in one sentence (None without a load)
    table_state: str | None = None
    complete: bool = True
    error: str | None = None
    #: the signal's stop, when SIGINT or SIGTERM ended the run
    interrupted: KeyboardInterrupt | None = None
    #: the tables the load made and could not drop (`database.table`): the run fails, and every report says so
    left_on_server: list[str] = field(default_factory=list)

    def to_result(self) -> RunResult:
        loaded = self.loaded
        error = self.error
        if error is None and loaded is not None and not loaded.swapped and self.generated is not None:
            error = (f"the load gave {loaded.rows_loaded} rows, expected {self.generated.rows}; "
                     f"{(self.table_state or '').rstrip('.')}")
        payload: dict[str, Any] = {} if self.generated is None else {"generated": self.generated.to_dict()}
        if loaded is not None:
            payload["loaded"] = loaded.to_dict()
        if self.table_state is not None:
            payload["table_state"] = self.table_state
        if self.left_on_server:
            payload["left_on_server"] = self.left_on_server
        return RunResult("gen-data", ok=error is None and self.complete, complete=self.complete, error=error,
                         payload=payload)


    def junit_suite(self, table: str, *, loading: bool) -> Suite:
        """A case for writing the file and, with a load, one for loading it (a failure with the reason when the
        new rows were not swapped in); an interrupted step has none (the report adds the interruption's)."""
        suite = Suite("gen-data")
        if self.generated is not None:
            suite.add(Case(f"generate {self.generated.rows} rows", "gen-data", output=str(self.generated.path)))
        loaded = self.loaded
        if loaded is not None or (loading and self.generated is not None and self.complete):
            suite.add(Case(f"load into {table}", "gen-data", None if loaded is None else loaded.seconds,
                           failure=None if loaded is not None and loaded.swapped else self.to_result().error,
                           output=self.table_state))
        return suite


def run_gen_data(path: Path, *, rows: int, fmt: str, seed: int, table: str, force: bool, target: Target | None,
                 replace: bool = False, notify: Callable[[str], None] | None = None,
                 progress: Progress | None = None) -> GenDataRun:
    """The gen-data command's run: check the table (UsageError before anything is written), write the file
    (`generate`), and with a `target` load it into a new table swapped in only when it holds every row
    (`load`). Each step is said through `notify`; `progress(phase, done, total)` follows the work. SIGINT or
    SIGTERM at any point returns the run so far, `complete=False`, with what the table holds then."""
    from test_rig.environment import run_async

    say = notify or (lambda _: None)
    run = GenDataRun()
    where = f"{target.database}.{table}" if target is not None else None
    existed = False
    try:
        if target is not None:
            existed = run_async(lambda: check_table(target, table, replace=replace))
        run.generated = generate(path, rows=rows, fmt=fmt, seed=seed, table=table, force=force,
                                 progress=None if progress is None else lambda n: progress("generating", n, rows))
        data = run.generated
        say(f"wrote {data.rows} rows ({data.bytes} bytes) to {data.path}; CREATE TABLE in {data.schema_path}")
        if target is None:
            return run
        run.table_state = (f"{where} was left as it was" if existed else f"{where} was not created") + \
            "; nothing was loaded."
        say(f"loading into a new table, swapped in for {where} once it holds all {rows} rows"
            + (f" (the old {where} stays until then)" if existed else ""))

        def cleaned(said: str) -> None:
            run.table_state = said
            say(said)

        run.loaded = run_async(lambda: load(
            target, data, replace_table=replace, notify=cleaned, left=run.left_on_server,
            progress=None if progress is None else lambda p: progress(f"loading into {where}", p, None if p is None
                                                                      else 1.0)))
        loaded = run.loaded
        if loaded.swapped:
            run.table_state = f"{where} holds the {loaded.rows_in_table} new rows" + (
                "; the old rows were removed." if loaded.replaced else ".")
        else:
            run.table_state = (f"the new rows were discarded and {where} "
                               + ("was left as it was." if existed else "was not created."))
    except KeyboardInterrupt as e:  # the load cleaned up (dropped its new table) and said so, through `cleaned`
        run.complete, run.interrupted = False, e
        run.error = f"interrupted by {getattr(e, 'signal_name', 'SIGINT')}"
    except UsageError:
        raise
    except RigError as e:
        if run.generated is None or target is None:  # the file could not be written: nothing to report beside it
            raise
        # The load failed on the server (it cleaned up and said what the table holds, through `cleaned`).
        run.error = f"the load failed: {e}; {(run.table_state or '').rstrip('.')}"
    return run


@contextlib.contextmanager
def progress_bars(console: Console) -> Iterator[Progress]:
    """A progress bar per phase (generating, loading) on a terminal, nothing elsewhere; yields the run's
    `progress` callback."""
    from rich.progress import BarColumn, TaskID, TaskProgressColumn, TextColumn, TimeElapsedColumn
    from rich.progress import Progress as Bars

    with Bars(TextColumn("{task.description}"), BarColumn(), TaskProgressColumn(), TimeElapsedColumn(),
              console=console, disable=not console.is_terminal) as bars:
        tasks: dict[str, TaskID] = {}

        def progress(phase: str, done: float | None, total: float | None) -> None:
            if phase not in tasks:
                tasks[phase] = bars.add_task(phase, total=total)
            bars.update(tasks[phase], total=total, completed=done or 0)

        yield progress


def render(console: Console, run: GenDataRun, where: str) -> None:
    """How the load into `where` (database.table) ended, from the run (what was written was said as it
    happened)."""
    loaded = run.loaded
    if loaded is None:
        return
    if loaded.note:
        console.print(f"note: {loaded.note}", markup=False)
    console.print(f"loaded with {loaded.method} in {loaded.seconds:.1f} s: "
                  + (f"{loaded.rows_in_table} rows in {where}" + (" (replacing the old table)" if loaded.replaced
                                                                  else "")
                     if loaded.swapped else str(run.to_result().error)), markup=False)
