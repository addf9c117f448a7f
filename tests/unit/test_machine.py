"""The state machine engine, without a database."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

from test_rig.machine import State, StateContext, StateHandler, StateMachine


def run(machine: StateMachine, ctx: StateContext | None = None) -> Any:
    return asyncio.run(machine.run(ctx or StateContext()))


class Go(StateHandler):
    def __init__(self, nxt: State | str) -> None:
        self.nxt = nxt
        self.calls: list[str] = []

    def enter(self, ctx: StateContext) -> Any:
        self.calls.append("enter")
        return "ignored"

    def execute(self, ctx: StateContext) -> State | str:
        self.calls.append("execute")
        return self.nxt

    def exit(self, ctx: StateContext) -> None:
        self.calls.append("exit")


def test_runs_to_completed_and_records_the_path() -> None:
    first = Go("Custom")
    machine = StateMachine({"Initial": first, "Custom": Go(State.COMPLETED)})
    result = run(machine)
    assert result.ok
    assert result.path_names == ["Initial", "Custom", "Completed"]
    assert first.calls == ["enter", "execute", "exit"]


def test_async_handlers() -> None:
    class Async(StateHandler):
        async def execute(self, ctx: StateContext) -> State:
            await asyncio.sleep(0)
            ctx.custom_data["seen"] = True
            return State.COMPLETED

    ctx = StateContext()
    assert run(StateMachine({"Initial": Async()}), ctx).ok
    assert ctx.custom_data == {"seen": True}


def test_plain_handlers_run_off_the_event_loop_thread() -> None:
    seen: list[int] = []

    class Plain(StateHandler):
        def execute(self, ctx: StateContext) -> str:
            seen.append(threading.get_ident())
            return "Completed"

    assert run(StateMachine({"Initial": Plain()})).ok
    assert seen and seen[0] != threading.get_ident()


def test_error_state_gives_failing_result_with_message_and_path() -> None:
    result = run(StateMachine({"Initial": Go("Mid"), "Mid": Go(State.error("disk on fire"))}))
    assert not result.ok
    assert result.error == "disk on fire"
    assert result.path_names == ["Initial", "Mid", "Error"]


def test_handler_raising_becomes_error() -> None:
    class Boom(StateHandler):
        def execute(self, ctx: StateContext) -> State:
            raise RuntimeError("kaput")

    result = run(StateMachine({"Initial": Boom()}))
    assert result.error == "Boom raised RuntimeError in state Initial: kaput"


def test_unknown_state_is_an_error_naming_it() -> None:
    result = run(StateMachine({"Initial": Go("Nowhere")}))
    assert not result.ok
    assert result.error == ("Go.execute in state Initial returned unknown state 'Nowhere' (known: Completed, Error, "
                            "Initial)")


def test_non_state_return_is_an_error() -> None:
    result = run(StateMachine({"Initial": Go(42)}))  # type: ignore[arg-type]
    assert result.error == ("Go.execute in state Initial returned 42, which is not a state (return a State or a "
                            "state name)")


def test_undeclared_transition_names_both_states() -> None:
    machine = StateMachine({"Initial": Go("B"), "B": Go("Completed")}, transitions={"Initial": {"A"}})
    result = run(machine)
    assert result.error == "transition from Initial to B is not allowed (allowed: A)"


def test_iteration_cap() -> None:
    result = run(StateMachine({"Initial": Go("Initial")}, max_iterations=5))
    assert result.error == "state machine stopped after 5 iterations without finishing (in Initial)"
    assert result.path_names.count("Initial") == 5


def test_timeout_stops_a_stuck_machine() -> None:
    class Stuck(StateHandler):
        async def execute(self, ctx: StateContext) -> State:
            await asyncio.sleep(3600)
            return State.COMPLETED

    result = run(StateMachine({"Initial": Stuck()}, timeout=0.05))
    assert result.error == "state machine did not finish within 0.05 s (stuck in state Initial)"


def test_error_string_form() -> None:
    assert State.of("Error: nope") == State.error("nope")
    assert State.of("Error: nope").message == "nope"
    assert State("Connecting").display == "Connecting to TiDB"
