"""LiteRT backend (TensorFlow Lite models, ``.tflite``): how many edge models ship.

``ai-edge-litert`` is optional (``pip install ai-edge-litert``); a .tflite file has no class
names or conventions this backend reads, so it needs a spec YAML beside it (spec.py).
"""
from __future__ import annotations

import pathlib

import numpy as np

from edge_agent.core.vision.backends.common import DetectorError, resolve_input_size

__all__ = ['LiteRtBackend', 'TFLITE_SUFFIXES']

TFLITE_SUFFIXES = ('.tflite',)


class LiteRtBackend:
    """A LiteRT interpreter on the CPU (XNNPACK); ``infer_all`` returns every output."""

    def __init__(self, path: pathlib.Path, threads: int = 0, input_size: int = 0) -> None:
        try:
            from ai_edge_litert.interpreter import Interpreter
        except ImportError as exc:
            raise DetectorError(f'{path} is a TFLite model: the litert backend needs '
                                '`pip install ai-edge-litert`') from exc
        try:
            self.interpreter = Interpreter(model_path=str(path), num_threads=threads or None)
            self.interpreter.allocate_tensors()
        except (ValueError, RuntimeError) as exc:
            raise DetectorError(f'LiteRT cannot load {path}: {exc}') from exc
        inputs = self.interpreter.get_input_details()
        if len(inputs) != 1:
            raise DetectorError(f'{path}: a detector has one input, not {len(inputs)}')
        self._input = inputs[0]
        self._outputs = self.interpreter.get_output_details()
        self.input_name = self._input['name']
        self.input_shape = tuple(int(d) for d in self._input['shape'])
        fixed = self.input_shape[1] if len(self.input_shape) == 4 else None
        self.input_size = resolve_input_size(path, fixed, input_size)
        self.dtype = np.dtype(self._input['dtype']).type
        self.output_shapes = [tuple(int(d) for d in o['shape']) for o in self._outputs]
        self.output_shape = self.output_shapes[0]
        self.meta: dict = {}
        self.provider = 'litert:cpu'

    def infer(self, tensor: np.ndarray) -> np.ndarray:
        return self.infer_all(tensor)[0]

    def infer_all(self, tensor: np.ndarray) -> list[np.ndarray]:
        if self.interpreter is None:
            raise DetectorError('the detector was closed')
        self.interpreter.set_tensor(self._input['index'], tensor)
        self.interpreter.invoke()
        return [self.interpreter.get_tensor(o['index']).copy() for o in self._outputs]

    def close(self) -> None:
        self.interpreter = None
