"""Skill catalog, world state and plans, with the validation every plan passes before use.

A plan is a list of steps, each a skill from the catalog with typed arguments. Whatever made
the plan (rules, a local LLM, a server), ``SkillCatalog.validate`` checks it against the catalog
and the current world state: unknown skills, places or objects, out-of-range numbers and
over-long text are rejected, so nothing invented ever reaches an actuator.
"""
from __future__ import annotations

import dataclasses
import json
import math
import os
import pathlib
import re

from edge_agent.core.config.paths import data_file
from edge_agent.core.config.schema import SkillFile, load_yaml
from edge_agent.core.errors import EdgeAgentError
from edge_agent.core.planning.stop import StopLexicon

__all__ = ['ArgSpec', 'MOTION_SKILLS', 'Plan', 'PlanError', 'SkillCatalog', 'SkillSpec', 'Step',
           'WorldState', 'is_stop_plan', 'moves_from_here', 'split_side']



_SIDE = re.compile(r'^(?P<base>.+?)\s+on the (?P<side>left|right)$')


def split_side(phrase: str) -> tuple[str, str]:
    """An object phrase and the side it was told apart by: "green cup on the right" ->
    ("green cup", "right"); without a side -> (phrase, ""). The agent names one of two
    look-alike objects this way after asking which one; the robot's pick resolves the side."""
    match = _SIDE.match(phrase.strip().lower())
    if match:
        return match['base'], match['side']
    return phrase.strip().lower(), ''


class PlanError(EdgeAgentError, ValueError):
    """A plan, a catalog or a planner output is invalid; the message says what and where."""


@dataclasses.dataclass(frozen=True)
class ArgSpec:
    """One argument of a skill."""

    name: str
    type: str
    min: float | None = None
    max: float | None = None
    default: float | None = None   # the number when none is said ("turn left" = 90)
    small: float | None = None     # what "a bit" means


@dataclasses.dataclass(frozen=True)
class SkillSpec:
    """One skill of the catalog."""

    name: str
    description: str
    args: tuple[ArgSpec, ...]
    timeout_s: float = 60.0                        # the executor ends the step after this [s]
    allowed_places: tuple[str, ...] | None = None  # None = every place
    speed: float | None = None                     # drive [m/s], turn [deg/s]; None = adapter's


@dataclasses.dataclass(frozen=True)
class Step:
    """One plan step: a skill and its arguments by name."""

    skill: str
    args: dict

    def describe(self) -> str:
        """Human-readable form, e.g. ``pick(object='red cup')``."""
        inner = ', '.join(f'{k}={v!r}' for k, v in self.args.items())
        return f'{self.skill}({inner})'


@dataclasses.dataclass
class Plan:
    """A plan for one command, with where it came from."""

    command: str
    steps: list[Step]
    backend: str = ''   # what made it: a model name, "server", "rules" or "guard"
    planning_time: float = 0.0
    notes: list[str] = dataclasses.field(default_factory=list)
    # an ask step's choices: the visible objects the command may mean ("red cup", "green cup");
    # the answer picks one and the command is planned again with it (``follow_up``)
    clarify_options: tuple[str, ...] = ()

    def to_json(self) -> str:
        return json.dumps({'steps': [{'skill': s.skill, 'args': s.args} for s in self.steps]})

    def skills(self) -> list[str]:
        return [s.skill for s in self.steps]

    @property
    def is_stop(self) -> bool:
        return is_stop_plan(self.steps)


# skills that move the base: a plan whose first one is not come_back marks where it began
MOTION_SKILLS = frozenset({'navigate_to', 'drive', 'turn', 'come_back'})


def moves_from_here(steps) -> bool:
    """Whether a plan (``Step`` or edge_agent/PlanStep) moves the base from where it is (its
    first motion is not ``come_back``): ``come_back`` later returns to where it began."""
    first = next((s.skill for s in steps if s.skill in MOTION_SKILLS), None)
    return first is not None and first != 'come_back'


def is_stop_plan(steps) -> bool:
    """Whether a plan's steps (``Step`` or edge_agent/PlanStep) are a stop: one ``stop`` step.
    A stop plan is never preempted and ends every plan before it."""
    return [s.skill for s in steps] == ['stop']


@dataclasses.dataclass(frozen=True)
class WorldState:
    """What the planner may refer to: known places and currently detected objects.

    Objects are phrases such as "red cup" (dominant colour + label, as the vision node reports
    them); ``labels`` are the bare labels the detector knows, used to tell "I don't see it"
    from "I don't know what that is".
    """

    places: tuple[str, ...]
    objects: tuple[str, ...] = ()
    labels: tuple[str, ...] = ()
    held: str = ''        # the object in the gripper ('' = nothing), from the skill executor
    location: str = ''    # the place the robot is at ('' = unknown)

    @property
    def known_objects(self) -> tuple[str, ...]:
        """Objects a step may name: the visible ones and the one held (not in view)."""
        if self.held and self.held not in self.objects:
            return (*self.objects, self.held)
        return self.objects

    def with_objects(self, objects) -> WorldState:
        unique = tuple(dict.fromkeys(o.strip().lower() for o in objects if o and o.strip()))
        return dataclasses.replace(self, objects=unique)


class SkillCatalog:
    """The skills of config/skills.yaml (or another file)."""

    def __init__(self, path: str | os.PathLike | None = None) -> None:
        self.path = pathlib.Path(path) if path else data_file('config/skills.yaml')
        data = load_yaml(self.path, SkillFile, 'skill catalog')
        self.max_steps = data.max_steps
        self.max_text_length = data.max_text_length
        self.places = tuple(p.strip().lower() for p in data.places)
        self.stop_phrases = tuple(data.stop_phrases)
        # the one "is this a stop?" of the whole graph: the built-in lexicon and this
        # deployment's own phrases (agent, planner, speech end-pointing, executor)
        self.stops = StopLexicon(self.stop_phrases)
        self.synonyms = {k.strip().lower(): v.strip().lower()
                         for k, v in data.synonyms.items() if k.strip() and v.strip()}
        self._synonym_re = (re.compile(r'\b(' + '|'.join(
            re.escape(k) for k in sorted(self.synonyms, key=len, reverse=True)) + r')(s?)\b',
            re.IGNORECASE) if self.synonyms else None)
        self.skills: dict[str, SkillSpec] = {
            name: SkillSpec(name, entry.description, tuple(
                ArgSpec(a.name, a.type, a.min, a.max, a.default, a.small) for a in entry.args),
                entry.limits.timeout_s,
                None if entry.limits.allowed_places is None else tuple(
                    p.strip().lower() for p in entry.limits.allowed_places),
                entry.limits.speed)
            for name, entry in data.skills.items()}

    def speeds(self) -> dict[str, float]:
        """The skills' speed limits (``drive`` [m/s], ``turn`` [deg/s]) that the catalog sets."""
        return {name: spec.speed for name, spec in self.skills.items() if spec.speed is not None}

    def canonical(self, text: str, labels=()) -> str:
        """``text`` with every synonym replaced by its label ("the red mugs" -> "the red cups"), so
        rules, grounding and the model see the detector's words. With ``labels`` (the detector's
        labels and the objects in view, "red cup"), a synonym whose label the detector does not
        know stays as said ("ball" is "sports ball" to a COCO detector, "ball" to the simulated
        world's); a word already inside its label is left alone ("cell phone" does not become "cell
        cell phone")."""
        if self._synonym_re is None:
            return text
        known = {label.strip().lower() for label in labels}

        def label(match) -> str:
            said = match.group(0)
            word = self.synonyms[match.group(1).lower()]
            if known and not any(k == word or k.endswith(' ' + word) for k in known):
                return said
            head = word[:-len(match.group(1))] if word.endswith(match.group(1).lower()) else ''
            if head and text[:match.start()].lower().endswith(head):
                return said
            if not match.group(2):
                return word
            return word + ('es' if word.endswith(('s', 'x', 'ch', 'sh')) else 's')
        return self._synonym_re.sub(label, text)

    def world(self, objects=(), labels=()) -> WorldState:
        """A world state with the catalog's places and the given detected objects."""
        return WorldState(self.places, labels=tuple(labels)).with_objects(objects)

    def allowed_values(self, arg: ArgSpec, world: WorldState) -> tuple[str, ...] | None:
        """The closed set of values an argument may take, or None for text and numbers."""
        if arg.type == 'location':
            return world.places
        if arg.type == 'object':
            return world.known_objects
        if arg.type == 'target':
            return world.known_objects + world.places
        return None

    def validate(self, plan: Plan, world: WorldState | None) -> None:
        """Raise PlanError naming the first problem; return None for a valid plan. Without a
        ``world`` the plan's shape is checked (skills, arguments, text, numbers) and places
        against the catalog's; objects are not (the skill executor, which knows no detections,
        checks this)."""
        if not plan.steps:
            raise PlanError('the plan has no steps')
        if len(plan.steps) > self.max_steps:
            raise PlanError(f'the plan has {len(plan.steps)} steps; at most {self.max_steps}')
        for index, step in enumerate(plan.steps):
            where = f'step {index} ({step.skill})'
            spec = self.skills.get(step.skill)
            if spec is None:
                raise PlanError(f'{where}: unknown skill')
            if not isinstance(step.args, dict):
                raise PlanError(f'{where}: arguments must be a mapping')
            expected = {a.name for a in spec.args}
            if set(step.args) != expected:
                raise PlanError(f'{where}: arguments {sorted(step.args)} but the skill takes '
                                f'{sorted(expected)}')
            for arg in spec.args:
                self._check_arg(where, arg, step.args[arg.name], world)

    def _check_arg(self, where: str, arg: ArgSpec, value, world: WorldState | None) -> None:
        if world is None and arg.type in ('location', 'object', 'target'):
            if not isinstance(value, str) or not value.strip():
                raise PlanError(f'{where}: {arg.name} must be a non-empty {arg.type}')
            if arg.type == 'location' and value not in self.places:
                raise PlanError(f'{where}: {arg.name}={value[:80]!r} is not a known place')
            return
        allowed = self.allowed_values(arg, world)
        if allowed is not None:
            if arg.type in ('object', 'target') and isinstance(value, str):
                base, side = split_side(value)
                value = base if side else value   # "the green cup on the right" is a green cup
            if not isinstance(value, str) or value not in allowed:
                raise PlanError(f'{where}: {arg.name}={value!r} is not a known {arg.type}')
        elif arg.type == 'text':
            if not isinstance(value, str) or not value.strip():
                raise PlanError(f'{where}: {arg.name} must be non-empty text')
            if len(value) > self.max_text_length:
                raise PlanError(f'{where}: {arg.name} is {len(value)} characters; at most '
                                f'{self.max_text_length}')
        elif arg.type == 'number':
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise PlanError(f'{where}: {arg.name} must be a number')
            if not math.isfinite(value):  # NaN passes every comparison below
                raise PlanError(f'{where}: {arg.name} must be a finite number, not {value!r}')
            if (arg.min is not None and value < arg.min) or (
                    arg.max is not None and value > arg.max):
                raise PlanError(f'{where}: {arg.name}={value} outside [{arg.min}, {arg.max}]')

    def parse_json(self, text: str, command: str, world: WorldState) -> Plan:
        """A validated Plan from a planner's JSON output (``{"steps": [...]}``)."""
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise PlanError(f'planner output is not JSON ({exc.msg} at {exc.pos}): '
                            f'{text[:120]!r}') from exc
        if not isinstance(data, dict) or not isinstance(data.get('steps'), list):
            raise PlanError(f'planner output lacks a "steps" list: {text[:120]!r}')
        steps = []
        for raw in data['steps']:
            if not isinstance(raw, dict) or not isinstance(raw.get('skill'), str):
                raise PlanError(f'malformed step {raw!r}')
            steps.append(Step(raw['skill'], dict(raw.get('args') or {})))
        plan = Plan(command, steps)
        self.validate(plan, world)
        return plan
