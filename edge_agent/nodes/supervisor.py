"""Supervisor node: watches every edge_agent node's heartbeat and reports the graph's health.

Each node sends ``supervision/heartbeat`` (edge_agent/Heartbeat) twice a second from its
construction on (``nodes/common/heartbeat.py``); this node keeps the states in
``core.observability.Supervision`` and publishes them on ``/diagnostics`` as
"edge_agent: supervisor" (per node: state, restarts, pid, how long the last restart took, why
it was lost), WARN while a node is lost or not yet serving, ERROR once one is given up.

Who brings them up: the lifecycle nodes in ``managed_nodes`` (the launch file and ``edge-agent
up --processes`` list them all, and start them with ``autostart`` false) wait unconfigured
until this node calls their ``<node>/change_state``: configure, then activate, each result
checked; the first time in that order, each node once the ones before it serve; again
whenever one comes back after a restart. A transition that fails is a loss with the node's
reason (its heartbeat carries it), and the node is restarted like a dead one.

Who restarts: under ``ros2 launch`` every node has ``respawn`` (launch restarts a process that
exits) and this node kills a node on this machine that stopped sending heartbeats while its
process lives, or whose transition failed (``kill_hung``), so launch restarts that one too;
a node on another machine whose transition failed is driven again. Under ``edge-agent up
--processes`` the ``processes`` object given to the constructor starts and restarts them
(``app/processes.py``).
"""
from __future__ import annotations

import os
import signal
import socket
import threading

from diagnostic_msgs.msg import DiagnosticArray
from lifecycle_msgs.msg import Transition
from lifecycle_msgs.srv import ChangeState
from rclpy.callback_groups import ReentrantCallbackGroup
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
          'while its process lives, or whose managed transition failed, so launch respawns '
          'it.', read_only=True),
    Param('managed_nodes', '', 'Comma-separated lifecycle nodes (started with autostart false) '
          'this node configures and activates over <node>/change_state, in this order the '
          'first time, and again after each restart; empty = the nodes bring themselves up.',
          read_only=True),
]

_TRANSITIONS = {'configure': Transition.TRANSITION_CONFIGURE,
                'activate': Transition.TRANSITION_ACTIVATE}


class SupervisorNode(Node):
    """See the module docstring. ``processes``: an object with ``poll() -> [(name,
    returncode)]`` and ``restart(name) -> pid`` when this process owns the nodes' processes."""

    def __init__(self, processes=None, **kwargs) -> None:
        super().__init__('supervisor', **kwargs)
        declare(self, PARAMETERS)
        value = lambda name: self.get_parameter(name).value  # noqa: E731
        names = lambda text: [n.strip() for n in text.split(',') if n.strip()]  # noqa: E731
        self.lock = threading.Lock()
        self.supervision = Supervision(
            names(value('expected_nodes')), heartbeat_timeout_s=value('heartbeat_timeout_s'),
            start_timeout_s=value('start_timeout_s'), max_restarts=value('max_restarts'),
            restart_window_s=value('restart_window_s'), managed=names(value('managed_nodes')))
        group = ReentrantCallbackGroup()   # answers arrive while _check runs
        self._lifecycle = {name: self.create_client(ChangeState, f'{name}/change_state',
                                                    callback_group=group)
                           for name in self.supervision.managed}
        self.processes = processes
        # names whose loss the owner of ``processes`` handles itself (its bring-up fails)
        self.hold: set[str] = set()
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
            self.supervision.beat(name, int(msg.pid), msg.state, msg.reason)

    def _check(self) -> None:
        with self.lock:
            if self.processes is not None:
                for name, returncode in self.processes.poll():
                    self.supervision.exited(name, returncode)
            due = self.supervision.due()
        for name, reason in due:
            if name in self.hold:
                continue
            self.get_logger().warning(f'{name} lost: {reason}')
            with self.lock:
                failed_transition = self.supervision.member(name).failed_transition
            if self.processes is not None:
                pid = self.processes.restart(name)
            else:
                pid = None
                host, old = self._where.get(name, ('', 0))
                local = (self.get_parameter('kill_hung').value and host == self._host
                         and old not in (0, os.getpid()))
                if local and (reason.startswith('no heartbeat') or failed_transition):
                    try:   # launch's respawn brings it back
                        os.kill(old, signal.SIGKILL)
                    except OSError:
                        pass
                elif failed_transition:
                    pid = old or None   # not ours to kill: drive the same process again
            with self.lock:
                self.supervision.started(name, pid)
        self._bring_up()

    # -- managed bring-up ---------------------------------------------------------------------
    def _bring_up(self) -> None:
        todo = []
        with self.lock:
            for name in self.supervision.bring_ups():
                if self._lifecycle[name].service_is_ready():
                    self.supervision.drive(name)
                    member = self.supervision.member(name)
                    todo.append((name, member.pid, 'configure' if member.node_state ==
                                 'unconfigured' else 'activate'))
        for name, pid, first in todo:
            self.get_logger().info(f'{name} (pid {pid}): {first}')
            self._change(name, pid, first)

    def _change(self, name: str, pid: int | None, transition: str) -> None:
        request = ChangeState.Request()
        request.transition.id = _TRANSITIONS[transition]
        future = self._lifecycle[name].call_async(request)
        future.add_done_callback(lambda f: self._changed(name, pid, transition, f))

    def _changed(self, name: str, pid: int | None, transition: str, future) -> None:
        ok = future.exception() is None and future.result().success
        if ok and transition == 'configure':
            self.get_logger().info(f'{name} (pid {pid}): activate')
            self._change(name, pid, 'activate')
            return
        with self.lock:
            if ok:
                self.supervision.brought_up(name, pid)
            else:
                self.supervision.transition_failed(name, pid, transition)
        if ok:
            self.get_logger().info(f'{name} (pid {pid}): active')
        else:
            self.get_logger().error(f'{name} (pid {pid}): {transition} failed')

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
