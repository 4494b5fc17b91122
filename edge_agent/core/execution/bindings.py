"""Skills bound to a robot's own actions and services by configuration, not code.

A bindings file (the skill executor's ``bindings_file``; documented example:
config/bindings.example.yaml) names, per skill, an action or a service of any type on the
robot, how the skill's arguments fill the goal's (request's) fields, and what in the result
(response) means success. ``Binding.problems`` checks a binding against the catalog's skill and
the interface's real fields (the node reads them from the generated message classes) before
anything runs, so a wrong type, name, field or argument is one clear error at configure.
``Binding.fill`` makes the field values for one step.

A field's value is a literal (``speed: 0.2``) or a template of the step's arguments:
``"{object}"`` (the phrase, "red cup"), ``"{object.label}"`` ("cup"), ``"{object.colour}"``
("red"), ``"{object.box.center_x}"`` (its newest detection's box, in pixels: x_min, y_min,
x_max, y_max, center_x, center_y, width, height, score, image_width, image_height),
``"{location.pose.x}"`` (a place's pose from the places file: x, y, yaw, qz, qw, frame_id),
``"{meters}"`` (a number). A template that is exactly one placeholder keeps its type (a number
fills a float field); text around placeholders makes a string.
"""
from __future__ import annotations

from collections.abc import Callable
import dataclasses
import difflib
import math
import re

from edge_agent.core.config.schema import BindingEntry
from edge_agent.core.planning.rules import COLOURS
from edge_agent.core.planning.skills import SkillSpec, Step, split_side

__all__ = ['Binding', 'BindingError', 'FieldTypes', 'coerce']

FieldTypes = dict[str, str]   # dotted field path -> its type ("float", "string", "uint16")

_PLACEHOLDER = re.compile(r'\{([A-Za-z_][A-Za-z0-9_]*)((?:\.[A-Za-z_]+)*)\}')
_BOX = ('x_min', 'y_min', 'x_max', 'y_max', 'center_x', 'center_y', 'width', 'height',
        'score', 'image_width', 'image_height')
_POSE = ('x', 'y', 'yaw', 'qz', 'qw')
_OBJECT = {'': 'string', '.label': 'string', '.colour': 'string', '.color': 'string',
           **{f'.box.{k}': 'number' for k in _BOX}}
_PLACE = {'': 'string', '.pose.frame_id': 'string', **{f'.pose.{k}': 'number' for k in _POSE}}
# what each argument type offers: attribute -> kind of value
ATTRIBUTES = {'object': _OBJECT, 'location': _PLACE, 'target': {**_OBJECT, **_PLACE},
              'number': {'': 'number'}, 'text': {'': 'string'}}
_INTS = ('int8', 'uint8', 'int16', 'uint16', 'int32', 'uint32', 'int64', 'uint64', 'byte',
         'char', 'octet')
_FLOATS = ('float', 'double', 'float32', 'float64')


class BindingError(ValueError):
    """A step could not be turned into the bound interface's goal (no detection of the
    object, no pose for the place, a value the field cannot take)."""


def _kind(field_type: str) -> str:
    if field_type in _INTS or field_type in _FLOATS:
        return 'number'
    if field_type == 'boolean':
        return 'boolean'
    if field_type.startswith(('string', 'wstring')):
        return 'string'
    return field_type   # a message, a sequence or an array: not fillable


def coerce(value, field_type: str):
    """``value`` as the field type takes it; BindingError when it cannot be."""
    kind = _kind(field_type)
    try:
        if kind == 'string':
            return f'{value:g}' if isinstance(value, float) else str(value)
        if kind == 'boolean':
            if isinstance(value, str):
                if value.strip().lower() not in ('true', 'false'):
                    raise ValueError(value)
                return value.strip().lower() == 'true'
            return bool(value)
        if field_type in _FLOATS:
            number = float(value)
            if not math.isfinite(number):
                raise ValueError(value)
            return number
        if field_type in _INTS:
            number = float(value)
            if not math.isfinite(number):
                raise ValueError(value)
            return int(round(number))
    except (TypeError, ValueError) as exc:
        raise BindingError(f'{value!r} is not a {field_type}') from exc
    raise BindingError(f'a {field_type} field cannot be filled from a value')


@dataclasses.dataclass(frozen=True)
class Binding:
    """One skill's binding (see the module docstring)."""

    skill: str
    entry: BindingEntry

    @property
    def kind(self) -> str:
        return 'action' if self.entry.action is not None else 'service'

    @property
    def name(self) -> str:
        return self.entry.action if self.entry.action is not None else self.entry.service

    def describe(self) -> str:
        return f'{self.skill} -> {self.kind} {self.name} ({self.entry.type})'

    def problems(self, spec: SkillSpec | None, goal: FieldTypes,
                 result: FieldTypes) -> list[str]:
        """Everything wrong with this binding against the skill and the interface's fields
        (``goal``: the goal's or request's; ``result``: the result's or response's)."""
        where = f'bindings.{self.skill}'
        if spec is None:
            return [f'{where}: no skill {self.skill!r} in the catalog']
        problems = []
        args = {a.name: a.type for a in spec.args}
        for path, value in self.entry.fields.items():
            if path not in goal:
                close = difflib.get_close_matches(path, list(goal), n=1, cutoff=0.6)
                hint = f' (did you mean {close[0]}?)' if close else ''
                problems.append(f'{where}.fields: {self.entry.type} has no field {path!r}'
                                f'{hint}; its fields: {", ".join(goal) or "none"}')
                continue
            kind = _kind(goal[path])
            if kind not in ('number', 'boolean', 'string'):
                problems.append(f'{where}.fields.{path}: a {goal[path]} cannot be filled; '
                                'name its fields (dotted)')
                continue
            if not isinstance(value, str):
                try:
                    coerce(value, goal[path])
                except BindingError as exc:
                    problems.append(f'{where}.fields.{path}: {exc}')
                continue
            found = list(_PLACEHOLDER.finditer(value))
            if not found:   # a literal string: the field must take it ("fast" is no float)
                try:
                    coerce(value, goal[path])
                except BindingError as exc:
                    problems.append(f'{where}.fields.{path}: {exc}')
            for match in found:
                arg, attribute = match[1], match[2]
                if arg not in args:
                    problems.append(f'{where}.fields.{path}: {{{arg}}} is not an argument of '
                                    f'{self.skill} (it has {", ".join(args) or "none"})')
                    continue
                offered = ATTRIBUTES[args[arg]]
                if attribute not in offered:
                    problems.append(
                        f'{where}.fields.{path}: a {args[arg]} argument has no '
                        f'{attribute!r}; it offers '
                        + ', '.join(f'{{{arg}{a}}}' for a in offered))
                    continue
                whole = match.group(0) == value
                if kind == 'number' and not (whole and offered[attribute] == 'number'):
                    problems.append(f'{where}.fields.{path}: a {goal[path]} field needs a '
                                    'number, not text')
        if self.entry.success is not None:
            field = self.entry.success.field
            if field not in result:
                problems.append(f'{where}.success: the result has no field {field!r}; its '
                                f'fields: {", ".join(result) or "none"}')
            else:
                try:
                    coerce(self.entry.success.equals, result[field])
                except BindingError as exc:
                    problems.append(f'{where}.success.equals: {exc}')
        if self.entry.message is not None and self.entry.message not in result:
            problems.append(f'{where}.message: the result has no field '
                            f'{self.entry.message!r}')
        return problems

    def fill(self, step: Step, goal: FieldTypes,
             box: Callable[[str], dict | None], pose: Callable[[str], dict | None]) -> dict:
        """{field path: value} for ``step``; ``box(phrase)`` is the object's newest detection
        (None: not seen), ``pose(place)`` a place's pose (None: none)."""
        values = {}
        for path, template in self.entry.fields.items():
            if not isinstance(template, str):
                values[path] = coerce(template, goal[path])
                continue
            found = list(_PLACEHOLDER.finditer(template))
            if len(found) == 1 and found[0].group(0) == template:
                value = _value(step, found[0][1], found[0][2], box, pose)
            else:
                value = _PLACEHOLDER.sub(
                    lambda m: _text(_value(step, m[1], m[2], box, pose)), template)
            values[path] = coerce(value, goal[path])
        return values

    def succeeded(self, value_of: Callable[[str], object]) -> bool:
        """Whether the result means success (``value_of(field)`` reads a result field)."""
        if self.entry.success is None:
            return True
        wanted = self.entry.success.equals
        got = value_of(self.entry.success.field)
        if isinstance(got, float) or isinstance(wanted, float):
            return math.isclose(float(got), float(wanted), rel_tol=1e-6, abs_tol=1e-9)
        return got == wanted or str(got) == str(wanted)


def _text(value) -> str:
    return f'{value:g}' if isinstance(value, float) else str(value)


def _value(step: Step, arg: str, attribute: str, box, pose):
    raw = step.args.get(arg)
    if not attribute:
        return raw
    phrase = str(raw)
    base, _side = split_side(phrase)
    words = base.split()
    if attribute in ('.label', '.colour', '.color'):
        colour = words[0] if len(words) > 1 and words[0] in COLOURS else ''
        return colour if attribute != '.label' else ' '.join(words[1:] if colour else words)
    if attribute.startswith('.box.'):
        found = box(phrase)
        if found is None:
            raise BindingError(f'no recent detection of the {phrase} (its box is needed)')
        return found[attribute[len('.box.'):]]
    if attribute.startswith('.pose.'):
        found = pose(phrase)
        if found is None:
            raise BindingError(f'no pose for {phrase!r} in the places file')
        return found[attribute[len('.pose.'):]]
    raise BindingError(f'{{{arg}{attribute}}} is not known')   # problems() rules it out
