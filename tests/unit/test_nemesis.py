"""The nemesis's pure parts: option parsing, the plan, the schedule's windows on a fake clock (no test here
sleeps), timeline marks, history events."""

from __future__ import annotations

import asyncio
import json

import pytest

from test_rig.db import Target
from test_rig.errors import RigError, UsageError
from test_rig.history.model import pair, parse_history
from test_rig.nemesis import (
    FaultWindow,
    Nemesis,
    NemesisSpec,
    PlannedFault,
    annotate_timeline,
    parse_commands,
    parse_kinds,
    plan,
)


def test_kinds_are_checked_and_deduplicated() -> None:
    assert parse_kinds("kill, pause,kill") == ("kill", "pause")
    with pytest.raises(UsageError, match="Unknown nemesis kind 'explode'; use one or more of kill, pause"):
        parse_kinds("kill,explode")
    with pytest.raises(UsageError, match="Unknown nemesis kind"):
        parse_kinds(" , ")


def test_commands_are_action_equals_command() -> None:
    assert parse_commands(["kill=pkill -9 tidb-server", "start = systemctl start tidb"]) == {
        "kill": "pkill -9 tidb-server", "start": "systemctl start tidb"}
    for bad in ("kill", "explode=rm -rf /", "start="):
        with pytest.raises(UsageError, match="is not ACTION=COMMAND with ACTION one of kill, start, pause, resume"):
            parse_commands([bad])


def test_interval_and_duration_must_make_sense() -> None:
    with pytest.raises(UsageError, match="--nemesis-interval -5 must be a positive number of seconds"):
        NemesisSpec(("kill",), interval=-5)
    with pytest.raises(UsageError, match="--nemesis-duration 6 must be more than 0 and less than --nemesis-interval 5"):
        NemesisSpec(("kill",), interval=5, duration=6)
    spec = NemesisSpec(("kill",), interval=5)
    assert spec.hold == 2.5
    assert spec.breaker_recovery == 1.0  # the load must come back between faults 5 s apart
    assert NemesisSpec(("kill",), interval=300).breaker_recovery == 10.0


def test_the_plan_takes_turns_every_interval_and_holds_each_fault_half_of_it() -> None:
    assert plan(NemesisSpec(("kill", "pause"), interval=5), 22) == [
        PlannedFault(0, "kill", 5, 7.5), PlannedFault(1, "pause", 10, 12.5), PlannedFault(2, "kill", 15, 17.5),
        PlannedFault(3, "pause", 20, 22)]  # the last one would outlast the run: healed at its end


def test_the_plan_holds_each_fault_for_the_duration_given() -> None:
    spec = NemesisSpec(("latency", "reset", "partition"), interval=3, duration=2.5)
    assert [(f.kind, f.start_s, f.end_s) for f in plan(spec, 13)] == [
        ("latency", 3, 5.5), ("reset", 6, 8.5), ("partition", 9, 11.5), ("latency", 12, 13)]
    assert [f.index for f in plan(spec, 13)] == [0, 1, 2, 3]


def test_no_fault_begins_at_or_after_the_end_of_the_run() -> None:
    spec = NemesisSpec(("kill",), interval=2, duration=1)
    assert plan(spec, 6) == [PlannedFault(0, "kill", 2, 3), PlannedFault(1, "kill", 4, 5)]  # not one at 6 s
    assert plan(spec, 6.001)[-1] == PlannedFault(2, "kill", 6, 6.001)
    assert plan(spec, 2) == []  # a run no longer than one interval has no fault
    assert plan(spec, 1.5) == []
    assert plan(spec, 0) == []


def test_kill_connections_ends_as_it_begins() -> None:
    spec = NemesisSpec(("kill-connections", "pause"), interval=2)
    assert plan(spec, 7) == [PlannedFault(0, "kill-connections", 2, 2), PlannedFault(1, "pause", 4, 5),
                             PlannedFault(2, "kill-connections", 6, 6)]


def test_the_plan_does_not_drift_over_a_long_run() -> None:
    faults = plan(NemesisSpec(("kill",), interval=0.1, duration=0.05), 1000)
    assert len(faults) == 9999
    assert faults[-1].start_s == 9999 * 0.1 and faults[-1].index == 9998


def test_a_duration_not_less_than_the_interval_is_refused_before_any_plan() -> None:
    for duration in (2.0, 3.0, 0.0):
        with pytest.raises(UsageError, match=f"--nemesis-duration {duration:g} must be more than 0 and less than"):
            plan(NemesisSpec(("kill",), interval=2, duration=duration), 10)


def test_timeline_seconds_are_marked_with_the_faults_that_cover_them() -> None:
    timeline = [{"t": t, "ops": 1} for t in range(1, 9)]
    annotate_timeline(timeline, [FaultWindow("kill", 2.5, 4.2).to_dict(), FaultWindow("latency", 6.0, None).to_dict()])
    assert [e["faults"] for e in timeline] == [[], [], ["kill"], ["kill"], ["kill"], [], ["latency"], ["latency"]]


class _Control:
    """A stand-in for the server: it records what the nemesis did to it, and can refuse to restart."""

    description = "a recorder"

    def __init__(self, fail_start: bool = False) -> None:
        self.calls: list[str] = []
        self.fail_start = fail_start

    async def kill(self) -> str:
        self.calls.append("kill")
        return "killed"

    async def start(self) -> str:
        self.calls.append("start")
        if self.fail_start:
            raise RigError("the start command exited with status 1")
        return "started"

    async def pause(self) -> str:
        self.calls.append("pause")
        return "paused"

    async def resume(self) -> str:
        self.calls.append("resume")
        return "resumed"


class _Clock:
    """Time that passes only when the nemesis waits, at once: its windows fall exactly on the plan's instants."""

    def __init__(self) -> None:
        self.t = 0.0
        self.waits: list[float] = []

    def now(self) -> float:
        return self.t

    async def sleep_until(self, t: float) -> None:
        self.waits.append(t)
        self.t = max(self.t, t)


def _nemesis(spec: NemesisSpec, control: _Control, clock: _Clock | None = None) -> Nemesis:
    return Nemesis(spec, Target("t", "127.0.0.1", 1, "root", "", "test", 1.0), control=control,
                   clock=clock or _Clock())


def test_kinds_take_turns_and_every_fault_is_healed() -> None:
    control = _Control()
    nemesis = _nemesis(NemesisSpec(("kill", "pause"), interval=0.2, duration=0.05), control)
    asyncio.run(nemesis.run(0.0, 0.9))
    assert [w.kind for w in nemesis.windows] == ["kill", "pause", "kill", "pause"]
    assert control.calls == ["kill", "start", "pause", "resume"] * 2
    assert all(w.ok and w.end_s is not None and w.end_s > w.start_s for w in nemesis.windows)
    assert nemesis.errors() == []
    assert [(w.start_s, w.end_s) for w in nemesis.windows] == [(f.start_s, f.end_s) for f in plan(nemesis.spec, 0.9)]
    assert [(round(w.start_s, 9), round(w.end_s or 0, 9)) for w in nemesis.windows] == [
        (0.2, 0.25), (0.4, 0.45), (0.6, 0.65), (0.8, 0.85)]


def test_the_windows_are_the_plan_on_the_clock_the_run_started_at() -> None:
    clock = _Clock()
    clock.t = 1000.0
    nemesis = _nemesis(NemesisSpec(("kill", "pause"), interval=4), _Control(), clock)
    asyncio.run(nemesis.run(1000.0, 11))
    assert [(w.kind, w.start_s, w.end_s) for w in nemesis.windows] == [("kill", 4, 6), ("pause", 8, 10)]
    assert clock.waits == [1004, 1006, 1008, 1010]  # each start and each heal, nothing else


def test_a_fault_that_would_outlast_the_run_is_healed_at_its_end() -> None:
    control = _Control()
    nemesis = _nemesis(NemesisSpec(("pause",), interval=2, duration=1.5), control)
    asyncio.run(nemesis.run(0.0, 5))
    assert [(w.start_s, w.end_s) for w in nemesis.windows] == [(2, 3.5), (4, 5)]
    assert control.calls == ["pause", "resume"] * 2 and nemesis.errors() == []


def test_a_fault_that_began_late_is_still_held_for_its_duration() -> None:
    class Late(_Clock):
        async def sleep_until(self, t: float) -> None:
            await super().sleep_until(t)
            if len(self.waits) == 1:
                self.t += 0.5  # the first start came half a second late (a busy event loop)

    nemesis = _nemesis(NemesisSpec(("kill",), interval=4, duration=1), _Control(), Late())
    asyncio.run(nemesis.run(0.0, 9.2))
    assert [(w.start_s, w.end_s) for w in nemesis.windows] == [(4.5, 5.5), (8, 9)]  # the next one still at 8 s


def test_a_fault_that_could_not_be_injected_is_recorded_and_the_next_comes_on_time() -> None:
    class Refusing(_Control):
        async def kill(self) -> str:
            self.calls.append("kill")
            if self.calls.count("kill") == 1:
                raise RigError("the kill command exited with status 1")
            return "killed"

    control = Refusing()
    failed: list[FaultWindow] = []
    nemesis = _nemesis(NemesisSpec(("kill",), interval=1, duration=0.5), control)
    nemesis.listeners.append(lambda kind, phase, w: failed.append(w) if phase == "failed" else None)
    asyncio.run(nemesis.run(0.0, 2.5))
    assert control.calls == ["kill", "start", "kill", "start"]  # the half-done first one undone all the same
    assert [(w.start_s, w.end_s) for w in nemesis.windows] == [(1, 1), (2, 2.5)]
    assert failed == nemesis.windows[:1]
    assert nemesis.errors() == ["kill could not be injected: the kill command exited with status 1"]


def test_stopping_early_heals_the_fault_in_progress() -> None:
    control = _Control()
    nemesis = _nemesis(NemesisSpec(("kill",), interval=0.05, duration=0.04), control)
    events: list[str] = []
    nemesis.listeners.append(lambda kind, phase, w: events.append(f"{phase}-{kind}"))

    nemesis.listeners.append(lambda kind, phase, w: nemesis.stop() if phase == "start" else None)  # it has begun
    asyncio.run(nemesis.run(0.0, 60))
    assert control.calls == ["kill", "start"]
    assert events == ["start-kill", "end-kill"]
    assert nemesis.windows == [FaultWindow("kill", 0.05, 0.05, "killed", "started")]  # healed at once


def test_cancelling_the_schedule_still_restarts_the_server() -> None:
    control = _Control()
    nemesis = _nemesis(NemesisSpec(("kill",), interval=0.05, duration=0.04), control)

    async def go() -> None:
        task = asyncio.create_task(nemesis.run(0.0, 60))
        # Cancelled as the first fault begins: the cancellation lands in the wait for its end.
        nemesis.listeners.append(lambda kind, phase, w: task.cancel() if phase == "start" else None)
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(go())
    assert control.calls == ["kill", "start"]


def test_a_fault_that_could_not_be_healed_is_an_error_of_the_run() -> None:
    nemesis = _nemesis(NemesisSpec(("kill",), interval=0.1, duration=0.02), _Control(fail_start=True))
    asyncio.run(nemesis.run(0.0, 0.15))
    assert nemesis.errors() == ["kill could not be healed: the start command exited with status 1"]
    assert nemesis.to_dict()["ok"] is False


def test_nemesis_events_in_a_history_are_kept_but_are_not_transactions() -> None:
    lines = [json.dumps(d) for d in (
        {"index": 0, "process": 0, "type": "invoke", "f": "txn", "value": [["append", "x", 1]], "time": 1},
        {"index": 1, "process": "nemesis", "type": "info", "f": "start-kill", "value": "SIGKILL", "time": 2},
        {"index": 2, "process": 0, "type": "info", "f": "txn", "value": [["append", "x", 1]], "time": 3},
        {"index": 3, "process": "nemesis", "type": "info", "f": "stop-kill", "value": "restarted", "time": 4},
    )]
    ops = list(parse_history(lines))
    assert [op.process for op in ops] == [0, "nemesis", 0, "nemesis"]
    txns = pair(ops)
    assert [(t.id, t.process, t.type) for t in txns] == [(0, 0, "info")]


def test_a_fault_cancelled_while_it_is_injected_is_still_healed() -> None:
    class SlowKill(_Control):
        async def kill(self) -> str:
            self.calls.append("kill")
            await asyncio.sleep(60)  # cancelled here, after the server was hit
            return "killed"

    control = SlowKill()
    nemesis = _nemesis(NemesisSpec(("kill",), interval=0.01, duration=0.005), control)

    async def go() -> None:
        task = asyncio.create_task(nemesis.run(0.0, 60))
        while not control.calls:
            await asyncio.sleep(0)  # the nemesis's turn: its fake clock comes to the first fault at once
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(go())
    assert control.calls == ["kill", "start"]
    assert nemesis.errors() == ["kill was interrupted while being injected"]


_NO_NEMESIS = {name: None for name in ("nemesis_kinds", "nemesis_interval", "nemesis_duration", "nemesis_commands",
                                       "toxiproxy_url")} | {"nemesis_latency": 50.0, "nemesis_jitter": 0.0,
                                                            "nemesis_bandwidth": 64}


def test_the_spec_a_commands_options_ask_for() -> None:
    from test_rig.nemesis import spec_from_options

    assert spec_from_options(_NO_NEMESIS, set()) is None
    values = _NO_NEMESIS | {"nemesis_kinds": "kill,latency", "nemesis_duration": 2.0,
                            "nemesis_commands": ("kill=pkill x", "start=run x"), "toxiproxy_url": "http://t:8474"}
    assert spec_from_options(values, {"nemesis_kinds"}, seed=7) == NemesisSpec(
        ("kill", "latency"), interval=10.0, duration=2.0, commands={"kill": "pkill x", "start": "run x"},
        latency_ms=50.0, jitter_ms=0.0, bandwidth_kbps=64, toxiproxy="http://t:8474", seed=7)


@pytest.mark.parametrize(("typed", "flag"), [({"nemesis_interval"}, "--nemesis-interval"),
                                             ({"nemesis_commands", "nemesis_jitter"}, "--nemesis-command"),
                                             ({"toxiproxy_url"}, "--toxiproxy")])
def test_a_nemesis_option_without_nemesis_is_refused(typed: set[str], flag: str) -> None:
    from test_rig.nemesis import spec_from_options

    with pytest.raises(UsageError) as info:
        spec_from_options(_NO_NEMESIS, typed)
    assert info.value.message == f"{flag} has no effect without --nemesis KIND; add it or leave the option out."
