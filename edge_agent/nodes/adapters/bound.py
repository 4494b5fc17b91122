"""Skills bound by configuration to the robot's own actions and services (``bindings_file``).

``bound_adapters`` loads the bindings file at configure: each binding's interface type is
imported (``pkg/action/Name`` or ``pkg/srv/Name``), its goal and result fields are read from the
generated classes, and ``core.execution.bindings.Binding.problems`` checks the binding against
them and the skill catalog; every problem of the file is reported in one ConfigError. A
``BoundAdapter`` then runs its skill: the goal (request) filled from the step's arguments, the
object's newest box from ``vision/detections``, a place's pose from the places file; success as
the binding says. An action goal is cancelled when the step is interrupted (a stop, a newer
plan, the timeout); a service call cannot be cancelled, so an interrupted call is reported as
such and its late answer ignored.
"""
from __future__ import annotations

import collections
from collections.abc import Callable
import importlib
import math
import threading
import time

from action_msgs.msg import GoalStatus
from rclpy.callback_groups import MutuallyExclusiveCallbackGroup, ReentrantCallbackGroup

from edge_agent.core.config.schema import BindingFile, PlacesFile, load_yaml
from edge_agent.core.errors import ConfigError
from edge_agent.core.execution.bindings import Binding, BindingError, FieldTypes
from edge_agent.core.planning import SkillCatalog, Step, split_side
from edge_agent.msg import DetectionArray
from edge_agent.nodes.common.futures import RunningGoals, wait_future
from edge_agent.nodes.common.qos import SENSOR

__all__ = ['BoundAdapter', 'bound_adapters', 'field_types', 'interface_type']

DETECTION_MAX_AGE_S = 5.0   # a box older than this is not the object's box any more


def interface_type(name: str):
    """The generated class of ``pkg/action/Name`` or ``pkg/srv/Name``; ConfigError if absent."""
    package, kind, type_name = name.split('/')
    try:
        module = importlib.import_module(f'{package}.{kind}')
    except ImportError as exc:
        raise ConfigError(f'{name}: the interface package {package!r} is not installed '
                          f'({exc}); build or install it (apt install '
                          f'ros-$ROS_DISTRO-{package.replace("_", "-")})') from exc
    found = getattr(module, type_name, None)
    if found is None:
        raise ConfigError(f'{name}: {package}.{kind} has no {type_name}')
    return found


def field_types(message_class) -> FieldTypes:
    """Every field of a message class, dotted for nested messages: {path: type}."""
    out: FieldTypes = {}

    def walk(instance, prefix: str) -> None:
        for name, kind in instance.get_fields_and_field_types().items():
            path = f'{prefix}{name}'
            value = getattr(instance, name)
            if '/' in kind and hasattr(value, 'get_fields_and_field_types'):
                walk(value, f'{path}.')
            else:
                out[path] = kind
    walk(message_class(), '')
    return out


def _set(message, path: str, value) -> None:
    *parents, last = path.split('.')
    for name in parents:
        message = getattr(message, name)
    setattr(message, last, value)


def _get(message, path: str):
    for name in path.split('.'):
        message = getattr(message, name)
    return message


class Detections:
    """The newest ``vision/detections`` frames, for the box of an object a step names."""

    def __init__(self, frames: int = 10) -> None:
        self._frames: collections.deque = collections.deque(maxlen=frames)
        self._lock = threading.Lock()

    def add(self, msg) -> None:
        with self._lock:
            self._frames.append((time.monotonic(), msg))

    def box(self, phrase: str) -> dict | None:
        """The box of the newest detection ``phrase`` names ("red cup", "green cup on the
        left": the leftmost of them), within DETECTION_MAX_AGE_S; None when none."""
        base, side = split_side(phrase)
        words = base.split()
        with self._lock:
            frames = list(self._frames)
        for received, msg in reversed(frames):
            if time.monotonic() - received > DETECTION_MAX_AGE_S:
                return None
            matches = [d for d in msg.detections
                       if d.label == base or (len(words) > 1 and d.label == ' '.join(words[1:])
                                              and d.color_name == words[0])]
            if not matches:
                continue
            matches.sort(key=lambda d: d.x_min + d.x_max)
            d = matches[-1] if side == 'right' else matches[0] if side == 'left' else max(
                matches, key=lambda d: d.score)
            return {'x_min': d.x_min, 'y_min': d.y_min, 'x_max': d.x_max, 'y_max': d.y_max,
                    'center_x': (d.x_min + d.x_max) / 2, 'center_y': (d.y_min + d.y_max) / 2,
                    'width': d.x_max - d.x_min, 'height': d.y_max - d.y_min, 'score': d.score,
                    'image_width': msg.image_width, 'image_height': msg.image_height}
        return None


class BoundAdapter:
    """Runs one bound skill (see the module docstring)."""

    def __init__(self, node, binding: Binding, interface, goal_fields: FieldTypes,
                 places: PlacesFile | None, detections: Detections, step_timeout_s: float,
                 on_status: Callable[[str], None] | None = None) -> None:
        self.binding = binding
        self.name = f'bound:{binding.skill}'
        self.interface = interface
        if binding.kind == 'action':
            self.goal_class = interface.Goal
            self.client = node.action_client(interface, binding.name)
        else:
            self.goal_class = interface.Request
            self.client = node.own(node.create_client(
                interface, binding.name, callback_group=ReentrantCallbackGroup()))
        self.goal_fields = goal_fields   # read once, when the binding was checked
        self.places = places
        self._poses = {} if places is None else {
            name.strip().lower(): pose for name, pose in places.places.items()}
        self.detections = detections
        self.timeout_s = binding.entry.timeout_s or step_timeout_s
        self.on_status = on_status or (lambda _text: None)
        self._goals = RunningGoals()

    def pose(self, place: str) -> dict | None:
        found = self._poses.get(place)
        if found is None:
            return None
        return {'x': found.x, 'y': found.y, 'yaw': found.yaw, 'qz': math.sin(found.yaw / 2),
                'qw': math.cos(found.yaw / 2), 'frame_id': self.places.frame_id}

    def run(self, step: Step, interrupted: Callable[[], bool]) -> tuple[bool, str]:
        what = self.binding.describe()
        if step.skill == 'stop':
            return True, f'{self.name}: {self._goals.cancel_all()} goal(s) cancelled'
        try:
            values = self.binding.fill(step, self.goal_fields, self.detections.box, self.pose)
        except BindingError as exc:
            return False, f'{what}: {exc}'
        goal = self.goal_class()
        for path, value in values.items():
            _set(goal, path, value)
        wait = self.binding.entry.server_timeout_s
        ready = (self.client.wait_for_server(timeout_sec=wait) if self.binding.kind == 'action'
                 else self.client.wait_for_service(timeout_sec=wait))
        if not ready:
            return False, f'{what}: no server after {wait:g} s'
        deadline = time.monotonic() + self.timeout_s

        def over() -> bool:
            return interrupted() or time.monotonic() > deadline
        if self.binding.kind == 'action':
            state, answer = self._goals.run(self.client, goal, wait, over)
            if state != 'done':
                late = time.monotonic() > deadline and not interrupted()
                return False, f'{what}: ' + (f'no result within {self.timeout_s:g} s'
                                             if late else state)
            if answer.status != GoalStatus.STATUS_SUCCEEDED:
                return False, f'{what}: the goal ended {_status(answer.status)}' + self._said(
                    answer.result)
            result = answer.result
        else:
            future = self.client.call_async(goal)
            if not wait_future(future, self.timeout_s, interrupted):
                why = 'interrupted' if interrupted() else f'no answer within {self.timeout_s:g} s'
                return False, f'{what}: {why} (a service call cannot be cancelled)'
            result = future.result()
        ok = self.binding.succeeded(lambda path: _get(result, path))
        return ok, f'{what}: ' + ('succeeded' if ok else 'failed') + self._said(result)

    def _said(self, result) -> str:
        field = self.binding.entry.message
        return f' ({_get(result, field)})' if field and _get(result, field) else ''


def _status(status: int) -> str:
    return {GoalStatus.STATUS_ABORTED: 'aborted', GoalStatus.STATUS_CANCELED: 'canceled'}.get(
        status, f'with status {status}')


def bound_adapters(node, path: str, catalog: SkillCatalog, places: PlacesFile | None,
                   on_status: Callable[[str], None] | None = None) -> dict[str, BoundAdapter]:
    """The adapters of the bindings file ``path`` by skill; ConfigError naming every problem."""
    bindings = load_yaml(path, BindingFile, 'bindings file')
    problems: list[str] = []
    checked = []
    for skill, entry in bindings.bindings.items():
        binding = Binding(skill, entry)
        try:
            interface = interface_type(entry.type)
        except ConfigError as exc:
            problems.append(f'bindings.{skill}: {exc}')
            continue
        kind = 'action' if binding.kind == 'action' else 'srv'
        goal = interface.Goal if kind == 'action' else interface.Request
        result = interface.Result if kind == 'action' else interface.Response
        goal_fields = field_types(goal)
        problems += binding.problems(catalog.skills.get(skill), goal_fields,
                                     field_types(result))
        checked.append((binding, interface, goal_fields))
    if problems:
        raise ConfigError(f'{path}: ' + '; '.join(problems))
    detections = Detections()
    if any('.box.' in str(v) for b, _, _ in checked for v in b.entry.fields.values()):
        node.own(node.create_subscription(
            DetectionArray, 'vision/detections', detections.add, SENSOR,
            callback_group=MutuallyExclusiveCallbackGroup()))
    return {b.skill: BoundAdapter(node, b, interface, goal_fields, places, detections,
                                  catalog.skills[b.skill].timeout_s, on_status)
            for b, interface, goal_fields in checked}
