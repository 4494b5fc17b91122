"""Detector: image in, boxes with labels and colours out, for the models people export.

How a model is read (input layout and scaling, resize, output layout, box convention, class
names) comes from its ``ModelSpec`` (``spec.py``: a YAML beside the model, its metadata, or
the YOLO convention), never from a guess.

Backends (``backend=``): ``onnxruntime`` with provider priority TensorRT > CUDA > CPU among those
the installed onnxruntime offers (configurable); ``tensorrt``, native TensorRT engines built from
the ONNX model on the device and cached (``backends.tensorrt``), or a ready ``.engine`` file;
``opencv``, OpenCV's DNN module (FP32 models; opencv-python is optional); ``litert``, TensorFlow
Lite models through LiteRT (ai-edge-litert is optional; ``auto`` picks it for a ``.tflite`` file);
``auto``, native TensorRT when ``tensorrt`` is importable and a CUDA device answers, otherwise ONNX
Runtime (the reason is kept in ``fallback_reason``). ``provider`` reports what runs. Class names
come from the spec, the model's metadata (the ``names`` entry that YOLO exporters write) or a
labels file.
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
from edge_agent.core.vision.backends.litert import TFLITE_SUFFIXES, LiteRtBackend
from edge_agent.core.vision.backends.onnxruntime import DEFAULT_PROVIDERS, OrtBackend
from edge_agent.core.vision.backends.opencv import OpenCvBackend
from edge_agent.core.vision.colour import dominant_colour
from edge_agent.core.vision.image import letterbox, stretch
from edge_agent.core.vision.postprocess import Box, decode_outputs
from edge_agent.core.vision.spec import ModelSpec, resolve_spec

__all__ = ['BACKENDS', 'DEFAULT_PROVIDERS', 'Detector', 'DetectorError', 'read_labels']


BACKENDS = ('auto', 'onnxruntime', 'tensorrt', 'opencv', 'litert')


class Detector:
    """Run an exported detector; ``detect`` returns boxes in image pixels."""

    def __init__(self, model_path: str | os.PathLike, providers=DEFAULT_PROVIDERS,
                 labels: list[str] | None = None, input_size: int = 0,
                 conf_threshold: float = 0.25, iou_threshold: float = 0.45,
                 layout: str = 'auto', threads: int = 0, backend: str = 'onnxruntime',
                 tensorrt_precision: str = 'fp16', engine_cache_dir: str | None = None,
                 log=None, spec: ModelSpec | None = None) -> None:
        self.path = pathlib.Path(model_path)
        if backend not in BACKENDS:
            raise DetectorError(f'unknown backend {backend!r}: one of {", ".join(BACKENDS)}')
        if not self.path.is_file():
            raise DetectorError(f'model file {self.path} does not exist')
        is_engine = self.path.suffix.lower() in ENGINE_SUFFIXES
        if is_engine and backend not in ('auto', 'tensorrt'):
            raise DetectorError(f'{self.path} is a TensorRT engine: use backend tensorrt')
        is_tflite = self.path.suffix.lower() in TFLITE_SUFFIXES
        if is_tflite != (backend == 'litert') and not (is_tflite and backend == 'auto'):
            raise DetectorError(f'{self.path}: the litert backend runs .tflite models, and only '
                                f'it does (backend {backend!r})')
        self.fallback_reason = ''
        self.backend = None
        if is_tflite:
            self.backend = LiteRtBackend(self.path, threads, input_size)
        elif backend == 'tensorrt' or (backend == 'auto' and (
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
        try:
            self.spec = resolve_spec(self.path, self.backend.meta, self.backend.input_shape,
                                     self.backend.output_shapes, spec)
        except DetectorError:
            self.close()
            raise
        self._check_input(self.backend.input_shape)
        self.labels = labels or list(self.spec.names) or names_from_metadata(self.backend.meta)
        out_shape = self.backend.output_shapes[0]
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

    def _check_input(self, shape: tuple) -> None:
        """The model's input must have 3 channels where its spec says they are."""
        if len(shape) != 4:
            self.close()
            raise DetectorError(f'{self.path}: input of shape {list(shape)}; a detector takes '
                                'one image [1,3,H,W] (NCHW) or [1,H,W,3] (NHWC)')
        channels = shape[3] if self.spec.input_layout == 'nhwc' else shape[1]
        if isinstance(channels, int) and channels != 3:
            self.close()
            raise DetectorError(
                f'{self.path}: input {list(shape)} has {channels} channels where its spec '
                f'({self.spec.source}) says {self.spec.input_layout.upper()} puts 3: set '
                f'input_layout to {"nchw" if self.spec.input_layout == "nhwc" else "nhwc"}')

    def preprocess(self, rgb: np.ndarray) -> tuple[np.ndarray, tuple[float, float],
                                                   tuple[int, int]]:
        """The model's input tensor for ``rgb``, the (x, y) scale and (left, top) padding
        that map input pixels back to the image."""
        spec = self.spec
        if spec.resize == 'letterbox':
            boxed, scale, pad = letterbox(rgb, self.input_size)
            scales = (scale, scale)
        else:
            boxed, scales = stretch(rgb, self.input_size), (
                self.input_size / rgb.shape[1], self.input_size / rgb.shape[0])
            pad = (0, 0)
        if spec.channels == 'bgr':
            boxed = boxed[..., ::-1]
        if spec.input_layout == 'nchw':
            boxed = boxed.transpose(2, 0, 1)
        if self.dtype == np.uint8:
            tensor = np.ascontiguousarray(boxed[None])
        elif spec.scale == 'unit':
            tensor = boxed[None].astype(self.dtype) / self.dtype(255.0)
        elif spec.scale == 'none':
            tensor = np.ascontiguousarray(boxed[None], dtype=self.dtype)
        else:
            shape = (1, 3, 1, 1) if spec.input_layout == 'nchw' else (1, 1, 1, 3)
            mean = np.array(spec.mean, np.float32).reshape(shape)
            std = np.array(spec.std, np.float32).reshape(shape)
            tensor = ((boxed[None].astype(np.float32) - mean) / std).astype(self.dtype)
        return tensor, scales, pad

    def detect(self, rgb: np.ndarray) -> list[Box]:
        """Detections in the pixels of ``rgb`` (HxWx3 uint8), best first, with colours."""
        if self.backend is None:
            raise DetectorError(f'the detector of {self.path} was closed')
        began = time.perf_counter()
        tensor, (sx, sy), (left, top) = self.preprocess(rgb)
        try:
            outputs = self.backend.infer_all(tensor)
        except Exception as exc:  # noqa: BLE001 - ORT, OpenCV, TensorRT raise their own types
            raise DetectorError(f'inference failed on {self.path}: {exc}') from exc
        try:
            boxes, scores, classes, self.layout = decode_outputs(
                outputs, self.spec, len(self.labels), self.conf_threshold, self.iou_threshold,
                self.input_size, self.layout)
        except ValueError as exc:
            raise DetectorError(f'{self.path}: {exc} (its spec: {self.spec.source})') from exc
        h, w = rgb.shape[:2]
        if len(boxes):
            boxes = (boxes - np.array([left, top, left, top], np.float32)) / np.array(
                [sx, sy, sx, sy], np.float32)
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
