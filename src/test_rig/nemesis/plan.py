"""The nemesis's schedule as data: which fault begins when and when it is healed, computed from its spec and the
run's length alone (no clock, no server), so the rules are tested on values and `Nemesis.run` only carries it out.

Every `interval` seconds from the run's start, one fault begins; the kinds asked for take turns, so each kind is
seen. None begins at or after the run's end. Each lasts `duration` seconds (half the interval unless given); one
that would outlast the run is healed at its end. kill-connections has nothing to hold (the sessions are gone at
once and the run reconnects by itself), so it ends as it begins.
"""

from __future__ import annotations

from dataclasses import dataclass

from test_rig.nemesis.model import NemesisSpec

#: Kinds that are done at once, with nothing left to undo at the end of a hold.
INSTANT_KINDS = ("kill-connections",)


@dataclass(frozen=True)
class PlannedFault:
    """The `index`-th fault of a run (from 0, the index of its window): its kind, and when it is meant to begin
    and be healed, in seconds from the run's start."""

    index: int
    kind: str
    start_s: float
    end_s: float


def plan(spec: NemesisSpec, duration: float) -> list[PlannedFault]:
    """The faults of a run of `duration` seconds under `spec`, in order; empty for a run no longer than one
    interval. (`spec` already refuses a duration that is not less than its interval.)"""
    faults: list[PlannedFault] = []
    # Each start is n * interval, not a running sum, so the schedule does not drift over a long run.
    while (start := (len(faults) + 1) * spec.interval) < duration:
        kind = spec.kinds[len(faults) % len(spec.kinds)]
        end = start if kind in INSTANT_KINDS else min(start + spec.hold, duration)
        faults.append(PlannedFault(len(faults), kind, start, end))
    return faults
