"""Waiting on an rclpy future from a goal thread while the executor's other threads spin it.
"""
from __future__ import annotations

from collections.abc import Callable
import threading
import time

__all__ = ['wait_future']


def wait_future(future, timeout_s: float, interrupted: Callable[[], bool] = lambda: False,
                poll_s: float = 0.01) -> bool:
    """True when ``future`` is done within ``timeout_s``; False on timeout or interruption."""
    if future.done():
        return True
    done = threading.Event()
    future.add_done_callback(lambda _f: done.set())
    deadline = time.monotonic() + timeout_s
    while not done.wait(min(poll_s, max(deadline - time.monotonic(), 0.0))):
        if interrupted() or time.monotonic() >= deadline:
            return future.done()
    return True
