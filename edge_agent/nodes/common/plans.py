"""Plans between core (``Plan``, ``Step``) and messages (``edge_agent/Plan``, ``PlanStep``).
"""
from __future__ import annotations

from edge_agent.core.planning import Step
from edge_agent.msg import Plan as PlanMsg
from edge_agent.msg import PlanStep, SkillArgument

__all__ = ['plan_to_msg', 'step_from_msg', 'step_to_msg', 'steps_from_msg']


def plan_to_msg(plan, stamp=None) -> PlanMsg:
    """Convert a core Plan into the edge_agent/Plan message (stamped when ``stamp`` is given)."""
    msg = PlanMsg(command=plan.command, planner_backend=plan.backend,
                  planning_time=float(plan.planning_time))
    if stamp is not None:
        msg.header.stamp = stamp
    msg.steps = [step_to_msg(step, index) for index, step in enumerate(plan.steps)]
    return msg


def step_to_msg(step: Step, index: int = 0) -> PlanStep:
    """The edge_agent/PlanStep of a core step (typed arguments)."""
    args = []
    for name, value in step.args.items():
        arg = SkillArgument(name=name)
        if isinstance(value, bool):
            arg.type, arg.bool_value = SkillArgument.TYPE_BOOL, value
        elif isinstance(value, int):
            arg.type, arg.integer_value = SkillArgument.TYPE_INTEGER, value
        elif isinstance(value, float):
            arg.type, arg.double_value = SkillArgument.TYPE_DOUBLE, value
        else:
            arg.type, arg.string_value = SkillArgument.TYPE_STRING, str(value)
        args.append(arg)
    return PlanStep(index=index, skill=step.skill, arguments=args, description=step.describe())


_FIELDS = {SkillArgument.TYPE_STRING: 'string_value', SkillArgument.TYPE_DOUBLE: 'double_value',
           SkillArgument.TYPE_INTEGER: 'integer_value', SkillArgument.TYPE_BOOL: 'bool_value'}


def step_from_msg(step: PlanStep, index: int = 0) -> Step:
    """The core step of an edge_agent/PlanStep; ValueError names a malformed argument."""
    args = {}
    for arg in step.arguments:
        if arg.type not in _FIELDS:
            raise ValueError(f'step {index} ({step.skill}): argument {arg.name!r} has '
                             f'unknown type {arg.type}')
        args[arg.name] = getattr(arg, _FIELDS[arg.type])
    return Step(step.skill, args)


def steps_from_msg(msg: PlanMsg) -> list[Step]:
    """The core steps of an edge_agent/Plan message; ValueError names a malformed argument."""
    return [step_from_msg(step, index) for index, step in enumerate(msg.steps)]
