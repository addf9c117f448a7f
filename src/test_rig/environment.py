"""The composition root: one Environment per command owns config, console, reports and resilience."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any, TypeVar

from rich.console import Console

from .config import AppConfig, LoadedConfig
from .db import ConnectionPool, Target
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
    console: Console = field(default_factory=lambda: Console(highlight=False, soft_wrap=True))
    err_console: Console = field(default_factory=lambda: Console(stderr=True, highlight=False, soft_wrap=True))
    verbose: bool = False
    json_path: str | None = None
    junit_path: str | None = None
    retry_events: list[RetryEvent] = field(default_factory=list)
    quiet_retries: bool = False

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
            pool, create_db_circuit_breaker_config(), retry, breaker=breaker, on_retry=self._on_retry)

    def _on_retry(self, event: RetryEvent) -> None:
        self.retry_events.append(event)
        if not self.quiet_retries:
            self.err_console.print(
                f"[yellow]retry[/] {event.operation}: attempt {event.attempt} failed ({event.error}); "
                f"retrying in {event.delay:.3f} s", markup=True, soft_wrap=True)


def run_async(coro_fn: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Run a coroutine on uvloop when it is installed (it is measurably faster here)."""
    try:
        import uvloop

        factory: Any = uvloop.new_event_loop
    except ImportError:  # pragma: no cover - uvloop is a declared dependency on Linux
        factory = None
    with asyncio.Runner(loop_factory=factory) as runner:
        return runner.run(coro_fn())
