"""Models people export, read as their spec says (core/vision/spec.py), or refused with what was
found: NHWC input scaled 0-255 with boxes normalised to the input, the TensorFlow detection
API's four outputs (yxyx boxes, 1-based classes, a count), a spec YAML beside the model, the
ONNX metadata. The models are small real ONNX graphs built here with the onnx package (their
output is a constant table, so the expected boxes are known exactly); ONNX Runtime runs them."""
from __future__ import annotations

import json

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper
import pytest
import yaml

from edge_agent.core.vision import Detector, DetectorError, ModelSpec, stretch, stretch_to


def _model(path, input_shape, outputs: dict[str, np.ndarray], meta: dict | None = None):
    """An ONNX model whose outputs are ``outputs`` (constants), taking ``input_shape`` images:
    each output is the constant plus 0 x the sum of the input, so the input is really used."""
    nodes = [helper.make_node('ReduceSum', ['images'], ['total'], keepdims=0),
             helper.make_node('Mul', ['total', 'zero'], ['nothing'])]
    inits = [numpy_helper.from_array(np.array(0, np.float32), 'zero')]
    outs = []
    for name, value in outputs.items():
        inits.append(numpy_helper.from_array(value.astype(np.float32), f'{name}_value'))
        nodes.append(helper.make_node('Add', [f'{name}_value', 'nothing'], [name]))
        outs.append(helper.make_tensor_value_info(name, TensorProto.FLOAT, list(value.shape)))
    graph = helper.make_graph(nodes, 'g', [helper.make_tensor_value_info(
        'images', TensorProto.FLOAT, list(input_shape))], outs, inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid('', 17)])
    model.ir_version = 8
    for key, value in (meta or {}).items():
        prop = model.metadata_props.add()
        prop.key, prop.value = key, value
    onnx.save(model, str(path))
    return path


IMAGE = np.zeros((100, 200, 3), np.uint8)   # 200 wide, 100 high


def test_an_nhwc_model_without_a_spec_is_refused_with_what_was_found(tmp_path):
    rows = np.array([[[0.1, 0.2, 0.5, 0.6, 0.9, 1]]])
    path = _model(tmp_path / 'tf_export.onnx', [1, 64, 64, 3], {'detections': rows})
    with pytest.raises(DetectorError) as err:
        Detector(path)
    text = str(err.value)
    assert 'NHWC input [1, 64, 64, 3]' in text and 'tf_export.yaml' in text
    assert 'docs/vision_models.md' in text


def test_nhwc_0_255_normalised_end2end_boxes_from_a_yaml_beside_the_model(tmp_path):
    # CenterNet's TF export: [1,N,6] rows of x1, y1, x2, y2 normalised to the input, score, class
    rows = np.array([[[0.25, 0.5, 0.75, 1.0, 0.9, 1], [0.0, 0.0, 0.5, 0.5, 0.1, 0]]])
    path = _model(tmp_path / 'centernet.onnx', [1, 64, 64, 3], {'detections': rows})
    (tmp_path / 'centernet.yaml').write_text(yaml.safe_dump({
        'input_layout': 'nhwc', 'scale': 'none', 'resize': 'stretch', 'output': 'end2end',
        'boxes': 'normalized', 'names': ['cat', 'dog'], 'conf_threshold': 0.5}))
    detector = Detector(path, conf_threshold=0.3)
    assert detector.spec.source.endswith('centernet.yaml')
    assert detector.labels == ['cat', 'dog'] and detector.spec.conf_threshold == 0.5
    tensor, scales, pad = detector.preprocess(IMAGE + 200)
    assert tensor.shape == (1, 64, 64, 3) and tensor.max() == 200.0   # 0-255, not /255
    assert pad == (0, 0) and scales == (64 / 200, 64 / 100)
    [box] = detector.detect(IMAGE)   # the 0.1 row is below the threshold
    assert box.label == 'dog' and box.score == pytest.approx(0.9)
    # normalised -> input pixels -> the stretched image's own pixels
    assert [box.x_min, box.y_min, box.x_max, box.y_max] == pytest.approx([50, 50, 150, 100])


def test_tensorflow_detection_api_outputs_yxyx_one_based_with_a_count(tmp_path):
    outputs = {'detection_boxes': np.array([[[0.5, 0.25, 1.0, 0.75], [0, 0, 1, 1]]]),
               'detection_scores': np.array([[0.8, 0.7]]),
               'detection_classes': np.array([[2.0, 1.0]]),
               'num_detections': np.array([1.0])}
    meta = {'edge_agent_spec': json.dumps({
        'input_layout': 'nhwc', 'scale': 'mean_std', 'mean': [127.5] * 3, 'std': [127.5] * 3,
        'resize': 'stretch', 'output': 'tf_detection', 'boxes': 'normalized',
        'box_order': 'yxyx', 'class_offset': 1, 'names': ['person', 'cup']})}
    path = _model(tmp_path / 'ssd.onnx', [1, 32, 32, 3], outputs, meta)
    detector = Detector(path, conf_threshold=0.5)
    assert 'metadata' in detector.spec.source
    tensor = detector.preprocess(IMAGE + 255)[0]
    assert tensor.min() == pytest.approx(1.0)   # (255 - 127.5) / 127.5
    [box] = detector.detect(IMAGE)              # the count says one detection
    assert box.label == 'cup' and detector.layout == 'tf_detection'
    assert [box.x_min, box.y_min, box.x_max, box.y_max] == pytest.approx([50, 50, 150, 100])


def test_several_outputs_without_a_spec_are_refused(tmp_path):
    outputs = {'a': np.zeros((1, 5, 4)), 'b': np.zeros((1, 5))}
    path = _model(tmp_path / 'two.onnx', [1, 3, 32, 32], outputs)
    with pytest.raises(DetectorError, match=r'2 outputs \[\[1, 5, 4\], \[1, 5\]\]'):
        Detector(path)


def test_a_spec_that_contradicts_the_model_is_one_clear_error(tmp_path):
    rows = np.zeros((1, 3, 6))
    path = _model(tmp_path / 'nchw.onnx', [1, 3, 32, 32], {'out': rows})
    (tmp_path / 'nchw.yaml').write_text('input_layout: nhwc\noutput: end2end\n')
    with pytest.raises(DetectorError, match='32 channels where its spec .* says NHWC puts 3'):
        Detector(path)
    (tmp_path / 'nchw.yaml').write_text('output: yolo\n')
    with pytest.raises(DetectorError, match="output must be one of .*, not 'yolo'"):
        Detector(path)
    (tmp_path / 'nchw.yaml').write_text('outptu: end2end\n')
    with pytest.raises(DetectorError, match='unknown key.*outptu'):
        Detector(path)
    (tmp_path / 'nchw.yaml').write_text(': [\n')
    with pytest.raises(DetectorError, match='not a readable YAML model spec'):
        Detector(path)


def test_an_output_the_spec_does_not_describe_is_an_error_per_frame_not_a_crash(tmp_path):
    path = _model(tmp_path / 'wrong.onnx', [1, 32, 32, 3], {'out': np.zeros((1, 4, 5))})
    (tmp_path / 'wrong.yaml').write_text('input_layout: nhwc\noutput: end2end\nnames: [a]\n')
    detector = Detector(path)
    with pytest.raises(DetectorError, match=r'end2end output must be \[1,N,6\].*wrong.yaml'):
        detector.detect(IMAGE)


def test_spec_validation():
    with pytest.raises(DetectorError, match='observation needs exactly'):
        ModelSpec.from_dict({'observation': {'p_hit': 0.5}}, 'x')
    with pytest.raises(DetectorError, match='std must not be 0'):
        ModelSpec.from_dict({'scale': 'mean_std', 'std': [1, 0, 1]}, 'x')
    with pytest.raises(DetectorError, match='conf_threshold must be within 0..1'):
        ModelSpec.from_dict({'conf_threshold': 2}, 'x')
    spec = ModelSpec.from_dict({'names': {'1': 'b', '0': 'a'}}, 'x')
    assert spec.names == ('a', 'b')


@pytest.mark.parametrize('cv2_present', [True, False])
def test_stretch_with_and_without_opencv(monkeypatch, cv2_present):
    import sys

    if not cv2_present:
        monkeypatch.setitem(sys.modules, 'cv2', None)
    image = np.zeros((40, 80, 3), np.uint8)
    image[:, 40:] = 200
    out = stretch_to(image, 20, 60)
    assert out.shape == (60, 20, 3) and out.dtype == np.uint8
    assert out[:, :9].max() == 0 and out[:, 11:].min() == 200   # halves kept apart
    assert stretch(image, 16).shape == (16, 16, 3)


def test_ssd_anchors_and_decoding():
    """The TF object detection API's anchor layout (MediaPipe's OID v4 settings give the 1917
    anchors of a 300 px SSD-MobileNetV2), and a zero offset decodes to the anchor itself."""
    from edge_agent.core.vision.postprocess import decode_outputs, ssd_anchors
    from edge_agent.core.vision.spec import SsdAnchors

    anchors = ssd_anchors(SsdAnchors(aspect_ratios=(1.0, 2.0, 0.5, 3.0, 1 / 3)), 300)
    assert anchors.shape == (1917, 4)   # 19x19x3 + (10x10 + 5x5 + 3x3 + 2x2 + 1) x 6
    assert anchors[0] == pytest.approx([0.5 / 19, 0.5 / 19, 0.1, 0.1])
    spec = ModelSpec.from_dict({'output': 'ssd', 'anchors': {
        'aspect_ratios': [1.0, 2.0, 0.5, 3.0, 0.3333]}, 'score_activation': 'sigmoid',
        'background_class': 0}, 'x')
    logits = np.full((1, 1917, 3), -20.0)
    logits[0, 5, 2] = 5.0                     # anchor 5, class 2, sigmoid ~0.993
    logits[0, 6, 0] = 9.0                     # the background never counts
    raw = np.zeros((1, 1917, 4))
    boxes, scores, classes, layout = decode_outputs([raw, logits], spec, 3, 0.5, 0.45, 300)
    assert layout == 'ssd' and classes.tolist() == [2] and scores[0] == pytest.approx(0.993, 1e-3)
    y, x, h, w = anchors[5]
    assert boxes[0] == pytest.approx(np.array([x - w / 2, y - h / 2, x + w / 2, y + h / 2]) * 300,
                                     rel=1e-4)
    with pytest.raises(ValueError, match='anchor settings give 1917 anchors, the model has 10'):
        decode_outputs([raw[:, :10], logits[:, :10]], spec, 3, 0.5, 0.45, 300)
    with pytest.raises(DetectorError, match='output ssd needs anchors'):
        ModelSpec.from_dict({'output': 'ssd'}, 'x')
