"""The lifecycle shared by the model nodes (speech, vision, planner).

configure: the node makes its entities (``own``), the action server through ``serve_action``
(made once, goals accepted only while a model is loaded) and diagnostics (``own_diagnostics``,
``ReportsHealth``: WARN while no model is loaded, the model's facts from ``model_facts``);
activate: load the tier's model (failure ends the transition with the reason), then
``_start_work``; deactivate: ``_stop_work``, free the model; cleanup: destroy what configure
made; shutdown (from any state): all of it. The work and entity parts are ``OwnedEntities``'.
"""
from __future__ import annotations

from rclpy.action import ActionServer, GoalResponse
from rclpy.lifecycle import TransitionCallbackReturn

from edge_agent.core.observability.health import HealthReport
from edge_agent.nodes.common.diagnostics import ReportsHealth
from edge_agent.nodes.common.lifecycle import OwnedEntities
from edge_agent.nodes.common.tiers import TierFollower

__all__ = ['ModelNode']


class ModelNode(ReportsHealth, OwnedEntities, TierFollower):
    """Mixin placed before ``rclpy.lifecycle.Node``; see the module docstring."""

    def _accept_if_loaded(self, _goal) -> GoalResponse:
        return GoalResponse.ACCEPT if self.engines.engine is not None else GoalResponse.REJECT

    def serve_action(self, action_type, name: str, execute, **kwargs) -> ActionServer:
        """``OwnedEntities.serve_action``, refusing goals while no model is loaded."""
        kwargs.setdefault('goal_callback', self._accept_if_loaded)
        return super().serve_action(action_type, name, execute, **kwargs)

    def model_facts(self, engine) -> dict:
        """What /diagnostics says about the loaded ``engine`` (model, device, ...)."""
        raise NotImplementedError

    def health_report(self) -> HealthReport:
        engine = self.engines.engine
        model = None if engine is None else {**self.model_facts(engine),
                                             'tier': self.engines.key}
        # serving a fallback tier is a lasting WARN, not one report's problem
        fallback = [self.tier_fallback] if model is not None and self.tier_fallback else []
        return self.health.report(model=model, needs_model=True, warnings=fallback,
                                  ok_message=f'tier {self.engines.key}')

    def on_activate(self, state) -> TransitionCallbackReturn:
        if not self.switch_tier(self.wanted_tier(), force=True):
            problems = self.health.problems
            detail = f' ({problems[-1]})' if problems else ''
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
