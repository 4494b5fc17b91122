"""What an action server takes: bounded requests, and a bounded number of goals at once.

Every edge_agent action server goes through a ``GoalGate`` (``OwnedEntities.serve_action``): a
request is checked first (``check(request)`` says why it cannot be served: a frame count, a
duration or a timeout out of its bounds, a non-finite number) and rejected with that reason
instead of being silently defaulted; then the node's own acceptance (a model loaded, the node
active); then the number of goals already running against ``max_concurrent_goals``. A
``priority(request)`` goal (a stop) skips the limit: it must always be taken. Every rejection is
logged with its reason and counted in the node's ``/diagnostics`` (``goals_rejected``, and the
reason as the message); the ROS goal response carries no text.
"""
from __future__ import annotations

import collections
from collections.abc import Callable
import math
import threading

from rclpy.action import GoalResponse

from edge_agent.nodes.common.params import Param

__all__ = ['GoalGate', 'bounded', 'goal_parameters']


def goal_parameters(max_goals: int = 4) -> list[Param]:
    """The ``max_concurrent_goals`` row of a node's parameter table."""
    return [Param('max_concurrent_goals', max_goals, 'Goals an action server of this node runs '
                  'at once; more are rejected (a stop never is) [count].', (1, 64))]


def bounded(name: str, value: float, high: float, unit: str = 's',
            low: float = 0.0) -> str | None:
    """Why ``value`` is not a finite number in [low, high], else None."""
    value = float(value)
    if not math.isfinite(value):
        return f'{name} must be a finite number, not {value}'
    if not low <= value <= high:
        return f'{name} must be {low:g}..{high:g} {unit}, not {value:g}'.rstrip()
    return None


class GoalGate:
    """The goal callback and execute wrapper of one action server; see the module docstring."""

    def __init__(self, node, name: str, limit: Callable[[], int],
                 check: Callable[[object], str | None] | None = None,
                 accept: Callable[[object], GoalResponse] | None = None,
                 priority: Callable[[object], bool] | None = None) -> None:
        self.node, self.name, self.limit = node, name, limit
        self.check, self.accept, self.priority = check, accept, priority
        self.running = 0
        self.rejected = 0
        self.accepted = 0
        self.recent: collections.deque = collections.deque(maxlen=32)   # accepted requests
        self.last_reason = ''
        self._lock = threading.Lock()

    def goal_callback(self, request) -> GoalResponse:
        try:
            reason = self.check(request) if self.check is not None else None
        except (TypeError, ValueError, OverflowError) as exc:   # a field no check foresaw
            reason = f'invalid goal: {exc}'
        if reason is None and self.accept is not None and (
                self.accept(request) != GoalResponse.ACCEPT):
            reason = f'{self.node.get_name()} cannot serve goals now (inactive or no model)'
        if reason is None:
            with self._lock:
                limit = int(self.limit())
                if self.running >= limit and not (self.priority and self.priority(request)):
                    reason = (f'{self.running} goals already running '
                              f'(max_concurrent_goals = {limit})')
                else:
                    self.running += 1
                    self.accepted += 1
                    self.recent.append(request)
        if reason is None:
            return GoalResponse.ACCEPT
        self._reject(reason)
        return GoalResponse.REJECT

    def _reject(self, reason: str) -> None:
        with self._lock:
            self.rejected += 1
            self.last_reason = reason
        self.node.get_logger().warning(f'{self.name}: goal rejected: {reason}',
                                       throttle_duration_sec=1.0)
        health = self.node.health   # the node's /diagnostics (OwnedEntities needs ReportsHealth)
        health.counters['goals_rejected'] += 1
        health.problems.append(f'{self.name}: goal rejected: {reason}')

    def wrap(self, execute: Callable) -> Callable:
        """``execute`` that frees its slot when the goal ends, however it ends."""
        def run(goal_handle):
            try:
                return execute(goal_handle)
            finally:
                with self._lock:
                    self.running = max(0, self.running - 1)
        return run
