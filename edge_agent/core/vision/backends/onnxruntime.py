"""ONNX Runtime backend: provider priority TensorRT > CUDA > CPU among those installed.
"""
from __future__ import annotations

import os
import pathlib

import numpy as np

from edge_agent.core.vision.backends.common import DetectorError, resolve_input_size

__all__ = ['DEFAULT_PROVIDERS', 'OrtBackend', 'ort_providers']


DEFAULT_PROVIDERS = ('TensorrtExecutionProvider', 'CUDAExecutionProvider',
                     'CPUExecutionProvider')


def ort_providers(providers, available, engine_cache_dir: str | os.PathLike | None,
                  precision: str = 'fp16') -> list:
    """The ``providers`` argument for ONNX Runtime: the wanted ones that are available, in
    order; the TensorRT provider caches its engines (else every start rebuilds them, minutes on
    a Jetson) and uses FP16 when asked."""
    from edge_agent.core.models import default_cache_dir

    chosen = []
    for name in [p for p in providers if p in available] or ['CPUExecutionProvider']:
        if name == 'TensorrtExecutionProvider':
            cache = pathlib.Path(engine_cache_dir or default_cache_dir() / 'engines') / 'ort'
            chosen.append((name, {'trt_engine_cache_enable': 'True',
                                  'trt_engine_cache_path': str(cache),
                                  'trt_fp16_enable': str(precision == 'fp16')}))
        else:
            chosen.append(name)
    return chosen


class OrtBackend:
    """ONNX Runtime session; also reads the model's metadata for the OpenCV backend."""

    def __init__(self, path: pathlib.Path, providers, threads: int, input_size: int,
                 engine_cache_dir=None, precision: str = 'fp16') -> None:
        import onnxruntime as ort

        chosen = ort_providers(providers, ort.get_available_providers(), engine_cache_dir,
                               precision)
        opts = ort.SessionOptions()
        if threads:
            opts.intra_op_num_threads = threads
        # ONNX Runtime's pool threads busy-wait after each run by default; on a robot the
        # detector shares a few cores with speech and the planner, and the spinning took the
        # CPU the speech decoder needed (docs/benchmarks.md, issue 13).
        opts.add_session_config_entry('session.intra_op.allow_spinning', '0')
        opts.add_session_config_entry('session.inter_op.allow_spinning', '0')
        try:
            self.session = ort.InferenceSession(str(path), sess_options=opts, providers=chosen)
        except Exception as exc:  # noqa: BLE001 - onnxruntime raises its own exception types
            raise DetectorError(f'cannot load {path}: {exc}') from exc
        self.provider = f'onnxruntime:{self.session.get_providers()[0]}'
        inp = self.session.get_inputs()[0]
        self.input_name = inp.name
        shape = inp.shape
        self.input_shape = tuple(shape)
        fixed = shape[2] if len(shape) == 4 and isinstance(shape[2], int) else None
        self.input_size = resolve_input_size(path, fixed, input_size)
        self.dtype = (np.float16 if 'float16' in inp.type else
                      np.uint8 if 'uint8' in inp.type else np.float32)
        self.meta = self.session.get_modelmeta().custom_metadata_map
        self.output_shapes = [tuple(o.shape) for o in self.session.get_outputs()]
        self.output_shape = self.output_shapes[0]

    def infer(self, tensor: np.ndarray) -> np.ndarray:
        return self.infer_all(tensor)[0]

    def infer_all(self, tensor: np.ndarray) -> list[np.ndarray]:
        if self.session is None:
            raise DetectorError('the detector was closed')
        return self.session.run(None, {self.input_name: tensor})

    def close(self) -> None:
        self.session = None
