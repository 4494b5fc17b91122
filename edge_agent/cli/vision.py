"""`edge-agent vision`: build TensorRT engines for the vision tiers ahead of time."""
from __future__ import annotations

import sys

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
        jobs = [(t.modalities['vision']['model'], int(t.modalities['vision'].get('input_size', 0)))
                for t in TierCatalog().tiers if 'vision' in t.modalities]
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


def add_parser(sub) -> None:
    """The `vision` command group."""
    vision = sub.add_parser('vision', help='vision backends')
    vsub = vision.add_subparsers(dest='vision_command', required=True)
    eng = vsub.add_parser('engines', help='build (or find cached) TensorRT engines for the '
                          'vision tiers on this device, so the node starts without building')
    eng.add_argument('models', nargs='*', help='manifest names or ONNX paths (default: the '
                     "tier catalog's vision models at their input sizes)")
    eng.add_argument('--precision', choices=('fp16', 'fp32'), default='fp16')
    eng.add_argument('--cache-dir', help='engine cache (default: engines/ in the model cache)')
    eng.set_defaults(func=_cmd_vision_engines)
