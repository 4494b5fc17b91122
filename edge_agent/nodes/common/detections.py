"""Vision results between the core and messages: a ``Box`` as edge_agent/Detection, an observe
window's fused objects as vision/observe's result."""
from __future__ import annotations

import time

from std_msgs.msg import ColorRGBA

from edge_agent.action import Observe
from edge_agent.core.vision import ObserveWindow
from edge_agent.msg import Detection, FusedDetection

__all__ = ['box_to_msg', 'observe_result']


def box_to_msg(box) -> Detection:
    """Convert a core Box into the edge_agent/Detection message."""
    r, g, b = box.color_rgb
    return Detection(label=box.label, class_id=box.class_id, score=box.score,
                     x_min=box.x_min, y_min=box.y_min, x_max=box.x_max, y_max=box.y_max,
                     color_name=box.color_name, color=ColorRGBA(r=r, g=g, b=b, a=1.0),
                     color_fraction=box.color_fraction, track_id=-1)


def observe_result(window: ObserveWindow) -> Observe.Result:
    """vision/observe's result: each fused object with its evidence across the window."""
    objects = []
    for obj in window.results():
        mean = sum(obj.scores) / len(obj.scores)
        det = box_to_msg(obj.box)
        det.score = mean
        objects.append(FusedDetection(
            detection=det, frames_seen=obj.frames_seen, frames_total=window.frames,
            mean_score=mean, max_score=max(obj.scores), first_seen=obj.first_seen,
            last_seen=obj.last_seen))
    return Observe.Result(objects=objects, frames_processed=window.frames,
                          elapsed=time.monotonic() - window.began)
