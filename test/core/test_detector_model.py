"""The project's own detector (models/detector/, trained by scripts/train_detector.py on MuJoCo
renders) on held-out renders it never saw (test/data/vision/heldout.npz, another seed), FP32
and INT8, and in the vision node over DDS with a tier switch while frames keep coming."""
from __future__ import annotations

import pathlib

import numpy as np
import pytest
from rclpy.node import Node
from rclpy.parameter import Parameter
from ros_helpers import rgb_image, wait_for
from sensor_msgs.msg import Image

from edge_agent.core.models import ModelCatalog
from edge_agent.core.vision.detector import Detector
from edge_agent.eval.detection import mean_average_precision
from edge_agent.msg import DetectionArray, ModelTier
from edge_agent.nodes.common import LATCHED
from edge_agent.nodes.vision import VisionNode

HELDOUT = np.load(pathlib.Path(__file__).parents[1] / 'data' / 'vision' / 'heldout.npz',
                  allow_pickle=True)
IMAGES, TRUTHS = HELDOUT['images'], list(HELDOUT['boxes'])


def m_ap(name: str) -> float:
    detector = Detector(ModelCatalog().path(name), conf_threshold=0.05)
    assert detector.labels == ['cup', 'bottle', 'box', 'ball']
    return mean_average_precision([detector.detect(i) for i in IMAGES], TRUTHS, 4)[0]


def test_fp32_and_int8_find_the_objects():
    # Measured on all 200 held-out renders: see docs/benchmarks.md. On this 40-image subset the
    # issue's bars apply: FP32 >= 0.8, INT8 within 2 points of FP32.
    fp32, int8 = m_ap('detector-fp32-320'), m_ap('detector-int8-320')
    assert fp32 >= 0.8, fp32
    assert int8 >= fp32 - 0.02, (fp32, int8)
    assert m_ap('detector-int8-256') >= 0.6  # the floor tier trades accuracy for speed


def test_vision_node_on_renders_follows_the_governor(ros_context, executor):
    node = VisionNode(context=ros_context, parameter_overrides=[
        Parameter('max_rate_hz', value=20.0), Parameter('world', value='synthetic')])
    executor.activate(node)
    probe = executor.add(Node('render_probe', context=ros_context))
    got: list[DetectionArray] = []
    probe.create_subscription(DetectionArray, 'vision/detections', got.append, 50)
    cam = probe.create_publisher(Image, 'camera/image_raw', 5)
    tier_pub = probe.create_publisher(ModelTier, 'system/model_tier', LATCHED)
    index = int(np.argmax([len(t) for t in TRUTHS]))
    frame = rgb_image(IMAGES[index])
    wait_for(lambda: cam.publish(frame) or len(got) >= 3, interval=0.05,
             message='detections of a render')
    truth = TRUTHS[index]
    names = ['cup', 'bottle', 'box', 'ball']
    found = {d.label for d in got[-1].detections if d.score > 0.3}
    assert {names[int(c)] for c in truth[:, 4]} <= found
    assert node.engines.key == 0
    before = node._stats['frames_processed']
    tier_pub.publish(ModelTier(tier_index=2, tier_name='floor'))
    wait_for(lambda: cam.publish(frame) or node.engines.key == 2, interval=0.05,
             message='the switch to the floor tier')
    wait_for(lambda: cam.publish(frame) or node._stats['frames_processed'] > before + 3,
             interval=0.05, message='frames after the switch')
    assert node._stats['bad_frames'] == 0  # the swap lost no frame to an error
    assert node.engines.engine.input_size == 256


def test_opencv_dnn_backend_matches_onnxruntime():
    path = ModelCatalog().path('detector-fp32-320')
    ort_det = Detector(path, conf_threshold=0.05)
    cv_det = Detector(path, conf_threshold=0.05, backend='opencv')
    assert cv_det.provider == 'opencv:dnn-cpu'
    for image in IMAGES[:5]:
        a, b = ort_det.detect(image), cv_det.detect(image)
        assert [x.label for x in a] == [x.label for x in b]
        assert all(np.allclose(x.xyxy(), y.xyxy(), atol=0.5) for x, y in zip(a, b, strict=True))
    from edge_agent.core.vision.detector import DetectorError

    with pytest.raises(DetectorError, match='inference failed|cannot load'):  # INT8 QDQ: ORT
        Detector(ModelCatalog().path('detector-int8-320'), backend='opencv').detect(
            IMAGES[0])
