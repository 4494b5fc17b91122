"""The simulator without ROS: physics, the differential base, the pan camera, pick and place.

``Simulator`` owns one MuJoCo model and data (``world.build``). ``step(seconds)`` advances the
physics; the base follows the last ``set_velocity(v, w)`` as a differential drive would (no
sideways motion; speeds clamped to the base's limits), the camera's pan joint follows
``set_pan`` through its position actuator. ``render()`` draws the head camera (OSMesa on a
machine without a GPU). ``pick(phrase)`` and ``place(phrase, place)`` are reach-checked
attachments: an object can be picked when it matches the phrase ("red cup", "green cup on the
right") and stands within ``reach_m`` ahead of the base; it is then carried at the gripper
point until placed on the furniture in reach or on the floor in front. ``state()`` is the
ground truth tests read. All methods take the simulator's lock: the ROS node calls them from
several threads.
"""
from __future__ import annotations

import dataclasses
import math
import threading

import numpy as np

from edge_agent.core.errors import EdgeAgentError
from edge_agent.core.execution.drive import wrap
from edge_agent.core.planning.skills import split_side
from edge_agent.sim import import_mujoco
from edge_agent.sim.world import CAMERA, GRIPPER, Layout, Pose, build

__all__ = ['ObjectState', 'SimError', 'SimState', 'Simulator']

MAX_LINEAR = 0.6     # m/s
MAX_ANGULAR = 1.5    # rad/s


class SimError(EdgeAgentError):
    """A skill the simulated robot cannot do now (out of reach, nothing held, ...)."""


@dataclasses.dataclass(frozen=True)
class ObjectState:
    """Where an object is (world frame) and whether the gripper holds it."""

    name: str
    label: str
    colour: str
    position: tuple[float, float, float]
    held: bool


@dataclasses.dataclass(frozen=True)
class SimState:
    """Ground truth: simulated time, the robot's pose and speed, the pan angle, objects."""

    time_s: float
    robot: Pose
    velocity: tuple[float, float]
    pan: float
    held: str
    objects: tuple[ObjectState, ...]

    def object(self, name: str) -> ObjectState:
        return next(o for o in self.objects if o.name == name)


class Simulator:
    """See the module docstring."""

    def __init__(self, layout: Layout, width: int = 640, height: int = 480,
                 reach_m: float = 0.9) -> None:
        mujoco = import_mujoco()

        self._mj = mujoco
        self.layout = layout
        self.width, self.height = int(width), int(height)
        self.reach_m = float(reach_m)
        self.model = build(layout, self.width, self.height)
        self.data = mujoco.MjData(self.model)
        self._lock = threading.RLock()
        self._renderer = None
        self._v = self._w = 0.0
        self._held: str | None = None
        self._joint = {name: self.model.joint(name) for name in
                       ('base_x', 'base_y', 'base_yaw', 'camera_pan')}
        self._objects = {o.name: o for o in layout.objects}
        self._free = {o.name: self.model.joint(f'{o.name} free') for o in layout.objects}
        self._gripper = self.model.site('gripper').id
        self._pan_actuator = self.model.actuator('camera_pan').id
        self.teleport(layout.places[layout.start])
        self.step(0.5)   # let the objects settle on their surfaces

    # -- time ---------------------------------------------------------------------------------
    @property
    def timestep(self) -> float:
        return float(self.model.opt.timestep)

    @property
    def time(self) -> float:
        return float(self.data.time)

    def step(self, seconds: float) -> None:
        """Advance the physics by ``seconds`` (whole timesteps)."""
        steps = max(0, int(round(seconds / self.timestep)))
        with self._lock:
            unstable = self.data.warning[self._mj.mjtWarning.mjWARN_BADQACC].number
            for _ in range(steps):
                self._drive()
                self._mj.mj_step(self.model, self.data)
                self._carry()
            if self.data.warning[self._mj.mjtWarning.mjWARN_BADQACC].number != unstable:
                # MuJoCo reset the state to recover: the robot and objects jumped
                raise SimError(f'the physics diverged at t={self.time:.2f} s and was reset')

    def _qadr(self, joint: str) -> int:
        return int(self._joint[joint].qposadr[0])

    def _dadr(self, joint: str) -> int:
        return int(self._joint[joint].dofadr[0])

    def _drive(self) -> None:
        yaw = self.data.qpos[self._qadr('base_yaw')]
        self.data.qvel[self._dadr('base_x')] = self._v * math.cos(yaw)
        self.data.qvel[self._dadr('base_y')] = self._v * math.sin(yaw)
        self.data.qvel[self._dadr('base_yaw')] = self._w

    def _carry(self) -> None:
        if self._held is not None:
            self._put(self._held, self.data.site_xpos[self._gripper])

    def _put(self, name: str, position) -> None:
        """Set object ``name`` upright at ``position`` (world), at rest."""
        joint = self._free[name]
        q, d = int(joint.qposadr[0]), int(joint.dofadr[0])
        self.data.qpos[q:q + 3] = position
        self.data.qpos[q + 3:q + 7] = (1.0, 0.0, 0.0, 0.0)
        self.data.qvel[d:d + 6] = 0.0

    # -- commands -----------------------------------------------------------------------------
    def set_velocity(self, linear: float, angular: float) -> None:
        """The base's forward [m/s] and turn [rad/s] speed (cmd_vel); clamped, NaN -> 0."""
        def clamp(value: float, limit: float) -> float:
            value = float(value)
            return 0.0 if not math.isfinite(value) else max(-limit, min(limit, value))

        with self._lock:
            self._v, self._w = clamp(linear, MAX_LINEAR), clamp(angular, MAX_ANGULAR)

    def set_pan(self, angle: float) -> None:
        """Turn the camera to ``angle`` [rad] relative to the base (the joint's range limits)."""
        low, high = self.model.jnt_range[self._joint['camera_pan'].id]
        with self._lock:
            self.data.ctrl[self._pan_actuator] = float(np.clip(angle, low, high))

    def teleport(self, pose: Pose) -> None:
        """Put the base at ``pose`` at rest (the start place; tests)."""
        with self._lock:
            self.data.qpos[self._qadr('base_x')] = pose.x
            self.data.qpos[self._qadr('base_y')] = pose.y
            self.data.qpos[self._qadr('base_yaw')] = pose.yaw
            self._v = self._w = 0.0
            self._mj.mj_forward(self.model, self.data)

    # -- sensing ------------------------------------------------------------------------------
    def pose(self) -> Pose:
        with self._lock:
            q = self.data.qpos
            return Pose(float(q[self._qadr('base_x')]), float(q[self._qadr('base_y')]),
                        wrap(float(q[self._qadr('base_yaw')])))

    def pan(self) -> float:
        with self._lock:
            return float(self.data.qpos[self._qadr('camera_pan')])

    def velocity(self) -> tuple[float, float]:
        """The base's commanded (forward, turn) speed, after clamping [m/s, rad/s]."""
        with self._lock:
            return self._v, self._w

    def render(self) -> np.ndarray:
        """An RGB image [height, width, 3] uint8 from the head camera."""
        with self._lock:
            if self._renderer is None:
                self._renderer = self._mj.Renderer(self.model, self.height, self.width)
            self._renderer.update_scene(self.data, camera=CAMERA)
            return self._renderer.render()

    def state(self) -> SimState:
        with self._lock:
            objects = tuple(ObjectState(o.name, o.label, o.colour,
                                        tuple(float(c) for c in self.data.body(o.name).xpos),
                                        o.name == self._held)
                            for o in self._objects.values())
            return SimState(self.time, self.pose(), self.velocity(), self.pan(),
                            self._held or '', objects)

    # -- skills -------------------------------------------------------------------------------
    def _in_base(self, point) -> tuple[float, float]:
        """``point`` (world) as (forward, left) in the base frame [m]."""
        pose = self.pose()
        dx, dy = point[0] - pose.x, point[1] - pose.y
        c, s = math.cos(pose.yaw), math.sin(pose.yaw)
        return c * dx + s * dy, -s * dx + c * dy

    def matching(self, phrase: str) -> list[str]:
        """Objects a phrase names ("red cup", "cup", "green cup on the right"): label and, if
        said, colour; a side picks the leftmost or rightmost as the base sees them."""
        base, side = split_side(phrase)
        words = base.split()
        if not words:
            return []
        names = [o.name for o in self._objects.values() if o.label == words[-1]
                 and all(w == o.colour for w in words[:-1])]
        if side and len(names) > 1:
            with self._lock:
                bearing = {n: math.atan2(*reversed(self._in_base(self.data.body(n).xpos)))
                           for n in names}
            names = [max(names, key=bearing.get) if side == 'left'
                     else min(names, key=bearing.get)]
        return names

    def pick(self, phrase: str) -> str:
        """Attach the object ``phrase`` names if it is in reach; its name. SimError says why
        not (nothing held twice, no such object, several match, out of reach)."""
        with self._lock:
            if self._held is not None:
                raise SimError(f'the gripper already holds the {self._objects[self._held].phrase}')
            names = self.matching(phrase)
            if not names:
                raise SimError(f'there is no {phrase} in the simulated home')
            reachable = [n for n in names if self._reachable(n)]
            if not reachable:
                forward, left = self._in_base(self.data.body(names[0]).xpos)
                raise SimError(f'the {phrase} is {math.hypot(forward, left):.2f} m away, out '
                               f'of reach ({self.reach_m:.2f} m ahead)')
            if len(reachable) > 1:
                raise SimError(f'{len(reachable)} objects in reach match "{phrase}"; say which')
            self._held = reachable[0]
            self._carry()
            self._mj.mj_forward(self.model, self.data)
            return self._held

    def _reachable(self, name: str) -> bool:
        forward, left = self._in_base(self.data.body(name).xpos)
        return 0.0 < forward <= self.reach_m and abs(math.atan2(left, forward)) <= math.radians(60)

    def place(self, phrase: str) -> str:
        """Put the held object down: on the furniture whose top is under the gripper's reach
        ahead of the base, else on the floor in front. Returns where."""
        with self._lock:
            if self._held is None:
                raise SimError('the gripper holds nothing')
            held = self._objects[self._held]
            base, _side = split_side(phrase)
            if base and base.split()[-1] != held.label:
                raise SimError(f'the gripper holds the {held.phrase}, not a {base}')
            pose = self.pose()
            c, s = math.cos(pose.yaw), math.sin(pose.yaw)
            target, where = None, 'the floor'
            for ahead in (GRIPPER[0], 0.5, 0.7):
                x, y = pose.x + c * ahead, pose.y + s * ahead
                for name, item in self.layout.furniture.items():
                    if (abs(x - float(item['x'])) <= float(item['sx']) - 0.05
                            and abs(y - float(item['y'])) <= float(item['sy']) - 0.05):
                        target, where = (x, y, self.layout.surface_top(name)), f'the {name}'
                        break
                if target:
                    break
            if target is None:
                target = (pose.x + c * GRIPPER[0], pose.y + s * GRIPPER[0], 0.0)
            self._put(self._held, (target[0], target[1], target[2] + 0.06))
            self._held = None
            self._mj.mj_forward(self.model, self.data)
            return where

    def bearing_to(self, target: str) -> float:
        """The pan angle that faces ``target``: an object phrase or a place name."""
        with self._lock:
            if target in self.layout.places:
                place = self.layout.places[target]
                point = (place.x, place.y)
                if math.hypot(*self._in_base((*point, 0.0))) < 0.3:
                    return wrap(place.yaw - self.pose().yaw)
            else:
                names = self.matching(target)
                if not names:
                    raise SimError(f'there is no {target} in the simulated home')
                point = self.data.body(names[0]).xpos
            forward, left = self._in_base(point)
            return math.atan2(left, forward)

    def close(self) -> None:
        with self._lock:
            if self._renderer is not None:
                self._renderer.close()
                self._renderer = None
