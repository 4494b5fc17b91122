"""Plan execution (no ROS): steps through a skill adapter, with cancel, preemption, stop wins."""
from edge_agent.core.execution.executor import (  # noqa: F401
    DryRunAdapter,
    ExecutionResult,
    Executor,
    SkillAdapter,
    StepOutcome,
)

__all__ = [
    'DryRunAdapter',
    'ExecutionResult',
    'Executor',
    'SkillAdapter',
    'StepOutcome',
]
