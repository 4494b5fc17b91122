"""`edge-agent vision`: run a detector on image files (`detect`), build TensorRT engines for
the vision tiers ahead of time (`engines`)."""
from __future__ import annotations

import sys

from edge_agent.core.vision.detector import BACKENDS

__all__ = ['add_parser']


def _cmd_vision_engines(args) -> int:
    import time

    from edge_agent.core.config.tiers import TierCatalog
    from edge_agent.core.models import ModelCatalog
    from edge_agent.core.vision.detector import Detector

    models = ModelCatalog()
    if args.models:
        jobs = [(name, 0) for name in args.models]
    else:
        jobs = [(t.entry('vision').model, t.entry('vision').input_size)
                for t in TierCatalog().tiers if t.model('vision')]
    for name, size in dict.fromkeys(jobs):
        began = time.monotonic()
        path = models.path(name) if name in models.models else name
        detector = Detector(path, backend='tensorrt', input_size=size,
                            tensorrt_precision=args.precision, engine_cache_dir=args.cache_dir,
                            log=lambda msg: print(msg, file=sys.stderr))
        backend = detector.backend
        state = 'built' if backend.built else 'cached'
        print(f'{name}: {state} {backend.engine_path} ({detector.provider}, '
              f'{detector.input_size}px, {time.monotonic() - began:.1f} s)')
    return 0


def _cmd_vision_detect(args) -> int:
    import pathlib

    from edge_agent.core.config.tiers import TierCatalog
    from edge_agent.core.errors import EdgeAgentError
    from edge_agent.core.models import ModelCatalog
    from edge_agent.core.vision.annotate import annotate
    from edge_agent.core.vision.detector import Detector
    from edge_agent.eval.photos import read_image

    models = ModelCatalog()
    input_size = 0
    if args.model:
        path = models.path(args.model) if args.model in models.models else args.model
    else:
        key = 'vision' if args.world == 'real' else 'vision_synthetic'
        tier = TierCatalog()[args.tier]
        entry = tier.entry(key)
        if entry is None or not entry.model:
            print(f'edge-agent: error: tier {args.tier} has no {key} model', file=sys.stderr)
            return 2
        path, input_size = models.path(entry.model), entry.input_size
    detector = Detector(path, backend=args.backend, input_size=input_size)
    detector.conf_threshold = args.conf or detector.spec.conf_threshold or 0.25
    print(f'{pathlib.Path(path).name}: {detector.provider}, {detector.input_size} px, '
          f'{len(detector.labels)} classes, score >= {detector.conf_threshold:.2f} '
          f'(spec: {detector.spec.source})')
    out = pathlib.Path(args.out) if args.out else None
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
    failed = 0
    try:
        for name in args.images:
            try:
                rgb = read_image(name)
                boxes = detector.detect(rgb)
            except EdgeAgentError as exc:
                print(f'{name}: {exc}', file=sys.stderr)
                failed += 1
                continue
            print(f'{name}: {len(boxes)} detection(s) in {detector.last_inference_s * 1e3:.0f} '
                  'ms')
            for b in boxes:
                print(f'  {b.label:<16} {b.score:.2f} {b.color_name or "-":<7} '
                      f'[{b.x_min:.0f}, {b.y_min:.0f}, {b.x_max:.0f}, {b.y_max:.0f}]')
            if out is not None:
                import cv2

                target = out / (pathlib.Path(name).stem + '.png')
                cv2.imwrite(str(target), annotate(rgb, boxes)[..., ::-1])
                print(f'  -> {target}')
    finally:
        detector.close()
    return 1 if failed else 0


def add_parser(sub) -> None:
    """The `vision` command group."""
    vision = sub.add_parser('vision', help='vision backends')
    vsub = vision.add_subparsers(dest='vision_command', required=True)
    det = vsub.add_parser('detect', help='run a detector on image files: print the detections '
                          'and, with --out, write annotated PNGs')
    det.add_argument('images', nargs='+', help='image files (PNG, JPEG, ...)')
    det.add_argument('--model', help="a manifest name or a model file (default: the tier "
                     "catalog's detector of --world at --tier)")
    det.add_argument('--world', choices=('real', 'synthetic'), default='real',
                     help='which tier catalog entries: real (COCO) or synthetic (the simulated '
                     "scene's shapes)")
    det.add_argument('--tier', type=int, default=0, help='tier index (default 0, the richest)')
    det.add_argument('--conf', type=float, default=0.0,
                     help="minimum score (default: the model's calibrated threshold, else 0.25)")
    det.add_argument('--backend', default='auto', choices=BACKENDS,
                     help='auto: litert for a .tflite model, TensorRT where it runs, else ONNX '
                     'Runtime')
    det.add_argument('--out', help='write each image with its boxes drawn to DIR/NAME.png')
    det.set_defaults(func=_cmd_vision_detect)
    eng = vsub.add_parser('engines', help='build (or find cached) TensorRT engines for the '
                          'vision tiers on this device, so the node starts without building')
    eng.add_argument('models', nargs='*', help='manifest names or ONNX paths (default: the '
                     "tier catalog's vision models at their input sizes)")
    eng.add_argument('--precision', choices=('fp16', 'fp32'), default='fp16')
    eng.add_argument('--cache-dir', help='engine cache (default: engines/ in the model cache)')
    eng.set_defaults(func=_cmd_vision_engines)
