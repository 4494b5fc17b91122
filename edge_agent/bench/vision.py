"""Benchmark the detector tiers: latency (p50, p95) and FPS of the vision pipeline
(letterbox + inference + decoding + colour, what the node runs per frame) against the bare
backend call (an ONNX Runtime session.run, or a TensorRT engine execution with its copies) on
the same preprocessed frames in the same run (ratio), mAP@0.5 per tier on the held-out renders,
and peak memory.
Usage: python -m edge_agent.bench vision [HELDOUT.npz] [--backend onnxruntime|tensorrt|opencv]
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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('heldout', nargs='?', type=pathlib.Path,
                        default=ROOT / 'test' / 'data' / 'vision' / 'heldout.npz')
    parser.add_argument('--backend', default='onnxruntime', choices=BACKENDS)
    parser.add_argument('--json', help='also write the results to this file')
    args = parser.parse_args()
    rows = []
    path = args.heldout
    data = np.load(path, allow_pickle=True)
    images, truths = data['images'], list(data['boxes'])
    models = ModelCatalog()
    print(f'{len(images)} held-out renders ({path.name}), backend {args.backend}')
    print(f'{"tier":<5}{"model":<20}{"input":>6}{"mAP@0.5":>8}{"bare p50 ms":>12}'
          f'{"node p50 ms":>12}{"p95 ms":>8}{"FPS":>6}{"ratio":>7}')
    for tier in TierCatalog().tiers:
        entry = tier.modalities['vision']
        detector = Detector(models.path(entry['model']), conf_threshold=0.05,
                            input_size=int(entry.get('input_size', 0)), backend=args.backend)
        print(f'tier {tier.index}: {detector.provider}')
        tensors = [detector.preprocess(image)[0] for image in images]
        for t in tensors[:5]:  # warm-up
            detector.backend.infer(t)
        bare, full, predictions = [], [], []
        for image, tensor in zip(images, tensors, strict=True):
            start = time.perf_counter()
            detector.backend.infer(tensor)
            bare.append(time.perf_counter() - start)
            start = time.perf_counter()
            predictions.append(detector.detect(image))
            full.append(time.perf_counter() - start)
        m_ap = mean_average_precision(predictions, truths, len(detector.labels))[0]
        b50, f50 = statistics.median(bare) * 1e3, statistics.median(full) * 1e3
        f95 = statistics.quantiles(full, n=20)[18] * 1e3
        print(f'{tier.index:<5}{entry["model"]:<20}{detector.input_size:>6}{m_ap:>8.3f}'
              f'{b50:>12.1f}{f50:>12.1f}{f95:>8.1f}{1e3 / f50:>6.0f}{f50 / b50:>7.2f}')
        rows.append({'tier': tier.index, 'model': entry['model'], 'provider': detector.provider,
                     'input': detector.input_size, 'map50': m_ap, 'bare_p50_ms': b50,
                     'node_p50_ms': f50, 'node_p95_ms': f95, 'ratio': f50 / b50})
    print(f'peak RSS {peak_rss_mb():.0f} MB')
    if args.json:
        with open(args.json, 'w') as f:
            json.dump({'rows': rows, 'peak_rss_mb': peak_rss_mb()}, f, indent=1)
    return 0


if __name__ == '__main__':
    sys.exit(main())
