"""Vision pre- and post-processing for YOLO-family detectors (no ROS, no inference runtime).

Image decoding from ROS encodings, letterboxing, decoding of the three common output layouts
(YOLOv5 ``[1, N, 5+C]``, YOLOv8/11 ``[1, 4+C, N]``, end-to-end with NMS ``[1, N, 6]``),
class-aware NMS, mapping boxes back to the original pixels, the dominant colour inside a box
(so "the red cup" can be grounded with any detector), and IoU association across frames for
the observe action.
"""
from __future__ import annotations

import dataclasses

import numpy as np

__all__ = [
    'Box',
    'ImageFormatError',
    'ObservationFuser',
    'decode_output',
    'dominant_colour',
    'image_to_rgb',
    'iou',
    'letterbox',
    'mean_average_precision',
    'nms',
]

_CHANNELS = {'rgb8': 3, 'bgr8': 3, 'rgba8': 4, 'bgra8': 4, 'mono8': 1, 'mono16': 1,
             '8uc1': 1, '8uc3': 3, '16uc1': 1}
MAX_PIXELS = 8192 * 8192


class ImageFormatError(ValueError):
    """An image that cannot be decoded; the message says why."""


@dataclasses.dataclass
class Box:
    """A detection in original image pixels."""

    x_min: float
    y_min: float
    x_max: float
    y_max: float
    score: float
    class_id: int
    label: str = ''
    color_name: str = ''
    color_rgb: tuple[float, float, float] = (0.0, 0.0, 0.0)
    color_fraction: float = 0.0

    def xyxy(self) -> np.ndarray:
        return np.array([self.x_min, self.y_min, self.x_max, self.y_max], np.float32)


def image_to_rgb(data: bytes, encoding: str, width: int, height: int, step: int) -> np.ndarray:
    """ROS image bytes -> HxWx3 uint8 RGB; ImageFormatError for anything inconsistent."""
    enc = encoding.lower()
    channels = _CHANNELS.get(enc)
    if channels is None:
        raise ImageFormatError(f'unsupported encoding {encoding!r}; supported: '
                               f'{", ".join(sorted(_CHANNELS))}')
    if width <= 0 or height <= 0:
        raise ImageFormatError(f'image size {width}x{height} is empty')
    if width * height > MAX_PIXELS:
        raise ImageFormatError(f'image {width}x{height} exceeds {MAX_PIXELS} pixels')
    depth = 2 if enc in ('mono16', '16uc1') else 1
    row = width * channels * depth
    if step < row:
        raise ImageFormatError(f'step {step} is smaller than a row of {row} bytes')
    if len(data) < step * (height - 1) + row:
        raise ImageFormatError(f'{len(data)} bytes for {height} rows of step {step}')
    buf = np.frombuffer(data, np.uint8)
    rows = np.lib.stride_tricks.as_strided(buf, (height, row), (step, 1))
    if depth == 2:
        pixels = (rows.copy().view('<u2') >> 8).astype(np.uint8).reshape(height, width, 1)
    else:
        pixels = rows.reshape(height, width, channels)
    if channels == 1:
        return np.repeat(pixels, 3, axis=2).copy()
    if enc.startswith('bgr'):
        return np.ascontiguousarray(pixels[..., 2::-1][..., :3])
    return np.ascontiguousarray(pixels[..., :3])


def letterbox(image: np.ndarray, size: int) -> tuple[np.ndarray, float, tuple[int, int]]:
    """Resize keeping aspect ratio and pad to ``size`` x ``size`` with grey (114).

    Returns the padded image, the scale and the (left, top) padding, for mapping boxes back.
    Nearest-neighbour resize in numpy keeps this free of OpenCV: two ``np.take`` gathers, the
    second straight into the padded output (2-5x faster than fancy indexing), and a plain copy
    when the image already has the size.
    """
    h, w = image.shape[:2]
    scale = min(size / h, size / w)
    nh, nw = max(1, round(h * scale)), max(1, round(w * scale))
    top, left = (size - nh) // 2, (size - nw) // 2
    out = np.full((size, size, 3), 114, np.uint8)
    target = out[top:top + nh, left:left + nw]
    if (nh, nw) == (h, w):
        target[...] = image
    else:
        ys = np.minimum((np.arange(nh) / scale).astype(np.intp), h - 1)
        xs = np.minimum((np.arange(nw) / scale).astype(np.intp), w - 1)
        np.take(np.take(image, ys, axis=0), xs, axis=1, out=target)
    return out, scale, (left, top)


def iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU of boxes ``a`` [N,4] against ``b`` [M,4] (xyxy) -> [N,M]."""
    a, b = np.asarray(a, np.float32).reshape(-1, 4), np.asarray(b, np.float32).reshape(-1, 4)
    lt = np.maximum(a[:, None, :2], b[None, :, :2])
    rb = np.minimum(a[:, None, 2:], b[None, :, 2:])
    inter = np.prod(np.clip(rb - lt, 0, None), axis=2)
    area_a = np.prod(np.clip(a[:, 2:] - a[:, :2], 0, None), axis=1)
    area_b = np.prod(np.clip(b[:, 2:] - b[:, :2], 0, None), axis=1)
    return inter / np.maximum(area_a[:, None] + area_b[None, :] - inter, 1e-9)


def nms(boxes: np.ndarray, scores: np.ndarray, classes: np.ndarray, iou_threshold: float,
        max_detections: int = 300) -> np.ndarray:
    """Class-aware non-maximum suppression; indices of the kept boxes, best first."""
    order = np.argsort(-scores)
    keep: list[int] = []
    while order.size and len(keep) < max_detections:
        best = order[0]
        keep.append(int(best))
        rest = order[1:]
        overlap = iou(boxes[best], boxes[rest])[0]
        order = rest[(overlap <= iou_threshold) | (classes[rest] != classes[best])]
    return np.array(keep, np.int64)


def _xywh_to_xyxy(xywh: np.ndarray) -> np.ndarray:
    xy, wh = xywh[:, :2], xywh[:, 2:4] / 2
    return np.concatenate([xy - wh, xy + wh], axis=1)


def decode_output(output: np.ndarray, num_classes: int, conf_threshold: float,
                  iou_threshold: float, layout: str = 'auto') -> tuple[
                      np.ndarray, np.ndarray, np.ndarray, str]:
    """Decode a detector output into (boxes xyxy, scores, class ids, layout) in input pixels.

    layout: 'yolov5' [1,N,5+C] (objectness x class score), 'yolov8' [1,4+C,N],
    'end2end' [1,N,6] (x1,y1,x2,y2,score,class; NMS already applied), or 'auto'.
    """
    out = np.asarray(output, np.float32)
    if out.ndim == 3:
        if out.shape[0] != 1:
            raise ValueError(f'batch size {out.shape[0]} is not supported; expected 1')
        out = out[0]
    if out.ndim != 2:
        raise ValueError(f'unexpected output shape {output.shape}')
    if layout == 'auto':
        if out.shape[1] == 6 and num_classes != 2:
            layout = 'end2end'
        elif out.shape[0] == 4 + num_classes and out.shape[1] != 4 + num_classes:
            layout = 'yolov8'
        elif out.shape[1] == 5 + num_classes:
            layout = 'yolov5'
        elif out.shape[0] == 4 + num_classes:
            layout = 'yolov8'
        else:
            raise ValueError(f'output shape {output.shape} matches no known layout for '
                             f'{num_classes} classes')
    if layout == 'end2end':
        keep = out[:, 4] >= conf_threshold
        rows = out[keep]
        return rows[:, :4], rows[:, 4], rows[:, 5].astype(np.int64), layout
    if layout == 'yolov8':
        preds = out.T  # [N, 4+C]
        class_scores = preds[:, 4:4 + num_classes]
    elif layout == 'yolov5':
        preds = out
        class_scores = preds[:, 5:5 + num_classes] * preds[:, 4:5]
    else:
        raise ValueError(f'unknown layout {layout!r}')
    classes = np.argmax(class_scores, axis=1)
    scores = class_scores[np.arange(len(classes)), classes]
    keep = scores >= conf_threshold
    boxes = _xywh_to_xyxy(preds[keep, :4])
    scores, classes = scores[keep], classes[keep]
    kept = nms(boxes, scores, classes, iou_threshold)
    return boxes[kept], scores[kept], classes[kept], layout


# Reference colours (RGB 0..255) the dominant colour is named after.
_COLOURS = {
    'red': (200, 30, 30), 'orange': (240, 140, 20), 'yellow': (230, 210, 30),
    'green': (40, 160, 50), 'blue': (30, 70, 200), 'purple': (130, 50, 170),
    'pink': (240, 130, 180), 'brown': (120, 75, 35), 'white': (235, 235, 235),
    'grey': (128, 128, 128), 'black': (20, 20, 20),
}
_NAMES = list(_COLOURS)
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


def mean_average_precision(predictions: list[list[Box]], truths: list[np.ndarray],
                           num_classes: int, iou_threshold: float = 0.5) -> tuple[
                               float, dict[int, float]]:
    """mAP@iou over images: ``truths`` are [M,5] arrays (x0,y0,x1,y1,class) per image.

    All-point interpolated AP per class (as PASCAL VOC 2010+ and COCO's @0.5 use), averaged
    over the classes that occur in the truth.
    """
    per_class: dict[int, float] = {}
    for cls in range(num_classes):
        scored = []
        total = 0
        for image_index, (preds, truth) in enumerate(zip(predictions, truths, strict=True)):
            gt = truth[truth[:, 4] == cls][:, :4] if len(truth) else np.zeros((0, 4))
            total += len(gt)
            for box in preds:
                if box.class_id == cls:
                    scored.append((box.score, image_index, box.xyxy()))
        if total == 0:
            continue
        scored.sort(key=lambda s: -s[0])
        matched: dict[int, set] = {}
        hits = []
        for _score, image_index, xyxy in scored:
            truth = truths[image_index]
            gt = truth[truth[:, 4] == cls][:, :4] if len(truth) else np.zeros((0, 4))
            if len(gt) == 0:
                hits.append(0)
                continue
            overlaps = iou(xyxy, gt)[0]
            best = int(np.argmax(overlaps))
            taken = matched.setdefault(image_index, set())
            if overlaps[best] >= iou_threshold and best not in taken:
                taken.add(best)
                hits.append(1)
            else:
                hits.append(0)
        tp = np.cumsum(hits)
        recall = tp / total
        precision = tp / np.arange(1, len(hits) + 1)
        recall = np.concatenate([[0.0], recall, [1.0]])
        precision = np.concatenate([[1.0], precision, [0.0]])
        precision = np.maximum.accumulate(precision[::-1])[::-1]
        per_class[cls] = float(np.sum((recall[1:] - recall[:-1]) * precision[1:]))
    return (float(np.mean(list(per_class.values()))) if per_class else 0.0), per_class
