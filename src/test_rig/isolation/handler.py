"""A handler that runs one catalogue test from `test-rig run`, passing when the outcome is the expected one.

    class LostUpdateAtSerializable(CatalogueCheck):
        test_name = "P4"
        isolation = "serializable"
        expect = "prevented"
"""

from __future__ import annotations

from typing import ClassVar

from test_rig.isolation.catalogue import CATALOGUE
from test_rig.isolation.runner import run_one
from test_rig.machine import State, StateContext, StateHandler


class CatalogueCheck(StateHandler):
    """Runs `test_name` at `isolation` (and TiDB `txn_mode`) in a schema of its own; the machine
    completes when the observed outcome equals `expect`, and ends in Error with the evidence otherwise."""

    __abstract_handler__ = True
    test_name: ClassVar[str] = "G0"
    isolation: ClassVar[str] = "repeatable-read"
    txn_mode: ClassVar[str | None] = None
    expect: ClassVar[str] = "prevented"

    async def execute(self, ctx: StateContext) -> State:
        if ctx.target is None:
            return State.error("no connection target")
        if self.test_name not in CATALOGUE:
            return State.error(f"unknown catalogue test {self.test_name!r}")
        result = await run_one(ctx.target, CATALOGUE[self.test_name], self.isolation, txn_mode=self.txn_mode)
        ctx.custom_data["isolation_result"] = result.to_dict()
        print(f"{self.test_name} at {self.isolation}: {result.outcome} — {result.explanation}")
        if result.outcome != self.expect:
            return State.error(f"{self.test_name} at {self.isolation}: expected {self.expect}, observed "
                               f"{result.outcome} ({result.explanation})")
        return State.COMPLETED
