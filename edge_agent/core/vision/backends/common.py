"""What every detector backend shares: the error type, class names, the input-size rule.

Kept apart from the detector so the backends and the detector import it without a circle.
"""
from __future__ import annotations

import ast
import os
import pathlib

from edge_agent.core.errors import EdgeAgentError

__all__ = ['DetectorError', 'ENGINE_SUFFIXES', 'names_from_metadata', 'read_labels',
           'resolve_input_size']


class DetectorError(EdgeAgentError, RuntimeError):
    """The model cannot be loaded or run; the message names the file and the cause."""


def read_labels(path: str | os.PathLike) -> list[str]:
    """One class name per line (blank lines and # comments skipped)."""
    lines = pathlib.Path(path).read_text().splitlines()
    return [x.strip() for x in lines if x.strip() and not x.strip().startswith('#')]


def names_from_metadata(meta: dict) -> list[str] | None:
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


ENGINE_SUFFIXES = ('.engine', '.plan', '.trt')


def resolve_input_size(path, fixed: int | None, requested: int) -> int:
    """The square input size: the requested one, else the model's fixed one, else 640."""
    if fixed and requested and requested != fixed:
        raise DetectorError(f'{path} takes {fixed}x{fixed} input, not {requested}')
    return int(requested or fixed or 640)
