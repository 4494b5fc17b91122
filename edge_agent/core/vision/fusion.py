"""Evidence across frames for the observe action: IoU association, windows and region filters.

``ObserveWindow`` is one observe goal: it takes the detector's frames as they come, keeps the
boxes that match the goal's label and region, stops at N frames or T seconds, and fuses what it
kept with ``ObservationFuser``. The vision node only feeds it frames and converts the result.
"""
from __future__ import annotations

import dataclasses
import threading

import numpy as np

from edge_agent.core.vision.postprocess import Box, iou

__all__ = ['FusedObject', 'ObservationFuser', 'ObserveWindow', 'Region', 'box_wanted']


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
