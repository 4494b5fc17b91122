"""YOLO-family detector: image in, boxes with labels and colours out.

Backends (``backend=``): ``onnxruntime`` with provider priority TensorRT > CUDA > CPU among those
the installed onnxruntime offers (configurable); ``tensorrt``, native TensorRT engines built from
the ONNX model on the device and cached (``backends.tensorrt``), or a ready ``.engine``
file; ``opencv``, OpenCV's DNN module (FP32 models; opencv-python is optional); ``auto``, native
TensorRT when ``tensorrt`` is importable and a CUDA device answers, otherwise ONNX Runtime (the
reason is kept in ``fallback_reason``). ``provider`` reports what runs. Class names come from the
model's metadata (the ``names`` entry that YOLO exporters write) or a labels file.
"""
from __future__ import annotations

import importlib.util
import os
import pathlib
import time

import numpy as np

from edge_agent.core.vision.backends.common import (
    ENGINE_SUFFIXES,
    DetectorError,
    names_from_metadata,
    read_labels,
)
from edge_agent.core.vision.backends.onnxruntime import DEFAULT_PROVIDERS, OrtBackend
from edge_agent.core.vision.backends.opencv import OpenCvBackend
from edge_agent.core.vision.colour import dominant_colour
from edge_agent.core.vision.image import letterbox
from edge_agent.core.vision.postprocess import Box, decode_output

__all__ = ['BACKENDS', 'DEFAULT_PROVIDERS', 'Detector', 'DetectorError', 'read_labels']


BACKENDS = ('auto', 'onnxruntime', 'tensorrt', 'opencv')


class Detector:
    """Run an exported YOLO-family model; ``detect`` returns boxes in image pixels."""

    def __init__(self, model_path: str | os.PathLike, providers=DEFAULT_PROVIDERS,
                 labels: list[str] | None = None, input_size: int = 0,
                 conf_threshold: float = 0.25, iou_threshold: float = 0.45,
                 layout: str = 'auto', threads: int = 0, backend: str = 'onnxruntime',
                 tensorrt_precision: str = 'fp16', engine_cache_dir: str | None = None,
                 log=None) -> None:
        self.path = pathlib.Path(model_path)
        if backend not in BACKENDS:
            raise DetectorError(f'unknown backend {backend!r}: one of {", ".join(BACKENDS)}')
        if not self.path.is_file():
            raise DetectorError(f'model file {self.path} does not exist')
        is_engine = self.path.suffix.lower() in ENGINE_SUFFIXES
        if is_engine and backend not in ('auto', 'tensorrt'):
            raise DetectorError(f'{self.path} is a TensorRT engine: use backend tensorrt')
        self.fallback_reason = ''
        self.backend = None
        if backend == 'tensorrt' or (backend == 'auto' and (
                is_engine or importlib.util.find_spec('tensorrt') is not None)):
            try:
                self.backend = self._tensorrt(input_size, tensorrt_precision, engine_cache_dir,
                                              log)
            except DetectorError as exc:
                if backend == 'tensorrt' or is_engine:
                    raise
                self.fallback_reason = f'native TensorRT unavailable: {exc}'
        if self.backend is None:
            self.backend = (OpenCvBackend(self.path, input_size) if backend == 'opencv'
                            else OrtBackend(self.path, providers, threads, input_size,
                                             engine_cache_dir, tensorrt_precision))
        self.provider = self.backend.provider
        self.input_size = self.backend.input_size
        self.dtype = self.backend.dtype
        self.labels = labels or names_from_metadata(self.backend.meta)
        out_shape = self.backend.output_shape
        if not self.labels:
            count = out_shape[1] - 4 if len(out_shape) > 1 and isinstance(out_shape[1], int) \
                else 80
            self.labels = [f'class_{i}' for i in range(max(count, 1))]
        self.conf_threshold, self.iou_threshold, self.layout = (
            conf_threshold, iou_threshold, layout)
        self.last_inference_s = 0.0

    def _tensorrt(self, input_size, precision, cache_dir, log):
        from edge_agent.core.vision.backends.tensorrt import TensorRtBackend

        try:
            return TensorRtBackend(self.path, input_size=input_size, precision=precision,
                                   cache_dir=cache_dir, log=log)
        except DetectorError:
            raise
        except Exception as exc:  # noqa: BLE001 - a TensorRT or CUDA surprise is no crash
            raise DetectorError(f'the tensorrt backend failed on {self.path}: '
                                f'{type(exc).__name__}: {exc}') from exc

    def preprocess(self, rgb: np.ndarray) -> tuple[np.ndarray, float, tuple[int, int]]:
        boxed, scale, pad = letterbox(rgb, self.input_size)
        tensor = boxed.transpose(2, 0, 1)[None].astype(self.dtype) / 255.0
        return tensor, scale, pad

    def detect(self, rgb: np.ndarray) -> list[Box]:
        """Detections in the pixels of ``rgb`` (HxWx3 uint8), best first, with colours."""
        if self.backend is None:
            raise DetectorError(f'the detector of {self.path} was closed')
        began = time.perf_counter()
        tensor, scale, (left, top) = self.preprocess(rgb)
        try:
            output = self.backend.infer(tensor)
        except Exception as exc:  # noqa: BLE001 - ORT, OpenCV, TensorRT raise their own types
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

    def close(self) -> None:
        """Free the backend now (TensorRT device buffers, the ORT session), not at collection."""
        backend, self.backend = self.backend, None
        if backend is not None and hasattr(backend, 'close'):
            backend.close()
