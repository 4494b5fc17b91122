"""Draw detections on an image (boxes, labels, scores, colour names) for a person to look at."""
from __future__ import annotations

import numpy as np

from edge_agent.core.errors import MissingDependency
from edge_agent.core.vision.postprocess import Box

__all__ = ['annotate']


def annotate(rgb: np.ndarray, boxes: list[Box]) -> np.ndarray:
    """A copy of ``rgb`` (HxWx3 uint8) with each box drawn in its own dominant colour (so a
    "red cup" is outlined red) and labelled "label score colour"."""
    try:
        import cv2
    except ImportError as exc:
        raise MissingDependency('drawing detections needs OpenCV: pip install '
                                'opencv-python-headless') from exc
    out = np.ascontiguousarray(rgb.copy())
    scale = max(out.shape[:2]) / 640
    thick = max(1, round(2 * scale))
    taken: list[tuple[int, int, int, int]] = []   # label rectangles drawn so far
    for box in sorted(boxes, key=lambda b: -b.score):
        colour = tuple(int(c * 255) for c in box.color_rgb) if box.color_name else (255, 255, 0)
        # a dark outline under the coloured one keeps a white or black box visible
        p0 = (int(box.x_min), int(box.y_min))
        p1 = (int(box.x_max), int(box.y_max))
        cv2.rectangle(out, p0, p1, (0, 0, 0), thick + 2)
        cv2.rectangle(out, p0, p1, colour, thick)
        text = f'{box.label} {box.score:.2f} {box.color_name}'.strip()
        size, base = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, 0.5 * scale, thick)
        y = max(p0[1], size[1] + base + 2)
        # a label that would cover another one (boxes sharing a corner) goes below it
        while any(p0[0] < x1 and x0 < p0[0] + size[0] + 2 and y - size[1] - base - 2 < y1
                  and y0 < y for x0, y0, x1, y1 in taken):
            y += size[1] + base + 2
        taken.append((p0[0], y - size[1] - base - 2, p0[0] + size[0] + 2, y))
        cv2.rectangle(out, (p0[0], y - size[1] - base - 2), (p0[0] + size[0] + 2, y),
                      (0, 0, 0), -1)
        cv2.putText(out, text, (p0[0] + 1, y - base), cv2.FONT_HERSHEY_SIMPLEX, 0.5 * scale,
                    (255, 255, 255), max(1, thick // 2), cv2.LINE_AA)
    return out
