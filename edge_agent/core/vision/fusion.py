"""Evidence across frames for the observe action: IoU association, windows and region filters.

``ObserveWindow`` is one observe goal: it takes the detector's frames as they come, keeps the
boxes that match the goal's label and region, stops at N frames or T seconds, and fuses what it
kept with ``ObservationFuser``. The vision node only feeds it frames and converts the result.
"""
from __future__ import annotations

from collections.abc import Iterator
import contextlib
import dataclasses
import threading

import numpy as np

from edge_agent.core.vision.postprocess import Box, iou

__all__ = ['FusedObject', 'LatestFrame', 'ObservationFuser', 'ObserveWindow', 'ObserveWindows',
           'Region', 'box_wanted']


@dataclasses.dataclass
class FusedObject:
    """An object associated across frames."""

    box: Box
    frames_seen: int
    scores: list[float]
    first_seen: float
    last_seen: float


class ObservationFuser:
    """Associate detections across frames by IoU (same label) and gather evidence."""

    def __init__(self, iou_threshold: float = 0.3) -> None:
        self.iou_threshold = iou_threshold
        self.objects: list[FusedObject] = []
        self.frames = 0

    def add(self, boxes: list[Box], t: float) -> None:
        """Add one frame's detections, seen at time ``t`` [s]."""
        self.frames += 1
        used: set[int] = set()
        for box in sorted(boxes, key=lambda b: -b.score):
            best, best_iou = None, self.iou_threshold
            for index, obj in enumerate(self.objects):
                if index in used or obj.box.label != box.label:
                    continue
                overlap = float(iou(obj.box.xyxy(), box.xyxy())[0, 0])
                if overlap >= best_iou:
                    best, best_iou = index, overlap
            if best is None:
                self.objects.append(FusedObject(box, 1, [box.score], t, t))
                used.add(len(self.objects) - 1)
            else:
                obj = self.objects[best]
                obj.box, obj.frames_seen, obj.last_seen = box, obj.frames_seen + 1, t
                obj.scores.append(box.score)
                used.add(best)

    def results(self) -> list[FusedObject]:
        """Objects with the most evidence first (frames seen, then mean score)."""
        return sorted(self.objects, key=lambda o: (-o.frames_seen, -np.mean(o.scores)))


@dataclasses.dataclass(frozen=True)
class Region:
    """A rectangle in image pixels; zero width or height means the whole image."""

    x: int = 0
    y: int = 0
    width: int = 0
    height: int = 0

    def contains(self, box: Box) -> bool:
        """Whether the box's centre lies inside (always, for an empty region)."""
        if not (self.width and self.height):
            return True
        cx, cy = (box.x_min + box.x_max) / 2, (box.y_min + box.y_max) / 2
        return (self.x <= cx <= self.x + self.width) and (self.y <= cy <= self.y + self.height)


def box_wanted(box: Box, label: str = '', region: Region | None = None) -> bool:
    """The observe filter: the label (if any) matches and the centre is in the region."""
    if label and box.label != label:
        return False
    return region is None or region.contains(box)


class ObserveWindow:
    """One observe request: gather ``frames`` frames and/or ``duration_s`` seconds of detections
    matching ``label`` and ``region``, fused across frames.

    With only a frame count, the window also ends after ``no_camera_s``, so a goal never waits
    forever for a camera that is gone or a detector slower than asked. ``add`` may be called
    from the detector's thread while another thread waits in ``wait``.
    """

    def __init__(self, frames: int = 0, duration_s: float = 0.0, label: str = '',
                 region: Region | None = None, began: float = 0.0, no_camera_s: float = 30.0,
                 iou_threshold: float = 0.3) -> None:
        self.frames_wanted = max(0, int(frames))
        self.duration_s = duration_s if duration_s > 0 else (0.0 if self.frames_wanted else 2.0)
        self.label, self.region, self.began = label, region, began
        self.no_camera_s = no_camera_s
        self.fuser = ObservationFuser(iou_threshold)
        self._lock = threading.Lock()
        self._event = threading.Event()

    @property
    def frames(self) -> int:
        return self.fuser.frames

    def add(self, boxes: list[Box], t: float) -> None:
        """One processed frame at monotonic time ``t``; ignored once the window is full."""
        with self._lock:
            if self.frames_wanted and self.fuser.frames >= self.frames_wanted:
                return
            self.fuser.add([b for b in boxes if box_wanted(b, self.label, self.region)],
                           t - self.began)
        self._event.set()

    def done(self, now: float) -> bool:
        """Enough frames, or the time is up."""
        elapsed = now - self.began
        if self.frames_wanted and self.fuser.frames >= self.frames_wanted:
            return True
        if self.duration_s and elapsed >= self.duration_s:
            return True
        return bool(self.frames_wanted and not self.duration_s and elapsed > self.no_camera_s)

    def wait(self, timeout: float) -> bool:
        """Wait up to ``timeout`` [s] for a new frame; True when one came."""
        came = self._event.wait(timeout)
        self._event.clear()
        return came

    def results(self) -> list[FusedObject]:
        with self._lock:
            return self.fuser.results()


class ObserveWindows:
    """The vision node's open observe requests: every processed frame goes to each of them;
    thread-safe (the detector's thread adds, goal threads open and close)."""

    def __init__(self) -> None:
        self._open: list[ObserveWindow] = []
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._open)

    @contextlib.contextmanager
    def opened(self, window: ObserveWindow) -> Iterator[ObserveWindow]:
        with self._lock:
            self._open.append(window)
        try:
            yield window
        finally:
            with self._lock:
                self._open.remove(window)

    def add(self, boxes: list[Box], t: float) -> None:
        with self._lock:
            for window in self._open:
                window.add(boxes, t)


class LatestFrame:
    """A one-frame slot between a camera callback and a detector thread: only the newest frame
    is worked on (``put`` replaces an unworked one and says so), and ``take`` waits for it."""

    def __init__(self) -> None:
        self._frame = None
        self._lock = threading.Lock()
        self._ready = threading.Event()

    def put(self, frame) -> bool:
        """Store ``frame``; True when it replaced one never taken (that one is dropped)."""
        with self._lock:
            replaced, self._frame = self._frame is not None, frame
        self._ready.set()
        return replaced

    def take(self, timeout_s: float):
        """The newest frame (None after ``timeout_s``, or after ``wake``)."""
        self._ready.wait(timeout_s)
        self._ready.clear()
        with self._lock:   # a frame arriving now is kept for the next take
            frame, self._frame = self._frame, None
        return frame

    def wake(self) -> None:
        self._ready.set()

    @property
    def empty(self) -> bool:
        """No frame waits to be taken."""
        return self._frame is None
