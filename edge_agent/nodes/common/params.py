"""Parameters as one table per node: name, default, description, range, choices, read-only.

``declare`` turns the table into rclpy declarations whose descriptors carry the range
(``FloatingPointRange`` / ``IntegerRange``), so rclpy itself refuses an out-of-range value (NaN
included) and ``ros2 param describe`` shows it. ``check`` covers what a range cannot say
(choices of a string, non-finite numbers). ``after_set`` runs side effects (starting a model
swap) once new values are set: validation callbacks only validate.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
import dataclasses
import math
from typing import Any

from rcl_interfaces.msg import (
    FloatingPointRange,
    IntegerRange,
    ParameterDescriptor,
    SetParametersResult,
)

__all__ = ['Param', 'after_set', 'check', 'config_check', 'declare', 'rejected']


@dataclasses.dataclass(frozen=True)
class Param:
    """One parameter of a node's table. ``limits`` is an inclusive (min, max) for numbers."""

    name: str
    default: Any
    description: str
    limits: tuple[float, float] | None = None
    read_only: bool = False
    choices: tuple[str, ...] = ()

    def descriptor(self) -> ParameterDescriptor:
        text = self.description
        if self.choices:
            text += f' One of: {", ".join(self.choices)}.'
        descriptor = ParameterDescriptor(description=text, read_only=self.read_only)
        if self.limits is not None:
            low, high = self.limits
            if isinstance(self.default, bool):
                raise TypeError(f'{self.name}: a boolean parameter takes no range')
            if isinstance(self.default, int):
                descriptor.integer_range = [IntegerRange(from_value=int(low), to_value=int(high),
                                                         step=0)]
            else:
                descriptor.floating_point_range = [FloatingPointRange(
                    from_value=float(low), to_value=float(high), step=0.0)]
        return descriptor


Check = Callable[[list], 'str | None']


def declare(node, table: Sequence[Param], *checks: Check,
            apply: Callable[[list], None] | None = None) -> None:
    """Declare every parameter of ``table`` on ``node`` (a value from launch/YAML overrides the
    default; rclpy raises InvalidParameterValueException when it is out of range), then refuse
    later sets that break the table or one of ``checks`` (each returns a reason or None), and
    call ``apply(parameters)`` after a set succeeded."""
    for param in table:
        node.declare_parameter(param.name, param.default, param.descriptor())
    node.add_on_set_parameters_callback(lambda params: rejected(check(table, params, *checks)))
    if apply is not None:
        after_set(node, apply)


def config_check(build: Callable[[dict], object]) -> Check:
    """A check that builds a config from the new values (``build({name: value})``) and calls
    its ``validate()``: rules that span parameters (one threshold below another)."""
    def reason(params) -> str | None:
        try:
            build({p.name: p.value for p in params}).validate()
        except (ValueError, TypeError) as exc:
            return str(exc)
        return None
    return reason


def check(table: Sequence[Param], params: Iterable, *checks: Check) -> str | None:
    """The reason the first of ``params`` breaks the table (choices, non-finite) or one of
    ``checks``, else None."""
    params = list(params)
    by_name = {p.name: p for p in table}
    for param in params:
        spec = by_name.get(param.name)
        value = param.value
        if isinstance(value, float) and not math.isfinite(value):
            return f'{param.name} must be a finite number, not {value}'
        if spec is not None and spec.choices and value not in spec.choices:
            return f'{param.name} must be one of {", ".join(spec.choices)}, not {value!r}'
    for more in checks:
        reason = more(params)
        if reason:
            return reason
    return None


def rejected(reason: str | None) -> SetParametersResult:
    """The callback's answer: successful unless there is a reason."""
    if reason:
        return SetParametersResult(successful=False, reason=reason)
    return SetParametersResult(successful=True)


def after_set(node, callback: Callable[[list], None]) -> None:
    """Call ``callback(parameters)`` after new values are set (Iron and later have a
    post-set callback; on Humble it runs from a one-shot timer right after the set)."""
    if hasattr(node, 'add_post_set_parameters_callback'):
        node.add_post_set_parameters_callback(callback)
        return

    def deferred(params) -> SetParametersResult:  # pragma: no cover - Humble only
        holder = []

        def fire():
            holder[0].cancel()
            node.destroy_timer(holder[0])
            callback(list(params))

        holder.append(node.create_timer(0.0, fire))
        return SetParametersResult(successful=True)

    node.add_on_set_parameters_callback(deferred)
