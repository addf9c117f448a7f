"""The composition root: one Environment per command owns config, console, reports and resilience.

`run_async` runs a command's coroutine and turns SIGTERM into the same orderly stop as Ctrl-C.
"""

from __future__ import annotations

import asyncio
import json
import signal
import threading
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any, TypeVar

from rich.console import Console

from .config import AppConfig, LoadedConfig
from .db import ConnectionPool, Target
from .errors import Interrupted, Terminated
from .report import Case, Suite, write_json, write_junit
from .resilience import (
    CircuitBreaker,
    ResilientConnectionManager,
    RetryEvent,
    create_db_circuit_breaker_config,
    create_db_retry_config,
)

T = TypeVar("T")


@dataclass
class Environment:
    loaded: LoadedConfig
    command: str = "test-rig"
    console: Console = field(default_factory=lambda: Console(highlight=False, soft_wrap=True))
    verbose: bool = False
    json_path: str | None = None
    junit_path: str | None = None
    html_path: str | None = None
    retry_events: list[RetryEvent] = field(default_factory=list)
    quiet_retries: bool = False
    report_written: bool = False

    @property
    def config(self) -> AppConfig:
        return self.loaded.config

    def target(self) -> Target:
        return Target.from_config(self.config)

    def manager(self, pool: ConnectionPool | None = None, *, breaker: CircuitBreaker | None = None,
                overall_timeout: float | None = None) -> ResilientConnectionManager:
        """A resilience manager whose retries give up within `overall_timeout`
        (default: the configured database.timeout_secs) and are printed as they happen."""
        retry = create_db_retry_config().with_timeout(
            overall_timeout if overall_timeout is not None else self.config.database.timeout_secs)
        return ResilientConnectionManager(
            pool, create_db_circuit_breaker_config(), retry, breaker=breaker, on_retry=self._on_retry,
            quiet=self.quiet_retries)

    def _on_retry(self, event: RetryEvent) -> None:
        self.retry_events.append(event)

    def write_reports(self, data: dict[str, Any], suites: list[Suite] | None = None) -> None:
        """Write --json and --junit from one result. A run that did not finish gets a JUnit error
        case saying so, so an interrupted run never looks green."""
        data = {"command": self.command, **data}
        if self.json_path:
            write_json(self.json_path, data)
        if self.html_path:
            from .html import write_html

            write_html(self.html_path, json.loads(json.dumps(data, default=str)))
        if self.junit_path:
            suites = list(suites or [Suite(self.command)])
            problem = None
            if data.get("complete") is False:
                problem = f"the run did not finish: {data.get('error') or 'interrupted'}"
            elif data.get("ok") is False and data.get("error") and not any(c.failure or c.error
                                                                          for s in suites for c in s.cases):
                problem = str(data["error"])
            if problem is not None:
                suites[0].add(Case("run", f"test_rig.{self.command.replace(' ', '.')}", error=problem))
            write_junit(self.junit_path, suites)
        self.report_written = True

    def write_failure(self, error: str, *, interrupted: bool) -> None:
        """The report of a run that ended before producing a result."""
        self.write_reports({"ok": False, "complete": False, "error": error})


def run_async(coro_fn: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Run a coroutine on uvloop when it is installed (it is measurably faster here).

    Ctrl-C (SIGINT) and SIGTERM cancel the coroutine, so its `finally` blocks clean up (drop the
    run's schema, close connections), and then raise Interrupted (exit 130) or Terminated (exit 143).
    A second signal while cleaning up stops at once. A SIGINT that the shell set to be ignored (a
    background job) stays ignored.
    """
    try:
        import uvloop

        factory: Any = uvloop.new_event_loop
    except ImportError:  # pragma: no cover - uvloop is a declared dependency on Linux
        factory = None
    received: list[int] = []
    main_task: list[asyncio.Task[T]] = []

    with asyncio.Runner(loop_factory=factory) as runner:
        loop = runner.get_loop()

        def on_signal(signum: int, frame: Any) -> None:
            received.append(signum)
            if len(received) > 1 or not main_task:
                raise (Terminated if signum == signal.SIGTERM else Interrupted)()
            loop.call_soon_threadsafe(main_task[0].cancel)

        async def main() -> T:
            task = asyncio.current_task()
            assert task is not None
            main_task.append(task)
            return await coro_fn()

        previous: dict[signal.Signals, Any] = {}
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                if signal.getsignal(sig) is not signal.SIG_IGN:
                    previous[sig] = signal.signal(sig, on_signal)
        try:
            result = runner.run(main())
        except asyncio.CancelledError:
            if not received:
                raise
            raise (Terminated if received[0] == signal.SIGTERM else Interrupted)() from None
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
    if received:  # the coroutine swallowed the cancellation: the run was still interrupted
        raise (Terminated if received[0] == signal.SIGTERM else Interrupted)()
    return result
