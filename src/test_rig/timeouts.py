"""`timeout(seconds)`: a time limit for the `async with` block it guards, as `asyncio.timeout` is on Python 3.11.3
and later, on every Python 3.11 (TimeoutError when the limit passes; `None`: no limit).

Why our own: Python 3.11.2, Debian 12's, turns the expiry of an `asyncio.timeout` entered in a task that is already
being cancelled into that cancellation (a CancelledError, not TimeoutError): it counts the task's cancellation
requests from zero, not from where they stood when the block was entered. Every clean-up of an interrupted run
runs in such a task, so there a server that did not answer a clean-up's KILL, connect or DROP within its limit
ended the clean-up at once, before it could say what it left on the server.
"""

from __future__ import annotations

import asyncio
from types import TracebackType


class timeout:  # named as the asyncio.timeout it stands in for
    def __init__(self, seconds: float | None) -> None:
        self.seconds = seconds
        self.expired = False
        self._handle: asyncio.TimerHandle | None = None

    async def __aenter__(self) -> timeout:
        task = asyncio.current_task()
        if task is None:
            raise RuntimeError("timeout() must be used inside a task")
        self._task = task
        self._cancelling = task.cancelling()  # requests already made: not this limit's
        if self.seconds is not None:
            self._handle = asyncio.get_running_loop().call_later(max(self.seconds, 0), self._expire)
        return self

    def _expire(self) -> None:
        self.expired = True
        self._task.cancel()

    async def __aexit__(self, kind: type[BaseException] | None, error: BaseException | None,
                        traceback: TracebackType | None) -> None:
        if self._handle is not None:
            self._handle.cancel()
        # The request this limit made is taken back in every case; a cancellation is this limit's expiry only
        # when no other request came since the block was entered.
        if self.expired and self._task.uncancel() <= self._cancelling and kind is asyncio.CancelledError:
            raise TimeoutError from error
