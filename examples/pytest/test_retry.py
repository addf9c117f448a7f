"""Retry with test-rig's resilience layer: a connection killed under a query is replaced and the query runs again."""

from test_rig import ResilientConnectionManager
from test_rig.db import ConnectionPool, connect
from test_rig.resilience import RetryConfig, create_db_circuit_breaker_config


def test_a_killed_connection_is_retried_on_a_new_one(rig_database, rig_run):
    async def scenario():
        pool = ConnectionPool(rig_database, size=1)
        manager = ResilientConnectionManager(pool, create_db_circuit_breaker_config(),
                                             RetryConfig(max_attempts=3, base_delay=0.01, max_delay=0.05))
        admin = await connect(rig_database)
        used = []

        async def query(conn):
            used.append(conn.thread_id)
            if len(used) == 1:  # the first attempt's connection dies under it
                await admin.execute(f"KILL CONNECTION {conn.thread_id}")
            return await conn.scalar("SELECT 42")

        try:
            return await manager.execute_with_resilience("answer", query), used, manager.retries
        finally:
            await admin.close()
            await pool.close()

    answer, used, retries = rig_run(scenario())
    assert answer == 42
    assert retries == 1 and len(set(used)) == 2  # a second attempt, on a new connection
