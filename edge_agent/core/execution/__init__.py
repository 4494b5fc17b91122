"""Plan execution (no ROS): steps through a skill adapter, with cancel, preemption, limits, the
robot state, and a stop that wins."""
from edge_agent.core.execution.executor import (  # noqa: F401
    DryRunAdapter,
    ExecutionResult,
    Executor,
    RoutedAdapter,
    SkillAdapter,
    StepOutcome,
)
from edge_agent.core.execution.state import RobotState, RobotStateTracker  # noqa: F401

__all__ = [
    'DryRunAdapter',
    'ExecutionResult',
    'Executor',
    'RobotState',
    'RobotStateTracker',
    'RoutedAdapter',
    'SkillAdapter',
    'StepOutcome',
]
