"""The lifecycle shared by the model nodes (speech, vision, planner).

configure: the node makes its entities (``own``), the action server through ``serve_action``
(made once, goals accepted only while a model is loaded) and diagnostics (``own_diagnostics``);
activate: load the tier's model (failure ends the transition with the reason), then
``_start_work``; deactivate: ``_stop_work``, free the model; cleanup: destroy what configure
made; shutdown (from any state): all of it. The work and entity parts are ``OwnedEntities``'.
"""
from __future__ import annotations

from diagnostic_msgs.msg import DiagnosticArray
from rclpy.action import ActionServer, GoalResponse
from rclpy.lifecycle import TransitionCallbackReturn

from edge_agent.nodes.common.lifecycle import OwnedEntities
from edge_agent.nodes.common.tiers import TierFollower

__all__ = ['ModelNode']


class ModelNode(OwnedEntities, TierFollower):
    """Mixin placed before ``rclpy.lifecycle.Node``; see the module docstring."""

    def _accept_if_loaded(self, _goal) -> GoalResponse:
        return GoalResponse.ACCEPT if self.engines.engine is not None else GoalResponse.REJECT

    def serve_action(self, action_type, name: str, execute, **kwargs) -> ActionServer:
        """``OwnedEntities.serve_action``, refusing goals while no model is loaded."""
        kwargs.setdefault('goal_callback', self._accept_if_loaded)
        return super().serve_action(action_type, name, execute, **kwargs)

    def own_diagnostics(self, period_s: float = 1.0) -> None:
        """``/diagnostics`` publisher and the timer that calls ``_publish_diagnostics``."""
        self._diag_pub = self.own(self.create_publisher(DiagnosticArray, '/diagnostics', 10))
        self.own(self.create_timer(period_s, self._publish_diagnostics))

    def _publish_diagnostics(self) -> None:
        raise NotImplementedError

    def on_activate(self, state) -> TransitionCallbackReturn:
        if not self.switch_tier(self.wanted_tier(), force=True):
            errors = getattr(self, '_errors', None)
            detail = f' ({errors[-1]})' if errors else ''
            return self.fail(f'activate failed: no {self.get_name()} model loaded{detail}')
        return super().on_activate(state)  # then _start_work

    def on_deactivate(self, state) -> TransitionCallbackReturn:
        result = super().on_deactivate(state)  # _stop_work first: nothing runs on the model
        self.release_engine()
        return result

    def on_cleanup(self, state) -> TransitionCallbackReturn:
        self._tiers = None
        return super().on_cleanup(state)

    def on_shutdown(self, state) -> TransitionCallbackReturn:
        result = super().on_shutdown(state)
        self.release_engine()
        return result
