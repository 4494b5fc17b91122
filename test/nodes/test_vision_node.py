"""The vision lifecycle node over real DDS with real ONNX Runtime.

The model here is a synthetic ONNX graph in the YOLOv8 layout whose output is a known tensor
(it reads the image but does not depend on it): it tests the node's real path (letterbox,
inference, decoding, mapping back, colour, messages, observe) with known answers. The
project's trained detector is a separate issue item.
"""
from __future__ import annotations

import numpy as np
import onnx
from onnx import TensorProto, helper
import pytest
from rclpy.action import ActionClient
from rclpy.lifecycle import TransitionCallbackReturn
from rclpy.node import Node
from rclpy.parameter import Parameter
from ros_helpers import wait_for, wait_future
from sensor_msgs.msg import Image

from edge_agent.action import Observe
from edge_agent.core.vision.detector import Detector
from edge_agent.msg import DetectionArray
from edge_agent.nodes.vision import VisionNode

# In the 64x64 letterboxed input of a 128x96 image (scale 0.5, 8 px top padding):
# cup (class 0) at original (20,24)-(60,72), ball (class 1) at (80,10)-(120,50).
OUTPUT = np.array([[20, 50, 5],      # cx
                   [32, 23, 5],      # cy
                   [20, 20, 4],      # w
                   [24, 20, 4],      # h
                   [0.9, 0.02, 0.05],  # score class 0
                   [0.01, 0.6, 0.03]],  # score class 1
                  np.float32)[None]


def make_model(path):
    images = helper.make_tensor_value_info('images', TensorProto.FLOAT, [1, 3, 64, 64])
    out = helper.make_tensor_value_info('output0', TensorProto.FLOAT, [1, 6, 3])
    nodes = [
        helper.make_node('ReduceMean', ['images'], ['mean'], keepdims=0),
        helper.make_node('Mul', ['mean', 'zero'], ['nothing']),
        helper.make_node('Add', ['known', 'nothing'], ['output0']),
    ]
    graph = helper.make_graph(nodes, 'known_boxes', [images], [out], initializer=[
        helper.make_tensor('zero', TensorProto.FLOAT, [], [0.0]),
        helper.make_tensor('known', TensorProto.FLOAT, OUTPUT.shape, OUTPUT.ravel())])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid('', 17)])
    model.ir_version = 8
    helper.set_model_props(model, {'names': "{0: 'cup', 1: 'ball'}"})
    onnx.save(model, str(path))
    return path


def scene(encoding='rgb8'):
    image = np.full((96, 128, 3), 235, np.uint8)
    image[24:72, 20:60] = (210, 30, 30)    # red cup
    image[10:50, 80:120] = (30, 60, 200)   # blue ball
    if encoding == 'bgr8':
        image = image[..., ::-1]
    msg = Image(height=96, width=128, encoding=encoding, step=128 * 3,
                data=np.ascontiguousarray(image).tobytes())
    msg.header.frame_id = 'camera'
    return msg


def test_detector_maps_boxes_back_and_names_colours(tmp_path):
    detector = Detector(make_model(tmp_path / 'm.onnx'))
    assert detector.labels == ['cup', 'ball'] and detector.input_size == 64
    assert detector.provider == 'onnxruntime:CPUExecutionProvider'  # no GPU provider here
    rgb = np.frombuffer(bytes(scene().data), np.uint8).reshape(96, 128, 3)
    boxes = detector.detect(rgb)
    assert [(b.label, b.color_name) for b in boxes] == [('cup', 'red'), ('ball', 'blue')]
    assert np.allclose(boxes[0].xyxy(), [20, 24, 60, 72], atol=1)
    assert np.allclose(boxes[1].xyxy(), [80, 10, 120, 50], atol=1)


def start_vision(ros_context, executor, model, *overrides):
    node = VisionNode(context=ros_context, parameter_overrides=[
        Parameter('model_path', value=str(model)), Parameter('max_rate_hz', value=30.0),
        *overrides])
    return executor.activate(node)


def test_node_detects_observes_and_survives_bad_frames(ros_context, executor, tmp_path):
    node = start_vision(ros_context, executor, make_model(tmp_path / 'm.onnx'))
    probe = executor.add(Node('vision_probe', context=ros_context))
    got: list[DetectionArray] = []
    probe.create_subscription(DetectionArray, 'vision/detections', got.append, 10)
    cam = probe.create_publisher(Image, 'camera/image_raw', 5)
    wait_for(lambda: (cam.publish(scene('bgr8')) or got), interval=0.1,
             message='detections')
    msg = got[-1]
    assert msg.header.frame_id == 'camera' and (msg.image_width, msg.image_height) == (128, 96)
    assert msg.backend == 'onnxruntime:CPUExecutionProvider'
    cup = msg.detections[0]
    assert (cup.label, cup.color_name, cup.track_id) == ('cup', 'red', -1)
    assert abs(cup.x_min - 20) <= 1 and abs(cup.y_max - 72) <= 1 and cup.score == pytest.approx(
        0.9)

    for bad in (Image(height=2, width=2, encoding='jpeg', step=6, data=bytes(12)),
                Image(height=0, width=0, encoding='rgb8', step=0, data=b''),
                Image(height=96, width=128, encoding='rgb8', step=128 * 3, data=bytes(100))):
        cam.publish(bad)
        wait_for(lambda: node._stats['frames_in'] > 0 and node._frames.empty,
                 message='the frame to be taken')
    wait_for(lambda: node._stats['bad_frames'] >= 1, message='bad frames counted')

    client = ActionClient(probe, Observe, 'vision/observe')
    wait_for(client.server_is_ready, message='the observe server')
    handle = wait_future(client.send_goal_async(Observe.Goal(frames=4, target_label='cup'),
                                                feedback_callback=lambda f: None))
    stop = threading_publish(cam, scene())
    try:
        result = wait_future(handle.get_result_async(), timeout=30).result
    finally:
        stop()
    assert result.frames_processed == 4 and len(result.objects) == 1
    obj = result.objects[0]
    assert obj.frames_seen == 4 and obj.detection.label == 'cup'
    assert obj.mean_score == pytest.approx(0.9) and obj.max_score == pytest.approx(0.9)


def threading_publish(pub, msg, period=0.05):
    import threading

    running = threading.Event()
    running.set()

    def loop():
        while running.is_set():
            pub.publish(msg)
            threading.Event().wait(period)

    threading.Thread(target=loop, daemon=True).start()
    return running.clear


def test_corrupt_or_missing_model_fails_activation_clearly(ros_context, tmp_path):
    bad = tmp_path / 'bad.onnx'
    bad.write_bytes(b'not a model')
    for path in (bad, tmp_path / 'missing.onnx'):
        node = VisionNode(context=ros_context, parameter_overrides=[
            Parameter('model_path', value=str(path))])
        try:
            assert node.trigger_configure() == TransitionCallbackReturn.SUCCESS
            assert node.trigger_activate() == TransitionCallbackReturn.FAILURE
        finally:
            node.destroy_node()


def test_model_sha256_refuses_a_replaced_model_naming_it(ros_context, tmp_path):
    import hashlib

    model = make_model(tmp_path / 'mine.onnx')
    right = hashlib.sha256(model.read_bytes()).hexdigest()
    for expected, outcome in (('0' * 64, TransitionCallbackReturn.FAILURE),
                              (right.upper(), TransitionCallbackReturn.SUCCESS)):
        node = VisionNode(context=ros_context, parameter_overrides=[
            Parameter('model_path', value=str(model)),
            Parameter('model_sha256', value=expected)])
        try:
            assert node.trigger_configure() == TransitionCallbackReturn.SUCCESS
            assert node.trigger_activate() == outcome
            if outcome == TransitionCallbackReturn.FAILURE:
                assert f'{model}: SHA-256 is {right}' in node.failure_reason, \
                    node.failure_reason
        finally:
            node.destroy_node()


def test_observe_by_duration_with_region_and_cancel(ros_context, executor, tmp_path):
    from action_msgs.msg import GoalStatus
    from sensor_msgs.msg import RegionOfInterest

    start_vision(ros_context, executor, make_model(tmp_path / 'm.onnx'))
    probe = executor.add(Node('observe_probe2', context=ros_context))
    cam = probe.create_publisher(Image, 'camera/image_raw', 5)
    client = ActionClient(probe, Observe, 'vision/observe')
    wait_for(client.server_is_ready, message='the observe server')
    stop = threading_publish(cam, scene())
    try:
        # only the right half of the image: the ball, not the cup
        right = RegionOfInterest(x_offset=64, y_offset=0, width=64, height=96)
        goal = Observe.Goal(duration=0.6, region=right)
        result = wait_future(wait_future(client.send_goal_async(goal)).get_result_async(),
                             timeout=20).result
        assert result.frames_processed >= 2 and result.elapsed >= 0.6
        assert [o.detection.label for o in result.objects] == ['ball']
        assert result.objects[0].detection.color_name == 'blue'
        handle = wait_future(client.send_goal_async(Observe.Goal(frames=300)))
        wait_future(handle.cancel_goal_async())
        canceled = wait_future(handle.get_result_async(), timeout=20)
        assert canceled.status == GoalStatus.STATUS_CANCELED
    finally:
        stop()


def test_goals_are_bounded_and_never_starve_detection(ros_context, executor, tmp_path):
    """Out-of-bounds goals are rejected with a reason, at most max_concurrent_goals run, and
    detections keep flowing while they do; a goal that cannot get its frames fails."""
    from action_msgs.msg import GoalStatus

    node = start_vision(ros_context, executor, make_model(tmp_path / 'm.onnx'),
                        Parameter('max_concurrent_goals', value=2),
                        Parameter('max_observe_duration_s', value=2.0))
    probe = executor.add(Node('bounds_probe', context=ros_context))
    cam = probe.create_publisher(Image, 'camera/image_raw', 5)
    got: list[DetectionArray] = []
    probe.create_subscription(DetectionArray, 'vision/detections', got.append, 10)
    client = ActionClient(probe, Observe, 'vision/observe')
    wait_for(client.server_is_ready, message='the observe server')
    gate = node.goal_gates['vision/observe']

    # no camera yet: a frame-bounded goal ends after max_observe_duration_s, failed, with 0
    empty = wait_future(wait_future(client.send_goal_async(Observe.Goal(frames=3)))
                        .get_result_async(), timeout=20)
    assert empty.status == GoalStatus.STATUS_ABORTED and empty.result.frames_processed == 0

    for goal, reason in ((Observe.Goal(frames=301), 'max_observe_frames'),
                         (Observe.Goal(duration=float('inf')), 'finite'),
                         (Observe.Goal(duration=float('nan')), 'finite'),
                         (Observe.Goal(duration=-1.0), '0..2'),
                         (Observe.Goal(duration=5.0), '0..2'),
                         (Observe.Goal(), 'both are 0')):
        handle = wait_future(client.send_goal_async(goal))
        assert not handle.accepted and reason in gate.last_reason, (goal, gate.last_reason)

    stop = threading_publish(cam, scene())
    try:
        handles = [wait_future(client.send_goal_async(Observe.Goal(duration=1.5)))
                   for _ in range(5)]
        assert sum(h.accepted for h in handles) == 2
        assert 'max_concurrent_goals = 2' in gate.last_reason
        before = len(got)
        wait_for(lambda: len(got) >= before + 5, message='detections while goals run')
        for h in handles[:2]:
            done = wait_future(h.get_result_async(), timeout=20)
            assert done.status == GoalStatus.STATUS_SUCCEEDED and done.result.frames_processed
        assert gate.running == 0 and node._stats['goals_rejected'] >= 9
    finally:
        stop()


def test_detector_info_carries_the_models_labels_and_fit_to_the_agent_and_planner(
        ros_context, executor):
    """The real-world tier latches what it can see on vision/detector_info: COCO's 80 class
    names, the calibrated threshold it reports at and the observation model fitted to it; the
    planner's world learns every label (so it can say "I don't see a giraffe"), the agent its
    labels and the fitted detector model; world synthetic brings the simulated world's four
    labels and no fit."""
    from edge_agent.msg import DetectorInfo
    from edge_agent.nodes.agent import AgentNode
    from edge_agent.nodes.common import LATCHED
    from edge_agent.nodes.planner import PlannerNode

    vision = executor.activate(VisionNode(context=ros_context, namespace='/info',
                                          parameter_overrides=[Parameter('tier', value=0)]))
    planner = executor.activate(PlannerNode(context=ros_context, namespace='/info',
                                            parameter_overrides=[Parameter('tier', value=2)]))
    agent = executor.activate(AgentNode(context=ros_context, namespace='/info'))
    probe = executor.add(Node('info_probe', namespace='/info', context=ros_context))
    got: list[DetectorInfo] = []
    probe.create_subscription(DetectorInfo, 'vision/detector_info', got.append, LATCHED)
    wait_for(lambda: got, message='the latched detector info')
    info = got[-1]
    assert info.world == 'real' and len(info.labels) == 80 and 'giraffe' in info.labels
    assert info.model.endswith('coco_centernet_512.onnx')
    assert info.conf_threshold == pytest.approx(vision.engines.engine.conf_threshold)
    assert 0.2 <= info.conf_threshold <= 0.6 and 0 < info.p_hit < 1 and info.real_a > 0
    wait_for(lambda: 'giraffe' in planner._memory.labels(), message='the planner vocabulary')
    assert planner._memory.min_score == pytest.approx(min(0.4, info.conf_threshold))
    wait_for(lambda: 'cell phone' in agent._detector_labels, message='the agent labels')
    assert agent._sensor_models.detector.p_hit == pytest.approx(info.p_hit)


def test_the_synthetic_world_latches_its_own_four_labels_without_a_fit(ros_context, executor):
    from edge_agent.msg import DetectorInfo
    from edge_agent.nodes.common import LATCHED

    executor.activate(VisionNode(context=ros_context, namespace='/sinfo', parameter_overrides=[
        Parameter('tier', value=2), Parameter('world', value='synthetic')]))
    probe = executor.add(Node('sinfo_probe', namespace='/sinfo', context=ros_context))
    got: list[DetectorInfo] = []
    probe.create_subscription(DetectorInfo, 'vision/detector_info', got.append, LATCHED)
    wait_for(lambda: got, message='the latched detector info')
    assert got[-1].world == 'synthetic' and list(got[-1].labels) == ['cup', 'bottle', 'box',
                                                                      'ball']
    assert got[-1].conf_threshold == pytest.approx(0.25) and got[-1].p_hit == 0.0
