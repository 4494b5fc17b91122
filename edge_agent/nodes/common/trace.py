"""The edge_agent/Trace message as it passes from node to node (see msg/Trace.msg)."""
from __future__ import annotations

import copy

from rclpy.time import Time

from edge_agent.core.observability.trace import stage_latencies

__all__ = ['ANSWER_STAGE', 'TRACE_TOPIC', 'latencies', 'traced']

TRACE_TOPIC = 'agent/trace'   # where the node that ends a command's chain publishes its trace
# the stage the speech node adds to a final transcript a speech/listen goal took: it answers a
# question (the agent's or a plan's ask step) and is never a new command, however late it comes
ANSWER_STAGE = 'answer'


def traced(trace, stage: str, stamp):
    """A copy of ``trace`` (edge_agent/Trace) with ``stage`` finished at ``stamp``
    (builtin_interfaces/Time); the message passed in is not changed."""
    out = copy.deepcopy(trace)
    out.stages = [*out.stages, stage]
    out.stamps = [*out.stamps, stamp]
    return out


def latencies(trace) -> list[tuple[str, float]]:
    """Per-stage and total latency of ``trace`` [s] (``core.trace.stage_latencies``)."""
    return stage_latencies(Time.from_msg(trace.end_of_speech).nanoseconds, list(trace.stages),
                           [Time.from_msg(s).nanoseconds for s in trace.stamps])
