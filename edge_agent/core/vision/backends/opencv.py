"""OpenCV DNN backend (CPU, FP32 models); the model metadata is read with ONNX Runtime.
"""
from __future__ import annotations

import pathlib

import numpy as np

from edge_agent.core.vision.backends.common import DetectorError
from edge_agent.core.vision.backends.onnxruntime import OrtBackend

__all__ = ['OpenCvBackend']


class OpenCvBackend(OrtBackend):
    def __init__(self, path: pathlib.Path, input_size: int) -> None:
        super().__init__(path, ['CPUExecutionProvider'], 1, input_size)
        try:
            import cv2
        except ImportError as exc:
            raise DetectorError('the opencv backend needs `pip install opencv-python-headless`'
                                ) from exc
        try:
            self.net = cv2.dnn.readNetFromONNX(str(path))
        except cv2.error as exc:
            raise DetectorError(f'OpenCV DNN cannot load {path}: {exc}') from exc
        self.provider = 'opencv:dnn-cpu'

    def infer(self, tensor: np.ndarray) -> np.ndarray:
        return self.infer_all(tensor)[0]

    def infer_all(self, tensor: np.ndarray) -> list[np.ndarray]:
        if self.net is None:
            raise DetectorError('the detector was closed')
        self.net.setInput(tensor)
        if len(self.output_shapes) == 1:
            return [self.net.forward()]
        return list(self.net.forward(self.net.getUnconnectedOutLayersNames()))

    def close(self) -> None:
        super().close()
        self.net = None
