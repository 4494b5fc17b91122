"""YOLO-family detector: image in, boxes with labels and colours out.

Backends: ONNX Runtime with provider priority TensorRT > CUDA > CPU among those the installed
onnxruntime offers (configurable), or OpenCV's DNN module (``backend='opencv'``, FP32 models;
opencv-python is optional). ``provider`` reports what runs. Class names come from the model's
metadata (the ``names`` entry that YOLO exporters write) or a labels file.
"""
from __future__ import annotations

import ast
import os
import pathlib
import time

import numpy as np

from edge_agent.core.vision import Box, decode_output, dominant_colour, letterbox

__all__ = ['DEFAULT_PROVIDERS', 'DetectorError', 'OnnxDetector', 'read_labels']

DEFAULT_PROVIDERS = ('TensorrtExecutionProvider', 'CUDAExecutionProvider',
                     'CPUExecutionProvider')


class DetectorError(RuntimeError):
    """The model cannot be loaded or run; the message names the file and the cause."""


def read_labels(path: str | os.PathLike) -> list[str]:
    """One class name per line (blank lines and # comments skipped)."""
    lines = pathlib.Path(path).read_text().splitlines()
    return [x.strip() for x in lines if x.strip() and not x.strip().startswith('#')]


def _names_from_metadata(meta: dict) -> list[str] | None:
    raw = meta.get('names')
    if not raw:
        return None
    try:
        names = ast.literal_eval(raw)
    except (ValueError, SyntaxError):
        return None
    if isinstance(names, dict):
        return [str(names[k]) for k in sorted(names)]
    if isinstance(names, (list, tuple)):
        return [str(n) for n in names]
    return None


class OnnxDetector:
    """Run an exported YOLO-family ONNX model; ``detect`` returns boxes in image pixels."""

    def __init__(self, model_path: str | os.PathLike, providers=DEFAULT_PROVIDERS,
                 labels: list[str] | None = None, input_size: int = 0,
                 conf_threshold: float = 0.25, iou_threshold: float = 0.45,
                 layout: str = 'auto', threads: int = 0, backend: str = 'onnxruntime') -> None:
        import onnxruntime as ort

        self.path = pathlib.Path(model_path)
        if not self.path.is_file():
            raise DetectorError(f'model file {self.path} does not exist')
        available = ort.get_available_providers()
        chosen = [p for p in providers if p in available] or ['CPUExecutionProvider']
        opts = ort.SessionOptions()
        if threads:
            opts.intra_op_num_threads = threads
        try:
            self.session = ort.InferenceSession(str(self.path), sess_options=opts,
                                                providers=chosen)
        except Exception as exc:  # noqa: BLE001 - onnxruntime raises its own exception types
            raise DetectorError(f'cannot load {self.path}: {exc}') from exc
        self.provider = self.session.get_providers()[0]
        self._net = None
        if backend == 'opencv':
            self._net = self._opencv_net()
            self.provider = 'opencv:dnn-cpu'
        elif backend != 'onnxruntime':
            raise DetectorError(f'unknown backend {backend!r}: onnxruntime or opencv')
        inp = self.session.get_inputs()[0]
        self.input_name = inp.name
        shape = inp.shape
        fixed = shape[2] if len(shape) == 4 and isinstance(shape[2], int) else None
        self.input_size = int(input_size or fixed or 640)
        if fixed and input_size and input_size != fixed:
            raise DetectorError(f'{self.path} takes {fixed}x{fixed} input, not {input_size}')
        self.dtype = np.float16 if 'float16' in inp.type else np.float32
        meta = self.session.get_modelmeta().custom_metadata_map
        self.labels = labels or _names_from_metadata(meta)
        out_shape = self.session.get_outputs()[0].shape
        if not self.labels:
            count = out_shape[1] - 4 if isinstance(out_shape[1], int) else 80
            self.labels = [f'class_{i}' for i in range(max(count, 1))]
        self.conf_threshold, self.iou_threshold, self.layout = (
            conf_threshold, iou_threshold, layout)
        self.last_inference_s = 0.0

    def _opencv_net(self):
        try:
            import cv2
        except ImportError as exc:
            raise DetectorError('the opencv backend needs `pip install opencv-python-headless`'
                                ) from exc
        try:
            return cv2.dnn.readNetFromONNX(str(self.path))
        except cv2.error as exc:
            raise DetectorError(f'OpenCV DNN cannot load {self.path}: {exc}') from exc

    def _infer(self, tensor: np.ndarray) -> np.ndarray:
        if self._net is None:
            return self.session.run(None, {self.input_name: tensor})[0]
        self._net.setInput(tensor)
        return self._net.forward()

    def preprocess(self, rgb: np.ndarray) -> tuple[np.ndarray, float, tuple[int, int]]:
        boxed, scale, pad = letterbox(rgb, self.input_size)
        tensor = boxed.transpose(2, 0, 1)[None].astype(self.dtype) / 255.0
        return tensor, scale, pad

    def detect(self, rgb: np.ndarray) -> list[Box]:
        """Detections in the pixels of ``rgb`` (HxWx3 uint8), best first, with colours."""
        began = time.perf_counter()
        tensor, scale, (left, top) = self.preprocess(rgb)
        try:
            output = self._infer(tensor)
        except Exception as exc:  # noqa: BLE001 - ORT and OpenCV raise their own types
            raise DetectorError(f'inference failed on {self.path}: {exc}') from exc
        boxes, scores, classes, self.layout = decode_output(
            output, len(self.labels), self.conf_threshold, self.iou_threshold, self.layout)
        h, w = rgb.shape[:2]
        if len(boxes):
            boxes = (boxes - np.array([left, top, left, top], np.float32)) / scale
            boxes = np.clip(boxes, 0, [w, h, w, h])
        result = []
        for (x0, y0, x1, y1), score, cls in zip(boxes, scores, classes, strict=True):
            if x1 - x0 < 1 or y1 - y0 < 1:
                continue
            label = self.labels[cls] if 0 <= cls < len(self.labels) else f'class_{cls}'
            box = Box(float(x0), float(y0), float(x1), float(y1), float(score), int(cls), label)
            box.color_name, box.color_rgb, box.color_fraction = dominant_colour(rgb, box)
            result.append(box)
        self.last_inference_s = time.perf_counter() - began
        return result
