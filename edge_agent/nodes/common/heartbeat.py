"""Every node's heartbeat on ``supervision/heartbeat`` (edge_agent/Heartbeat), bond-like: the
supervisor (``nodes/supervisor.py``) counts a node lost when its heartbeats stop.

Started with the node (``ReportsHealth.watch_health``) and sent in a callback group of its
own, so a long callback elsewhere in the node does not silence it; a process that is killed,
or whose executor no longer runs at all, does.
"""
from __future__ import annotations

import os
import socket

__all__ = ['HEARTBEAT_PERIOD_S', 'HEARTBEAT_TOPIC', 'start_heartbeat']

HEARTBEAT_TOPIC = 'supervision/heartbeat'
HEARTBEAT_PERIOD_S = 0.5


def _state(node) -> str:
    machine = getattr(node, '_state_machine', None)   # rclpy.lifecycle.Node
    if machine is None:
        return 'running'
    try:
        return str(machine.current_state[1])
    except Exception:  # noqa: BLE001 - the node is being destroyed
        return 'unknown'


def start_heartbeat(node, period_s: float = HEARTBEAT_PERIOD_S):
    """Publish ``node``'s heartbeat every ``period_s``, for the node's whole life; returns
    the function that sends one now (a failed transition does, so its reason reaches the
    supervisor with the failure)."""
    from rclpy.callback_groups import MutuallyExclusiveCallbackGroup

    from edge_agent.msg import Heartbeat
    from edge_agent.nodes.common.qos import RELIABLE

    pub = node.create_publisher(Heartbeat, HEARTBEAT_TOPIC, RELIABLE)
    beat = Heartbeat(node=node.get_fully_qualified_name(), pid=os.getpid(),
                     hostname=socket.gethostname(), period=float(period_s))

    def send() -> None:
        beat.header.stamp = node.get_clock().now().to_msg()
        beat.state = _state(node)
        beat.reason = getattr(node, 'failure_reason', '') if beat.state != 'active' else ''
        pub.publish(beat)

    node.create_timer(period_s, send, callback_group=MutuallyExclusiveCallbackGroup())
    return send
