"""Typed loading of the project's YAML files (tier catalog, skill catalog, model manifest,
evaluation sets) with pydantic.

Each file has a schema below; ``load_yaml(path, Schema)`` returns the validated object or raises
one ``ConfigError`` naming the file, the key (``tiers.1.llm.n_ctx``) and what was expected, so a
typo in a catalog is found when the node configures, not when a command first needs it.
"""
from __future__ import annotations

import math
import os
import pathlib
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
import yaml

from edge_agent.core.errors import ConfigError

__all__ = ['ARG_TYPES', 'EvalFile', 'ManifestFile', 'PhotoSetFile', 'PlacesFile', 'SkillFile',
           'TierFile', 'describe_error', 'load_yaml']

ARG_TYPES = ('location', 'object', 'target', 'text', 'number')
_SHA256 = r'^[0-9a-fA-F]{64}$'


class _Strict(BaseModel):
    """Unknown keys are errors (a misspelt key would otherwise be silently ignored)."""

    model_config = ConfigDict(extra='forbid', frozen=True)


# -- tier catalog (config/model_tiers.yaml) ------------------------------------------------------
class SttTier(_Strict):
    model: str | None
    compute_type: str = 'default'
    beam_size: int = Field(1, ge=1, le=20)


class LlmTier(_Strict):
    model: str | None = None
    n_ctx: int = Field(2048, ge=256, le=131072)
    max_tokens: int = Field(256, ge=16, le=8192)
    timeout_s: float = Field(20.0, gt=0, le=600)


class VisionTier(_Strict):
    model: str | None
    input_size: int = Field(0, ge=0, le=4096)
    rate_hz: float = Field(10.0, gt=0, le=240)


class TierEntry(_Strict):
    name: str = Field(min_length=1)
    description: str = ''
    stt: SttTier | None = None
    llm: LlmTier | None = None
    vision: VisionTier | None = None            # real-world detectors (a robot's camera)
    vision_synthetic: VisionTier | None = None  # the project's detector for the simulated world


class TierFile(_Strict):
    schema_version: Literal[1] = 1
    tiers: list[TierEntry] = Field(min_length=1)


# -- skill catalog (config/skills.yaml) ----------------------------------------------------------
class ArgEntry(_Strict):
    name: str = Field(min_length=1)
    type: Literal['location', 'object', 'target', 'text', 'number']
    min: float | None = None
    max: float | None = None
    default: float | None = None   # a number when the user names none ("turn left" = 90)
    small: float | None = None     # what "a bit" / "a little" means ("go forward a bit")

    @model_validator(mode='after')
    def _within_range(self):
        for key in ('default', 'small'):
            value = getattr(self, key)
            if value is None:
                continue
            if self.type != 'number':
                raise ValueError(f'{self.name}: {key} is only for number arguments')
            if not math.isfinite(value) or (self.min is not None and value < self.min) or (
                    self.max is not None and value > self.max):
                raise ValueError(f'{self.name}: {key}={value} outside [{self.min}, {self.max}]')
        return self


class SkillLimits(_Strict):
    timeout_s: float = Field(60.0, gt=0, le=3600)   # the executor ends the step after this
    allowed_places: list[str] | None = None          # None = every place of the catalog
    speed: float | None = Field(None, gt=0, allow_inf_nan=False)  # drive [m/s], turn [deg/s]


class SkillEntry(_Strict):
    description: str = ''
    args: list[ArgEntry] = []
    limits: SkillLimits = SkillLimits()


class SkillFile(_Strict):
    schema_version: Literal[1] = 1
    max_steps: int = Field(8, ge=1, le=64)
    max_text_length: int = Field(160, ge=1, le=4000)
    skills: dict[str, SkillEntry] = Field(min_length=1)
    places: list[str] = Field(min_length=1)
    stop_phrases: list[str] = []   # this deployment's own stop clauses, besides the lexicon
    synonyms: dict[str, str] = {}  # words people use for a detector label: {mug: cup}

    @model_validator(mode='after')
    def _required_skills(self):
        missing = [s for s in ('say', 'ask', 'stop') if s not in self.skills]
        if missing:
            raise ValueError(f'the catalog needs the skills say, ask and stop; missing: '
                             f'{", ".join(missing)}')
        places = {p.strip().lower() for p in self.places}
        for name, skill in self.skills.items():
            unknown = sorted({p.strip().lower() for p in skill.limits.allowed_places or ()}
                             - places)
            if unknown:
                raise ValueError(f'skills.{name}.limits.allowed_places names unknown places: '
                                 f'{", ".join(unknown)}')
        return self


# -- place poses (config/places.yaml) ------------------------------------------------------------
class PlacePose(_Strict):
    x: float
    y: float
    yaw: float = 0.0     # heading at the goal [rad]


class PlacesFile(_Strict):
    schema_version: Literal[1] = 1
    frame_id: str = Field('map', min_length=1)
    places: dict[str, PlacePose] = Field(min_length=1)


# -- skill bindings (the skill executor's bindings_file; config/bindings.example.yaml) -----------
_INTERFACE = r'^[A-Za-z][A-Za-z0-9_]*/(?:action|srv)/[A-Z][A-Za-z0-9]*$'
_NAME = r'^/?[A-Za-z_~{][A-Za-z0-9_/{}~]*$'


class BindingSuccess(_Strict):
    field: str = Field(min_length=1)   # a result (response) field, dotted for nested ones
    equals: bool | int | float | str   # the value that means success


class BindingEntry(_Strict):
    action: str | None = Field(None, pattern=_NAME)    # the action's name on the robot
    service: str | None = Field(None, pattern=_NAME)   # or the service's
    type: str = Field(pattern=_INTERFACE)             # "pkg/action/Name" or "pkg/srv/Name"
    # goal (or request) field, dotted for nested ones -> a literal, or a template of the skill's
    # arguments: "{object}", "{object.label}", "{object.box.center_x}", "{location.pose.x}"
    fields: dict[str, bool | int | float | str] = {}
    success: BindingSuccess | None = None   # None: the action succeeded / the service answered
    message: str | None = None              # a result field to report, e.g. error_msg
    server_timeout_s: float = Field(5.0, gt=0, le=600)   # wait for the server [s]
    timeout_s: float | None = Field(None, gt=0, le=3600)  # for the result; None: the skill's

    @model_validator(mode='after')
    def _one_interface(self):
        if (self.action is None) == (self.service is None):
            raise ValueError('give exactly one of action and service')
        kind = 'action' if self.action is not None else 'srv'
        if f'/{kind}/' not in self.type:
            raise ValueError(f'type {self.type} is not a {"service" if kind == "srv" else kind} '
                             f'type (pkg/{kind}/Name)')
        return self


class BindingFile(_Strict):
    schema_version: Literal[1] = 1
    bindings: dict[str, BindingEntry] = {}   # skill name -> the robot's interface for it


# -- model manifest (models/manifest.yaml) -------------------------------------------------------
class PartEntry(_Strict):
    module: str = ''
    path: str = Field(min_length=1)
    sha256: str | None = Field(None, pattern=_SHA256)
    size: int | None = Field(None, ge=0)


class FileEntry(_Strict):
    sha256: str = Field(pattern=_SHA256)
    size: int = Field(ge=0)
    parts: list[PartEntry] = Field(min_length=1)


class ModelEntry(_Strict):
    modality: Literal['stt', 'llm', 'vision', 'tts', 'wake_word']
    format: str
    description: str = ''
    license: str
    upstream: str = ''
    packages: list[str] = []
    layout: Literal['file', 'directory']
    files: dict[str, FileEntry] = Field(min_length=1)

    @model_validator(mode='after')
    def _one_file(self):
        if self.layout == 'file' and len(self.files) != 1:
            raise ValueError('layout "file" needs exactly one file')
        return self


class ManifestFile(_Strict):
    schema_version: Literal[1] = 1
    models: dict[str, ModelEntry]


# -- planner evaluation sets ---------------------------------------------------------------------
class EvalWorld(_Strict):
    objects: list[str]
    labels: list[str] = []


class EvalCommand(_Strict):
    command: str
    category: str = Field(min_length=1)
    expect: Literal['refuse', 'clarify', 'stop'] | list[tuple[str, dict[str, Any]]]
    objects: list[str] | None = None
    held: str = ''      # the object the robot holds when the command comes
    split: Literal['dev', 'test'] | None = None   # held-out sets: tuning half or test half


class EvalFile(_Strict):
    model_config = ConfigDict(extra='allow', frozen=True)  # free-form notes (set, prompt, ...)

    world: EvalWorld
    commands: list[EvalCommand] = Field(min_length=1)


# -- labelled real photos (data/vision/real_photos.yaml) -----------------------------------------
class PhotoSource(_Strict):
    pip: str | None = None      # importable module whose folder holds the photo
    deb: str | None = None      # Debian package that installs it (path is absolute)
    path: str = Field(min_length=1)

    @model_validator(mode='after')
    def _one_source(self):
        if (self.pip is None) == (self.deb is None):
            raise ValueError('name one source: pip (a module) or deb (a Debian package)')
        return self


class PhotoObject(_Strict):
    label: str = Field(min_length=1)
    box: tuple[float, float, float, float]

    @model_validator(mode='after')
    def _ordered(self):
        x0, y0, x1, y1 = self.box
        if not (x1 > x0 and y1 > y0):
            raise ValueError(f'box {list(self.box)} is not x_min, y_min, x_max, y_max')
        return self


class PhotoEntry(_Strict):
    name: str = Field(min_length=1)
    split: Literal['calibration', 'test']
    source: PhotoSource
    sha256: str = Field(pattern=_SHA256)
    objects: list[PhotoObject]
    ignore: list[str] = []


class PhotoSetFile(_Strict):
    schema_version: Literal[1] = 1
    photos: list[PhotoEntry] = Field(min_length=1)


# -- loading -------------------------------------------------------------------------------------
Schema = TypeVar('Schema', bound=BaseModel)


def describe_error(source: str, exc: ValidationError) -> str:
    """One line: the file, the first failing key, what was expected and what was there."""
    errors = exc.errors(include_url=False)
    first = errors[0]
    key = '.'.join(str(part) for part in first['loc']) or '(top level)'
    message = first['msg'].removeprefix('Value error, ')
    text = f'{source}: {key}: {message}'
    if first['type'] not in ('missing',) and 'input' in first and not isinstance(
            first['input'], dict):
        text += f' (got {first["input"]!r:.60})'
    if len(errors) > 1:
        text += f'; and {len(errors) - 1} more problem(s)'
    return text


def load_yaml(path: str | os.PathLike, schema: type[Schema], what: str = 'file') -> Schema:
    """Read and validate a YAML file; every problem is a ConfigError naming the file."""
    path = pathlib.Path(path)
    try:
        text = path.read_text(encoding='utf-8')
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f'cannot read {what} {path}: {exc}') from exc
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, 'problem_mark', None)
        where = f' at line {mark.line + 1}, column {mark.column + 1}' if mark else ''
        problem = getattr(exc, 'problem', None) or exc
        raise ConfigError(f'{path}: not valid YAML{where}: {problem}') from exc
    if not isinstance(data, dict):
        raise ConfigError(f'{path}: expected a mapping at the top of the {what}, '
                          f'got {type(data).__name__}')
    try:
        return schema.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(describe_error(str(path), exc)) from exc
