"""What a planner backend is: command + world state -> plan, or a BackendFailure to fall back on.
"""
from __future__ import annotations

from edge_agent.core.errors import EdgeAgentError
from edge_agent.core.planning.skills import Plan, WorldState

__all__ = ['PlannerBackend', 'BackendFailure']


class BackendFailure(EdgeAgentError, RuntimeError):
    """A tier could not produce a valid plan; the planner falls back to the next tier."""


class PlannerBackend:
    """Interface of a planner tier."""

    name = 'tier'
    needs_model = True

    def plan(self, command: str, world: WorldState) -> Plan:
        raise NotImplementedError

    def close(self) -> None:
        """Free the tier's model or connection."""
