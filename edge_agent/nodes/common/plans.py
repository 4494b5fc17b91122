"""Plans between core (``Plan``, ``Step``) and messages (``edge_agent/Plan``, ``PlanStep``).
"""
from __future__ import annotations

from edge_agent.core.planning import Step
from edge_agent.msg import Plan as PlanMsg
from edge_agent.msg import PlanStep, SkillArgument

__all__ = ['plan_to_msg', 'steps_from_msg']


def plan_to_msg(plan, stamp=None) -> PlanMsg:
    """Convert a core Plan into the edge_agent/Plan message (stamped when ``stamp`` is given)."""
    msg = PlanMsg(command=plan.command, planner_backend=plan.backend,
                  planning_time=float(plan.planning_time))
    if stamp is not None:
        msg.header.stamp = stamp
    for index, step in enumerate(plan.steps):
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
        msg.steps.append(PlanStep(index=index, skill=step.skill, arguments=args,
                                  description=step.describe()))
    return msg


def steps_from_msg(msg: PlanMsg) -> list[Step]:
    """The core steps of an edge_agent/Plan message; ValueError names a malformed argument."""
    fields = {SkillArgument.TYPE_STRING: 'string_value', SkillArgument.TYPE_DOUBLE: 'double_value',
              SkillArgument.TYPE_INTEGER: 'integer_value', SkillArgument.TYPE_BOOL: 'bool_value'}
    steps = []
    for index, step in enumerate(msg.steps):
        args = {}
        for arg in step.arguments:
            if arg.type not in fields:
                raise ValueError(f'step {index} ({step.skill}): argument {arg.name!r} has '
                                 f'unknown type {arg.type}')
            args[arg.name] = getattr(arg, fields[arg.type])
        steps.append(Step(step.skill, args))
    return steps
