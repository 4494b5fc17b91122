"""Work off the executor's threads: waiting on an rclpy future from a goal thread while the
executor's other threads spin it, and a node's worker loop over its job queue.
"""
from __future__ import annotations

from collections.abc import Callable
import contextlib
import queue
import threading
import time

__all__ = ['RunningGoals', 'goal_result', 'serve_queue', 'wait_future']


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


class RunningGoals:
    """The goals a skill adapter has sent and not yet seen end, so that a stop can cancel them
    all (``cancel_all``) while each sender waits for its own (``run``)."""

    def __init__(self) -> None:
        self._handles: list = []
        self._lock = threading.Lock()

    def cancel_all(self) -> int:
        """Ask every running goal to cancel; how many there were."""
        with self._lock:
            handles = list(self._handles)
        for handle in handles:
            handle.cancel_goal_async()
        return len(handles)

    def run(self, client, goal, timeout_s: float, interrupted: Callable[[], bool],
            feedback_callback=None, guard=None) -> tuple[str, object]:
        """Send ``goal`` and wait for its end: ("unsent", None) when it was not accepted or
        answered within ``timeout_s``, or ``interrupted()`` came first (a late acceptance is
        cancelled); ("rejected", None); ("cancelled", None) when interrupted while it ran (the
        server's confirmation awaited up to 2 s); ("done", the GetResult response).
        ``guard`` (a lock): the last ``interrupted()`` check and the send happen under it, so
        whoever interrupts under the same lock either comes first or sends after us."""
        with guard if guard is not None else contextlib.nullcontext():
            if interrupted():
                return 'unsent', None
            sent = client.send_goal_async(goal, feedback_callback=feedback_callback)
        if not wait_future(sent, timeout_s, interrupted):
            if sent.done() and sent.result().accepted:
                sent.result().cancel_goal_async()
            return 'unsent', None
        handle = sent.result()
        if not handle.accepted:
            return 'rejected', None
        with self._lock:
            self._handles.append(handle)
        try:
            answer = goal_result(handle, float('inf'), interrupted, confirm_cancel_s=2.0)
            return ('cancelled', None) if answer is None else ('done', answer)
        finally:
            with self._lock:
                self._handles.remove(handle)


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
