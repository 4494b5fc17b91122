"""Plan execution (no ROS): steps through a skill adapter, with cancel, preemption, limits, the
robot state, a stop that wins, and the executor's plan coordination."""
from edge_agent.core.execution.coordinator import PlanCoordinator, PlanEnd  # noqa: F401
from edge_agent.core.execution.executor import (  # noqa: F401
    CANCELED,
    FAILED,
    OUTCOMES,
    PREEMPTED,
    REJECTED,
    STOPPED,
    SUCCEEDED,
    DryRunAdapter,
    ExecutionResult,
    Executor,
    RoutedAdapter,
    SkillAdapter,
    StepOutcome,
    answer_message,
)
from edge_agent.core.execution.state import RobotState, RobotStateTracker  # noqa: F401

__all__ = [
    'CANCELED',
    'DryRunAdapter',
    'ExecutionResult',
    'Executor',
    'FAILED',
    'OUTCOMES',
    'PREEMPTED',
    'PlanCoordinator',
    'PlanEnd',
    'REJECTED',
    'RobotState',
    'RobotStateTracker',
    'RoutedAdapter',
    'STOPPED',
    'SUCCEEDED',
    'SkillAdapter',
    'StepOutcome',
    'answer_message',
]
