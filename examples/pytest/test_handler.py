"""A state handler of your own, run in the standard flow against the test's database."""

from test_rig import State, StateHandler
from test_rig.flows.basic import run_basic


class CreatesAndReads(StateHandler):
    """Registered for TestingConnection: writes a row, reads it back, goes on to VerifyingDatabase."""

    async def execute(self, ctx):
        await ctx.connection.execute(f"USE `{ctx.database}`")
        await ctx.connection.execute("CREATE TABLE notes (id INT PRIMARY KEY, body TEXT)")
        await ctx.connection.execute("INSERT INTO notes VALUES (1, 'hello')")
        if await ctx.connection.scalar("SELECT body FROM notes WHERE id = 1") != "hello":
            return State.error("the row did not read back")
        return State.VERIFYING_DATABASE


def test_the_handler_completes_the_flow(rig_database, rig_run):
    outcome = rig_run(run_basic(rig_database, None, timeout=30,
                                overrides={"TestingConnection": CreatesAndReads()}))
    assert outcome.result.ok, outcome.result.error
    assert outcome.result.path_names == ["Initial", "ParsingConfig", "Connecting", "TestingConnection",
                                         "VerifyingDatabase", "GettingVersion", "Completed"]
