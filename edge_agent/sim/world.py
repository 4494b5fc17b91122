"""The simulated home and robot, built with MuJoCo's ``MjSpec`` API from config/sim/world.yaml.

``load_layout()`` reads the layout (rooms, furniture, objects, the place poses); ``build()``
turns it into a compiled model: floor patches per room, walls, furniture, the scene objects
(the detector's shapes and colours from ``sim.scene``, each a free body) and a mobile robot.
The robot is a differential base on planar joints (x, y, yaw; ``Simulator`` turns ``cmd_vel``
into their velocities), a mast with the RGB camera on a pan joint (position actuator), and a
gripper point in front of the base. Its geoms do not collide with the home: the base is
driven kinematically, and a ghost base cannot get stuck on a table edge.
"""
from __future__ import annotations

import math

import numpy as np

from edge_agent.core.config.layout import (  # noqa: F401 - Layout etc. re-exported
    COLOURS,
    SHAPES,
    Layout,
    ObjectSpec,
    Pose,
    _rgba,
    load_layout,
)
from edge_agent.sim import import_mujoco

__all__ = ['CAMERA', 'Layout', 'ObjectSpec', 'Pose', 'build', 'load_layout']

CAMERA = 'head_camera'
MAST_HEIGHT = 1.0          # camera height above the floor [m]
CAMERA_PITCH = 0.42        # camera tilt down from horizontal [rad] (24 deg: the table at 1.3 m)
CAMERA_FOVY = 58.0         # vertical field of view [deg], as the detector's training renders
BASE_RADIUS = 0.22
GRIPPER = (0.32, 0.0, 0.55)  # where a held object is carried, in the base frame [m]

def camera_quat(pitch: float) -> np.ndarray:
    """Orientation of a camera on the mast that looks along the base's +x, tilted down by
    ``pitch``: MuJoCo cameras look along their -z with +y up and +x right."""
    mujoco = import_mujoco()

    right = np.array([0.0, -1.0, 0.0])
    up = np.array([math.sin(pitch), 0.0, math.cos(pitch)])
    back = np.cross(right, up)
    rotation = np.column_stack([right, up, back])
    quat = np.zeros(4)
    mujoco.mju_mat2Quat(quat, rotation.flatten())
    return quat


def build(layout: Layout, width: int = 640, height: int = 480):
    """Compile ``layout``; returns the MjModel (the robot at the origin: ``Simulator`` puts it
    at the start place)."""
    mujoco = import_mujoco()

    spec = mujoco.MjSpec()
    spec.modelname = 'edge_agent_home'
    spec.compiler.degree = False   # angles in radians, as everywhere in ROS
    spec.option.timestep = 0.005
    spec.visual.global_.offwidth = max(width, 64)
    spec.visual.global_.offheight = max(height, 64)
    spec.visual.headlight.ambient = [0.3, 0.3, 0.3]
    world = spec.worldbody
    geom = mujoco.mjtGeom
    # no shadows: OSMesa draws a shadow map per light per frame, 12x the cost of the frame
    # itself (190 vs 14 ms at 640x480, measured; docs/benchmarks.md)
    world.add_light(pos=[1.0, 0.0, 2.6], dir=[0, 0, -1], diffuse=[0.7, 0.7, 0.7],
                    castshadow=False)
    world.add_light(pos=[-1.5, 0.0, 2.6], dir=[0, 0, -1], diffuse=[0.4, 0.4, 0.4],
                    castshadow=False)
    x0, x1, y0, y1 = layout.extent
    world.add_geom(name='floor', type=geom.mjGEOM_PLANE,
                   size=[(x1 - x0) / 2 + 1, (y1 - y0) / 2 + 1, 0.1],
                   pos=[(x0 + x1) / 2, (y0 + y1) / 2, 0], rgba=[0.5, 0.5, 0.5, 1])
    for box in layout.boxes():
        contact = {} if box.collide else {'contype': 0, 'conaffinity': 0}
        world.add_geom(name=box.name, type=geom.mjGEOM_BOX, pos=list(box.centre),
                       size=list(box.half), rgba=list(box.rgba), **contact)
    for obj in layout.objects:
        kind, size, _ = SHAPES[obj.label]
        body = world.add_body(name=obj.name, pos=list(obj.position))
        body.add_freejoint(name=f'{obj.name} free')
        body.add_geom(name=obj.name, type=getattr(geom, f'mjGEOM_{kind.upper()}'),
                      size=[*size, 0.0, 0.0][:3], rgba=[*COLOURS[obj.colour], 1.0], mass=0.2,
                      friction=[1.0, 0.01, 0.001])
    _add_robot(spec)
    return spec.compile()


def _add_robot(spec) -> None:
    mujoco = import_mujoco()

    geom, joint = mujoco.mjtGeom, mujoco.mjtJoint
    base = spec.worldbody.add_body(name='base', pos=[0, 0, 0.0])
    # planar joints: the base's pose is (x, y, yaw) in the odom frame, from qpos directly
    base.add_joint(name='base_x', type=joint.mjJNT_SLIDE, axis=[1, 0, 0])
    base.add_joint(name='base_y', type=joint.mjJNT_SLIDE, axis=[0, 1, 0])
    base.add_joint(name='base_yaw', type=joint.mjJNT_HINGE, axis=[0, 0, 1])
    ghost = {'contype': 0, 'conaffinity': 0}
    base.add_geom(name='base', type=geom.mjGEOM_CYLINDER, size=[BASE_RADIUS, 0.08, 0],
                  pos=[0, 0, 0.1], rgba=[0.15, 0.15, 0.18, 1], mass=20, **ghost)
    for side in (-1, 1):
        base.add_geom(name=f'wheel {side:+d}', type=geom.mjGEOM_CYLINDER, size=[0.06, 0.02, 0],
                      pos=[0, side * (BASE_RADIUS + 0.02), 0.06], euler=[math.pi / 2, 0, 0],
                      rgba=[0.05, 0.05, 0.05, 1], mass=1, **ghost)
    base.add_geom(name='mast', type=geom.mjGEOM_CYLINDER, size=[0.025, MAST_HEIGHT / 2 - 0.1, 0],
                  pos=[0.08, 0, MAST_HEIGHT / 2], rgba=[0.3, 0.3, 0.32, 1], mass=1, **ghost)
    head = base.add_body(name='head', pos=[0.08, 0, MAST_HEIGHT])
    head.add_joint(name='camera_pan', type=joint.mjJNT_HINGE, axis=[0, 0, 1],
                   range=[-2.6, 2.6], limited=mujoco.mjtLimited.mjLIMITED_TRUE, damping=0.5,
                   armature=0.05)   # a geared pan motor; also keeps the servo stable at 5 ms
    head.add_geom(name='head', type=geom.mjGEOM_BOX, size=[0.03, 0.06, 0.03],
                  rgba=[0.2, 0.2, 0.25, 1], mass=0.3, **ghost)
    head.add_camera(name=CAMERA, pos=[0.035, 0, 0], quat=list(camera_quat(CAMERA_PITCH)),
                    fovy=CAMERA_FOVY)
    base.add_site(name='gripper', pos=list(GRIPPER), size=[0.015, 0, 0],
                  rgba=[0.9, 0.6, 0.1, 1])
    base.add_geom(name='arm', type=geom.mjGEOM_CAPSULE,
                  fromto=[0.08, 0, 0.5, GRIPPER[0] - 0.03, 0, GRIPPER[2] - 0.04],
                  size=[0.015, 0, 0], rgba=[0.3, 0.3, 0.32, 1], mass=0.5, **ghost)
    actuator = spec.add_actuator(name='camera_pan', target='camera_pan')
    actuator.trntype = mujoco.mjtTrn.mjTRN_JOINT
    actuator.set_to_position(kp=8.0, kv=1.0)
