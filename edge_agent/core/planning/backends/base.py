"""What a planner backend is: command + world state -> plan, or a BackendFailure to fall back on.
"""
from __future__ import annotations

from collections.abc import Callable

from edge_agent.core.errors import EdgeAgentError
from edge_agent.core.planning.skills import Plan, WorldState

__all__ = ['BackendFailure', 'Interrupted', 'PlannerBackend', 'PlanningCancelled', 'never']

Interrupted = Callable[[], bool]


def never() -> bool:
    """An ``interrupted`` callable for planning nobody cancels."""
    return False


class BackendFailure(EdgeAgentError, RuntimeError):
    """A tier could not produce a valid plan; the planner falls back to the next tier."""


class PlanningCancelled(EdgeAgentError):
    """``interrupted()`` said stop: planning ended early (a stop, a cancel, a newer command);
    no fallback is tried."""


class PlannerBackend:
    """Interface of a planner tier."""

    name = 'tier'
    needs_model = True

    def plan(self, command: str, world: WorldState, interrupted: Interrupted = never) -> Plan:
        """A plan for ``command``; a model backend checks ``interrupted()`` while it generates
        and raises PlanningCancelled when it says so."""
        raise NotImplementedError

    def warm(self) -> float:
        """Prepare for the first command when the tier is loaded (a local model fills its
        KV cache); returns the seconds it took. Nothing to do by default."""
        return 0.0

    def close(self) -> None:
        """Free the tier's model or connection."""
