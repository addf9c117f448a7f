"""The live view of a run split over worker processes (load.processes._LiveView): pure, driven by hand."""

from __future__ import annotations

import time

from test_rig.coordinator import nothing_done
from test_rig.load.processes import _LiveView


def test_load_started_is_said_at_the_common_start_not_when_the_workers_connected() -> None:
    """"load started" came seconds before any worker's load began (they connect, then wait for the common start),
    and a Ctrl-C in between kept no figure although the console had said the load was running."""
    said: list[object] = []
    start = time.perf_counter() + 1000
    live = _LiveView(2, lambda t, ops, errors: said.append(("second", t, ops)), said.append, ready_at=start)
    live.add(0, 4, 0)
    live.add(0, 4, 0)  # both workers connected, the start still to come
    assert said == []
    live.tick(start - 0.1)
    assert said == []
    live.tick(start)
    assert said == [8]
    live.tick(start + 1)
    assert said == [8]  # once


def test_a_second_of_load_says_the_start_first() -> None:
    said: list[object] = []
    live = _LiveView(1, lambda t, ops, errors: said.append(("second", t, ops)), said.append,
                     ready_at=time.perf_counter() + 1000)
    live.add(0, 3, 0)
    live.add(1, 10, 0)  # a worker's first second came before the driver's clock passed the start
    assert said == [3, ("second", 1, 10)]


def test_a_run_stopped_before_its_load_began_says_nothing_was_done() -> None:
    """Its result had no figures at all (operations missing from the JSON); now they are zero."""
    empty = nothing_done().to_dict()
    assert (empty["operations"], empty["errors"], empty["timeline"], empty["complete"]) == (0, 0, [], False)
