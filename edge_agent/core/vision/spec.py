"""How to read a detector model: its input convention and its output layout.

Models are exported many ways: NCHW or NHWC input, pixels scaled to 0-1, left at 0-255 or
normalised with a mean and std, letterboxed or plainly resized; outputs in the YOLOv5, YOLOv8/11
or end-to-end ``[1,N,6]`` layouts (CenterNet's TF export among them), or the TensorFlow
detection API's four tensors (boxes, scores, classes, count), boxes in input pixels or
normalised; or an SSD head's raw box offsets and class logits, decoded with its anchors. A
``ModelSpec`` says which, so the detector never guesses. It comes from, first found:

1. a YAML file beside the model (``model.onnx`` -> ``model.yaml`` or ``model.onnx.yaml``),
2. the ``edge_agent_spec`` entry of the model's metadata (a JSON object; our conversion scripts
   write it),
3. for NCHW float models without either, the YOLO exporters' convention (RGB scaled to 0-1,
   letterbox, boxes in input pixels), which every YOLOv5/v8/11 export follows.

Anything else without a spec (an NHWC input, several outputs) is refused by ``resolve_spec``
with the shapes it found and what to write. docs/vision_models.md documents the keys.
"""
from __future__ import annotations

import dataclasses
import json
import os
import pathlib

import yaml

from edge_agent.core.vision.backends.common import DetectorError

__all__ = ['LAYOUTS', 'OBSERVATION_KEYS', 'ModelSpec', 'SsdAnchors', 'find_spec_file',
           'resolve_spec']

LAYOUTS = ('auto', 'yolov5', 'yolov8', 'end2end', 'tf_detection', 'ssd')
OBSERVATION_KEYS = ('p_hit', 'p_recur', 'real_a', 'real_b', 'false_a', 'false_b')
_CHOICES = {'input_layout': ('nchw', 'nhwc'), 'scale': ('unit', 'none', 'mean_std'),
            'resize': ('letterbox', 'stretch'), 'channels': ('rgb', 'bgr'),
            'output': LAYOUTS, 'boxes': ('pixels', 'normalized'),
            'box_order': ('xyxy', 'yxyx', 'cxcywh')}


@dataclasses.dataclass(frozen=True)
class SsdAnchors:
    """SSD anchors as the TensorFlow object detection API's multiple-grid anchor generator and
    MediaPipe's SsdAnchorsCalculator make them, and the box coder's scales: raw (y, x, h, w)
    offsets are divided by ``box_scales`` (TF's defaults 10, 10, 5, 5)."""

    num_layers: int = 6
    min_scale: float = 0.2
    max_scale: float = 0.95
    strides: tuple[int, ...] = (16, 32, 64, 128, 256, 512)
    aspect_ratios: tuple[float, ...] = (1.0, 2.0, 0.5)
    reduce_boxes_in_lowest_layer: bool = True
    interpolated_scale_aspect_ratio: float = 1.0
    anchor_offset: float = 0.5
    box_scales: tuple[float, float, float, float] = (10.0, 10.0, 5.0, 5.0)


@dataclasses.dataclass(frozen=True)
class ModelSpec:
    """One model's conventions; see the module docstring. ``source`` says where it came from."""

    input_layout: str = 'nchw'
    scale: str = 'unit'              # unit: /255; none: 0-255 as is; mean_std: (x - mean) / std
    mean: tuple[float, float, float] = (0.0, 0.0, 0.0)
    std: tuple[float, float, float] = (1.0, 1.0, 1.0)
    resize: str = 'letterbox'
    channels: str = 'rgb'
    output: str = 'auto'
    boxes: str = 'pixels'            # output boxes in input pixels or normalised to 0..1
    box_order: str = 'xyxy'          # of end2end / tf_detection boxes (TF's API: yxyx)
    class_offset: int = 0            # subtracted from a model's class ids (TF's API: 1-based)
    one_label_per_box: bool = False  # a box repeated with other classes keeps its best one
    names: tuple[str, ...] = ()
    conf_threshold: float | None = None   # the score the detector is used at (calibrated)
    anchors: SsdAnchors | None = None     # output ssd: raw box offsets and class logits
    score_activation: str = 'none'        # ssd logits: sigmoid or softmax; none: scores
    background_class: int | None = None   # a class column that means "nothing" (SSD: 0)
    observation: dict | None = None  # the agent's DetectorModel fitted to it (OBSERVATION_KEYS)
    source: str = 'yolo convention'

    @classmethod
    def from_dict(cls, data: dict, source: str) -> ModelSpec:
        """Validate a spec mapping; DetectorError naming ``source`` and the key otherwise."""
        if not isinstance(data, dict):
            raise DetectorError(f'{source}: a model spec is a mapping, not {type(data).__name__}')
        known = {f.name for f in dataclasses.fields(cls)} - {'source'}
        unknown = sorted(set(data) - known)
        if unknown:
            raise DetectorError(f'{source}: unknown key(s) {", ".join(unknown)}; known: '
                                f'{", ".join(sorted(known))}')
        values = dict(data)
        for key, allowed in _CHOICES.items():
            if key in values and values[key] not in allowed:
                raise DetectorError(f'{source}: {key} must be one of {", ".join(allowed)}, not '
                                    f'{values[key]!r}')
        try:
            for key in ('mean', 'std'):
                if key in values:
                    values[key] = tuple(float(v) for v in values[key])
                    if len(values[key]) != 3:
                        raise ValueError(f'{key} needs 3 values (R, G, B)')
            if any(s == 0 for s in values.get('std', (1.0,))):
                raise ValueError('std must not be 0')
            if 'names' in values:
                names = values['names']
                if isinstance(names, dict):
                    names = [names[k] for k in sorted(names, key=int)]
                values['names'] = tuple(str(n) for n in names)
            values['class_offset'] = int(values.get('class_offset', 0))
            if values.get('anchors') is not None:
                anchors = dict(values['anchors'])
                for key in ('strides', 'aspect_ratios', 'box_scales'):
                    if key in anchors:
                        anchors[key] = tuple(float(v) if key != 'strides' else int(v)
                                             for v in anchors[key])
                values['anchors'] = SsdAnchors(**anchors)
            if values.get('score_activation', 'none') not in ('none', 'sigmoid', 'softmax'):
                raise ValueError('score_activation must be none, sigmoid or softmax')
            if values.get('conf_threshold') is not None:
                values['conf_threshold'] = float(values['conf_threshold'])
                if not 0.0 <= values['conf_threshold'] <= 1.0:
                    raise ValueError('conf_threshold must be within 0..1')
            if values.get('observation') is not None:
                fit = {k: float(v) for k, v in dict(values['observation']).items()}
                if set(fit) != set(OBSERVATION_KEYS):
                    raise ValueError(f'observation needs exactly {", ".join(OBSERVATION_KEYS)}')
                if not (0 < fit['p_hit'] < 1 and 0 < fit['p_recur'] < 1) or min(
                        fit[k] for k in OBSERVATION_KEYS[2:]) <= 0:
                    raise ValueError('observation: p_hit and p_recur within (0, 1), the Beta '
                                     'parameters above 0')
                values['observation'] = fit
            if values.get('output') == 'ssd' and values.get('anchors') is None:
                raise ValueError('output ssd needs anchors (anchors: {} takes the TF object '
                                 'detection API defaults)')
        except (TypeError, ValueError, KeyError) as exc:
            raise DetectorError(f'{source}: {exc}') from exc
        return cls(**values, source=source)


def find_spec_file(model: str | os.PathLike) -> pathlib.Path | None:
    """The YAML spec beside ``model`` (``x.yaml`` or ``x.onnx.yaml``), if there is one."""
    path = pathlib.Path(model)
    for candidate in (path.with_suffix('.yaml'), path.with_name(path.name + '.yaml')):
        if candidate.is_file():
            return candidate
    return None


def resolve_spec(model: str | os.PathLike, meta: dict, input_shape: tuple,
                 output_shapes: list[tuple], spec: ModelSpec | None = None) -> ModelSpec:
    """The spec for a loaded model: ``spec`` when given, the YAML beside it, its metadata, or
    the YOLO convention when that fits the model's shapes; DetectorError otherwise."""
    if spec is not None:
        return spec
    found = find_spec_file(model)
    if found is not None:
        try:
            data = yaml.safe_load(found.read_text())
        except (OSError, yaml.YAMLError) as exc:
            raise DetectorError(f'{found}: not a readable YAML model spec: {exc}') from exc
        return ModelSpec.from_dict(data, str(found))
    if meta.get('edge_agent_spec'):
        try:
            data = json.loads(meta['edge_agent_spec'])
        except json.JSONDecodeError as exc:
            raise DetectorError(f'{model}: its edge_agent_spec metadata is not JSON: {exc}'
                                ) from exc
        return ModelSpec.from_dict(data, f'{model} (metadata edge_agent_spec)')
    shape = tuple(input_shape)
    nhwc = len(shape) == 4 and shape[-1] in (1, 3) and shape[1] not in (1, 3)
    if nhwc or len(output_shapes) > 1:
        what = (f'NHWC input {list(shape)}' if nhwc else
                f'{len(output_shapes)} outputs {[list(s) for s in output_shapes]}')
        raise DetectorError(
            f'{model}: {what} does not follow the YOLO export convention, and nothing says how '
            f'to read it; write {pathlib.Path(model).with_suffix(".yaml").name} beside it '
            '(input_layout, scale, resize, output, boxes, ...: docs/vision_models.md)')
    return ModelSpec()
