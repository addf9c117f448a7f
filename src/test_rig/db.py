"""Connections: the asyncmy driver behind a small seam, TLS, server detection and dialect differences.

Everything above this module sees `Connection` and test-rig's own errors; driver exceptions are
translated here, once.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import re
import ssl
import threading
from collections.abc import Coroutine, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, ClassVar

from test_rig import timeouts
from test_rig.config import AppConfig, ConnectionTarget, DatabaseConfig, SessionValue, split_host
from test_rig.errors import (
    ConfigError,
    DatabaseError,
    ErrorContext,
    RigError,
    TimeoutError_,
    TlsError,
    error_code,
    is_lost_connection,
    translate,
)

Row = tuple[Any, ...]

log = logging.getLogger("test_rig.db")
#: Seconds a close waits at most for the KILL QUERY of its statement in flight (_Killer.KILL_SECONDS: one KILL's).
_KILL_BUDGET = 3.0
# Server warnings are not errors; the library user opts in to seeing them with debug logging.
logging.getLogger("asyncmy").setLevel(logging.ERROR)


def quote_ident(name: str) -> str:
    """Quote an identifier for MySQL/MariaDB/TiDB (backticks, embedded backticks doubled)."""
    if "\x00" in name:
        raise ConfigError(f"Identifier {name!r} contains a NUL byte; choose another name.")
    return "`" + name.replace("`", "``") + "`"


def sql_literal(value: SessionValue) -> str:
    if isinstance(value, bool):
        return "ON" if value else "OFF"
    if isinstance(value, int | float):
        return repr(value)
    return "'" + value.replace("\\", "\\\\").replace("'", "''") + "'"


ISOLATION_LEVELS = ("read-uncommitted", "read-committed", "repeatable-read", "serializable")


@dataclass(frozen=True)
class ServerInfo:
    """What kind of server answered and the differences later features need."""

    kind: str  # "tidb" | "mariadb" | "mysql"
    version: str
    txn_mode: str | None = None  # TiDB's tidb_txn_mode

    @staticmethod
    def from_version(version: str, txn_mode: str | None = None) -> ServerInfo:
        lowered = version.lower()
        kind = "tidb" if "tidb" in lowered else "mariadb" if "mariadb" in lowered else "mysql"
        return ServerInfo(kind, version, txn_mode)

    @property
    def numeric_version(self) -> tuple[int, ...]:
        text = self.version
        if self.kind == "tidb":
            m = re.search(r"tidb-v(\d+(?:\.\d+)*)", text, re.I)
            text = m.group(1) if m else "0"
        m = re.match(r"(\d+(?:\.\d+)*)", text)
        return tuple(int(p) for p in m.group(1).split(".")) if m else (0,)

    @property
    def isolation_variable(self) -> str:
        """Session variable holding the isolation level on this server."""
        if self.kind == "mariadb" and self.numeric_version < (11, 1):
            return "tx_isolation"
        return "transaction_isolation"

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"kind": self.kind, "version": self.version}
        if self.txn_mode is not None:
            out["txn_mode"] = self.txn_mode
        return out


@dataclass
class Result:
    rows: list[Row] = field(default_factory=list)
    rowcount: int = 0
    columns: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Target:
    """Where one connection goes. `password` is only ever handed to the driver."""

    name: str
    host: str
    port: int
    user: str
    password: str
    database: str | None
    timeout_secs: float
    ssl_mode: str = "disabled"
    ssl_ca: str | None = None
    ssl_cert: str | None = None
    ssl_key: str | None = None
    session_variables: Mapping[str, SessionValue] = field(default_factory=dict)

    @property
    def address(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"

    def __repr__(self) -> str:  # never show the password
        return f"Target(name={self.name!r}, address={self.address!r}, user={self.user!r}, db={self.database!r})"

    def context(self, operation: str, query: str | None = None) -> ErrorContext:
        return ErrorContext(operation=operation, host=self.address, database=self.database,
                            user=self.user, query=query)

    def with_database(self, database: str | None) -> Target:
        from dataclasses import replace

        return replace(self, database=database)

    @staticmethod
    def from_config(cfg: AppConfig, entry: ConnectionTarget | None = None) -> Target:
        db: DatabaseConfig = cfg.database
        host_port = entry.host if entry and entry.host else db.host
        host, port = split_host(host_port)
        password = db.password_value()
        if entry and entry.password is not None:
            password = entry.password.get_secret_value()
        return Target(
            name=entry.name if entry else "default",
            host=host,
            port=port,
            user=entry.username if entry and entry.username else db.username,
            password=password,
            database=entry.database if entry and entry.database else db.database,
            timeout_secs=db.timeout_secs,
            ssl_mode=db.ssl_mode,
            ssl_ca=db.ssl_ca,
            ssl_cert=db.ssl_cert,
            ssl_key=db.ssl_key,
            session_variables=dict(cfg.session_variables),
        )


def targets_for(cfg: AppConfig, count: int) -> list[Target]:
    """`count` targets: the configured `connections` in turn, or the main server for all."""
    if cfg.connections:
        return [Target.from_config(cfg, cfg.connections[i % len(cfg.connections)]) for i in range(count)]
    return [Target.from_config(cfg) for _ in range(count)]


def ssl_context(target: Target) -> ssl.SSLContext | None:
    mode = target.ssl_mode
    if mode == "disabled":
        return None
    try:
        if mode in ("verify-ca", "verify-identity"):
            ctx = ssl.create_default_context(cafile=target.ssl_ca)
            ctx.check_hostname = mode == "verify-identity"
        else:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
        if target.ssl_cert:
            ctx.load_cert_chain(target.ssl_cert, target.ssl_key)
    except (OSError, ssl.SSLError) as e:
        raise ConfigError(f"TLS files could not be loaded ({e}); check database.ssl_ca, ssl_cert "
                          "and ssl_key.") from e
    return ctx


class Connection:
    """One live server connection.

    `await conn.execute(sql)` returns a Result; `await conn.query(sql)` returns rows.
    `conn.execute_query(sql)` is for handlers: in a plain (thread-run) handler it blocks that
    thread and returns rows; in a coroutine handler it returns an awaitable.
    """

    def __init__(self, raw: Any, target: Target, server: ServerInfo, loop: asyncio.AbstractEventLoop,
                 *, autocommit: bool = True) -> None:
        self._raw = raw
        self._cursor = raw.cursor()
        self.target = target
        self.server = server
        self._loop = loop
        self._loop_thread = threading.get_ident()
        self.thread_id: int | None = None
        self.closed = False
        self.autocommit = autocommit
        #: inside an explicit transaction (BEGIN / START TRANSACTION ... COMMIT / ROLLBACK)
        self.in_transaction = False
        #: The statement in flight, if one is: still so after a cancellation cut its answer off (close stops it).
        self.running: str | None = None

    @property
    def raw(self) -> Any:
        """The driver's connection object (asyncmy), for what the seam does not cover."""
        return self._raw

    async def execute(self, sql: str, args: Sequence[Any] | None = None, *, is_write: bool = False) -> Result:
        cur = self._cursor
        self.running = sql
        try:
            await cur.execute(sql, args)
            rows = list(await cur.fetchall()) if cur.description else []
        except Exception as e:
            self.running = None
            raise self._failed(e, sql, is_write or self._commits_on_success(sql)) from e
        self.running = None
        self._track_transaction(sql)
        columns = [d[0] for d in cur.description] if cur.description else []
        return Result(rows=[tuple(r) for r in rows], rowcount=cur.rowcount, columns=columns)

    async def fetch(self, sql: str, args: Sequence[Any] | None = None) -> Any:
        """The hot path for load: the driver's rows as they come, without building a Result."""
        cur = self._cursor
        self.running = sql
        try:
            await cur.execute(sql, args)
            rows = await cur.fetchall()
        except Exception as e:
            self.running = None
            raise self._failed(e, sql, False) from e
        self.running = None
        return rows

    async def _kill(self, sql: str, timeout: float) -> None:
        """Stop on the server the statement in flight, `sql` (one a cancellation cut off, or one a plain handler's
        thread still waits for), with KILL QUERY (_Killer: a few connections of its own per server for all the
        connections closing at once), waiting `timeout` at most. Why: closing the connection does not stop the
        statement, as the server reads the close only when the statement ends or looks (an interrupted `run`'s
        SELECT SLEEP(60) ran on for seconds, a long SELECT would to its end). A failure is logged, as the run is
        ending anyway."""
        if self.thread_id is None:
            return
        try:
            async with timeouts.timeout(timeout):
                await _Killer.of(self.target).kill(int(self.thread_id))
        except Exception as e:  # reported, not raised: the run ends either way (a timeout is one too)
            log.warning("could not stop the interrupted statement on connection %s (%s): %s", self.thread_id,
                        sql[:80], str(e) or type(e).__name__)

    def _commits_on_success(self, sql: str) -> bool:
        """Whether this statement, had it succeeded, would have made something durable: a COMMIT,
        or a write outside an explicit transaction on an autocommit connection. If the connection
        dies before the answer, such a statement's outcome is unknown (indeterminate)."""
        verb = _verb(sql)
        return verb == "COMMIT" or (verb in _WRITES and self.autocommit and not self.in_transaction)

    def _track_transaction(self, sql: str) -> None:
        if starts_transaction(sql):
            self.in_transaction = True
        elif _verb(sql) in ("COMMIT", "ROLLBACK"):
            self.in_transaction = False

    def _failed(self, e: Exception, sql: str, is_write: bool) -> DatabaseError:
        """Translate a driver error once; mark the connection closed when it was lost."""
        err = translate(e, is_write=is_write)
        err.context = self.target.context("query", sql)
        if is_lost_connection(err) or isinstance(err, TimeoutError_):
            self.closed = True
        return err

    async def query(self, sql: str, args: Sequence[Any] | None = None) -> list[Row]:
        return (await self.execute(sql, args)).rows

    async def scalar(self, sql: str) -> Any:
        rows = await self.query(sql)
        return rows[0][0] if rows and rows[0] else None

    def execute_query(self, sql: str) -> Any:
        if threading.get_ident() == self._loop_thread:
            return self.query(sql)
        return asyncio.run_coroutine_threadsafe(self.query(sql), self._loop).result()

    async def set_isolation(self, level: str) -> None:
        """SET SESSION TRANSACTION ISOLATION LEVEL for a level such as 'read-committed'."""
        await self.execute(f"SET SESSION TRANSACTION ISOLATION LEVEL {level.replace('-', ' ').upper()}")

    async def isolation(self) -> str:
        value = await self.scalar(f"SELECT @@SESSION.{self.server.isolation_variable}")
        return str(value).lower()

    async def close(self) -> None:
        """Close the connection (COM_QUIT, or the socket dropped after 1 s); a statement still in flight (one a
        cancellation cut off: an interrupt, a timeout) is stopped on the server first (_kill, 3 s at most),
        whatever feature opened the connection. Closed (`closed`) from the start."""
        if self.closed:
            self._raw.close()
            return
        self.closed = True
        sql, self.running = self.running, None
        try:
            if sql is not None:
                await self._kill(sql, _KILL_BUDGET)
        finally:
            try:
                await asyncio.wait_for(self._raw.ensure_closed(), 1.0)
            except BaseException:  # on purpose, a cancellation too: a close is clean-up, and the closes after it
                self._raw.close()  # (a pool's, a finally's) must still run when a second Ctrl-C comes during it

    def abort(self) -> None:
        """Drop the socket at once (no COM_QUIT, nothing still buffered sent): the transport's abort, as the
        driver's close is the transport's polite close, which first sends what is buffered and so, to a server that
        has stopped reading, never ends (nor wakes a write that waits for the buffer to drain)."""
        self.closed = True
        transport = getattr(self._raw, "_transport", None)  # asyncmy's own (private): there is no public way
        if transport is not None:
            transport.abort()
        self._raw.close()


class _Killer:
    """KILL QUERY for the connections to one server (and user) of one event loop that close with a statement in
    flight: over at most LANES connections of its own, each reused from one KILL to the next and closed when no
    KILL waits. Why: an interrupted load of a thousand connections would otherwise open a thousand more at once
    (refused past max_connections), and one lane alone sends too few KILLs in the time a close waits over a slow
    link. No task of its own: the closing connections' tasks send the KILLs, so nothing outlives them, and a KILL
    that gets no answer within KILL_SECONDS costs its lane's connection (dropped), never the KILLs after it."""

    LANES = 8
    #: MariaDB may take 2 s to answer a KILL QUERY of a thread in SLEEP() (its wake-up retries; seen once in 20
    #: KILLs in a row here), instantly for any other statement
    KILL_SECONDS = 3.0
    _of: ClassVar[dict[tuple[asyncio.AbstractEventLoop, str, str], _Killer]] = {}

    def __init__(self, target: Target, key: tuple[asyncio.AbstractEventLoop, str, str]) -> None:
        self.target, self.key = target, key
        self.lanes = asyncio.Semaphore(self.LANES)
        self.idle: list[Connection] = []
        self.users = 0

    @classmethod
    def of(cls, target: Target) -> _Killer:
        key = (asyncio.get_running_loop(), target.address, target.user)
        killer = cls._of.get(key)
        if killer is None:
            killer = cls._of[key] = cls(target, key)
        return killer

    async def kill(self, thread_id: int) -> None:
        """KILL QUERY `thread_id`; an unknown thread (1094: its connection has gone, and its statement with it) is
        no failure. Raises the DatabaseError or TimeoutError otherwise."""
        self.users += 1
        try:
            async with self.lanes:
                admin = self.idle.pop() if self.idle else await connect(self.target, database=False, detect=False)
                try:
                    async with timeouts.timeout(self.KILL_SECONDS):
                        await admin.execute(f"KILL QUERY {thread_id}")
                except DatabaseError as e:
                    if not admin.closed:
                        self.idle.append(admin)
                    if error_code(e) != 1094:
                        raise
                except BaseException:  # no answer (or cancelled): its answer would be taken for the next KILL's
                    _give_up(admin)
                    raise
                else:
                    self.idle.append(admin)
        finally:
            self.users -= 1
            if self.users == 0:
                if self._of.get(self.key) is self:
                    del self._of[self.key]
                idle, self.idle = self.idle, []
                for admin in idle:
                    admin.abort()  # (the server ends its session on the dropped socket: nothing of it runs)


_WRITES = ("INSERT", "UPDATE", "DELETE", "REPLACE")


def _verb(sql: str) -> str:
    head = sql.lstrip()[:18].upper()
    return head.split(None, 1)[0] if head else ""


def starts_transaction(sql: str) -> bool:
    """BEGIN or START TRANSACTION."""
    verb = _verb(sql)
    return verb == "BEGIN" or (verb == "START" and "TRANSACTION" in sql.upper())


async def connect(target: Target, *, database: str | bool | None = True, autocommit: bool = True,
                  detect: bool = True, local_infile: bool = False) -> Connection:
    """Open a connection, detect the server, apply session variables.

    `database=True` uses the target's database; False/None connects without selecting one; a
    string selects that one. Raises test-rig's DatabaseError subclasses.
    """
    db = target.database if database is True else (database or None)
    loop = asyncio.get_running_loop()
    tls = ssl_context(target)
    try:
        raw = await _open(target, db, autocommit, tls, local_infile)
    except TlsError:
        if target.ssl_mode != "preferred":
            raise
        tls = None
        raw = await _open(target, db, autocommit, None, local_infile)  # preferred: plaintext when TLS cannot be had
    _shrink_receive_buffer(raw)
    conn = Connection(raw, target, ServerInfo("mysql", ""), loop, autocommit=autocommit)
    try:
        if detect:
            conn.server = await detect_server(conn)
        for name, value in target.session_variables.items():
            await conn.execute(f"SET SESSION {name} = {sql_literal(value)}")
        conn.thread_id = await conn.scalar("SELECT CONNECTION_ID()")
    except DatabaseError:
        await conn.close()
        raise
    except BaseException:  # cancelled (a caller's time limit, an interrupt) before it was handed over: not leaked
        conn.abort()
        raise
    log.debug("connected to %s as %s (%s %s, connection id %s, tls %s)", target.address, target.user,
              conn.server.kind, conn.server.version, conn.thread_id, "on" if tls is not None else "off")
    return conn


#: asyncmy starts every connection with a 256 KB receive buffer and grows it on demand; with a
#: thousand connections that alone is 256 MB, so an idle connection gets a small one instead.
IDLE_RECEIVE_BUFFER = 16 * 1024


def _shrink_receive_buffer(raw: Any) -> None:
    proto = getattr(raw, "_proto", None)
    try:
        if proto is not None and proto.length == proto.pos and len(proto.buffer) > IDLE_RECEIVE_BUFFER:
            proto.buffer = bytearray(IDLE_RECEIVE_BUFFER)
            proto.length = proto.pos = 0
    except (AttributeError, TypeError):  # another driver build: keep its buffer
        pass


def _fix_load_local_filename() -> None:
    """asyncmy hands LOAD DATA LOCAL's file name to its sender as bytes while the sender insists on
    str (a TypeError before any byte is sent). Swap in a sender that decodes it. Guarded: another
    driver build keeps its own."""
    import asyncmy.connection as driver

    sender = getattr(driver, "LoadLocalFile", None)
    if sender is None or getattr(sender, "_rig_decodes_name", False):
        return

    class DecodingLoadLocalFile(sender):  # type: ignore[misc, valid-type]
        _rig_decodes_name = True

        def __init__(self, filename: str | bytes, connection: Any) -> None:
            name = filename.decode("utf-8", "surrogateescape") if isinstance(filename, bytes) else filename
            super().__init__(name, connection)

    setattr(driver, "LoadLocalFile", DecodingLoadLocalFile)  # noqa: B010 - a module the type checker cannot see


@functools.cache
def _connection_class() -> Any:
    """asyncmy's Connection, made never to ask for DEPRECATE_EOF (result sets then end with an EOF packet, as
    before MySQL 5.7.5; every server speaks both). Why: asyncmy 0.2.18 with DEPRECATE_EOF takes every packet that
    begins with 0xFE for the OK that ends a result set, also a row whose first value is 16 MB or longer (its
    length prefix is 0xFE): the rows after it are lost and the connection falls out of step ("Packet sequence
    number wrong"). Its classic EOF check also looks at the packet's length, and is right. Guarded: another driver
    build is used as it is."""
    import asyncmy.connection as driver
    from asyncmy.constants.CLIENT import DEPRECATE_EOF

    base = driver.Connection
    if not callable(getattr(base, "_request_authentication", None)):
        return base

    class ClassicEofConnection(base):  # type: ignore[misc, valid-type]
        async def _request_authentication(self) -> Any:
            # the server's greeting has been read: its offer of DEPRECATE_EOF is left unanswered
            self.server_capabilities &= ~DEPRECATE_EOF
            return await super()._request_authentication()

    return ClassicEofConnection


async def _connect_driver(**kwargs: Any) -> Any:
    """asyncmy.connect (which builds its module's Connection and connects it) with _connection_class's."""
    conn = _connection_class()(**kwargs)
    await conn.connect()
    return conn


async def _open(target: Target, db: str | None, autocommit: bool, tls: ssl.SSLContext | None,
                local_infile: bool = False) -> Any:
    """The driver's connect, with its errors translated: TLS failures are permanent (2026)."""
    if local_infile:
        _fix_load_local_filename()
    context = target.context("connect")
    task = asyncio.current_task()
    # A clean-up may connect from a task whose cancellation (the interrupt) it is handling: only a cancellation
    # that comes during this connect is one, not that earlier one (whose count stays until the task ends).
    cancelled_before = task.cancelling() if task is not None else 0
    try:
        try:
            # asyncio.timeout, not wait_for: Python 3.11's wait_for hands back the driver's outcome when a
            # cancellation (Ctrl-C) comes as the connect ends (a 2013 of the socket the cancellation closed, which
            # the retries took for a lost connection and retried until the timeout), and leaves the driver's own
            # error in a task nobody reads ("Task exception was never retrieved" on stderr).
            async with timeouts.timeout(target.timeout_secs):
                return await _cancellable(_connect_driver(
                    host=target.host, port=target.port, user=target.user, password=target.password, database=db,
                    connect_timeout=target.timeout_secs, autocommit=autocommit, ssl=tls, charset="utf8mb4",
                    local_infile=local_infile))
        except Exception as e:
            if task is not None and task.cancelling() > cancelled_before:  # failed on the way out of a cancellation
                raise asyncio.CancelledError() from e
            raise
    except TimeoutError as e:
        raise TimeoutError_(f"no answer from {target.address} within {target.timeout_secs:g} s",
                            code=2003, context=context) from e
    except Exception as e:
        if tls is not None and _is_tls_failure(e):
            detail = _scrub(str(e.args[1] if len(e.args) > 1 else e), target.password)
            raise TlsError(f"TLS to {target.address} failed ({detail}); check database.ssl_mode and ssl_ca "
                           "(the server may not offer TLS, or its certificate is not signed by that CA)",
                           code=2026, context=context) from None
        err = translate(e, context=context)
        err.message = _scrub(err.message, target.password)
        raise err from None


async def _cancellable(connecting: Coroutine[Any, Any, Any]) -> Any:
    """Await the driver's connect so that a cancellation (Ctrl-C, a timeout) ends the wait at once.

    asyncmy opens the socket with Python 3.11's `asyncio.wait_for`, which drops a cancellation that arrives just as
    the socket opens: the connect then waited for a silent server's greeting until the run's timeout (60 s after a
    Ctrl-C). So the connect runs as a task of its own behind a shield: the cancellation is raised here, the task is
    cancelled, and whatever it still ends with is dealt with by `_abandoned` (a connection closed, an error read)."""
    task = asyncio.ensure_future(connecting)
    waiting = asyncio.shield(task)
    try:
        return await waiting
    except asyncio.CancelledError:
        task.cancel()
        task.add_done_callback(_abandoned)
        waiting.add_done_callback(_abandoned)  # the shield, too, when the connect ended in the turn the cancel came
        raise


def _abandoned(task: asyncio.Future[Any]) -> None:
    """The end of a connect nobody waits for any more: close the connection it opened despite its cancellation, and
    read its error (else asyncio prints "Task exception was never retrieved" at exit)."""
    if task.cancelled():
        return
    if task.exception() is None:
        with contextlib.suppress(Exception):
            task.result().close()


def _is_tls_failure(e: BaseException) -> bool:
    if isinstance(e, ssl.SSLError):
        return True
    text = " ".join(str(a) for a in getattr(e, "args", ()))
    return "[SSL" in text or "SSL:" in text or isinstance(e.__cause__ or e.__context__, ssl.SSLError)


def _scrub(message: str, password: str) -> str:
    return message.replace(password, "********") if password else message


async def detect_server(conn: Connection) -> ServerInfo:
    version = str(await conn.scalar("SELECT VERSION()"))
    info = ServerInfo.from_version(version)
    if info.kind == "tidb":
        mode = await conn.scalar("SELECT @@tidb_txn_mode")
        info = ServerInfo(info.kind, version, str(mode or "pessimistic"))
    return info


async def lock_wait(probe: Connection, server: ServerInfo, thread_id: int) -> str | None:
    """Ask the server whether session `thread_id` is waiting for a lock, through `probe` (another
    connection). Returns the evidence in words when it is, None when the server says it is not.
    Raises DatabaseError when the server cannot say (e.g. the user lacks the PROCESS privilege)."""
    if server.kind == "tidb":
        state = await probe.scalar(f"SELECT STATE FROM information_schema.TIDB_TRX WHERE SESSION_ID = {thread_id}")
        if state == "LockWaiting":
            return "the server reported a lock wait (information_schema.TIDB_TRX STATE LockWaiting)"
        return None
    rows = await probe.query(
        f"SELECT (SELECT trx_state FROM information_schema.INNODB_TRX WHERE trx_mysql_thread_id = {thread_id}), "
        f"(SELECT STATE FROM information_schema.PROCESSLIST WHERE ID = {thread_id})")
    trx_state, stage = rows[0] if rows else (None, None)
    if trx_state == "LOCK WAIT":
        return "the server reported a lock wait (information_schema.INNODB_TRX trx_state LOCK WAIT)"
    if isinstance(stage, str) and stage.startswith("Waiting for") and "lock" in stage:
        return f"the server reported the session waiting (information_schema.PROCESSLIST STATE '{stage}')"
    return None


#: How long a clean-up's new connection may wait for the server (a run interrupted against a server that does not
#: answer must still end soon, saying what it could not drop, not wait the run's whole timeout five times).
CLEANUP_CONNECT_SECS = 5.0


def for_cleanup(target: Target) -> Target:
    """`target` with its timeout cut to CLEANUP_CONNECT_SECS, for a clean-up's connection and statements."""
    return replace(target, timeout_secs=min(target.timeout_secs, CLEANUP_CONNECT_SECS))


def answer_lost(error: BaseException) -> bool:
    """Whether a statement that ended with `error` may have taken effect all the same: its answer never came (a
    lost connection, a timeout, a cancellation), where an error the server answered with is a refusal."""
    return not isinstance(error, DatabaseError) or is_lost_connection(error) or isinstance(error, TimeoutError_)


async def drop_schema(base: Target, name: str, admin: Connection | None) -> None:
    """DROP DATABASE `name` on `admin` (kept open for this) or, if it was lost, on a new connection,
    tried a few times while the run's own connections finish closing. Closes the connection it used. A server
    that does not answer within CLEANUP_CONNECT_SECS, the connection or the DROP, is not asked again (the
    TimeoutError_ is raised): without a limit on the DROP, a server that took it and went silent held an
    interrupted run for ever."""
    quick = for_cleanup(base)
    for attempt in range(5):
        conn = admin if admin is not None and not admin.closed else None
        try:
            if conn is None:
                conn = await connect(quick, database=False)
            try:
                async with timeouts.timeout(quick.timeout_secs):
                    await conn.execute(f"DROP DATABASE IF EXISTS {quote_ident(name)}")
            except TimeoutError:
                _give_up(conn)
                raise TimeoutError_(f"no answer from {base.address} to DROP DATABASE {name} within "
                                    f"{quick.timeout_secs:g} s", code=2013) from None
            return
        except DatabaseError as e:
            if attempt == 4 or isinstance(e, TimeoutError_):
                raise
            await asyncio.sleep(0.1 * 2 ** attempt)
        finally:
            if conn is not None:
                await conn.close()
            admin = None


def _give_up(conn: Connection) -> None:
    """Drop a connection whose clean-up statement (a DROP, a KILL) got no answer in time, without KILLing that
    statement: a server that is only slow finishes it, and one that is silent would not answer the KILL either (a
    close would have spent 3 s more on trying)."""
    conn.running = None
    conn.abort()


async def drop_tables(target: Target, tables: Sequence[str]) -> list[str]:
    """DROP TABLE IF EXISTS each of `tables` in the target's database, on one new connection (a prepare that
    failed or was interrupted removes what it created), each step within CLEANUP_CONNECT_SECS. What cannot be
    dropped is logged as left on the server and returned (as `database.table`), not raised: the error that ended
    the prepare is the one to report, and a server gone silent must not hold its end for ever."""
    if not tables:
        return []
    quick = for_cleanup(target)
    left = list(tables)
    try:
        conn = await connect(quick)
        try:
            for table in tables:
                try:
                    async with timeouts.timeout(quick.timeout_secs):
                        await conn.execute(f"DROP TABLE IF EXISTS {quote_ident(table)}")
                except TimeoutError:
                    _give_up(conn)
                    raise
                left.remove(table)
        finally:
            await conn.close()
    except (DatabaseError, TimeoutError) as e:
        log.warning("left on the server, as it could not be dropped: %s (%s)", ", ".join(left),
                    str(e) or f"no answer within {quick.timeout_secs:g} s")
        return [f"{target.database}.{table}" if target.database else table for table in left]
    return []


async def connect_existing(target: Target, manager: Any) -> Connection:
    """A connection to the target's database through `manager` (a ResilientConnectionManager: its retries and
    breaker), for a workload's prepare, cleanup and checks. Like every other command, a database that is not
    there is not made silently: error 1049 becomes a RigError that says how to create it."""
    try:
        conn: Connection = await manager.execute_with_resilience(f"connect to {target.address}",
                                                                 lambda: connect(target))
    except DatabaseError as e:
        if e.code == 1049:
            raise RigError(f"Unknown database {target.database} on {target.address}; create it first "
                           f"(CREATE DATABASE {quote_ident(target.database or '')}) or choose another with "
                           "-d/--database.") from None
        raise
    return conn


async def ensure_database(target: Target) -> None:
    """CREATE DATABASE IF NOT EXISTS for the target's database."""
    if not target.database:
        return
    conn = await connect(target, database=False, detect=False)
    try:
        await conn.execute(f"CREATE DATABASE IF NOT EXISTS {quote_ident(target.database)}")
    finally:
        await conn.close()


class ConnectionPool:
    """A small pool for one target: at most `size` connections, created on demand.

    A connection discarded after an error is closed; the next `acquire` opens a new one, which is
    how the resilience layer reconnects after a lost connection.
    """

    def __init__(self, target: Target, size: int = 5, *, database: str | bool | None = True) -> None:
        self.target = target
        self.size = size
        self._database = database
        self._idle: list[Connection] = []
        self._slots = asyncio.Semaphore(size)
        self._all: set[Connection] = set()
        self.server: ServerInfo | None = None

    async def acquire(self) -> Connection:
        await self._slots.acquire()
        try:
            while self._idle:
                conn = self._idle.pop()
                if not conn.closed:
                    return conn
                self._all.discard(conn)
            conn = await connect(self.target, database=self._database)
        except BaseException:
            self._slots.release()
            raise
        self.server = conn.server
        self._all.add(conn)
        return conn

    async def release(self, conn: Connection) -> None:
        if conn.closed:
            self._all.discard(conn)
        else:
            self._idle.append(conn)
        self._slots.release()

    async def discard(self, conn: Connection) -> None:
        self._all.discard(conn)
        conn.abort()
        self._slots.release()

    async def close(self) -> None:
        conns, self._all, self._idle = list(self._all), set(), []
        await asyncio.gather(*(c.close() for c in conns), return_exceptions=True)
