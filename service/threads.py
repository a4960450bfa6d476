"""CPU work off the event loop, counted, so that shutdown can tell whether any is left.

Starlette's thread pool (anyio's) runs on non-daemon threads, and Python waits for every
non-daemon thread before a process exits. When uvicorn cuts off a request still running
after GRACEFUL_SHUTDOWN_SECONDS, the edge answers 503 at once, but the thread scoring its
supplier list works on (seconds for a large CSV), and the process could not exit before it
ended: past Docker's 10 s, so it was killed. The lifespan asks :func:`busy` and, if work for
such cut-off requests is left, exits without waiting for it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TypeVar

from starlette.concurrency import run_in_threadpool

T = TypeVar("T")

_lock = threading.Lock()
_running = 0


async def in_thread(fn: Callable[..., T], *args: object) -> T:
    """Run ``fn(*args)`` in the thread pool and return its result, counted while it runs."""

    def counted() -> T:
        # Counted in the thread itself: a cancelled await returns at once while the thread
        # works on, and a call cancelled before a thread took it never runs at all.
        global _running
        with _lock:
            _running += 1
        try:
            return fn(*args)
        finally:
            with _lock:
                _running -= 1

    return await run_in_threadpool(counted)


def busy() -> int:
    """Return how many calls of :func:`in_thread` are still running in their threads."""
    with _lock:
        return _running
