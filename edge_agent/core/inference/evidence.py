"""Recent detections as candidate evidence: which objects were seen in the last frames, with
their per-frame scores and the frames they were missed in.

The agent keeps the detector's frames of the last ``window_s`` seconds; when a command arrives,
``candidates()`` associates the detections across those frames (same label and colour, image
position within ``max_shift``) into ``Candidate``s for the deliberation. Thread-safe: frames
arrive on the subscription's thread while a command is being decided on another.
"""
from __future__ import annotations

import collections
from collections.abc import Callable, Iterable
import dataclasses
import threading
import time

from edge_agent.core.inference.deliberation import Candidate

__all__ = ['FrameDetection', 'RecentDetections', 'associate']


@dataclasses.dataclass(frozen=True)
class FrameDetection:
    """One detection of one frame; ``x_centre`` across the image [0..1]."""

    label: str
    colour: str
    colour_fraction: float
    score: float
    x_centre: float


def associate(frames: list[list[FrameDetection]], max_shift: float = 0.12) -> list[Candidate]:
    """Candidates from consecutive frames: a detection joins the candidate of the same label
    and colour whose last position is closest (within ``max_shift``), else starts one."""
    candidates: list[Candidate] = []
    for frame in frames:
        taken: set[int] = set()
        for det in sorted(frame, key=lambda d: -d.score):
            best, best_shift = None, max_shift
            for i, cand in enumerate(candidates):
                if i in taken or cand.label != det.label or cand.colour != det.colour:
                    continue
                shift = abs((cand.x_centre or 0.0) - det.x_centre)
                if shift <= best_shift:
                    best, best_shift = i, shift
            if best is None:
                candidates.append(Candidate(det.label, det.colour, det.colour_fraction,
                                            [det.score], 0, det.x_centre))
                best = len(candidates) - 1
            else:
                cand = candidates[best]
                cand.scores.append(det.score)
                cand.x_centre = det.x_centre
            taken.add(best)
    for cand in candidates:
        cand.missed = max(len(frames) - len(cand.scores), 0)
    return candidates


class RecentDetections:
    """The detector's frames of the last ``window_s`` seconds (at most ``max_frames``)."""

    def __init__(self, window_s: float = 2.0, max_frames: int = 50,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.window_s = window_s
        self._clock = clock
        self._frames: collections.deque = collections.deque(maxlen=max_frames)
        self._lock = threading.Lock()
        self.labels: set[str] = set()

    def add(self, detections: Iterable[FrameDetection], now: float | None = None) -> None:
        frame = [d for d in detections if d.label]
        with self._lock:
            self._frames.append((self._clock() if now is None else now, frame))
            self.labels.update(d.label for d in frame)

    def frames(self, now: float | None = None) -> list[list[FrameDetection]]:
        horizon = (self._clock() if now is None else now) - self.window_s
        with self._lock:
            return [frame for stamp, frame in self._frames if stamp >= horizon]

    def candidates(self, now: float | None = None) -> list[Candidate]:
        return associate(self.frames(now))
