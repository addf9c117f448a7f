"""Classification, retry and the circuit breaker, against the configured server.

    eval "$(test-rig sandbox env)"; python examples/enhanced_error_handling.py

Configured like the CLI (TIDB_* environment, ./tidb_config.json or .toml). Prints what happens at each
step and exits 0 when every demonstration behaved as described.
"""

from __future__ import annotations

import asyncio
import sys

from test_rig import (
    CircuitOpenError,
    DatabaseError,
    ErrorCategory,
    ResilientConnectionManager,
    RetryConfig,
    classify_error,
    create_db_circuit_breaker_config,
    create_db_retry_config,
    get_recovery_strategy,
    load_config,
)
from test_rig.db import ConnectionPool, Target, connect
from test_rig.resilience import CircuitBreaker, CircuitBreakerConfig


async def classification(target: Target) -> bool:
    print("1. Classification by server error code")
    conn = await connect(target)
    seen = {}
    for sql in ("SELEC 1", "SELECT * FROM no_such_table_xyz", "USE no_such_database_xyz"):
        try:
            await conn.execute(sql)
        except DatabaseError as e:
            category = classify_error(e)
            seen[e.code] = category
            print(f"   {sql!r:<38} -> ({e.code}) {category.value:<10} {get_recovery_strategy(category).value}")
    await conn.close()
    return all(c is ErrorCategory.Permanent for c in seen.values()) and set(seen) == {1064, 1146, 1049}


async def retry_after_lost_connection(target: Target) -> bool:
    print("2. Retry: our connection is killed from another session; the manager reconnects and retries")
    pool = ConnectionPool(target, size=1)
    manager = ResilientConnectionManager.with_custom_config(pool, create_db_circuit_breaker_config(),
                                                            create_db_retry_config())
    manager.on_retry = lambda ev: print(f"   retry after attempt {ev.attempt}: ({ev.code}) {ev.category}, "
                                        f"next in {ev.delay:.3f} s")
    first = await manager.execute_with_resilience("critical_query", lambda c: c.scalar("SELECT CONNECTION_ID()"))
    admin = await connect(target)
    await admin.execute(f"KILL CONNECTION {int(first)}")
    await admin.close()
    second = await manager.execute_with_resilience("critical_query", lambda c: c.scalar("SELECT CONNECTION_ID()"))
    await pool.close()
    print(f"   connection {first} was killed; the query succeeded on connection {second}")
    return first != second and manager.retries == 1


async def breaker_on_a_dead_port(target: Target) -> bool:
    print("3. Circuit breaker: a port where nothing listens")
    dead = Target("dead", "127.0.0.1", 1, target.user, "", None, 2.0)
    breaker = CircuitBreaker(CircuitBreakerConfig(failure_threshold=3, recovery_timeout=30, success_threshold=2),
                             name="dead-port",
                             on_transition=lambda t: print(f"   breaker {t.from_state.value} -> {t.to_state.value}"))
    manager = ResilientConnectionManager(None, breaker=breaker,
                                         retry_config=RetryConfig(max_attempts=1, jitter=False))
    rejected = False
    for i in range(5):
        try:
            await manager.execute_with_resilience("connect", lambda: connect(dead))
        except CircuitOpenError as e:
            print(f"   call {i + 1}: rejected at once: {e.message}")
            rejected = True
        except DatabaseError as e:
            print(f"   call {i + 1}: failed: {e}")
    return rejected and breaker.state.value == "open"


async def main() -> int:
    target = Target.from_config(load_config().config)
    results = [await classification(target), await retry_after_lost_connection(target),
               await breaker_on_a_dead_port(target)]
    print("all demonstrations behaved as described" if all(results) else f"unexpected: {results}")
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
