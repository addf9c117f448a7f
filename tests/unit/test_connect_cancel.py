"""A cancellation (Ctrl-C, a timeout) ends a connect at once, even when the driver's own wait drops it.

Python 3.11's `asyncio.wait_for`, which asyncmy opens its socket with, returns the socket when a cancellation comes
just as the socket opens; the driver then waited for a silent server's greeting until the run's timeout. These tests
give `db._cancellable` a connect that behaves that way (it swallows its first cancellation) and watch the events."""

from __future__ import annotations

import asyncio
from typing import Any

from test_rig.db import _cancellable


class Opened:
    """What the driver's connect returns: a connection that records being closed."""

    def __init__(self) -> None:
        self.closed = False

    def close(self) -> None:
        self.closed = True


async def _drops_first_cancel(opened: asyncio.Event, release: asyncio.Event, result: Any) -> Any:
    """A connect like asyncmy's under 3.11's wait_for: the first cancellation is dropped, the wait goes on."""
    opened.set()
    try:
        await release.wait()
    except asyncio.CancelledError:
        await release.wait()  # dropped, as wait_for drops it when its inner future is done
    if isinstance(result, BaseException):
        raise result
    return result


async def _cancel_midway(result: Any) -> tuple[bool, asyncio.Event, list[asyncio.Task[Any]]]:
    opened, release = asyncio.Event(), asyncio.Event()
    before = asyncio.all_tasks()
    waiting = asyncio.ensure_future(_cancellable(_drops_first_cancel(opened, release, result)))
    await opened.wait()
    (driver,) = [t for t in asyncio.all_tasks() - before if t is not waiting]
    waiting.cancel()
    for _ in range(3):  # a few turns of the loop, no timer
        await asyncio.sleep(0)
    ended_cancelled = waiting.done() and waiting.cancelled()
    return ended_cancelled, release, [driver]


def test_a_cancellation_the_driver_drops_still_ends_the_connect_at_once() -> None:
    async def scenario() -> tuple[bool, bool]:
        conn = Opened()
        ended_cancelled, release, (driver,) = await _cancel_midway(conn)
        release.set()  # the driver's connect completes after all, with a connection nobody will use
        await asyncio.wait([driver])  # waits without reading its outcome
        await asyncio.sleep(0)
        return ended_cancelled, conn.closed

    assert asyncio.run(scenario()) == (True, True)


def test_an_abandoned_connects_error_is_read_not_left_for_asyncio_to_print() -> None:
    async def scenario() -> tuple[bool, bool]:
        unhandled: list[dict[str, Any]] = []
        asyncio.get_running_loop().set_exception_handler(lambda loop, context: unhandled.append(context))
        ended_cancelled, release, (driver,) = await _cancel_midway(ConnectionRefusedError(111, "refused"))
        release.set()
        await asyncio.wait([driver])  # waits without reading its outcome
        del driver
        import gc

        gc.collect()
        await asyncio.sleep(0)
        return ended_cancelled, not unhandled

    assert asyncio.run(scenario()) == (True, True)


def test_a_connect_that_is_not_cancelled_returns_the_drivers_connection() -> None:
    async def scenario() -> bool:
        conn = Opened()
        release = asyncio.Event()
        release.set()
        got = await _cancellable(_drops_first_cancel(asyncio.Event(), release, conn))
        return got is conn and not conn.closed

    assert asyncio.run(scenario()) is True


def test_a_cancellation_as_the_readiness_barrier_opens_is_not_dropped() -> None:
    """The coordinator's barrier: a Ctrl-C's cancellation in the loop turn the barrier opens in must still stop the
    waiting machine (3.11's wait_for returned True instead, and the run went on to its end)."""
    from test_rig.coordinator import EventLog, Readiness

    async def scenario() -> bool:
        barrier = Readiness(1, EventLog())
        waiting = asyncio.ensure_future(barrier.wait(timeout=30))
        await asyncio.sleep(0)  # the machine waits at the barrier
        barrier.arrive(True)  # the barrier opens, and in the same turn the cancellation comes
        waiting.cancel()
        await asyncio.wait([waiting])
        return waiting.cancelled()

    assert asyncio.run(scenario()) is True


def test_a_clean_up_connecting_from_a_cancelled_task_gets_its_timeout_not_a_cancellation() -> None:
    """A clean-up that runs in the task an interrupt cancelled (gen-data's, after the load was cut off) and
    connects to a server that accepts but never greets: the connect ends with its own timeout, a TimeoutError_
    the clean-up can report. Before, the task's earlier cancellation, still counted, made db._open take that
    timeout for a new cancellation and raise CancelledError, so the clean-up never said what it had left."""
    from test_rig.db import Target, TimeoutError_, connect

    async def scenario() -> tuple[str, int | None]:
        async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await reader.read()  # taken, never answered

        server = await asyncio.start_server(silent, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]

        async def interrupted_run() -> tuple[str, int | None]:
            try:
                await asyncio.sleep(3600)
            except asyncio.CancelledError:  # the clean-up, in the cancelled task
                try:
                    await connect(Target("t", "127.0.0.1", port, "root", "", None, 0.2))
                except TimeoutError_ as e:
                    return type(e).__name__, e.code
                except asyncio.CancelledError:
                    return "CancelledError", None
            return "no clean-up", None

        run = asyncio.ensure_future(interrupted_run())
        await asyncio.sleep(0)
        run.cancel()
        try:
            return await run
        finally:
            server.close()

    assert asyncio.run(scenario()) == ("TimeoutError_", 2003)
