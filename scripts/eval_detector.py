"""mAP@0.5 and speed of detector models on a rendered held-out set, through Detector
(the vision node's own code path). Usage: python scripts/eval_detector.py HELDOUT.npz MODEL...
"""
import argparse
import pathlib
import statistics
import sys
import time

import numpy as np

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))
from edge_agent.core.vision.detector import Detector  # noqa: E402
from edge_agent.eval.detection import mean_average_precision  # noqa: E402


def evaluate(model: str, images, truths, input_size: int = 0, threads: int = 0):
    detector = Detector(model, input_size=input_size, conf_threshold=0.05, threads=threads)
    predictions, times = [], []
    for image in images:
        start = time.perf_counter()
        predictions.append(detector.detect(image))
        times.append(time.perf_counter() - start)
    m_ap, per_class = mean_average_precision(predictions, truths, len(detector.labels))
    return m_ap, {detector.labels[k]: v for k, v in per_class.items()}, times


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('heldout', type=pathlib.Path)
    parser.add_argument('models', nargs='+')
    args = parser.parse_args()
    data = np.load(args.heldout, allow_pickle=True)
    images, truths = data['images'], list(data['boxes'])
    print(f'{len(images)} held-out images, {sum(len(t) for t in truths)} objects')
    print(f'{"model":<40}{"mAP@0.5":>8}{"p50 ms":>8}{"p95 ms":>8}{"FPS":>6}  per class')
    for model in args.models:
        m_ap, per_class, times = evaluate(model, images, truths)
        p50 = statistics.median(times) * 1e3
        p95 = statistics.quantiles(times, n=20)[18] * 1e3
        classes = ' '.join(f'{k}={v:.2f}' for k, v in per_class.items())
        print(f'{pathlib.Path(model).name:<40}{m_ap:>8.3f}{p50:>8.1f}{p95:>8.1f}'
              f'{1e3 / p50:>6.0f}  {classes}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
