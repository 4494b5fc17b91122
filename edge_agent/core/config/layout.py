"""The simulated home's layout (config/sim/world.yaml), read and checked without a simulator.

``load_layout`` reads the rooms, furniture, objects and place poses; the skill executor's sim
adapter takes its place poses from here, and ``sim.world`` builds the MuJoCo model (and
``sim.sdf`` the Gazebo world) from the same ``Layout``. The objects' shapes and colours are the
detector's scene classes (``SHAPES``, ``COLOURS``), shared with ``sim.scene``'s renders.
``check_places`` is the one check that a catalog's places each have a pose, wherever the poses
come from (this layout, Nav2's config/places.yaml).
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
import dataclasses
import math
import pathlib

import yaml

from edge_agent.core.config.paths import data_file
from edge_agent.core.errors import ConfigError

__all__ = ['CLASSES', 'COLOURS', 'SHAPES', 'Box', 'Layout', 'ObjectSpec', 'Pose',
           'check_places', 'load_layout']

CLASSES = ('cup', 'bottle', 'box', 'ball')
COLOURS = {'red': (0.85, 0.1, 0.1), 'green': (0.1, 0.65, 0.2), 'blue': (0.12, 0.25, 0.85),
           'yellow': (0.92, 0.82, 0.1)}
# Each label's MuJoCo geom: type, size (MJCF's), height of its centre above the surface [m].
# The simulator's objects (sim/world.py) and the Gazebo world (sim/sdf.py) use the same shapes.
SHAPES = {'cup': ('cylinder', (0.04, 0.05), 0.05),
          'bottle': ('capsule', (0.03, 0.07), 0.10),
          'box': ('box', (0.06, 0.05, 0.05), 0.05),
          'ball': ('sphere', (0.05,), 0.05)}


def check_places(places: Iterable[str], poses: Mapping[str, object], where: str) -> None:
    """ConfigError naming every place of the skill catalog without a pose in ``where``: a
    place the planner may send the robot to must be reachable, or the goal fails at run time."""
    have = {str(name).strip().lower() for name in poses}
    missing = [p for p in places if p.strip().lower() not in have]
    if missing:
        raise ConfigError(f'{where} has no pose for the skill catalog\'s place(s) '
                          f'{", ".join(missing)} (places with a pose: {", ".join(sorted(have))})')


@dataclasses.dataclass(frozen=True)
class Pose:
    """A planar pose [m, m, rad]."""

    x: float
    y: float
    yaw: float = 0.0


@dataclasses.dataclass(frozen=True)
class ObjectSpec:
    """A scene object: body name, detector label, colour name, initial position [m]."""

    name: str
    label: str
    colour: str
    position: tuple[float, float, float]

    @property
    def phrase(self) -> str:
        return f'{self.colour} {self.label}'


@dataclasses.dataclass(frozen=True)
class Box:
    """A static box of the home: centre and half sizes [m], colour, whether it collides."""

    name: str
    centre: tuple[float, float, float]
    half: tuple[float, float, float]
    rgba: tuple[float, ...]
    collide: bool = True


_WALLS = {'x_min': -3.0, 'x_max': 3.0, 'y_min': -3.0, 'y_max': 3.0, 'height': 1.0,
          'rgba': (0.85, 0.83, 0.78, 1.0)}


@dataclasses.dataclass(frozen=True)
class Layout:
    """The home: place poses, furniture and rooms (raw entries), objects, walls, start place."""

    frame_id: str
    start: str
    places: dict[str, Pose]
    furniture: dict[str, dict]
    rooms: dict[str, dict]
    walls: dict
    objects: tuple[ObjectSpec, ...]
    source: str = ''

    def surface_top(self, name: str) -> float:
        item = self.furniture[name]
        return float(item['z']) + float(item['sz'])

    @property
    def extent(self) -> tuple[float, float, float, float]:
        """The walls' x_min, x_max, y_min, y_max [m]."""
        w = self.walls
        return float(w['x_min']), float(w['x_max']), float(w['y_min']), float(w['y_max'])

    def boxes(self) -> list[Box]:
        """Every static box, for both simulators: room floor patches (no collision), the four
        walls, and each piece of furniture's top and four legs."""
        x0, x1, y0, y1 = self.extent
        h = float(self.walls['height'])
        wall = _rgba(self.walls)
        boxes = [Box(f'room {name}', (float(r['x']), float(r['y']), 0.001),
                     (float(r['sx']), float(r['sy']), 0.001), _rgba(r), collide=False)
                 for name, r in self.rooms.items()]
        boxes += [Box('wall +x', (x1, (y0 + y1) / 2, h / 2), (0.02, (y1 - y0) / 2, h / 2), wall),
                  Box('wall -x', (x0, (y0 + y1) / 2, h / 2), (0.02, (y1 - y0) / 2, h / 2), wall),
                  Box('wall +y', ((x0 + x1) / 2, y1, h / 2), ((x1 - x0) / 2, 0.02, h / 2), wall),
                  Box('wall -y', ((x0 + x1) / 2, y0, h / 2), ((x1 - x0) / 2, 0.02, h / 2), wall)]
        for name, item in self.furniture.items():
            x, y, z = float(item['x']), float(item['y']), float(item['z'])
            sx, sy = float(item['sx']), float(item['sy'])
            boxes.append(Box(name, (x, y, z), (sx, sy, float(item['sz'])), _rgba(item)))
            boxes += [Box(f'{name} leg {i:+d}{j:+d}',
                          (x + i * (sx - 0.03), y + j * (sy - 0.03), z / 2),
                          (0.02, 0.02, z / 2), _rgba(item))
                      for i in (-1, 1) for j in (-1, 1)]
        return boxes


def _number(where: str, value) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ConfigError(f'{where}: expected a finite number, got {value!r}')
    return float(value)


def load_layout(path: str | pathlib.Path | None = None) -> Layout:
    """Read a world layout YAML (default: the package's config/sim/world.yaml); a missing
    field, a wrong type or a reference to unknown furniture is a ConfigError naming it."""
    path = pathlib.Path(path) if path else data_file('config/sim/world.yaml')
    try:
        raw = yaml.safe_load(path.read_text(encoding='utf-8'))
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f'{path}: cannot read the world layout: {exc}') from exc
    if not isinstance(raw, dict):
        raise ConfigError(f'{path}: a world layout is a mapping')
    try:
        places = {str(name): Pose(_number(f'{path}: places.{name}.x', p['x']),
                                  _number(f'{path}: places.{name}.y', p['y']),
                                  _number(f'{path}: places.{name}.yaw', p.get('yaw', 0.0)))
                  for name, p in raw['places'].items()}
        furniture = {str(k): dict(v) for k, v in raw['furniture'].items()}
        for name, item in furniture.items():
            for key in ('x', 'y', 'z', 'sx', 'sy', 'sz'):
                _number(f'{path}: furniture.{name}.{key}', item[key])
        objects = []
        for name, item in raw['objects'].items():
            label, colour, on = item['label'], item['colour'], item['surface']
            if label not in SHAPES:
                raise ConfigError(f'{path}: objects.{name}: label {label!r} is not one of '
                                  f'{", ".join(SHAPES)}')
            if colour not in COLOURS:
                raise ConfigError(f'{path}: objects.{name}: colour {colour!r} is not one of '
                                  f'{", ".join(COLOURS)}')
            if on not in furniture:
                raise ConfigError(f'{path}: objects.{name}: no furniture {on!r}')
            base = furniture[on]
            top = float(base['z']) + float(base['sz'])
            objects.append(ObjectSpec(str(name), label, colour, (
                float(base['x']) + _number(f'{path}: objects.{name}.dx', item.get('dx', 0.0)),
                float(base['y']) + _number(f'{path}: objects.{name}.dy', item.get('dy', 0.0)),
                top + SHAPES[label][2])))
        start = str(raw.get('start', next(iter(places))))
        if start not in places:
            raise ConfigError(f'{path}: start place {start!r} is not among the places')
        return Layout(str(raw.get('frame_id', 'odom')), start, places, furniture,
                      {str(k): dict(v) for k, v in raw.get('rooms', {}).items()},
                      {**_WALLS, **(raw.get('walls') or {})}, tuple(objects), str(path))
    except (KeyError, TypeError, AttributeError) as exc:
        raise ConfigError(f'{path}: malformed world layout ({type(exc).__name__}: {exc})') from exc


def _rgba(item: dict, default=(0.7, 0.7, 0.7, 1.0)) -> tuple[float, ...]:
    return tuple(float(c) for c in item.get('rgba', default))


