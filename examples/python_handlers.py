"""Example handlers: run them all with `test-rig run examples/python_handlers.py`.

Each is registered for TestingConnection in the standard flow (Initial → ParsingConfig → Connecting →
TestingConnection → VerifyingDatabase → GettingVersion → Completed) unless `--state` says otherwise.
"""

from __future__ import annotations

from test_rig import State, StateContext, StateHandler, quote_ident
from test_rig_python import PyState, PyStateContext, PyStateHandler


class ConnectionCheckHandler(PyStateHandler):
    """A plain (blocking-style) handler: checks the server answers and names itself."""

    def execute(self, context: PyStateContext) -> str:
        rows = context.connection.execute_query("SELECT 1 + 1, VERSION()")
        if rows[0][0] != 2:
            return PyState.error(f"SELECT 1 + 1 returned {rows[0][0]}")
        context.custom_data["version"] = rows[0][1]
        return PyState.verifying_database()


class TableRoundTripHandler(StateHandler):
    """A coroutine handler with states of its own: CreatingTable → PopulatingData → VerifyingResults.

    At TestingConnection the session has no default database yet (VerifyingDatabase selects it), so
    the table name is qualified with the configured database.
    """

    def additional_handlers(self) -> dict[str, StateHandler]:
        return {"CreatingTable": _Creating(), "PopulatingData": _Populating(), "VerifyingResults": _Verifying()}

    async def execute(self, ctx: StateContext) -> State:
        return State("CreatingTable")


class _Creating(StateHandler):
    @staticmethod
    def table(ctx: StateContext) -> str:
        return f"{quote_ident(ctx.database or 'test')}.example_round_trip"

    async def execute(self, ctx: StateContext) -> State:
        assert ctx.connection is not None
        await ctx.connection.execute(f"CREATE TEMPORARY TABLE {self.table(ctx)} (id INT PRIMARY KEY, v INT)")
        return State("PopulatingData")


class _Populating(_Creating):
    async def execute(self, ctx: StateContext) -> State:
        assert ctx.connection is not None
        await ctx.connection.execute(f"INSERT INTO {self.table(ctx)} VALUES (1, 10), (2, 20), (3, 30)")
        return State("VerifyingResults")


class _Verifying(_Creating):
    async def execute(self, ctx: StateContext) -> State:
        assert ctx.connection is not None
        total = await ctx.connection.scalar(f"SELECT SUM(v) FROM {self.table(ctx)}")
        if total != 60:
            return State.error(f"expected SUM(v) = 60, read {total}")
        await ctx.connection.execute(f"DROP TEMPORARY TABLE {self.table(ctx)}")
        return State.COMPLETED


class ReconnectCountingHandler(PyStateHandler):
    """Counts its attempts: sends the machine back to Connecting twice, then completes.

    Shows that a handler can drive retries itself, and that state data survives reconnects.
    """

    def execute(self, context: PyStateContext) -> str:
        attempts = context.get_handler_data("attempts", 0) + 1
        context.set_handler_data("attempts", attempts)
        if attempts < 3:
            return PyState.connecting()
        print(f"connected {attempts} times")
        return PyState.completed()
