"""State, StateHandler, StateContext and StateMachine: one connection's test, one state at a time.

A handler's `execute` decides the next state (whatever `enter` returns is ignored, as in the
original tool). Handler methods may be coroutines or plain functions; plain ones run in a daemon
thread of their own so a blocking call such as `ctx.connection.execute_query("SELECT 1")` never
stalls the event loop, and a handler that never returns cannot keep the process alive after its
machine has timed out.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import inspect
import logging
import threading
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from test_rig import timeouts
from test_rig.errors import DatabaseError, RigError

if TYPE_CHECKING:
    from test_rig.db import Connection, ServerInfo, Target


class State:
    """A state, identified by name. Error states carry a message."""

    __slots__ = ("message", "name")

    DISPLAY: ClassVar[dict[str, str]] = {
        "ParsingConfig": "Parsing Configuration",
        "Connecting": "Connecting to TiDB",
        "TestingConnection": "Testing Connection",
        "VerifyingDatabase": "Verifying Database",
        "GettingVersion": "Getting Server Version",
        "CheckingImportJobs": "Checking Import Jobs",
        "ShowingImportJobDetails": "Showing Import Job Details",
        "CreatingTable": "Creating Table",
        "PopulatingData": "Populating Data",
        "TestingIsolation": "Testing Isolation",
        "VerifyingResults": "Verifying Results",
    }

    INITIAL: ClassVar[State]
    PARSING_CONFIG: ClassVar[State]
    CONNECTING: ClassVar[State]
    TESTING_CONNECTION: ClassVar[State]
    VERIFYING_DATABASE: ClassVar[State]
    GETTING_VERSION: ClassVar[State]
    COMPLETED: ClassVar[State]
    ERROR: ClassVar[State]

    def __init__(self, name: str, message: str | None = None) -> None:
        if not isinstance(name, str) or not name:
            raise ValueError(f"a state name must be a non-empty string, not {name!r}")
        self.name = name
        self.message = message

    @staticmethod
    def error(message: str) -> State:
        return State("Error", message)

    @staticmethod
    def of(value: State | str) -> State:
        if isinstance(value, State):
            return value
        if isinstance(value, str):
            if value.startswith("Error:"):
                return State.error(value[len("Error:"):].strip())
            return State(value)
        raise TypeError(f"{value!r} is not a state (expected a State or a state name)")

    @property
    def display(self) -> str:
        return self.DISPLAY.get(self.name, self.name)

    def display_for(self, server_kind: str | None) -> str:
        """The display name on a given server: the original's "Connecting to TiDB" only on TiDB."""
        if self.name == "Connecting":
            return {"tidb": "Connecting to TiDB", "mariadb": "Connecting to MariaDB",
                    "mysql": "Connecting to MySQL"}.get(server_kind or "", "Connecting")
        return self.display

    @property
    def is_terminal(self) -> bool:
        return self.name in ("Completed", "Error")

    def __eq__(self, other: object) -> bool:
        if isinstance(other, State):
            return self.name == other.name
        if isinstance(other, str):
            return self.name == other
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self.name)

    def __repr__(self) -> str:
        return f"State.error({self.message!r})" if self.name == "Error" else f"State({self.name!r})"

    def __str__(self) -> str:
        return self.name


State.INITIAL = State("Initial")
State.PARSING_CONFIG = State("ParsingConfig")
State.CONNECTING = State("Connecting")
State.TESTING_CONNECTION = State("TestingConnection")
State.VERIFYING_DATABASE = State("VerifyingDatabase")
State.GETTING_VERSION = State("GettingVersion")
State.COMPLETED = State("Completed")
State.ERROR = State("Error")


@dataclass
class StateContext:
    """What handlers share while one machine runs. The password is kept out of reprs and reports."""

    host: str = ""
    port: int = 0
    username: str = ""
    database: str | None = None
    connection: Connection | None = None
    server: ServerInfo | None = None
    server_version: str | None = None
    error_message: str | None = None
    last_error: BaseException | None = None
    handler_data: dict[str, Any] = field(default_factory=dict)
    custom_data: dict[str, Any] = field(default_factory=dict)
    target: Target | None = field(default=None, repr=False)
    connection_id: int = 0
    services: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def password(self) -> str:
        return self.target.password if self.target else ""

    @staticmethod
    def for_target(target: Target, connection_id: int = 0) -> StateContext:
        return StateContext(host=target.host, port=target.port, username=target.user,
                            database=target.database, target=target, connection_id=connection_id)

    def set_handler_data(self, key: str, value: Any) -> None:
        self.handler_data[key] = value

    def get_handler_data(self, key: str, default: Any = None) -> Any:
        return self.handler_data.get(key, default)


class StateHandler:
    """Base class for handlers. Override `execute`; `enter` and `exit` are optional."""

    def enter(self, ctx: StateContext) -> Any:
        return None

    def execute(self, ctx: StateContext) -> State | str | Awaitable[State | str]:
        raise NotImplementedError(f"{type(self).__name__}.execute is not implemented")

    def exit(self, ctx: StateContext) -> Awaitable[None] | None:
        return None


@dataclass
class StateVisit:
    state: str
    ms: float
    error: str | None = None
    #: How the state is shown to people on this server (e.g. "Connecting to MariaDB").
    display: str | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"state": self.state, "ms": round(self.ms, 3)}
        if self.display and self.display != self.state:
            out["display"] = self.display
        if self.error:
            out["error"] = self.error
        return out


@dataclass
class MachineResult:
    ok: bool
    final_state: str
    path: list[StateVisit]
    error: str | None = None
    error_detail: BaseException | None = None

    @property
    def path_names(self) -> list[str]:
        return [v.state for v in self.path]

    def path_summary(self, keep: int = 5) -> str:
        """The path for one line of output: a machine that looped shows its start and end, not 1,000 states."""
        names = self.path_names
        if len(names) <= 2 * keep + 1:
            return " → ".join(names)
        hidden = len(names) - 2 * keep
        return " → ".join([*names[:keep], f"… {hidden} more states …", *names[-keep:]])

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"ok": self.ok, "final_state": self.final_state,
                               "states": [v.to_dict() for v in self.path], "error": self.error}
        detail = self.error_detail
        if isinstance(detail, RigError):
            out["error_detail"] = detail.to_dict()
        return out


log = logging.getLogger("test_rig.machine")


Listener = Callable[[StateVisit], None]


async def call_handler(fn: Callable[..., Any], *args: Any) -> Any:
    """Await a coroutine method; run a plain one in a daemon thread."""
    if inspect.iscoroutinefunction(fn):
        return await fn(*args)
    result = await _in_daemon_thread(fn, *args)
    if inspect.isawaitable(result):
        return await result
    return result


async def _in_daemon_thread(fn: Callable[..., Any], *args: Any) -> Any:
    """Like asyncio.to_thread, but the thread is a daemon that nobody joins: when the caller gives
    up on it (a timeout), a handler stuck in `time.sleep(100)` does not hold the process open."""
    loop = asyncio.get_running_loop()
    future: asyncio.Future[Any] = loop.create_future()
    context = contextvars.copy_context()

    def settle(value: Any, error: BaseException | None) -> None:
        if future.done():
            return
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(value)

    def work() -> None:
        value: Any = None
        error: BaseException | None = None
        try:
            value = context.run(fn, *args)
        except BaseException as e:  # handed to the awaiting coroutine, SystemExit included
            error = e
        with contextlib.suppress(RuntimeError):  # the loop is gone: nobody is waiting any more
            loop.call_soon_threadsafe(settle, value, error)

    threading.Thread(target=work, name=f"handler:{getattr(fn, '__qualname__', 'call')}", daemon=True).start()
    return await future


class StateMachine:
    """Runs handlers from the initial state until Completed or Error.

    `transitions`, when given, maps a state name to the names it may move to; any other move is
    an error naming both states. `max_iterations` and `timeout` stop a machine that never ends.
    """

    def __init__(
        self,
        handlers: Mapping[str, StateHandler] | None = None,
        *,
        initial: State | str = State.INITIAL,
        transitions: Mapping[str, set[str] | frozenset[str] | list[str]] | None = None,
        max_iterations: int = 1000,
        timeout: float = 60.0,
        listener: Listener | None = None,
    ) -> None:
        self.handlers: dict[str, StateHandler] = dict(handlers or {})
        self.initial = State.of(initial)
        self.transitions = {k: set(v) for k, v in transitions.items()} if transitions else None
        self.max_iterations = max_iterations
        self.timeout = timeout
        self.listener = listener

    def register(self, state: State | str, handler: StateHandler) -> None:
        self.handlers[State.of(state).name] = handler

    def register_handler(self, state: State | str, handler: StateHandler) -> None:
        """Alias kept from the original API."""
        self.register(state, handler)

    async def run(self, ctx: StateContext) -> MachineResult:
        path: list[StateVisit] = []
        current: list[State] = [self.initial]
        try:
            async with timeouts.timeout(self.timeout):
                final = await self._loop(ctx, path, current)
        except TimeoutError:
            msg = (f"state machine did not finish within {self.timeout:g} s "
                   f"(stuck in state {current[0].name})")
            final = State.error(msg)
            path.append(StateVisit("Error", 0.0, msg))
        ok = final.name == "Completed"
        if not ok:
            ctx.error_message = final.message or ctx.error_message
        return MachineResult(ok=ok, final_state=final.name, path=path,
                             error=None if ok else (final.message or ctx.error_message or "failed"),
                             error_detail=None if ok else ctx.last_error)

    async def _loop(self, ctx: StateContext, path: list[StateVisit], current: list[State]) -> State:
        state = self.initial
        for _ in range(self.max_iterations):
            current[0] = state
            if state.is_terminal:
                visit = StateVisit(state.name, 0.0, state.message)
                path.append(visit)
                self._notify(visit)
                return state
            started = time.perf_counter()
            nxt = await self._step(state, ctx)
            visit = StateVisit(state.name, (time.perf_counter() - started) * 1000,
                               nxt.message if nxt.name == "Error" else None,
                               state.display_for(ctx.server.kind if ctx.server else None))
            path.append(visit)
            self._notify(visit)
            if nxt.name != "Error" and self.transitions is not None:
                allowed = self.transitions.get(state.name, set())
                if nxt.name not in allowed:
                    nxt = State.error(f"transition from {state.name} to {nxt.name} is not allowed "
                                      f"(allowed: {', '.join(sorted(allowed)) or 'none'})")
            state = nxt
        msg = f"state machine stopped after {self.max_iterations} iterations without finishing (in {state.name})"
        path.append(StateVisit("Error", 0.0, msg))
        return State.error(msg)

    async def _step(self, state: State, ctx: StateContext) -> State:
        handler = self.handlers.get(state.name)
        if handler is None:
            return State.error(f"no handler is registered for state {state.name}")
        name = type(handler).__name__
        try:
            await call_handler(handler.enter, ctx)
            returned = await call_handler(handler.execute, ctx)
            await call_handler(handler.exit, ctx)
        except (asyncio.CancelledError, KeyboardInterrupt):
            raise
        except SystemExit as e:
            return State.error(f"{name} called sys.exit({e.code!r}) in state {state.name}; a handler must return "
                               "a state or raise an exception, never exit the process")
        except (DatabaseError, RigError) as e:
            # An expected failure: say what happened, not which class raised it.
            ctx.last_error = e
            return State.error(f"{state.display_for(ctx.server.kind if ctx.server else None)} failed: {e}")
        except Exception as e:
            ctx.last_error = e
            return State.error(f"{name} raised {type(e).__name__} in state {state.name}: {e}")
        try:
            nxt = State.of(returned)
        except (TypeError, ValueError):
            return State.error(f"{name}.execute in state {state.name} returned {returned!r}, which is not a state "
                               "(return a State or a state name)")
        if not nxt.is_terminal and nxt.name not in self.handlers:
            known = sorted({*self.handlers, "Completed", "Error"})
            return State.error(f"{name}.execute in state {state.name} returned unknown state {nxt.name!r} "
                               f"(known: {', '.join(known)})")
        if nxt.name == "Error" and nxt.message is None:
            nxt = State.error(ctx.error_message or f"{name} ended in Error in state {state.name}")
        return nxt

    def _notify(self, visit: StateVisit) -> None:
        if visit.error:
            log.debug("state %s ended in Error after %.1f ms: %s", visit.state, visit.ms, visit.error)
        else:
            log.debug("state %s done in %.1f ms", visit.state, visit.ms)
        if self.listener:
            self.listener(visit)
