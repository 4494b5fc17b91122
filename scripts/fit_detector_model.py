"""Calibrate a real-world detector on the calibration half of the labelled photos and write the
result into the model's ``edge_agent_spec`` metadata (in place):

- ``conf_threshold``: the lowest score (0.20, 0.25, ... 0.60) at which the detector reports at
  most ``--false-per-photo`` false detections per calibration photo (a false detection: no boxed
  object of its class at IoU >= 0.5, in a class the photo does not ignore);
- ``observation``: the agent's detector observation model fitted at that threshold
  (edge_agent.eval.photos.fit_observation: hit rate, recurrence of false detections across
  jittered frames, Beta fits of the hit and false scores).

Nothing is tuned on the test half. Usage:
    python scripts/fit_detector_model.py MODEL.onnx [--false-per-photo 0.15]
Then update the model's sha256 and size in models/manifest.yaml.
"""
import argparse
import json
import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))
from edge_agent.core.vision.detector import Detector  # noqa: E402
from edge_agent.eval.photos import evaluate_detector, fit_observation, load_photos  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('model', type=pathlib.Path)
    parser.add_argument('--false-per-photo', type=float, default=0.15)
    args = parser.parse_args()
    import onnx

    photos = load_photos('calibration')
    detector = Detector(args.model, conf_threshold=0.2)
    score = evaluate_detector(detector, photos)
    most = args.false_per_photo * len(photos)
    grid = [round(0.2 + 0.05 * i, 2) for i in range(9)]
    threshold = next((t for t in grid if len(score.false_at(t)) <= most), grid[-1])
    print(f'{args.model.name}: calibration mAP@0.5 {score.map50:.3f}; threshold {threshold} '
          f'(recall {score.recall_at(threshold):.2f}, {len(score.false_at(threshold))} false '
          f'on {len(photos)} photos)')
    fit = fit_observation(detector, photos, threshold)
    print('observation model: ' + ', '.join(f'{k} {v:.3f}' for k, v in fit.items()))
    detector.close()
    model = onnx.load(str(args.model))
    props = {p.key: p for p in model.metadata_props}
    spec = json.loads(props['edge_agent_spec'].value) if 'edge_agent_spec' in props else {}
    spec.update({'conf_threshold': threshold,
                 'observation': {k: round(v, 4) for k, v in fit.items()}})
    if 'edge_agent_spec' not in props:
        props['edge_agent_spec'] = model.metadata_props.add()
        props['edge_agent_spec'].key = 'edge_agent_spec'
    props['edge_agent_spec'].value = json.dumps(spec, sort_keys=True)
    onnx.save(model, str(args.model))
    return 0


if __name__ == '__main__':
    sys.exit(main())
