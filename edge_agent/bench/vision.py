"""Benchmark the detector tiers of both worlds in one run.

Real world (the tier catalog's ``vision`` entries, COCO detectors): mAP@0.5 on the frozen test
half of the labelled real photos (data/vision/real_photos.yaml; nothing was tuned on it), the
recall and the false detections at each model's calibrated threshold (the score it is used at;
what the agent could act on), FP32 and INT8 side by side. Synthetic world (``vision_synthetic``,
the project's detector): mAP@0.5 on the held-out renders. For every tier: latency (p50, p95)
of the vision pipeline (resize + inference + decoding + colour, what the node runs per frame)
against the bare backend call on the same preprocessed frames in the same run (the ratio), and
peak memory.
Usage: python -m edge_agent.bench vision [--heldout RENDERS.npz] [--backend onnxruntime|...]
"""
import argparse
import json
import pathlib
import statistics
import sys
import time

import numpy as np

from edge_agent.bench.common import SOURCE_ROOT, peak_rss_mb
from edge_agent.core.config.tiers import TierCatalog
from edge_agent.core.models import ModelCatalog
from edge_agent.core.vision.detector import BACKENDS, Detector
from edge_agent.eval.detection import mean_average_precision

ROOT = SOURCE_ROOT
REPEATS = 3   # each real photo is timed this many times (the set is small)


def _timed(detector: Detector, images: list[np.ndarray]) -> tuple[list, list, list]:
    """(bare seconds, node seconds, detections of the last pass) over ``images``."""
    tensors = [detector.preprocess(image)[0] for image in images]
    for t in tensors[:3]:   # warm-up
        detector.backend.infer_all(t)
    bare, full, predictions = [], [], []
    for _ in range(REPEATS if len(images) < 50 else 1):
        predictions = []
        for image, tensor in zip(images, tensors, strict=True):
            start = time.perf_counter()
            detector.backend.infer_all(tensor)
            bare.append(time.perf_counter() - start)
            start = time.perf_counter()
            predictions.append(detector.detect(image))
            full.append(time.perf_counter() - start)
    return bare, full, predictions


def _tier_detectors(models: ModelCatalog, key: str, backend: str):
    """(tier, its entry, a Detector at score 0.05) for each tier with a ``key`` model; each
    detector is closed when the next one is made."""
    for tier in TierCatalog().tiers:
        entry = tier.entry(key)
        if entry is None or not entry.model:
            continue
        detector = Detector(models.path(entry.model), backend=backend, conf_threshold=0.05,
                            input_size=entry.input_size)
        try:
            yield tier, entry, detector
        finally:
            detector.close()


def _row(tier, world: str, model: str, detector: Detector, bare, full, **extra) -> dict:
    b50, f50 = statistics.median(bare) * 1e3, statistics.median(full) * 1e3
    f95 = statistics.quantiles(full, n=20)[18] * 1e3
    return {'tier': tier.index, 'world': world, 'model': model, 'provider': detector.provider,
            'input': detector.input_size, 'bare_p50_ms': b50, 'node_p50_ms': f50,
            'node_p95_ms': f95, 'ratio': f50 / b50, **extra}


def real_rows(models: ModelCatalog, backend: str) -> list[dict]:
    """The real-world tiers on the frozen test half of the labelled photos."""
    from edge_agent.eval.photos import evaluate_detector, load_photos

    photos = load_photos('test')
    print(f'real world: {len(photos)} test photos, {sum(len(p.labels) for p in photos)} boxed '
          f'objects ({sum(1 for p in photos if not p.labels)} photos without any)')
    print(f'{"tier":<5}{"model":<26}{"input":>6}{"mAP@0.5":>8}{"thr":>6}{"recall":>7}'
          f'{"false":>6}{"bare p50":>9}{"node p50":>9}{"p95":>7}{"ratio":>7}')
    rows = []
    for tier, entry, detector in _tier_detectors(models, 'vision', backend):
        threshold = detector.spec.conf_threshold or 0.25
        score = evaluate_detector(detector, photos)
        bare, full, _ = _timed(detector, [p.image for p in photos])
        false = score.false_at(threshold)
        row = _row(tier, 'real', entry.model, detector, bare, full, map50=score.map50,
                   threshold=threshold, recall=score.recall_at(threshold),
                   false_detections=len(false),
                   false_list=[f'{label} {s:.2f} ({photo})' for s, label, photo in false],
                   per_class=score.per_class)
        print(f'{tier.index:<5}{entry.model:<26}{row["input"]:>6}{row["map50"]:>8.3f}'
              f'{threshold:>6.2f}{row["recall"]:>7.2f}{len(false):>6}{row["bare_p50_ms"]:>9.1f}'
              f'{row["node_p50_ms"]:>9.1f}{row["node_p95_ms"]:>7.1f}{row["ratio"]:>7.2f}')
        if false:
            print(f'      false at {threshold:.2f}: {", ".join(row["false_list"])}')
        rows.append(row)
    return rows


def synthetic_rows(models: ModelCatalog, backend: str, heldout: pathlib.Path) -> list[dict]:
    """The synthetic tiers on the held-out renders."""
    data = np.load(heldout, allow_pickle=True)
    images, truths = list(data['images']), list(data['boxes'])
    print(f'synthetic world: {len(images)} held-out renders ({heldout.name})')
    print(f'{"tier":<5}{"model":<26}{"input":>6}{"mAP@0.5":>8}{"bare p50":>9}{"node p50":>9}'
          f'{"p95":>7}{"ratio":>7}')
    rows = []
    for tier, entry, detector in _tier_detectors(models, 'vision_synthetic', backend):
        bare, full, predictions = _timed(detector, images)
        m_ap = mean_average_precision(predictions, truths, len(detector.labels))[0]
        row = _row(tier, 'synthetic', entry.model, detector, bare, full, map50=m_ap)
        print(f'{tier.index:<5}{entry.model:<26}{row["input"]:>6}{m_ap:>8.3f}'
              f'{row["bare_p50_ms"]:>9.1f}{row["node_p50_ms"]:>9.1f}{row["node_p95_ms"]:>7.1f}'
              f'{row["ratio"]:>7.2f}')
        rows.append(row)
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--heldout', type=pathlib.Path,
                        default=ROOT / 'test' / 'data' / 'vision' / 'heldout.npz')
    parser.add_argument('--backend', default='onnxruntime', choices=BACKENDS)
    parser.add_argument('--world', choices=('real', 'synthetic', 'both'), default='both')
    parser.add_argument('--json', help='also write the results to this file')
    args = parser.parse_args()
    models = ModelCatalog()
    print(f'backend {args.backend}')
    rows = []
    if args.world in ('real', 'both'):
        rows += real_rows(models, args.backend)
    if args.world in ('synthetic', 'both'):
        rows += synthetic_rows(models, args.backend, args.heldout)
    print(f'peak RSS {peak_rss_mb():.0f} MB')
    if args.json:
        with open(args.json, 'w') as f:
            json.dump({'rows': rows, 'peak_rss_mb': peak_rss_mb()}, f, indent=1)
    return 0


if __name__ == '__main__':
    sys.exit(main())
