"""Who waits for the next utterance (speech/listen goals), without ROS.

Each waiting goal holds a ``Listener``; the speech node ``notify``s every one of them when
speech starts and of every transcript: partial text as feedback, the first final transcript as
the answer. ``wait`` blocks a goal until its answer comes, the time runs out, or it is told to
stop (a cancel, the node shutting down); feedback is reported as it arrives.
"""
from __future__ import annotations

from collections.abc import Callable, Iterator
import contextlib
import dataclasses
import threading
import time

__all__ = ['Listener', 'Listeners']


@dataclasses.dataclass(eq=False)
class Listener:
    """One waiting goal: whether speech started, the newest partial text, the answer."""

    started: bool = False
    partial: str = ''
    final: object = None          # the first final transcript (the node's message)
    event: threading.Event = dataclasses.field(default_factory=threading.Event)


class Listeners:
    """The speech node's waiting goals; thread-safe."""

    def __init__(self) -> None:
        self._waiting: list[Listener] = []
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._waiting)

    @contextlib.contextmanager
    def listening(self) -> Iterator[Listener]:
        """A listener registered for the time of the ``with`` block."""
        listener = Listener()
        with self._lock:
            self._waiting.append(listener)
        try:
            yield listener
        finally:
            with self._lock:
                self._waiting.remove(listener)

    def notify(self, speech_started: bool = False, transcript=None, final: bool = False,
               text: str = '', as_answer: Callable[[object], object] | None = None):
        """Speech started, or a transcript (``final`` or partial ``text``) came. A final that
        a waiting goal takes as its answer is first passed through ``as_answer`` (the speech
        node marks it, so that the agent does not take an answer for a new command however
        late it arrives); returns the transcript as handed out."""
        with self._lock:
            if (final and as_answer is not None
                    and any(listener.final is None for listener in self._waiting)):
                transcript = as_answer(transcript)
            for listener in self._waiting:
                if speech_started:
                    listener.started = True
                if transcript is not None:
                    if final and listener.final is None:
                        listener.final = transcript
                    elif not final:
                        listener.partial = text
                listener.event.set()
        return transcript

    @staticmethod
    def wait(listener: Listener, timeout_s: float, stop: Callable[[], bool],
             on_feedback: Callable[[Listener, float], None] = lambda _l, _t: None,
             poll_s: float = 0.1) -> tuple[str, float]:
        """Wait for ``listener``'s answer: ("heard" | "timeout" | "stopped", seconds waited)."""
        began = time.monotonic()
        while listener.final is None:
            elapsed = time.monotonic() - began
            if stop():
                return 'stopped', elapsed
            if elapsed >= timeout_s:
                return 'timeout', elapsed
            if listener.event.wait(poll_s):
                listener.event.clear()
                on_feedback(listener, time.monotonic() - began)
        return 'heard', time.monotonic() - began
