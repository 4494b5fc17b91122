"""Planner backends, tried in order until one returns a valid plan.

llama (a local GGUF model), server (OpenAI-compatible), rules (the floor, no model).
"""
from edge_agent.core.planning.backends.base import (  # noqa: F401
    BackendFailure,
    PlannerBackend,
    PlanningCancelled,
    never,
)
from edge_agent.core.planning.backends.llama import (  # noqa: F401
    LlamaBackend,
)
from edge_agent.core.planning.backends.rules import (  # noqa: F401
    RulesBackend,
)
from edge_agent.core.planning.backends.server import (  # noqa: F401
    ServerBackend,
)

__all__ = [
    'BackendFailure',
    'LlamaBackend',
    'PlannerBackend',
    'PlanningCancelled',
    'RulesBackend',
    'ServerBackend',
    'never',
]
