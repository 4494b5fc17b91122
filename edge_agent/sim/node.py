"""Simulator node (``sim``): the MuJoCo home and robot over the same ROS interface as a robot.

Steps the physics (``sim.engine.Simulator``) in its own thread at ``real_time_factor`` times
wall-clock speed (0 = as fast as it goes) and publishes ``/clock`` (rosgraph_msgs/Clock; run
the graph with ``use_sim_time``), ``camera/image_raw`` (rgb8) and ``camera/camera_info`` at
``camera_rate_hz``, ``odom`` (nav_msgs/Odometry, frame ``odom`` -> ``base_link``),
``joint_states`` (the camera pan) and, where tf2_msgs is installed (any ROS 2 distro; not on
PyPI), ``/tf``. It accepts ``cmd_vel`` (geometry_msgs/Twist; the base stops when none came
for ``cmd_vel_timeout_s``, as real base drivers do) and serves ``sim/run_skill``
(edge_agent/RunSkill) for the steps the skill executor's ``sim`` adapter does not drive itself:
``look_at`` (pan joint), ``pick`` and ``place`` (reach-checked attach). ``sim/ground_truth``
(edge_agent/SimState, latched, ``state_rate_hz``) is for tests and tools: object poses, what
is held, where the robot is, the measured real-time factor. ``/diagnostics``: real-time factor,
step and render times.
"""
from __future__ import annotations

import collections
import dataclasses
import math
import threading
import time

import numpy as np
from rclpy.action import ActionServer, CancelResponse, GoalResponse
from rclpy.callback_groups import MutuallyExclusiveCallbackGroup, ReentrantCallbackGroup
from rclpy.node import Node
from rclpy.time import Time

from edge_agent.action import RunSkill
from edge_agent.core.errors import EdgeAgentError
from edge_agent.core.observability.health import ERROR
from edge_agent.nodes.common import (
    LATCHED,
    RELIABLE,
    SENSOR,
    Param,
    ReportsHealth,
    declare,
    diagnostic_array,
    run,
)
from edge_agent.nodes.common.lifecycle import destroy_waitables
from edge_agent.nodes.common.plans import step_from_msg
from edge_agent.sim.engine import Simulator
from edge_agent.sim.loop import PhysicsLoop, run_skill
from edge_agent.sim.world import load_layout

__all__ = ['PARAMETERS', 'SimulatorNode', 'main']

PARAMETERS = [
    Param('world_file', '', "World layout YAML (rooms, furniture, objects, place poses); empty = "
          "the package's config/sim/world.yaml.", read_only=True),
    Param('camera_rate_hz', 5.0, 'Camera frames per simulated second.', (0.1, 60.0)),
    Param('width', 640, 'Camera image width [px].', (64, 1920), read_only=True),
    Param('height', 480, 'Camera image height [px].', (48, 1080), read_only=True),
    Param('real_time_factor', 1.0, 'Target simulated seconds per wall-clock second; 0 = as '
          'fast as the machine steps and renders.', (0.0, 50.0)),
    Param('odom_rate_hz', 30.0, 'odom, joint_states and /tf rate [Hz of simulated time].',
          (1.0, 200.0)),
    Param('clock_rate_hz', 100.0, '/clock rate [Hz of simulated time].', (10.0, 1000.0)),
    Param('state_rate_hz', 5.0, 'sim/ground_truth rate [Hz of simulated time].', (0.5, 50.0)),
    Param('cmd_vel_timeout_s', 0.5, 'Stop the base when no cmd_vel came for this long '
          '[simulated s].', (0.05, 10.0)),
    Param('manipulation_time_s', 1.0, 'Simulated time a pick or place takes [s].', (0.0, 10.0)),
    Param('reach_m', 0.9, 'Farthest object the gripper reaches ahead of the base centre [m].',
          (0.2, 3.0), read_only=True),
    Param('odom_frame', 'odom', 'Frame of odom and of the ground truth.', read_only=True),
    Param('base_frame', 'base_link', 'Frame of the robot base.', read_only=True),
    Param('camera_frame', 'camera_optical_frame', 'Frame of the camera images.',
          read_only=True),
]


def _stamp(seconds: float):
    return Time(nanoseconds=int(round(seconds * 1e9))).to_msg()


def _quat_z(yaw: float) -> tuple[float, float, float, float]:
    return 0.0, 0.0, math.sin(yaw / 2), math.cos(yaw / 2)


class SimulatorNode(ReportsHealth, Node):
    """See the module docstring."""

    def __init__(self, **kwargs) -> None:
        super().__init__('sim', **kwargs)
        from geometry_msgs.msg import Twist
        from nav_msgs.msg import Odometry
        from rosgraph_msgs.msg import Clock
        from sensor_msgs.msg import CameraInfo, Image, JointState

        from edge_agent.msg import SimState

        declare(self, PARAMETERS, apply=self._apply)
        # the physics thread reads them every step: kept here, updated when a set succeeds
        self._param = {p.name: self.get_parameter(p.name).value for p in PARAMETERS}
        param = self._param
        self.layout = load_layout(param['world_file'] or None)
        self.sim = Simulator(self.layout, param['width'], param['height'], param['reach_m'])
        self._clock_pub = self.create_publisher(Clock, '/clock', 10)
        self._image_pub = self.create_publisher(Image, 'camera/image_raw', SENSOR)
        self._info_pub = self.create_publisher(CameraInfo, 'camera/camera_info', SENSOR)
        self._odom_pub = self.create_publisher(Odometry, 'odom', RELIABLE)
        self._joints_pub = self.create_publisher(JointState, 'joint_states', RELIABLE)
        self._state_pub = self.create_publisher(SimState, 'sim/ground_truth', LATCHED)
        self._tf_pub = None
        try:
            from tf2_msgs.msg import TFMessage

            self._tf_pub = self.create_publisher(TFMessage, '/tf', RELIABLE)
        except ImportError:
            self.get_logger().info('tf2_msgs is not installed (PyPI has no wheel): no /tf; '
                                   'odom carries the pose')
        from diagnostic_msgs.msg import DiagnosticArray

        self._diag_pub = self.create_publisher(DiagnosticArray, '/diagnostics', RELIABLE)
        self.watch_health(f'{self.get_name()}: simulator', 'mujoco')
        # velocity commands and skill goals in; a skill's latency is its whole run
        self._cmd_in = self.health.input('cmd_vel')
        self._skills_in = self.health.input('sim/run_skill')
        self.create_subscription(Twist, 'cmd_vel', self._on_cmd_vel, RELIABLE,
                                 callback_group=MutuallyExclusiveCallbackGroup(),
                                 event_callbacks=self.subscription_events('cmd_vel',
                                                                          self._cmd_in))
        ActionServer(self, RunSkill, 'sim/run_skill', self._run_skill,
                     goal_callback=lambda _g: GoalResponse.ACCEPT,
                     cancel_callback=lambda _g: CancelResponse.ACCEPT,
                     callback_group=ReentrantCallbackGroup())
        self._stats = {'step_ms': 0.0, 'render_ms': 0.0, 'frames': 0, 'rtf': 0.0}
        self._errors: collections.deque[str] = collections.deque(maxlen=5)   # the newest
        self._info = self._camera_info(CameraInfo)
        self._physics = PhysicsLoop(self.sim, self._param, self._publish, self._stats,
                                    self._physics_error)
        self._thread = threading.Thread(target=self._physics.run, name='sim', daemon=True)
        self._thread.start()
        self._diag_timer = self.create_timer(1.0, self._publish_diagnostics)
        pose = self.sim.pose()
        self.get_logger().info(
            f'simulated home from {self.layout.source}: {len(self.layout.objects)} objects, '
            f'{len(self.layout.places)} places; robot at {self.layout.start} '
            f'({pose.x:.2f}, {pose.y:.2f})')

    def _apply(self, params) -> None:
        self._param.update({p.name: p.value for p in params})

    # -- inputs -------------------------------------------------------------------------------
    def _on_cmd_vel(self, msg) -> None:
        self._cmd_in.received()
        self.sim.set_velocity(msg.linear.x, msg.angular.z)
        self._physics.commanded()

    def _run_skill(self, handle):
        self._skills_in.received()
        began = time.monotonic()
        result = RunSkill.Result()
        try:
            step = step_from_msg(handle.request.step)
        except ValueError as exc:
            result.message = f'sim: {exc}'
            self._skills_in.dropped()
            handle.abort()
            return result
        interrupted = lambda: handle.is_cancel_requested or not self._physics.running  # noqa: E731
        try:
            ok, message = run_skill(
                self.sim, step, interrupted,
                lambda text: handle.publish_feedback(RunSkill.Feedback(status=text)),
                self._param['manipulation_time_s'])
        except EdgeAgentError as exc:   # SimError: out of reach, nothing held, ...
            ok, message = False, f'sim: {exc}'
        result.success, result.message = ok, message
        self._skills_in.processed(time.monotonic() - began)
        if handle.is_cancel_requested:
            handle.canceled()
        elif ok:
            handle.succeed()
        else:
            handle.abort()
        return result

    def _physics_error(self, exc: Exception) -> None:
        self._errors.append(f'physics thread: {exc}')
        self.get_logger().error(f'physics thread: {exc}')

    def _publish(self, kind: str, now: float) -> None:
        stamp = _stamp(now)
        if kind == 'clock':
            from rosgraph_msgs.msg import Clock

            self._clock_pub.publish(Clock(clock=stamp))
        elif kind == 'odom':
            self._publish_odom(stamp)
        elif kind == 'camera':
            began = time.perf_counter()
            rgb = self.sim.render()
            self._stats['render_ms'] = 0.9 * self._stats['render_ms'] + 0.1 * (
                (time.perf_counter() - began) * 1e3)
            self._stats['frames'] += 1
            self._publish_image(rgb, stamp)
        elif kind == 'state':
            self._publish_state(stamp)

    def _publish_image(self, rgb: np.ndarray, stamp) -> None:
        from sensor_msgs.msg import Image

        height, width = rgb.shape[:2]
        msg = Image(height=height, width=width, encoding='rgb8', is_bigendian=0,
                    step=width * 3)
        msg.header.stamp = stamp
        msg.header.frame_id = self._param['camera_frame']
        msg.data = rgb.tobytes()
        self._image_pub.publish(msg)
        self._info.header = msg.header
        self._info_pub.publish(self._info)

    def _camera_info(self, camera_info_type):
        width, height = self.sim.width, self.sim.height
        fovy = math.radians(self.sim.model.cam_fovy[self.sim.model.camera('head_camera').id])
        focal = height / 2 / math.tan(fovy / 2)
        info = camera_info_type(width=width, height=height, distortion_model='plumb_bob')
        info.d = [0.0] * 5
        info.k = [focal, 0.0, width / 2, 0.0, focal, height / 2, 0.0, 0.0, 1.0]
        info.r = [1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0]
        info.p = [focal, 0.0, width / 2, 0.0, 0.0, focal, height / 2, 0.0, 0.0, 0.0, 1.0, 0.0]
        return info

    def _publish_odom(self, stamp) -> None:
        from nav_msgs.msg import Odometry
        from sensor_msgs.msg import JointState

        pose = self.sim.pose()
        linear, angular = self.sim.velocity()
        odom = Odometry()
        odom.header.stamp = stamp
        odom.header.frame_id = self._param['odom_frame']
        odom.child_frame_id = self._param['base_frame']
        odom.pose.pose.position.x, odom.pose.pose.position.y = pose.x, pose.y
        q = _quat_z(pose.yaw)
        o = odom.pose.pose.orientation
        o.x, o.y, o.z, o.w = q
        odom.twist.twist.linear.x, odom.twist.twist.angular.z = linear, angular
        self._odom_pub.publish(odom)
        joints = JointState(name=['camera_pan'], position=[self.sim.pan()])
        joints.header.stamp = stamp
        self._joints_pub.publish(joints)
        if self._tf_pub is not None:
            from geometry_msgs.msg import TransformStamped
            from tf2_msgs.msg import TFMessage

            tf = TransformStamped()
            tf.header = odom.header
            tf.child_frame_id = odom.child_frame_id
            tf.transform.translation.x, tf.transform.translation.y = pose.x, pose.y
            r = tf.transform.rotation
            r.x, r.y, r.z, r.w = q
            self._tf_pub.publish(TFMessage(transforms=[tf]))

    def _publish_state(self, stamp) -> None:
        from edge_agent.msg import SimObject, SimState

        state = self.sim.state()
        msg = SimState(x=state.robot.x, y=state.robot.y, yaw=state.robot.yaw, pan=state.pan,
                       held=state.held, real_time_factor=float(self._stats['rtf']))
        msg.header.stamp = stamp
        msg.header.frame_id = self._param['odom_frame']
        msg.objects = [SimObject(name=o.name, label=o.label, colour=o.colour,
                                 x=o.position[0], y=o.position[1], z=o.position[2],
                                 held=o.held) for o in state.objects]
        self._state_pub.publish(msg)

    def _publish_diagnostics(self) -> None:
        stats = self._stats
        target = self._param['real_time_factor']
        slow = target > 0 and stats['rtf'] < 0.8 * target
        report = self.health.report(
            ok_message=f'real-time factor {stats["rtf"]:.2f}',
            extra={'real_time_factor': f'{stats["rtf"]:.3f}', 'step_ms': f'{stats["step_ms"]:.3f}',
                   'render_ms': f'{stats["render_ms"]:.1f}', 'frames': stats['frames'],
                   'sim_time_s': f'{self.sim.time:.2f}'},
            warnings=[f'real-time factor {stats["rtf"]:.2f}, below the target {target:g} '
                      '(rendering or stepping too slow)'] if slow else ())
        if self._errors:   # the physics diverged: an error, not a warning
            report = dataclasses.replace(report, level=ERROR, message=self._errors[-1])
            self._errors.clear()
        self._diag_pub.publish(diagnostic_array(self, f'{self.get_name()}: simulator', 'mujoco',
                                                report))

    def destroy_node(self):
        physics = getattr(self, '_physics', None)   # None when construction failed before it
        if physics is not None:
            physics.running = False
        thread = getattr(self, '_thread', None)   # None when construction failed before it
        if thread is not None and thread.is_alive():
            thread.join(timeout=5)
        destroy_waitables(self)   # sim/run_skill (each keeps the rcl node alive otherwise)
        if getattr(self, 'sim', None) is not None:
            self.sim.close()
        return super().destroy_node()


def main(args=None) -> int:
    return run(SimulatorNode, args)
