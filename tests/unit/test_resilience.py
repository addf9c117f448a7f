"""Circuit breaker with a fake clock, retry decisions and jitter, all without sleeping."""

from __future__ import annotations

import asyncio
import random

import pytest

from test_rig.errors import CircuitOpenError, QueryError, RetryExhaustedError
from test_rig.resilience import (
    CircuitBreaker,
    CircuitBreakerConfig,
    CircuitState,
    ResilientConnectionManager,
    RetryConfig,
    create_db_circuit_breaker_config,
    create_db_retry_config,
    wait_strategy,
)


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def lost() -> QueryError:
    return QueryError("Lost connection", code=2013)


def test_breaker_opens_after_threshold_consecutive_failures() -> None:
    clock = FakeClock()
    b = CircuitBreaker(CircuitBreakerConfig(failure_threshold=3, recovery_timeout=10, success_threshold=2), clock=clock)
    b.record_failure(lost())
    b.record_failure(lost())
    b.record_success()  # resets the consecutive count
    b.record_failure(lost())
    b.record_failure(lost())
    assert b.state is CircuitState.Closed
    b.record_failure(lost())
    assert b.state is CircuitState.Open
    with pytest.raises(CircuitOpenError) as info:
        b.before_call()
    assert "will try again in 10.0 s" in info.value.message
    assert b.rejected == 1


def test_breaker_half_open_success_threshold_closes() -> None:
    clock = FakeClock()
    b = CircuitBreaker(CircuitBreakerConfig(failure_threshold=1, recovery_timeout=5, success_threshold=2), clock=clock)
    b.record_failure(lost())
    clock.now += 4.9
    assert b.state is CircuitState.Open
    clock.now += 0.1
    assert b.state is CircuitState.HalfOpen
    b.before_call()
    b.record_success()
    assert b.state is CircuitState.HalfOpen
    b.record_success()
    assert b.state is CircuitState.Closed
    assert [(t.from_state, t.to_state) for t in b.transitions] == [
        (CircuitState.Closed, CircuitState.Open), (CircuitState.Open, CircuitState.HalfOpen),
        (CircuitState.HalfOpen, CircuitState.Closed)]


def test_breaker_half_open_failure_reopens() -> None:
    clock = FakeClock()
    b = CircuitBreaker(CircuitBreakerConfig(failure_threshold=2, recovery_timeout=5, success_threshold=3), clock=clock)
    b.record_failure(lost())
    b.record_failure(lost())
    clock.now += 5
    assert b.state is CircuitState.HalfOpen
    b.record_success()
    b.record_failure(lost())
    assert b.state is CircuitState.Open
    assert b.retry_at == clock.now + 5


def test_breaker_ignores_healthy_server_errors() -> None:
    b = CircuitBreaker(CircuitBreakerConfig(failure_threshold=1), clock=FakeClock())

    async def deadlock() -> None:
        raise QueryError("Deadlock found", code=1213)

    with pytest.raises(QueryError):
        asyncio.run(b.call(deadlock))
    assert b.state is CircuitState.Closed


def test_db_presets() -> None:
    assert create_db_retry_config() == RetryConfig(max_attempts=5, base_delay=0.1, max_delay=10.0, multiplier=2.0,
                                                   jitter=True)
    assert create_db_circuit_breaker_config() == CircuitBreakerConfig(3, 10.0, 2)


class _State:
    def __init__(self, attempt: int) -> None:
        self.attempt_number = attempt


def test_jitter_varies_delays_within_zero_and_max() -> None:
    random.seed(7)
    wait = wait_strategy(RetryConfig(base_delay=0.1, max_delay=2.0, multiplier=2.0, jitter=True))
    delays = [wait(_State(n)) for n in range(1, 9) for _ in range(50)]  # type: ignore[arg-type]
    assert all(0.0 <= d <= 2.0 for d in delays)
    assert len({round(d, 6) for d in delays}) > 300  # they really vary
    fifth = [wait(_State(5)) for _ in range(200)]  # type: ignore[arg-type]
    assert max(fifth) <= 1.6  # 0.1 * 2**4
    assert min(fifth) < 0.4 < max(fifth)


def test_without_jitter_delays_are_exponential_and_capped() -> None:
    wait = wait_strategy(RetryConfig(base_delay=0.1, max_delay=0.5, multiplier=2.0, jitter=False))
    assert [round(wait(_State(n)), 3) for n in range(1, 6)] == [0.1, 0.2, 0.4, 0.5, 0.5]  # type: ignore[arg-type]


def _manager(clock: FakeClock, **kw: object) -> tuple[ResilientConnectionManager, list[float]]:
    slept: list[float] = []

    async def sleep(s: float) -> None:
        slept.append(s)
        clock.now += s

    cfg = RetryConfig(max_attempts=4, base_delay=0.1, max_delay=1.0, jitter=False)
    m = ResilientConnectionManager(None, CircuitBreakerConfig(failure_threshold=100), cfg, sleep=sleep, clock=clock)
    return m, slept


def test_transient_errors_are_retried_then_succeed() -> None:
    clock = FakeClock()
    m, slept = _manager(clock)
    calls = 0

    async def flaky() -> str:
        nonlocal calls
        calls += 1
        if calls < 3:
            raise QueryError("deadlock", code=1213)
        return "ok"

    assert asyncio.run(m.execute_with_resilience("flaky", flaky)) == "ok"
    assert calls == 3
    assert slept == [0.1, 0.2]
    assert [e.attempt for e in m.retry_events] == [1, 2]


def test_permanent_error_fails_after_one_attempt() -> None:
    m, slept = _manager(FakeClock())
    calls = 0

    async def denied() -> None:
        nonlocal calls
        calls += 1
        raise QueryError("Access denied", code=1045)

    with pytest.raises(QueryError) as info:
        asyncio.run(m.execute_with_resilience("login", denied))
    assert calls == 1 and slept == []
    assert info.value.context is not None and info.value.context.operation == "login"


def test_retries_exhausted_keeps_last_error() -> None:
    m, slept = _manager(FakeClock())

    async def down() -> None:
        raise QueryError("Can't connect", code=2003)

    with pytest.raises(RetryExhaustedError) as info:
        asyncio.run(m.execute_with_resilience("connect", down))
    assert info.value.attempts == 4
    assert getattr(info.value.last_error, "code", None) == 2003
    assert slept == [0.1, 0.2, 0.4]


def test_overall_timeout_stops_before_the_deadline() -> None:
    clock = FakeClock()
    m, _slept = _manager(clock)

    async def down() -> None:
        clock.now += 0.3
        raise QueryError("Can't connect", code=2003)

    cfg = RetryConfig(max_attempts=100, base_delay=0.1, max_delay=1.0, jitter=False, overall_timeout=2.0)
    with pytest.raises(RetryExhaustedError):
        asyncio.run(m.execute_with_resilience("connect", down, retry=cfg))
    assert clock.now - 1000.0 <= 2.0


def test_unknown_errors_retry_with_limit() -> None:
    m, _ = _manager(FakeClock())
    calls = 0

    async def odd() -> None:
        nonlocal calls
        calls += 1
        raise QueryError("weird", code=4242)

    with pytest.raises(RetryExhaustedError):
        asyncio.run(m.execute_with_resilience("odd", odd))
    assert calls == 3


def test_a_timeout_says_its_budget_as_a_person_reads_it() -> None:
    """`basic` against a silent server said "did not finish within 9.86404 s" (what was left of the overall
    timeout, printed in full)."""
    from test_rig.resilience import _seconds

    assert [_seconds(b) for b in (9.86404, 0.05, 5.0, 30.0, 123.456, None)] == [
        "9.9 s", "0.05 s", "5 s", "30 s", "123 s", "its timeout"]
