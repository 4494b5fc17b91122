"""Lifecycle bookkeeping shared by the lifecycle nodes: their work, and what configure made.

Entities made in ``on_configure`` (publishers, subscriptions, timers) are registered with
``own``; cleanup destroys them, so configure -> cleanup -> configure makes one set, never two.
Action servers and clients are not owned: rclpy cannot destroy them while an executor spins
(see ``serve_action``), so a node makes them once (``serve_action``, ``action_client``) and
keeps them until ``destroy_node``. A node's threads start in ``_start_work`` (activate) and end
in ``_stop_work`` (deactivate, shutdown, destroy_node).
``failure_reason`` keeps why the last transition failed, for ``run()`` to print.
"""
from __future__ import annotations

from rclpy.lifecycle import TransitionCallbackReturn

from edge_agent.nodes.common.params import Param

__all__ = ['AUTOSTART_PARAM', 'OwnedEntities', 'destroy_waitables']

AUTOSTART_PARAM = Param('autostart', True, 'Configure and activate in main(), as soon as the '
                        'node is built; false = stay unconfigured until a lifecycle manager '
                        "(the supervisor node's managed_nodes) drives the transitions.",
                        read_only=True)


def destroy_waitables(node) -> None:
    """Destroy ``node``'s action servers and clients; call it only once no executor spins it.

    rclpy's ``destroy_node`` leaves them, and each keeps the rcl node alive; the node and its
    DDS participant are then finalised whenever the garbage collector happens to run, on any
    thread, holding the GIL while Fast DDS waits for its own threads: a process can hang
    there. Destroying them first lets ``destroy_node`` finalise the node at once.
    """
    from rclpy.action import ActionClient, ActionServer

    for waitable in list(node.waitables):
        if isinstance(waitable, (ActionServer, ActionClient)):  # not QoS event handlers
            waitable.destroy()
            if waitable in list(node.waitables):
                node.remove_waitable(waitable)


class OwnedEntities:
    """Mixin placed before ``rclpy.lifecycle.Node``; see the module docstring.

    Needs ``ReportsHealth`` before it in the bases (``class N(ReportsHealth, OwnedEntities,
    LifecycleNode)``): a refused goal is counted in ``self.health`` and a failed transition
    sends the heartbeat (``self._send_heartbeat``); both are set by ``watch_health``.
    """

    failure_reason: str = ''

    def __init__(self, *args, **kwargs) -> None:
        from edge_agent.nodes.common.diagnostics import ReportsHealth

        if not isinstance(self, ReportsHealth):
            raise TypeError(f'{type(self).__name__}: OwnedEntities needs ReportsHealth before '
                            'it in the bases')
        self._owned: list = []                  # made in on_configure, destroyed at cleanup
        self._action_servers: dict = {}         # kept until destroy_node (see serve_action)
        self._action_clients_kept: dict = {}
        self._action_client_group = None
        self.goal_gates: dict = {}
        super().__init__(*args, **kwargs)

    def _start_work(self) -> None:
        """Start the node's worker threads (on activate)."""

    def _stop_work(self) -> None:
        """Stop the node's worker threads and running goals (deactivate, shutdown, destroy)."""

    def own(self, entity):
        """Register ``entity`` (made in on_configure) to be destroyed at cleanup; returns it."""
        from rclpy.action import ActionClient, ActionServer

        if isinstance(entity, (ActionServer, ActionClient)):
            raise TypeError('action servers and clients live as long as the node; see '
                            'OwnedEntities.serve_action')
        self._owned.append(entity)
        return entity

    def serve_action(self, action_type, name: str, execute, *, goal_callback=None,
                     check=None, priority=None, **kwargs):
        """The node's action server ``name`` behind a ``GoalGate`` (``check`` /
        ``goal_callback`` / ``priority``, at most ``max_concurrent_goals`` at once; see
        ``nodes/common/goals.py``); cancel is always accepted.

        The server's own callbacks (goal, cancel and result requests) share one mutually
        exclusive group, so goals are accepted one at a time in the order their requests
        arrived (the planner and executor number them there); the execute callbacks are tasks
        of their own and run at the same time (``NodeExecutor``'s goal pool).

        Made at the first configure and kept until destroy_node (goal callbacks refuse goals
        while the node cannot serve them): rclpy cannot destroy an action server while an
        executor spins (its wait loop adds a waitable to the wait set even when entering the
        waitable's handle failed, and the spin thread dies with "action server pointer is
        invalid"), so a cleanup that destroyed it could stop the whole node. A second
        configure finds it and makes none.
        """
        from rclpy.action import ActionServer, CancelResponse
        from rclpy.callback_groups import MutuallyExclusiveCallbackGroup

        from edge_agent.nodes.common.goals import GoalGate

        servers = self._action_servers
        if name not in servers:
            gate = GoalGate(self, name, self._goal_limit, check=check, accept=goal_callback,
                            priority=priority)
            self.goal_gates[name] = gate
            servers[name] = ActionServer(
                self, action_type, name, gate.wrap(execute), goal_callback=gate.goal_callback,
                callback_group=MutuallyExclusiveCallbackGroup(),
                cancel_callback=lambda _g: CancelResponse.ACCEPT, **kwargs)
        return servers[name]

    def _goal_limit(self) -> int:
        if self.has_parameter('max_concurrent_goals'):
            return self.get_parameter('max_concurrent_goals').value
        return 4

    def action_client(self, action_type, name: str):
        """The node's action client for ``name``, made once and kept (see ``serve_action``)."""
        from rclpy.action import ActionClient
        from rclpy.callback_groups import ReentrantCallbackGroup

        clients = self._action_clients_kept
        if name not in clients:
            if self._action_client_group is None:
                self._action_client_group = ReentrantCallbackGroup()
            clients[name] = ActionClient(self, action_type, name,
                                         callback_group=self._action_client_group)
        return clients[name]

    def fail(self, reason: str):
        """Log ``reason`` as the transition's failure and return FAILURE."""
        self.failure_reason = reason
        self.get_logger().error(reason)
        if self._send_heartbeat is not None:   # the reason reaches a supervisor at once
            self._send_heartbeat()
        return TransitionCallbackReturn.FAILURE

    def release_entities(self) -> None:
        """Destroy everything ``own`` registered, newest first."""
        from rclpy.client import Client
        from rclpy.publisher import Publisher
        from rclpy.service import Service
        from rclpy.subscription import Subscription
        from rclpy.timer import Timer

        owned, self._owned = self._owned, []
        for entity in reversed(owned):
            if isinstance(entity, Timer):
                self.destroy_timer(entity)
            elif isinstance(entity, Subscription):
                self.destroy_subscription(entity)
            elif isinstance(entity, Publisher):
                destroy = getattr(self, 'destroy_lifecycle_publisher', None)
                if destroy is not None and entity in getattr(self, '_managed_entities', ()):
                    destroy(entity)
                else:
                    self.destroy_publisher(entity)
            elif isinstance(entity, Service):
                self.destroy_service(entity)
            elif isinstance(entity, Client):
                self.destroy_client(entity)
            else:
                raise TypeError(f'cannot destroy {type(entity).__name__}')

    def on_activate(self, state) -> TransitionCallbackReturn:
        self._start_work()
        return super().on_activate(state)

    def on_deactivate(self, state) -> TransitionCallbackReturn:
        self._stop_work()
        return super().on_deactivate(state)

    def on_cleanup(self, state) -> TransitionCallbackReturn:
        self.release_entities()
        return super().on_cleanup(state)

    def on_shutdown(self, state) -> TransitionCallbackReturn:
        self._stop_work()
        self.release_entities()
        return super().on_shutdown(state)

    def destroy_node(self):
        self._stop_work()  # workers publish: stop them before the publishers go
        destroy_waitables(self)   # the kept action servers and clients (see serve_action)
        self._action_servers, self._action_clients_kept = {}, {}
        return super().destroy_node()
