"""mAP@0.5 (all-point interpolated AP) for detector evaluation.
"""
from __future__ import annotations

import numpy as np

from edge_agent.core.vision.postprocess import Box, iou

__all__ = ['mean_average_precision']


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
