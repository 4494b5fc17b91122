"""vision/detector_info (latched): what the current detector can see, for the agent and the
planner, so the labels a command may name come from the model rather than a hand-kept list."""
from __future__ import annotations

from rclpy.callback_groups import MutuallyExclusiveCallbackGroup

from edge_agent.core.inference import DetectorModel
from edge_agent.nodes.common.qos import LATCHED

__all__ = ['DETECTOR_INFO_TOPIC', 'detector_model', 'info_labels', 'subscribe_detector_info']

DETECTOR_INFO_TOPIC = 'vision/detector_info'


def subscribe_detector_info(node, callback):
    """Subscribe ``node`` to the latched detector info; returns the subscription."""
    from edge_agent.msg import DetectorInfo

    return node.create_subscription(DetectorInfo, DETECTOR_INFO_TOPIC, callback, LATCHED,
                                    callback_group=MutuallyExclusiveCallbackGroup())


def info_labels(msg) -> frozenset[str]:
    """The detector's class names, lower case (how detections are compared)."""
    return frozenset(label.strip().lower() for label in msg.labels if label.strip())


def detector_model(msg) -> DetectorModel | None:
    """The observation model fitted to the detector, or None when it has no fit (zeros)."""
    values = (msg.p_hit, msg.p_recur, msg.real_a, msg.real_b, msg.false_a, msg.false_b)
    if not all(v > 0 for v in values) or not (msg.p_hit < 1 and msg.p_recur < 1):
        return None
    return DetectorModel(*(float(v) for v in values))
