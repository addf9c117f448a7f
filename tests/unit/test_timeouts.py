"""timeouts.timeout: asyncio.timeout's behaviour on every Python 3.11, also in a task already being cancelled (where
Python 3.11.2's own gives the cancellation instead of TimeoutError). Timers of a few milliseconds, no sleep waited
out: each case ends at its limit."""

from __future__ import annotations

import asyncio

from test_rig.timeouts import timeout


async def _limited(seconds: float | None, work: float) -> str:
    try:
        async with timeout(seconds):
            await asyncio.sleep(work)
    except TimeoutError:
        return "TimeoutError"
    return "done"


def test_the_limit_passes_as_a_timeout_error_and_a_block_within_it_ends_as_it_does() -> None:
    async def scenario() -> tuple[str, str, str, int]:
        passed, within, unlimited = await _limited(0.01, 10), await _limited(10, 0), await _limited(None, 0)
        task = asyncio.current_task()
        assert task is not None
        return passed, within, unlimited, task.cancelling()

    assert asyncio.run(scenario()) == ("TimeoutError", "done", "done", 0)


def test_in_a_task_already_cancelled_the_limit_is_still_a_timeout_error() -> None:
    """A clean-up in the task an interrupt cancelled: its limit passes as TimeoutError, and the task's own
    cancellation is still counted (it is still being cancelled)."""
    async def scenario() -> tuple[str, int]:
        async def interrupted() -> tuple[str, int]:
            try:
                await asyncio.sleep(3600)
            except asyncio.CancelledError:
                task = asyncio.current_task()
                assert task is not None
                return await _limited(0.01, 10), task.cancelling()
            return "not cancelled", 0

        run = asyncio.ensure_future(interrupted())
        await asyncio.sleep(0)
        run.cancel()
        return await run

    assert asyncio.run(scenario()) == ("TimeoutError", 1)


def test_a_cancellation_from_outside_is_not_taken_for_the_limit() -> None:
    """A cancellation that comes during the block, before its limit, stays a cancellation."""
    async def scenario() -> str:
        run = asyncio.ensure_future(_limited(10, 3600))
        await asyncio.sleep(0)
        run.cancel()
        try:
            return await run
        except asyncio.CancelledError:
            return "CancelledError"

    assert asyncio.run(scenario()) == "CancelledError"
