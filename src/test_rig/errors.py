"""Every test-rig exception, the table from server error codes to meaning, and error context.

Retry decisions are made from the server's error code through `ERROR_CODES`, never from an
exception's class: a deadlock (1213) and a lost connection (2013) may arrive as the same driver
class yet call for different handling.
"""

from __future__ import annotations

import datetime as _dt
import enum
import time
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any


class ErrorCategory(enum.Enum):
    """How an error should be handled by a caller that wants to survive it."""

    Transient = "transient"
    """Retrying the same operation may succeed (lost connection, deadlock, lock wait timeout)."""
    Permanent = "permanent"
    """Retrying cannot help (access denied, syntax error, unknown database)."""
    Unknown = "unknown"
    """Not in the table: retry, but only a few times."""
    Indeterminate = "indeterminate"
    """A COMMIT or autocommit write whose connection died before the answer: it may have applied."""


class RecoveryStrategy(enum.Enum):
    Retry = "retry"
    FailFast = "fail_fast"
    RetryWithLimit = "retry_with_limit"


_RECOVERY: dict[ErrorCategory, RecoveryStrategy] = {
    ErrorCategory.Transient: RecoveryStrategy.Retry,
    ErrorCategory.Permanent: RecoveryStrategy.FailFast,
    ErrorCategory.Unknown: RecoveryStrategy.RetryWithLimit,
    # Re-running a write whose first attempt may have applied could apply it twice:
    # only the caller, who knows whether the operation is idempotent, may retry it.
    ErrorCategory.Indeterminate: RecoveryStrategy.FailFast,
}


def get_recovery_strategy(category: ErrorCategory) -> RecoveryStrategy:
    """Return the recovery strategy the original tool paired with each category."""
    return _RECOVERY[category]


@dataclass(frozen=True)
class CodeInfo:
    category: ErrorCategory
    name: str
    lost_connection: bool = False
    #: the user lacks a privilege on a schema (to use it, or to create the run's own)
    schema_privilege: bool = False
    #: the next step for a user whose connection test failed with this code ({where}: the server's address,
    #: {database}: the database asked for)
    hint: str | None = None


_T, _P, _U = ErrorCategory.Transient, ErrorCategory.Permanent, ErrorCategory.Unknown
_UNREACHABLE = ("Cannot reach {where}: check the host and port (-H HOST:PORT), that the server is running and that "
                "no firewall is in the way.")
_ACCESS_DENIED = "Access denied: check the user name and password (-u/--user, --password or TIDB_PASSWORD)."

#: Server and client error codes test-rig knows, with their meaning.
ERROR_CODES: Mapping[int, CodeInfo] = {
    # client-side (libmysqlclient numbering, which PyMySQL and asyncmy reuse)
    2003: CodeInfo(_T, "can't connect to server", lost_connection=True, hint=_UNREACHABLE),
    2006: CodeInfo(_T, "server has gone away", lost_connection=True, hint=_UNREACHABLE),
    2013: CodeInfo(_T, "lost connection to server during query", lost_connection=True, hint=_UNREACHABLE),
    2055: CodeInfo(_T, "lost connection to server (system error)", lost_connection=True, hint=_UNREACHABLE),
    # server
    1040: CodeInfo(_T, "too many connections"),
    1205: CodeInfo(_T, "lock wait timeout exceeded"),
    1213: CodeInfo(_T, "deadlock found"),
    1020: CodeInfo(_T, "record has changed since last read (snapshot isolation conflict)"),
    1927: CodeInfo(_T, "connection was killed", lost_connection=True),
    1053: CodeInfo(_T, "server shutdown in progress", lost_connection=True),
    2026: CodeInfo(_P, "TLS/SSL connection error",
                   hint="TLS failed: check database.ssl_mode and ssl_ca (TiDB Cloud needs verify-identity with the "
                        "system CA store; a sandbox started with --tls prints its CA in `sandbox env`)."),
    1044: CodeInfo(_P, "access denied to database", schema_privilege=True,
                   hint="Access denied to the database: check that the user has privileges on it (-d/--database)."),
    1045: CodeInfo(_P, "access denied for user", hint=_ACCESS_DENIED),
    # unknown, as before they were in this table: retried a few times (resilience.should_retry)
    1698: CodeInfo(_U, "access denied for user (authentication plugin)", hint=_ACCESS_DENIED),
    1227: CodeInfo(_U, "access denied: a privilege the operation needs is missing", schema_privilege=True),
    1049: CodeInfo(_P, "unknown database", hint="Unknown database {database}: check -d/--database or create it first."),
    1064: CodeInfo(_P, "SQL syntax error"),
    1146: CodeInfo(_P, "table does not exist"),
    1142: CodeInfo(_P, "command denied to user", schema_privilege=True),
    1193: CodeInfo(_P, "unknown system variable"),
    1231: CodeInfo(_P, "variable cannot be set to this value"),
    1054: CodeInfo(_P, "unknown column"),
    1062: CodeInfo(_P, "duplicate entry"),
    # TiDB
    8002: CodeInfo(_T, "TiDB: SELECT FOR UPDATE commit conflict"),
    8005: CodeInfo(_T, "TiDB: write conflict, txnStartTS is stale"),
    8022: CodeInfo(_T, "TiDB: commit failed and was rolled back"),
    8028: CodeInfo(_T, "TiDB: schema changed during the transaction"),
    9007: CodeInfo(_T, "TiDB: write conflict"),
    9001: CodeInfo(_T, "TiDB: PD server timeout"),
    9002: CodeInfo(_T, "TiDB: TiKV server timeout"),
    9003: CodeInfo(_T, "TiDB: TiKV server is busy"),
    9004: CodeInfo(_T, "TiDB: resolve lock timeout"),
    9005: CodeInfo(_T, "TiDB: region is unavailable"),
    8252: CodeInfo(_T, "TiDB: resource group quota exceeded"),
    8001: CodeInfo(_P, "TiDB: memory quota exceeded"),
    8004: CodeInfo(_P, "TiDB: transaction too large"),
    9006: CodeInfo(_P, "TiDB: GC life time is shorter than the transaction duration"),
    8048: CodeInfo(_P, "TiDB: unsupported isolation level"),
    8141: CodeInfo(_P, "TiDB: assertion failed at commit (e.g. a duplicate key deferred to COMMIT)"),
    8170: CodeInfo(_P, "TiDB: import job does not exist"),
    8171: CodeInfo(_P, "TiDB: import job status does not allow the operation"),
    2005: CodeInfo(_P, "unknown server host name"),
    1792: CodeInfo(_P, "cannot execute statement in a READ ONLY transaction"),
}

#: Errors by which a server's concurrency control refuses a transaction to protect isolation: the
#: only errors that count as evidence that an anomaly was prevented. Any other error (read-only
#: session, missing privilege, lost connection, syntax) says nothing about isolation.
CONCURRENCY_CONTROL_CODES: Mapping[int, str] = {
    1213: "deadlock detected: one transaction was rolled back",
    1205: "lock wait timeout: the statement waited for another transaction's lock",
    1020: "snapshot isolation conflict: the row changed since the transaction's snapshot",
    9007: "TiDB write conflict",
    8005: "TiDB write conflict (start timestamp is stale)",
    8002: "TiDB SELECT FOR UPDATE conflict",
    8022: "TiDB commit failed and was rolled back",
}


def is_concurrency_abort(code: int | None) -> bool:
    """Whether `code` is concurrency control refusing a transaction (see CONCURRENCY_CONTROL_CODES)."""
    return code is not None and code in CONCURRENCY_CONTROL_CODES

@dataclass(frozen=True)
class ErrorContext:
    """What was being done when an error happened. Never holds a password."""

    operation: str
    timestamp: str = field(default_factory=lambda: _dt.datetime.now(_dt.UTC).isoformat())
    attempt: int = 1
    duration_ms: float | None = None
    host: str | None = None
    database: str | None = None
    user: str | None = None
    query: str | None = None
    additional: Mapping[str, str] = field(default_factory=dict)

    @staticmethod
    def builder(operation: str) -> ErrorContextBuilder:
        return ErrorContextBuilder(ErrorContext(operation=operation))

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "operation": self.operation,
            "timestamp": self.timestamp,
            "attempt": self.attempt,
            "duration_ms": None if self.duration_ms is None else round(self.duration_ms, 3),
            "host": self.host,
            "database": self.database,
            "user": self.user,
        }
        if self.query is not None:
            out["query"] = self.query
        if self.additional:
            out["additional"] = dict(self.additional)
        return out

    def describe(self) -> str:
        where = f" on {self.host}" if self.host else ""
        return f"{self.operation} (attempt {self.attempt}{where})"


class ErrorContextBuilder:
    """Fluent builder, as in the original: `ErrorContext.builder("op").host(h).attempt(2).build()`."""

    def __init__(self, context: ErrorContext) -> None:
        self._ctx = context
        self._started = time.perf_counter()

    def _set(self, **changes: Any) -> ErrorContextBuilder:
        self._ctx = replace(self._ctx, **changes)
        return self

    def attempt(self, n: int) -> ErrorContextBuilder:
        return self._set(attempt=n)

    def host(self, host: str | None) -> ErrorContextBuilder:
        return self._set(host=host)

    def database(self, database: str | None) -> ErrorContextBuilder:
        return self._set(database=database)

    def user(self, user: str | None) -> ErrorContextBuilder:
        return self._set(user=user)

    def query(self, sql: str | None) -> ErrorContextBuilder:
        return self._set(query=sql)

    def duration_ms(self, ms: float) -> ErrorContextBuilder:
        return self._set(duration_ms=ms)

    def with_metadata(self, key: str, value: object) -> ErrorContextBuilder:
        return self._set(additional={**self._ctx.additional, key: str(value)})

    def build(self) -> ErrorContext:
        if self._ctx.duration_ms is None:
            return replace(self._ctx, duration_ms=(time.perf_counter() - self._started) * 1000)
        return self._ctx


class RigError(Exception):
    """Root of every error test-rig raises. `exit_status` is what the CLI exits with."""

    exit_status = 1

    def __init__(self, message: str, *, context: ErrorContext | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.context = context

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": type(self).__name__, "message": self.message}
        if self.context is not None:
            out["context"] = self.context.to_dict()
        return out


class Interrupted(KeyboardInterrupt):
    """The run was stopped from outside: Ctrl-C (exit 130) or SIGTERM (exit 143)."""

    exit_status = 130
    signal_name = "SIGINT"


class Terminated(Interrupted):
    """SIGTERM: CI cancellation, `kill`, a container stop. Handled exactly like Ctrl-C."""

    exit_status = 143
    signal_name = "SIGTERM"


def signal_name(stop: BaseException) -> str:
    """SIGINT or SIGTERM: which signal interrupted the run (a bare KeyboardInterrupt is a SIGINT)."""
    return stop.signal_name if isinstance(stop, Interrupted) else "SIGINT"


class UsageError(RigError):
    """Bad input from the user (config, options, plugin names): exit status 2."""

    exit_status = 2


class ConfigError(UsageError):
    """A configuration file, environment variable or option that cannot be used."""


class PluginError(UsageError):
    """A handler plugin that cannot be loaded."""


class DatabaseError(RigError):
    """An error reported by the server or the driver, with its code and SQLSTATE."""

    def __init__(
        self,
        message: str,
        *,
        code: int | None = None,
        sqlstate: str | None = None,
        context: ErrorContext | None = None,
        indeterminate: bool = False,
    ) -> None:
        super().__init__(message, context=context)
        self.code = code
        self.sqlstate = sqlstate
        #: True when the statement may have been applied even though no answer came back.
        self.indeterminate = indeterminate

    def to_dict(self) -> dict[str, Any]:
        out = super().to_dict()
        out["code"] = self.code
        out["sqlstate"] = self.sqlstate
        if self.indeterminate:
            out["indeterminate"] = True
        return out

    def __str__(self) -> str:
        return f"({self.code}) {self.message}" if self.code is not None else self.message


class ConnectionError_(DatabaseError):
    """The connection could not be made or was lost."""


class AuthenticationError(DatabaseError):
    """The server refused the user name or password."""


class TlsError(ConnectionError_):
    """TLS could not be set up: bad or unknown CA, wrong host name, or a server without TLS (code 2026)."""


class QueryError(DatabaseError):
    """A statement failed on the server."""


class TimeoutError_(DatabaseError):
    """An operation did not finish in its time limit. Its effect is unknown."""


class RetryExhaustedError(RigError):
    """Every attempt failed; `last_error` is the final attempt's error."""

    def __init__(self, message: str, *, last_error: BaseException, attempts: int,
                 context: ErrorContext | None = None) -> None:
        super().__init__(message, context=context)
        self.last_error = last_error
        self.attempts = attempts


class CircuitOpenError(RigError):
    """The circuit breaker is open: the call was not attempted."""

    def __init__(self, message: str, *, retry_at: float, context: ErrorContext | None = None) -> None:
        super().__init__(message, context=context)
        self.retry_at = retry_at


_CLASS_BY_CODE: dict[int, type[DatabaseError]] = {
    1045: AuthenticationError,
    1044: AuthenticationError,
    1698: AuthenticationError,
    2003: ConnectionError_,
    2005: ConnectionError_,
    2006: ConnectionError_,
    2013: ConnectionError_,
    2055: ConnectionError_,
    1927: ConnectionError_,
    1053: ConnectionError_,
}


#: The longest message kept for a code (a refusal's message names the user and the table; longer ones are cut).
MESSAGE_KEPT = 300


def code_key(err: DatabaseError) -> str:
    """How `errors_by_code` and `error_messages` name an error: its code, else its class (e.g. MissingRow)."""
    return str(err.code) if err.code is not None else type(err).__name__


def by_code_text(by_code: Mapping[str, int], messages: Mapping[str, str] | None = None) -> str:
    """Errors counted by code as one phrase, each code with the first message the server gave for it when known:
    "1142 ×8166: UPDATE command denied to user 'ro'@'localhost' for table 'sbtest1'; 2013 ×3" (a count alone,
    e.g. "1406 ×3", said nothing of what was refused or why)."""
    return "; ".join(f"{code} ×{n}" + (f": {messages[code]}" if messages and messages.get(code) else "")
                     for code, n in sorted(by_code.items()))


def error_code(err: BaseException) -> int | None:
    """The MySQL error code carried by `err`, ours or a driver's (`args == (code, message)`)."""
    if isinstance(err, DatabaseError):
        return err.code
    if isinstance(err, RetryExhaustedError):
        return error_code(err.last_error)
    args: tuple[Any, ...] = tuple(getattr(err, "args", ()))
    if len(args) >= 1 and isinstance(args[0], int) and not isinstance(args[0], bool):
        return args[0]
    return None


def classify_error(err: BaseException) -> ErrorCategory:
    """Classify an error by its server error code.

    Accepts test-rig's own errors and driver exceptions (PyMySQL/asyncmy style). Errors with no
    code: configuration and usage errors are permanent, timeouts and OS-level connection
    failures transient, anything else unknown.
    """
    if isinstance(err, DatabaseError) and err.indeterminate:
        return ErrorCategory.Indeterminate
    if isinstance(err, CircuitOpenError):
        return ErrorCategory.Transient
    if isinstance(err, UsageError | ValueError | TypeError):
        return ErrorCategory.Permanent
    code = error_code(err)
    if code is not None:
        info = ERROR_CODES.get(code)
        return info.category if info else ErrorCategory.Unknown
    if isinstance(err, TimeoutError_ | OSError | TimeoutError):
        return ErrorCategory.Transient
    return ErrorCategory.Unknown


def lacks_schema_privilege(err: BaseException) -> bool:
    """Whether `err` says the user may not use or create a schema (1044, 1142, 1227): what to grant, not a fault."""
    info = ERROR_CODES.get(error_code(err) or 0)
    return bool(info and info.schema_privilege)


def code_hint(code: int | None, *, where: str, database: str | None) -> str | None:
    """The next step ERROR_CODES gives for `code`, filled in with the server's address and the database."""
    info = ERROR_CODES.get(code or 0)
    return info.hint.format(where=where, database=database) if info and info.hint else None


def is_lost_connection(err: BaseException) -> bool:
    code = error_code(err)
    if code is not None:
        info = ERROR_CODES.get(code)
        return bool(info and info.lost_connection)
    return isinstance(err, ConnectionResetError | BrokenPipeError | EOFError)


def _unknown_host(err: BaseException) -> bool:
    import socket

    cause = err.__cause__ or err.__context__
    return (isinstance(err, socket.gaierror) or isinstance(cause, socket.gaierror)) and \
        getattr(cause if isinstance(cause, socket.gaierror) else err, "errno", None) != socket.EAI_AGAIN


def translate(err: BaseException, *, sql: str | None = None, is_write: bool = False,
              context: ErrorContext | None = None) -> DatabaseError:
    """Turn a driver exception into one of ours, once, at the lowest layer.

    `is_write` marks a COMMIT or autocommit write: if the connection died before the answer, the
    result is marked indeterminate.
    """
    if isinstance(err, DatabaseError):
        return err
    code = error_code(err)
    args: tuple[Any, ...] = tuple(getattr(err, "args", ()))
    message = str(args[1]) if code is not None and len(args) >= 2 else (str(err) or type(err).__name__)
    if _unknown_host(err):
        # The name does not resolve: no retry can help (a transient resolver failure, EAI_AGAIN, stays 2003).
        code = 2005
    sqlstate = None
    if isinstance(err, TimeoutError_ | TimeoutError):
        cls: type[DatabaseError] = TimeoutError_
        message = message if message != "TimeoutError" else "operation timed out"
    elif code is not None:
        cls = _CLASS_BY_CODE.get(code, QueryError)
    elif isinstance(err, OSError | EOFError):
        cls = ConnectionError_
        code = 2013
    else:
        cls = QueryError
    lost = cls in (ConnectionError_, TimeoutError_)
    out = cls(message, code=code, sqlstate=sqlstate, context=context, indeterminate=is_write and lost)
    out.__cause__ = err
    if sql is not None and context is None:
        out.context = ErrorContext(operation="query", query=sql)
    return out
