"""The floor backend: the rule parser alone, no model.
"""
from __future__ import annotations

from edge_agent.core.planning.backends.base import Interrupted, PlannerBackend, never
from edge_agent.core.planning.rules import RuleParser
from edge_agent.core.planning.skills import Plan, SkillCatalog, Step, WorldState

__all__ = ['RulesBackend']


class RulesBackend(PlannerBackend):
    """The floor: the rule parser alone."""

    name = 'rules'
    needs_model = False

    def __init__(self, catalog: SkillCatalog) -> None:
        self._rules = RuleParser(catalog)

    def plan(self, command: str, world: WorldState, interrupted: Interrupted = never) -> Plan:
        plan = self._rules.parse(command, world)
        if plan is None:
            return Plan(command, [Step('say', {
                'text': 'I only understand simple commands right now, like "go to the kitchen" '
                        'or "pick up the red cup".'})], notes=['not understood by the rules'])
        return plan
