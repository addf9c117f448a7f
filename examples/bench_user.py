"""A workload of your own, written like a Locust user class, run by `test-rig bench user`:

    test-rig bench prepare --table-size 10000          # its table: sysbench's sbtest1
    test-rig bench user examples/bench_user.py:Shopper --connections 8 --duration 10 --processes 2

Each connection is one Shopper. A task is picked by weight for every operation (browse 6 times in 10, search 3, buy
1); each task's count, latency and errors are reported under its name, and add up to the run's totals.
"""

from __future__ import annotations

from typing import Any

from test_rig.errors import DatabaseError
from test_rig.load.user import User, task


class Shopper(User):
    table_size = 10_000

    async def on_start(self, conn: Any) -> None:
        self.bought = 0

    @task(6)
    async def browse(self, conn: Any) -> None:
        await conn.fetch("SELECT c FROM sbtest1 WHERE id=%s", (self.rng.randint(1, self.table_size),))

    @task(3)
    async def search(self, conn: Any) -> None:
        low = self.rng.randint(1, self.table_size - 100)
        await conn.fetch("SELECT id, c FROM sbtest1 WHERE id BETWEEN %s AND %s ORDER BY c LIMIT 10", (low, low + 99))

    @task(1)
    async def buy(self, conn: Any) -> None:
        await conn.execute("BEGIN")
        try:
            await conn.execute("UPDATE sbtest1 SET k=k+1 WHERE id=%s", (self.rng.randint(1, self.table_size),),
                               is_write=True)
            await conn.execute("COMMIT")
        except DatabaseError:
            if not conn.closed:
                await conn.execute("ROLLBACK")
            raise
        self.bought += 1

    async def on_stop(self, conn: Any) -> None:
        assert self.bought >= 0
