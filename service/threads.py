"""CPU work off the event loop, counted per app, so that shutdown can tell whether any is left.

Starlette's thread pool (anyio's) runs on non-daemon threads, and Python waits for every
non-daemon thread before a process exits. When uvicorn cuts off a request still running
after GRACEFUL_SHUTDOWN_SECONDS, the edge answers 503 at once, but the thread scoring its
supplier list works on (seconds for a large CSV), and the process could not exit before it
ended: past Docker's 10 s, so it was killed. The lifespan asks :meth:`ThreadWork.busy` and,
if work for such cut-off requests is left, exits without waiting for it.

The count is the app's own: requests only (a model reload in a thread is short and worth
waiting for), and never another app's in the same process (tests run many).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TypeVar

from starlette.concurrency import run_in_threadpool

T = TypeVar("T")


class ThreadWork:
    """One app's request work in the thread pool, counted while it runs."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._running = 0

    async def run(self, fn: Callable[..., T], *args: object) -> T:
        """Run ``fn(*args)`` in the thread pool and return its result, counted while it runs."""

        def counted() -> T:
            # Counted in the thread itself: a cancelled await returns at once while the thread
            # works on, and a call cancelled before a thread took it never runs at all.
            with self._lock:
                self._running += 1
            try:
                return fn(*args)
            finally:
                with self._lock:
                    self._running -= 1

        return await run_in_threadpool(counted)

    def busy(self) -> int:
        """Return how many calls of :meth:`run` are still working in their threads."""
        with self._lock:
            return self._running
