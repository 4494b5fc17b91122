"""Work off the executor's threads: waiting on an rclpy future from a goal thread while the
executor's other threads spin it, and a node's worker loop over its job queue.
"""
from __future__ import annotations

from collections.abc import Callable
import queue
import threading
import time

__all__ = ['goal_result', 'serve_queue', 'wait_future']


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


def goal_result(handle, timeout_s: float, interrupted: Callable[[], bool] = lambda: False,
                confirm_cancel_s: float = 0.0):
    """The GetResult response of an accepted goal, or None after cancelling the goal when
    ``interrupted()`` turned true or ``timeout_s`` passed first (waiting up to
    ``confirm_cancel_s`` for the server to confirm the cancel)."""
    result = handle.get_result_async()
    if wait_future(result, timeout_s, interrupted):
        return result.result()
    cancel = handle.cancel_goal_async()
    if confirm_cancel_s > 0:
        wait_future(cancel, confirm_cancel_s)
    return None


def serve_queue(jobs: queue.Queue, handle: Callable[[object], None],
                on_error: Callable[[object, Exception], None]) -> None:
    """Run ``handle(job)`` for each job of ``jobs`` until a None arrives; an exception in one
    job goes to ``on_error(job, exc)`` and the loop goes on (one bad input must not stop a
    node's worker)."""
    while True:
        job = jobs.get()
        if job is None:
            return
        try:
            handle(job)
        except Exception as exc:  # noqa: BLE001 - reported by on_error, the worker goes on
            on_error(job, exc)
