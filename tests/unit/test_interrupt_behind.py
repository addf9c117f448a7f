"""A signal's stop raised inside code that wraps what it raises is still the stop: CI's interrupt sweep sent SIGINT
while `elle` imported pydantic, whose class creation turned the stop into "RuntimeError: Error calling
__set_name__ ...", and the program ended with a traceback instead of exit 130 and its report."""

from __future__ import annotations

import pytest

from test_rig.environment import interrupt_behind
from test_rig.errors import Interrupted


class _Stops:
    def __set_name__(self, owner: type, name: str) -> None:
        raise Interrupted()  # what the program's signal handler raises, here while a class is being defined


def _define_a_class() -> None:
    type("Defined", (), {"attribute": _Stops()})


def test_the_stop_behind_a_wrapped_error_is_found() -> None:
    with pytest.raises(RuntimeError) as raised:
        _define_a_class()  # Python wraps it: the stop is the RuntimeError's cause
    stop = interrupt_behind(raised.value)
    assert isinstance(stop, Interrupted) and stop is raised.value.__cause__


def test_an_error_with_no_stop_behind_it_is_not_an_interrupt() -> None:
    try:
        try:
            raise ValueError("inner")
        except ValueError as inner:
            raise RuntimeError("outer") from inner
    except RuntimeError as e:
        assert interrupt_behind(e) is None
    error = RuntimeError("loop")
    error.__context__ = error  # a cycle ends the walk
    assert interrupt_behind(error) is None
