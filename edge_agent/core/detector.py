"""YOLO-family detector: image in, boxes with labels and colours out.

Backends (``backend=``): ``onnxruntime`` with provider priority TensorRT > CUDA > CPU among those
the installed onnxruntime offers (configurable); ``tensorrt``, native TensorRT engines built from
the ONNX model on the device and cached (``edge_agent.core.trt_engine``), or a ready ``.engine``
file; ``opencv``, OpenCV's DNN module (FP32 models; opencv-python is optional); ``auto``, native
TensorRT when ``tensorrt`` is importable and a CUDA device answers, otherwise ONNX Runtime (the
reason is kept in ``fallback_reason``). ``provider`` reports what runs. Class names come from the
model's metadata (the ``names`` entry that YOLO exporters write) or a labels file.
"""
from __future__ import annotations

import ast
import importlib.util
import os
import pathlib
import time

import numpy as np

from edge_agent.core.vision import Box, decode_output, dominant_colour, letterbox

__all__ = ['BACKENDS', 'DEFAULT_PROVIDERS', 'Detector', 'DetectorError', 'read_labels']

DEFAULT_PROVIDERS = ('TensorrtExecutionProvider', 'CUDAExecutionProvider',
                     'CPUExecutionProvider')


class DetectorError(RuntimeError):
    """The model cannot be loaded or run; the message names the file and the cause."""


def read_labels(path: str | os.PathLike) -> list[str]:
    """One class name per line (blank lines and # comments skipped)."""
    lines = pathlib.Path(path).read_text().splitlines()
    return [x.strip() for x in lines if x.strip() and not x.strip().startswith('#')]


def _names_from_metadata(meta: dict) -> list[str] | None:
    """Class names from ONNX metadata (a Python literal string, as YOLO exporters write) or
    engine metadata (JSON: a list, or a dict whose keys are class indices)."""
    names = meta.get('names')
    if not names:
        return None
    if isinstance(names, str):
        try:
            names = ast.literal_eval(names)
        except (ValueError, SyntaxError):
            return None
    if isinstance(names, dict):
        try:
            return [str(names[k]) for k in sorted(names, key=int)]
        except (TypeError, ValueError):
            return None
    if isinstance(names, (list, tuple)):
        return [str(n) for n in names]
    return None


BACKENDS = ('auto', 'onnxruntime', 'tensorrt', 'opencv')
ENGINE_SUFFIXES = ('.engine', '.plan', '.trt')


def resolve_input_size(path, fixed: int | None, requested: int) -> int:
    """The square input size: the requested one, else the model's fixed one, else 640."""
    if fixed and requested and requested != fixed:
        raise DetectorError(f'{path} takes {fixed}x{fixed} input, not {requested}')
    return int(requested or fixed or 640)


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


class _OrtBackend:
    """ONNX Runtime session; also reads the model's metadata for the OpenCV backend."""

    def __init__(self, path: pathlib.Path, providers, threads: int, input_size: int,
                 engine_cache_dir=None, precision: str = 'fp16') -> None:
        import onnxruntime as ort

        chosen = ort_providers(providers, ort.get_available_providers(), engine_cache_dir,
                               precision)
        opts = ort.SessionOptions()
        if threads:
            opts.intra_op_num_threads = threads
        try:
            self.session = ort.InferenceSession(str(path), sess_options=opts, providers=chosen)
        except Exception as exc:  # noqa: BLE001 - onnxruntime raises its own exception types
            raise DetectorError(f'cannot load {path}: {exc}') from exc
        self.provider = f'onnxruntime:{self.session.get_providers()[0]}'
        inp = self.session.get_inputs()[0]
        self.input_name = inp.name
        shape = inp.shape
        fixed = shape[2] if len(shape) == 4 and isinstance(shape[2], int) else None
        self.input_size = resolve_input_size(path, fixed, input_size)
        self.dtype = np.float16 if 'float16' in inp.type else np.float32
        self.meta = self.session.get_modelmeta().custom_metadata_map
        self.output_shape = tuple(self.session.get_outputs()[0].shape)

    def infer(self, tensor: np.ndarray) -> np.ndarray:
        return self.session.run(None, {self.input_name: tensor})[0]


class _OpenCvBackend(_OrtBackend):
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
        self.net.setInput(tensor)
        return self.net.forward()


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
            self.backend = (_OpenCvBackend(self.path, input_size) if backend == 'opencv'
                            else _OrtBackend(self.path, providers, threads, input_size,
                                             engine_cache_dir, tensorrt_precision))
        self.provider = self.backend.provider
        self.input_size = self.backend.input_size
        self.dtype = self.backend.dtype
        self.labels = labels or _names_from_metadata(self.backend.meta)
        out_shape = self.backend.output_shape
        if not self.labels:
            count = out_shape[1] - 4 if len(out_shape) > 1 and isinstance(out_shape[1], int) \
                else 80
            self.labels = [f'class_{i}' for i in range(max(count, 1))]
        self.conf_threshold, self.iou_threshold, self.layout = (
            conf_threshold, iou_threshold, layout)
        self.last_inference_s = 0.0

    def _tensorrt(self, input_size, precision, cache_dir, log):
        from edge_agent.core.trt_engine import TensorRtBackend

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
