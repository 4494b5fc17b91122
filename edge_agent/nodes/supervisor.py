"""Supervisor node: watches every edge_agent node's heartbeat and reports the graph's health.

Each node sends ``supervision/heartbeat`` (edge_agent/Heartbeat) twice a second from its
construction on (``nodes/common/heartbeat.py``); this node keeps the states in
``core.observability.Supervision`` and publishes them on ``/diagnostics`` as
"edge_agent: supervisor" (per node: state, restarts, pid, how long the last restart took, why
it was lost), WARN while a node is lost or not yet serving, ERROR once one is given up.

Who restarts: under ``ros2 launch`` every node has ``respawn`` (launch restarts a process that
exits) and this node kills a node on this machine that stopped sending heartbeats while its
process lives (``kill_hung``), so launch restarts that one too. Under ``edge-agent up
--processes`` the ``processes`` object given to the constructor starts and restarts them
(``app/processes.py``).
"""
from __future__ import annotations

import os
import signal
import socket
import threading

from diagnostic_msgs.msg import DiagnosticArray
from rclpy.node import Node

from edge_agent.core.observability.health import HealthReport
from edge_agent.core.observability.supervision import Supervision
from edge_agent.msg import Heartbeat
from edge_agent.nodes.common import RELIABLE, Param, declare, diagnostic_array, run
from edge_agent.nodes.common.heartbeat import HEARTBEAT_TOPIC

__all__ = ['PARAMETERS', 'SupervisorNode', 'main']

PARAMETERS = [
    Param('expected_nodes', '', 'Comma-separated node names expected to serve (WARN until '
          'they do); empty = every node that sends a heartbeat.', read_only=True),
    Param('heartbeat_timeout_s', 3.0, 'A serving node whose heartbeats stop this long is lost '
          '[s].', (0.5, 600.0), read_only=True),
    Param('start_timeout_s', 120.0, 'A (re)started node must serve within this (models load) '
          '[s].', (1.0, 3600.0), read_only=True),
    Param('max_restarts', 5, 'Restarts within restart_window_s before a node is given up '
          '(ERROR) [count].', (1, 1000), read_only=True),
    Param('restart_window_s', 300.0, 'Window of max_restarts [s].', (1.0, 86400.0),
          read_only=True),
    Param('kill_hung', True, 'Kill (SIGKILL) a node on this machine whose heartbeats stopped '
          'while its process lives, so launch respawns it.', read_only=True),
]


class SupervisorNode(Node):
    """See the module docstring. ``processes``: an object with ``poll() -> [(name,
    returncode)]`` and ``restart(name) -> pid`` when this process owns the nodes' processes."""

    def __init__(self, processes=None, **kwargs) -> None:
        super().__init__('supervisor', **kwargs)
        declare(self, PARAMETERS)
        value = lambda name: self.get_parameter(name).value  # noqa: E731
        expected = [n.strip() for n in value('expected_nodes').split(',') if n.strip()]
        self.lock = threading.Lock()
        self.supervision = Supervision(
            expected, heartbeat_timeout_s=value('heartbeat_timeout_s'),
            start_timeout_s=value('start_timeout_s'), max_restarts=value('max_restarts'),
            restart_window_s=value('restart_window_s'))
        self.processes = processes
        self._host = socket.gethostname()
        self._where: dict[str, tuple[str, int]] = {}   # name -> (hostname, pid)
        self.create_subscription(Heartbeat, HEARTBEAT_TOPIC, self._on_beat, RELIABLE)
        self._diag_pub = self.create_publisher(DiagnosticArray, '/diagnostics', 10)
        self.create_timer(0.25, self._check)
        self.create_timer(1.0, self._publish)

    def _on_beat(self, msg: Heartbeat) -> None:
        name = msg.node.rsplit('/', 1)[-1]
        if name == self.get_name():
            return
        with self.lock:
            self._where[name] = (msg.hostname, int(msg.pid))
            self.supervision.beat(name, int(msg.pid), msg.state)

    def _check(self) -> None:
        with self.lock:
            if self.processes is not None:
                for name, returncode in self.processes.poll():
                    self.supervision.exited(name, returncode)
            due = self.supervision.due()
        for name, reason in due:
            self.get_logger().warning(f'{name} lost: {reason}')
            if self.processes is not None:
                pid = self.processes.restart(name)
            else:
                pid = None
                host, old = self._where.get(name, ('', 0))
                if (reason.startswith('no heartbeat') and self.get_parameter('kill_hung').value
                        and host == self._host and old not in (0, os.getpid())):
                    try:   # launch's respawn brings it back
                        os.kill(old, signal.SIGKILL)
                    except OSError:
                        pass
            with self.lock:
                self.supervision.started(name, pid)

    def report(self) -> HealthReport:
        with self.lock:
            level, message, values = self.supervision.report()
        return HealthReport(level, message, values)

    def _publish(self) -> None:
        self._diag_pub.publish(diagnostic_array(self, 'edge_agent: supervisor', 'graph',
                                                self.report()))


def main(args=None) -> int:
    """Run the supervisor until interrupted."""
    return run(SupervisorNode, args)
