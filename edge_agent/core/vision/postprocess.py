"""Decoding YOLO-family outputs and class-aware NMS.

Three layouts: YOLOv5 ``[1, N, 5+C]``, YOLOv8/11 ``[1, 4+C, N]``, end-to-end with NMS
``[1, N, 6]``; boxes are mapped back to the original pixels.
"""
from __future__ import annotations

import dataclasses

import numpy as np

__all__ = ['Box', 'decode_output', 'iou', 'nms']


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
