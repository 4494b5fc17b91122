"""Decoding detector outputs and class-aware NMS.

Single-output layouts: YOLOv5 ``[1, N, 5+C]``, YOLOv8/11 ``[1, 4+C, N]``, end-to-end ``[1, N, 6]``
(x1, y1, x2, y2, score, class); the TensorFlow detection API's four outputs (boxes ``[1,N,4]``,
scores ``[1,N]``, classes ``[1,N]``, count ``[1]``); an SSD head's raw box offsets ``[1,A,4]`` and
class logits ``[1,A,C]`` with the anchors they refer to. ``decode_outputs`` reads them the way a
``ModelSpec`` says and returns boxes in input pixels (xyxy).
"""
from __future__ import annotations

import dataclasses
import functools

import numpy as np

__all__ = ['Box', 'decode_output', 'decode_outputs', 'iou', 'nms', 'ssd_anchors']


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


def _to_xyxy(boxes: np.ndarray, order: str) -> np.ndarray:
    if order == 'yxyx':
        return boxes[:, [1, 0, 3, 2]]
    if order == 'cxcywh':
        return _xywh_to_xyxy(boxes)
    return boxes


def _tf_detection(outputs: list[np.ndarray]) -> np.ndarray:
    """The TF detection API's outputs (any order) as end2end rows [N, 6] (boxes as stored)."""
    squeezed = [np.asarray(o, np.float32).reshape(np.asarray(o).shape[1:])
                if np.asarray(o).ndim > 1 and np.asarray(o).shape[0] == 1
                else np.asarray(o, np.float32).reshape(-1) for o in outputs]
    boxes = [o for o in squeezed if o.ndim == 2 and o.shape[1] == 4]
    vectors = [o for o in squeezed if o.ndim == 1 and o.size > 1]
    counts = [o for o in squeezed if o.size == 1]
    if len(boxes) != 1 or len(vectors) != 2:
        raise ValueError('tf_detection needs boxes [1,N,4], scores [1,N], classes [1,N] and an '
                         f'optional count [1]; got {[list(np.shape(o)) for o in outputs]}')
    # scores lie in 0..1 and are sorted best first; class ids are whole numbers
    whole = [np.allclose(v, np.round(v)) for v in vectors]
    scores, classes = (vectors[1], vectors[0]) if whole[0] and not whole[1] else vectors
    n = len(scores)
    if counts:
        n = min(n, max(int(counts[0].reshape(-1)[0]), 0))
    return np.concatenate([boxes[0][:n], scores[:n, None], classes[:n, None]], axis=1)


@functools.lru_cache(maxsize=8)
def ssd_anchors(config, input_size: int) -> np.ndarray:
    """[A, 4] anchors (y_center, x_center, height, width, normalised) for a square input, as
    the TF object detection API's multiple-grid generator lays them out (MediaPipe's
    SsdAnchorsCalculator with fixed_anchor_size false). Cached per (settings, size): every
    frame of a model decodes with the same anchors; the array is read-only."""
    def scale(index: int) -> float:
        if config.num_layers == 1:
            return (config.min_scale + config.max_scale) / 2
        return config.min_scale + (config.max_scale - config.min_scale) * index / (
            config.num_layers - 1)

    anchors = []
    layer = 0
    strides = list(config.strides)
    while layer < config.num_layers:
        ratios, scales = [], []
        last = layer
        while last < len(strides) and strides[last] == strides[layer]:
            if last == 0 and config.reduce_boxes_in_lowest_layer:
                ratios += [1.0, 2.0, 0.5]
                scales += [0.1, scale(last), scale(last)]
            else:
                ratios += list(config.aspect_ratios)
                scales += [scale(last)] * len(config.aspect_ratios)
                if config.interpolated_scale_aspect_ratio > 0:
                    following = 1.0 if last == len(strides) - 1 else scale(last + 1)
                    scales.append(float(np.sqrt(scale(last) * following)))
                    ratios.append(config.interpolated_scale_aspect_ratio)
            last += 1
        root = np.sqrt(np.array(ratios))
        heights, widths = np.array(scales) / root, np.array(scales) * root
        cells = int(np.ceil(input_size / strides[layer]))
        offset = config.anchor_offset
        ys, xs = np.meshgrid((np.arange(cells) + offset) / cells,
                             (np.arange(cells) + offset) / cells, indexing='ij')
        centres = np.stack([ys.reshape(-1), xs.reshape(-1)], axis=1)
        grid = np.repeat(centres, len(ratios), axis=0)
        sizes = np.tile(np.stack([heights, widths], axis=1), (len(centres), 1))
        anchors.append(np.concatenate([grid, sizes], axis=1))
        layer = last
    result = np.concatenate(anchors).astype(np.float32)
    result.setflags(write=False)
    return result


def _ssd(outputs: list[np.ndarray], spec, input_size: int) -> tuple[np.ndarray, np.ndarray]:
    """(boxes xyxy normalised [A,4], class scores [A,C]) from an SSD head's raw outputs."""
    arrays = [np.asarray(o, np.float32).reshape(np.shape(o)[-2:]) for o in outputs]
    raw = [a for a in arrays if a.shape[-1] == 4]
    logits = [a for a in arrays if a.shape[-1] != 4]
    if len(raw) != 1 or len(logits) != 1 or raw[0].shape[0] != logits[0].shape[0]:
        raise ValueError('ssd needs box offsets [1,A,4] and class logits [1,A,C]; got '
                         f'{[list(np.shape(o)) for o in outputs]}')
    anchors = ssd_anchors(spec.anchors, input_size)
    if len(anchors) != len(raw[0]):
        raise ValueError(f'the anchor settings give {len(anchors)} anchors, the model has '
                         f'{len(raw[0])}: check anchors in the spec')
    ys, xs, hs, ws = (spec.anchors.box_scales[i] for i in range(4))
    y = raw[0][:, 0] / ys * anchors[:, 2] + anchors[:, 0]
    x = raw[0][:, 1] / xs * anchors[:, 3] + anchors[:, 1]
    h = np.exp(np.clip(raw[0][:, 2] / hs, -10, 10)) * anchors[:, 2]
    w = np.exp(np.clip(raw[0][:, 3] / ws, -10, 10)) * anchors[:, 3]
    boxes = np.stack([x - w / 2, y - h / 2, x + w / 2, y + h / 2], axis=1)
    scores = logits[0]
    if spec.score_activation == 'sigmoid':
        scores = 1.0 / (1.0 + np.exp(-np.clip(scores, -50, 50)))
    elif spec.score_activation == 'softmax':
        scores = np.exp(scores - scores.max(axis=1, keepdims=True))
        scores = scores / scores.sum(axis=1, keepdims=True)
    return boxes, scores


def decode_outputs(outputs: list[np.ndarray], spec, num_classes: int, conf_threshold: float,
                   iou_threshold: float, input_size: int, layout: str = 'auto') -> tuple[
                       np.ndarray, np.ndarray, np.ndarray, str]:
    """Decode a model's outputs as ``spec`` (a ModelSpec) says: (boxes xyxy in input pixels,
    scores, class ids, layout)."""
    layout = spec.output if spec.output != 'auto' else layout
    if layout == 'ssd':
        boxes, class_scores = _ssd(outputs, spec, input_size)
        if spec.background_class is not None:
            class_scores = class_scores.copy()
            class_scores[:, spec.background_class] = 0.0
        classes = np.argmax(class_scores, axis=1)
        scores = class_scores[np.arange(len(classes)), classes]
        keep = np.isfinite(scores) & (scores >= conf_threshold)
        boxes, scores, classes = boxes[keep] * float(input_size), scores[keep], classes[keep]
        kept = nms(boxes, scores, classes, iou_threshold)
        return boxes[kept], scores[kept], classes[kept] - spec.class_offset, layout
    if layout == 'tf_detection' or (layout == 'auto' and len(outputs) > 1):
        rows, layout = _tf_detection(outputs), 'tf_detection'
    elif layout == 'end2end' or spec.boxes == 'normalized' or spec.box_order != 'xyxy':
        rows = np.asarray(outputs[0], np.float32)
        rows = rows[0] if rows.ndim == 3 and rows.shape[0] == 1 else rows
        if rows.ndim != 2 or rows.shape[1] != 6:
            raise ValueError(f'end2end output must be [1,N,6], not {list(np.shape(outputs[0]))}')
        layout = 'end2end'
    else:
        boxes, scores, classes, layout = decode_output(outputs[0], num_classes, conf_threshold,
                                                       iou_threshold, layout)
        if spec.class_offset:
            classes = classes - spec.class_offset
        return boxes, scores, classes, layout
    rows = rows[np.isfinite(rows).all(axis=1) & (rows[:, 4] >= conf_threshold)]
    boxes = _to_xyxy(rows[:, :4], spec.box_order)   # the TF detection API's: yxyx
    if spec.boxes == 'normalized':
        boxes = boxes * float(input_size)
    scores = rows[:, 4]
    classes = np.round(rows[:, 5]).astype(np.int64) - spec.class_offset
    if spec.one_label_per_box and len(boxes):
        # the same box with several classes (CenterNet's top-k over class x location): keep
        # the best class; a nearly identical box of another class is the same object
        keep = nms(boxes, scores, np.zeros_like(classes), 0.8)
        boxes, scores, classes = boxes[keep], scores[keep], classes[keep]
    keep = nms(boxes, scores, classes, iou_threshold)
    return boxes[keep], scores[keep], classes[keep], layout
