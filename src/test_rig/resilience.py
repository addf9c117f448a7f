"""Retry policy (on tenacity), circuit breaker, and ResilientConnectionManager.

Strategies follow tenacity's shape: small objects with injected clock and sleep, so tests run
without sleeping. Retry decisions come from `classify_error`, i.e. from server error codes.
"""

from __future__ import annotations

import asyncio
import enum
import inspect
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import tenacity
from tenacity import AsyncRetrying, RetryCallState

from test_rig import timeouts
from test_rig.errors import (
    CircuitOpenError,
    DatabaseError,
    ErrorCategory,
    ErrorContext,
    RetryExhaustedError,
    RigError,
    TimeoutError_,
    classify_error,
    error_code,
    is_lost_connection,
)

log = logging.getLogger("test_rig.resilience")
T = TypeVar("T")

#: Unknown errors are retried, but at most this many attempts in all.
UNKNOWN_ATTEMPT_LIMIT = 3


@dataclass(frozen=True)
class RetryConfig:
    max_attempts: int = 3
    base_delay: float = 0.1
    max_delay: float = 30.0
    multiplier: float = 2.0
    jitter: bool = True
    overall_timeout: float | None = None
    attempt_timeout: float | None = None

    def with_timeout(self, overall: float | None) -> RetryConfig:
        from dataclasses import replace

        return replace(self, overall_timeout=overall)


def create_retry_config() -> RetryConfig:
    """The original's general defaults: 3 attempts, 100 ms base, 30 s cap, ×2 (now with jitter)."""
    return RetryConfig()


def create_db_retry_config() -> RetryConfig:
    """Database defaults: 5 attempts, 100 ms base, 10 s cap, ×2, full jitter."""
    return RetryConfig(max_attempts=5, base_delay=0.1, max_delay=10.0, multiplier=2.0, jitter=True)


def wait_strategy(cfg: RetryConfig) -> tenacity.wait.wait_base:
    """Exponential backoff base·multiplier^(n-1) capped at max_delay; with jitter, uniform in [0, that]."""
    if cfg.jitter:
        return tenacity.wait_random_exponential(multiplier=cfg.base_delay, max=cfg.max_delay,
                                                exp_base=cfg.multiplier)
    return tenacity.wait_exponential(multiplier=cfg.base_delay, max=cfg.max_delay, exp_base=cfg.multiplier,
                                     min=0)


def should_retry(err: BaseException, attempt: int) -> bool:
    category = classify_error(err)
    if category is ErrorCategory.Transient:
        return True
    if category is ErrorCategory.Unknown:
        return attempt < UNKNOWN_ATTEMPT_LIMIT
    return False


# --------------------------------------------------------------------------- circuit breaker


class CircuitState(enum.Enum):
    Closed = "closed"
    Open = "open"
    HalfOpen = "half_open"


@dataclass(frozen=True)
class CircuitBreakerConfig:
    failure_threshold: int = 5
    recovery_timeout: float = 30.0
    success_threshold: int = 3


def create_circuit_breaker_config() -> CircuitBreakerConfig:
    return CircuitBreakerConfig()


def create_db_circuit_breaker_config(recovery_timeout: float | None = None) -> CircuitBreakerConfig:
    """Database defaults: open after 3 consecutive failures, try again after 10 s, close after 2 successes.
    Under a nemesis the caller shortens the recovery time to a share of the fault interval, or the breaker
    would hold the load down from one fault to the next."""
    return CircuitBreakerConfig(failure_threshold=3, recovery_timeout=10.0 if recovery_timeout is None
                                else recovery_timeout, success_threshold=2)


@dataclass(frozen=True)
class Transition:
    at: float
    from_state: CircuitState
    to_state: CircuitState
    reason: str

    def to_dict(self) -> dict[str, Any]:
        return {"at": round(self.at, 3), "from": self.from_state.value, "to": self.to_state.value,
                "reason": self.reason}


def counts_against_server(err: BaseException) -> bool:
    """Whether an error says the server (not the statement) is unhealthy.

    Lock conflicts and syntax errors come from a healthy server and do not trip the breaker.
    """
    if isinstance(err, CircuitOpenError):
        return False
    if is_lost_connection(err) or isinstance(err, TimeoutError_ | asyncio.TimeoutError):
        return True
    code = error_code(err)
    if code in (1040, 9001, 9002, 9003, 9004, 9005, 8252):
        return True
    return code is None and classify_error(err) is not ErrorCategory.Permanent


class CircuitBreaker:
    """Closed → Open after `failure_threshold` consecutive failures → HalfOpen after
    `recovery_timeout` → Closed after `success_threshold` successes; a failure in HalfOpen re-opens."""

    def __init__(self, config: CircuitBreakerConfig | None = None, *, name: str = "database",
                 clock: Callable[[], float] = time.monotonic,
                 on_transition: Callable[[Transition], None] | None = None) -> None:
        self.config = config or create_circuit_breaker_config()
        self.name = name
        self.clock = clock
        self.on_transition = on_transition
        self._state = CircuitState.Closed
        self._opened_at = 0.0
        self.consecutive_failures = 0
        self.half_open_successes = 0
        self.total_failures = 0
        self.total_successes = 0
        self.rejected = 0
        self.transitions: list[Transition] = []
        self._t0 = clock()

    @property
    def state(self) -> CircuitState:
        if self._state is CircuitState.Open and self.clock() >= self.retry_at:
            self._move(CircuitState.HalfOpen, "recovery timeout elapsed")
        return self._state

    @property
    def retry_at(self) -> float:
        return self._opened_at + self.config.recovery_timeout

    def before_call(self, context: ErrorContext | None = None) -> None:
        """Raise CircuitOpenError if calls are not allowed now."""
        if self.state is CircuitState.Open:
            self.rejected += 1
            wait = max(0.0, self.retry_at - self.clock())
            raise CircuitOpenError(
                f"circuit '{self.name}' is open after {self.consecutive_failures} consecutive failures; "
                f"it will try again in {wait:.1f} s",
                retry_at=self.retry_at, context=context)

    def record_success(self) -> None:
        self.total_successes += 1
        state = self.state
        if state is CircuitState.HalfOpen:
            self.half_open_successes += 1
            if self.half_open_successes >= self.config.success_threshold:
                self._move(CircuitState.Closed, f"{self.half_open_successes} successes in half-open")
        self.consecutive_failures = 0

    def record_failure(self, err: BaseException | None = None) -> None:
        self.total_failures += 1
        self.consecutive_failures += 1
        state = self.state
        reason = str(err) if err is not None else "failure"
        if state is CircuitState.HalfOpen:
            self._open(f"failure in half-open: {reason}")
        elif state is CircuitState.Closed and self.consecutive_failures >= self.config.failure_threshold:
            self._open(f"{self.consecutive_failures} consecutive failures, last: {reason}")

    def _open(self, reason: str) -> None:
        self._opened_at = self.clock()
        self._move(CircuitState.Open, reason)

    def _move(self, to: CircuitState, reason: str) -> None:
        if to is self._state:
            return
        t = Transition(self.clock() - self._t0, self._state, to, reason)
        self._state = to
        self.half_open_successes = 0
        self.transitions.append(t)
        log.info("circuit %s: %s -> %s (%s)", self.name, t.from_state.value, to.value, reason)
        if self.on_transition:
            self.on_transition(t)

    async def call(self, operation: Callable[[], Awaitable[T]]) -> T:
        self.before_call()
        try:
            result = await operation()
        except Exception as e:
            if counts_against_server(e):
                self.record_failure(e)
            raise
        self.record_success()
        return result

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "state": self.state.value,
            "consecutive_failures": self.consecutive_failures,
            "total_failures": self.total_failures,
            "total_successes": self.total_successes,
            "rejected": self.rejected,
            "transitions": [t.to_dict() for t in self.transitions],
        }


# --------------------------------------------------------------------------- the manager


@dataclass
class RetryEvent:
    operation: str
    attempt: int
    delay: float
    error: str
    code: int | None
    category: str
    context: dict[str, Any] = field(default_factory=dict)


RetryListener = Callable[[RetryEvent], None]


class ResilientConnectionManager:
    """Runs database operations with retry and a circuit breaker.

    `operation` is an async callable taking either nothing or a Connection from `pool`. A
    connection that was lost is discarded and the next attempt gets a new one.
    """

    def __init__(
        self,
        pool: Any | None = None,
        circuit_config: CircuitBreakerConfig | None = None,
        retry_config: RetryConfig | None = None,
        *,
        breaker: CircuitBreaker | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        clock: Callable[[], float] = time.monotonic,
        on_retry: RetryListener | None = None,
        quiet: bool = False,
    ) -> None:
        self.pool = pool
        self.retry_config = retry_config or create_db_retry_config()
        self.breaker = breaker or CircuitBreaker(circuit_config or create_db_circuit_breaker_config(),
                                                 clock=clock)
        self._sleep = sleep
        self._clock = clock
        self.on_retry = on_retry
        #: Keep retry lines off the console (they still reach a log file): many workers retrying at once.
        self.quiet = quiet
        self.retries = 0
        self.retry_events: list[RetryEvent] = []

    @classmethod
    def with_custom_config(cls, pool: Any, circuit_config: CircuitBreakerConfig,
                           retry_config: RetryConfig, **kwargs: Any) -> ResilientConnectionManager:
        return cls(pool, circuit_config, retry_config, **kwargs)

    @classmethod
    def new(cls, pool: Any) -> ResilientConnectionManager:
        return cls(pool)

    def _context(self, name: str, attempt: int, started: float, err: BaseException) -> ErrorContext:
        target = getattr(self.pool, "target", None)
        base = err.context if isinstance(err, RigError) and err.context else None
        return ErrorContext(
            operation=name, attempt=attempt, duration_ms=(self._clock() - started) * 1000,
            host=target.address if target else (base.host if base else None),
            database=target.database if target else (base.database if base else None),
            user=target.user if target else (base.user if base else None),
            query=base.query if base else None,
        )

    async def execute_with_resilience(self, name: str, operation: Callable[..., Awaitable[T]],
                                      *, retry: RetryConfig | None = None) -> T:
        """Run `operation` with retry and the breaker. Raises the last error, with its context,
        or RetryExhaustedError when every allowed attempt failed with a retryable error."""
        cfg = retry or self.retry_config
        started = self._clock()
        takes_conn = _takes_argument(operation)
        attempt_no = 0
        real_attempts = 0  # attempts that reached the server; those the open breaker rejected do not count
        last_real: list[BaseException] = []  # the last error that came from the database itself

        async def attempt() -> T:
            nonlocal attempt_no, real_attempts
            attempt_no += 1
            self.breaker.before_call()
            real_attempts += 1
            budget = cfg.attempt_timeout
            if cfg.overall_timeout is not None:
                left = cfg.overall_timeout - (self._clock() - started)
                budget = left if budget is None else min(budget, left)
            try:
                async with timeouts.timeout(budget if budget is None or budget > 0 else 0.001):
                    if takes_conn:
                        result = await self._with_connection(operation)
                    else:
                        result = await operation()
            except Exception as e:
                if isinstance(e, TimeoutError) and not isinstance(e, DatabaseError):
                    e = TimeoutError_(f"{name} did not finish within {_seconds(budget)}", code=None)
                if counts_against_server(e):
                    self.breaker.record_failure(e)
                if isinstance(e, RigError):
                    e.context = self._context(name, attempt_no, started, e)
                if not isinstance(e, CircuitOpenError):
                    last_real[:] = [e]
                raise e from None
            self.breaker.record_success()
            return result

        def retry_predicate(state: RetryCallState) -> bool:
            outcome = state.outcome
            if outcome is None or not outcome.failed:
                return False
            exc = outcome.exception()
            assert exc is not None
            if not isinstance(exc, Exception):  # Ctrl-C, SIGTERM, cancellation: never retried
                return False
            if isinstance(exc, CircuitOpenError):
                return cfg.overall_timeout is not None or state.attempt_number < cfg.max_attempts
            return should_retry(exc, state.attempt_number)

        def before_sleep(state: RetryCallState) -> None:
            assert state.outcome is not None
            exc = state.outcome.exception()
            assert exc is not None
            delay = state.next_action.sleep if state.next_action else 0.0
            self.retries += 1
            ctx = exc.context.to_dict() if isinstance(exc, RigError) and exc.context else {}
            event = RetryEvent(name, state.attempt_number, delay, str(exc), error_code(exc),
                               classify_error(exc).value, ctx)
            self.retry_events.append(event)
            if isinstance(exc, CircuitOpenError):
                log.info("retry %s: not attempted, %s; next try in %.3f s", name, exc, delay,
                         extra={"shown_to_user": self.quiet})
            else:
                log.info("retry %s: attempt %d failed (%s); next attempt in %.3f s", name, real_attempts, exc,
                         delay, extra={"shown_to_user": self.quiet})
            if self.on_retry:
                self.on_retry(event)

        stop: tenacity.stop.stop_base = tenacity.stop_after_attempt(cfg.max_attempts)
        if cfg.overall_timeout is not None:
            stop = stop | _stop_before_deadline(cfg.overall_timeout, self._clock, started)
        retrying = AsyncRetrying(stop=stop, wait=wait_strategy(cfg), retry=retry_predicate,
                                 before_sleep=before_sleep, sleep=self._sleep, reraise=False)
        try:
            return await retrying(attempt)
        except tenacity.RetryError as e:
            failed = e.last_attempt.exception()
            assert failed is not None
            last: BaseException = failed
        except Exception as e:  # the predicate declined to retry: tenacity re-raises as is
            last = e
        note = ""
        if isinstance(last, CircuitOpenError) and last_real:
            note = f"; then the circuit breaker opened and stopped the retries ({last})"
            last = last_real[0]
        if real_attempts <= 1 or not should_retry(last, 1):
            raise last
        plural = "attempt" if real_attempts == 1 else "attempts"
        raise RetryExhaustedError(
            f"{name} failed after {real_attempts} {plural} in {self._clock() - started:.1f} s; last error: "
            f"{last}{note}",
            last_error=last, attempts=real_attempts,
            context=last.context if isinstance(last, RigError) else None) from last

    async def _with_connection(self, operation: Callable[..., Awaitable[T]]) -> T:
        if self.pool is None:
            raise RigError("this ResilientConnectionManager has no pool; pass an operation without arguments")
        conn = await self.pool.acquire()
        try:
            result = await operation(conn)
        except BaseException as e:
            if is_lost_connection(e) or isinstance(e, TimeoutError | asyncio.CancelledError):
                await self.pool.discard(conn)
            else:
                await self.pool.release(conn)
            raise
        await self.pool.release(conn)
        return result


class _stop_before_deadline(tenacity.stop.stop_base):
    """Stop when the next sleep would end after the overall deadline, or so close to it that the next
    attempt would have a sliver of time: a refused connection answers in a millisecond, but an attempt
    cut off after 0.8 ms reports a timeout instead of what the server said."""

    #: Every attempt gets at least this much of the overall budget (capped at a tenth of it).
    MIN_ATTEMPT = 0.1

    def __init__(self, timeout: float, clock: Callable[[], float], started: float) -> None:
        self.timeout = timeout
        self.clock = clock
        self.started = started

    def __call__(self, retry_state: RetryCallState) -> bool:
        upcoming = retry_state.upcoming_sleep
        floor = min(self.MIN_ATTEMPT, self.timeout / 10)
        return self.clock() - self.started + upcoming >= self.timeout - floor


def _takes_argument(fn: Callable[..., Any]) -> bool:
    try:
        params = [p for p in inspect.signature(fn).parameters.values()
                  if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) and p.default is p.empty]
    except (TypeError, ValueError):
        return False
    return len(params) >= 1


def _seconds(budget: float | None) -> str:
    """An attempt's time budget as a person reads it: "9.9 s", not "9.86404 s" (what was left of the overall
    timeout); "its timeout" when it had none of its own (the timeout came from below)."""
    if budget is None:
        return "its timeout"
    return f"{budget:.2g} s" if budget < 10 else f"{budget:.0f} s"
