"""Detector backends: each maps an NCHW tensor to the raw model output.

ONNX Runtime, OpenCV DNN, and native TensorRT (``backends.tensorrt``, imported on use).
"""
from edge_agent.core.vision.backends.common import (  # noqa: F401
    ENGINE_SUFFIXES,
    DetectorError,
    names_from_metadata,
    read_labels,
    resolve_input_size,
)
from edge_agent.core.vision.backends.onnxruntime import (  # noqa: F401
    DEFAULT_PROVIDERS,
    OrtBackend,
    ort_providers,
)
from edge_agent.core.vision.backends.opencv import (  # noqa: F401
    OpenCvBackend,
)

__all__ = [
    'DEFAULT_PROVIDERS',
    'DetectorError',
    'ENGINE_SUFFIXES',
    'OpenCvBackend',
    'OrtBackend',
    'names_from_metadata',
    'ort_providers',
    'read_labels',
    'resolve_input_size',
]
