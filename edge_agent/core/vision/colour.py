"""The dominant colour inside a box, so "the red cup" can be grounded with any detector.
"""
from __future__ import annotations

import numpy as np

from edge_agent.core.vision.postprocess import Box

__all__ = ['COLOUR_NAMES', 'dominant_colour']


# Reference colours (RGB 0..255) the dominant colour is named after.
_COLOURS = {
    'red': (200, 30, 30), 'orange': (240, 140, 20), 'yellow': (230, 210, 30),
    'green': (40, 160, 50), 'blue': (30, 70, 200), 'purple': (130, 50, 170),
    'pink': (240, 130, 180), 'brown': (120, 75, 35), 'white': (235, 235, 235),
    'grey': (128, 128, 128), 'black': (20, 20, 20),
}
_NAMES = list(_COLOURS)
COLOUR_NAMES = tuple(_COLOURS)  # the names dominant_colour can give
_REFS = np.array([_COLOURS[n] for n in _NAMES], np.float32)


def dominant_colour(image: np.ndarray, box: Box, margin: float = 0.15
                    ) -> tuple[str, tuple[float, float, float], float]:
    """(colour name, mean RGB 0..1 of its pixels, share of pixels) inside the box's centre.

    The outer ``margin`` of the box is skipped, where background dominates.
    """
    h, w = image.shape[:2]
    bw, bh = box.x_max - box.x_min, box.y_max - box.y_min
    x0 = int(np.clip(box.x_min + margin * bw, 0, w - 1))
    x1 = int(np.clip(box.x_max - margin * bw, x0 + 1, w))
    y0 = int(np.clip(box.y_min + margin * bh, 0, h - 1))
    y1 = int(np.clip(box.y_max - margin * bh, y0 + 1, h))
    pixels = image[y0:y1, x0:x1].reshape(-1, 3).astype(np.float32)
    if pixels.size == 0:
        return '', (0.0, 0.0, 0.0), 0.0
    if len(pixels) > 4096:
        pixels = pixels[:: len(pixels) // 4096]
    # each pixel votes for its nearest reference colour; the majority names the object
    nearest = np.argmin(((pixels[:, None, :] - _REFS[None]) ** 2).sum(axis=2), axis=1)
    counts = np.bincount(nearest, minlength=len(_NAMES))
    best = int(np.argmax(counts))
    mean = pixels[nearest == best].mean(axis=0) / 255.0
    return _NAMES[best], (float(mean[0]), float(mean[1]), float(mean[2])), float(
        counts[best] / len(pixels))
