"""The simulator node and the skill executor's sim adapter over real DDS, with real MuJoCo
physics and OSMesa rendering: the camera stream, odom, /clock, cmd_vel, ground truth, and plans
that drive the simulated robot to a place and pick the object a phrase names.
"""
from __future__ import annotations

import math

from action_msgs.msg import GoalStatus
from geometry_msgs.msg import Twist
from nav_msgs.msg import Odometry
import pytest
from rclpy.action import ActionClient
from rclpy.node import Node
from rclpy.parameter import Parameter
from ros_helpers import wait_for, wait_future
from rosgraph_msgs.msg import Clock
from sensor_msgs.msg import CameraInfo, Image

from edge_agent.action import ExecutePlan, RunSkill
from edge_agent.core.planning import Plan, Step
from edge_agent.msg import SimState
from edge_agent.nodes.common import LATCHED, RELIABLE, SENSOR
from edge_agent.nodes.common.plans import plan_to_msg, step_to_msg
from edge_agent.nodes.skill_executor import SkillExecutorNode
from edge_agent.sim.node import SimulatorNode


class SimRig:
    """The simulator node, a skill executor with the sim adapter and a probe, in a namespace
    (the simulator's /clock is global: this test's nodes use wall time)."""

    def __init__(self, ros_context, executor, namespace: str, executor_node=True, **params):
        overrides = [Parameter(k, value=v) for k, v in
                     {'width': 320, 'height': 240, 'real_time_factor': 2.0, **params}.items()]
        self.sim = executor.add(SimulatorNode(context=ros_context, namespace=namespace,
                                              parameter_overrides=overrides))
        if executor_node:
            self.executor = executor.activate(SkillExecutorNode(
                context=ros_context, namespace=namespace, parameter_overrides=[
                    Parameter('adapter', value='sim')]))
        self.probe = executor.add(Node('probe', namespace=namespace, context=ros_context))
        self.images, self.infos, self.odom, self.states, self.clock = [], [], [], [], []
        sub = self.probe.create_subscription
        sub(Image, 'camera/image_raw', self.images.append, SENSOR)
        sub(CameraInfo, 'camera/camera_info', self.infos.append, SENSOR)
        sub(Odometry, 'odom', self.odom.append, RELIABLE)
        sub(SimState, 'sim/ground_truth', self.states.append, LATCHED)
        sub(Clock, '/clock', self.clock.append, 10)
        self.cmd_vel = self.probe.create_publisher(Twist, 'cmd_vel', RELIABLE)
        self.plans = ActionClient(self.probe, ExecutePlan, 'executor/execute_plan')
        self.skills = ActionClient(self.probe, RunSkill, 'sim/run_skill')

    def truth(self) -> SimState:
        wait_for(lambda: self.states, message='sim/ground_truth')
        return self.states[-1]

    def run(self, *steps):
        wait_for(self.plans.server_is_ready, message='executor/execute_plan')
        plan = plan_to_msg(Plan('test', [Step(skill, args) for skill, args in steps]))
        handle = wait_future(self.plans.send_goal_async(ExecutePlan.Goal(plan=plan)))
        assert handle.accepted
        return wait_future(handle.get_result_async(), timeout=120.0, message='the plan')


def _positions(state: SimState) -> dict:
    return {o.name: (o.x, o.y, o.z) for o in state.objects}


def test_streams_clock_and_cmd_vel(ros_context, executor):
    rig = SimRig(ros_context, executor, '/sim_streams', executor_node=False)
    wait_for(lambda: len(rig.images) >= 3 and rig.infos and len(rig.odom) >= 3
             and len(rig.clock) >= 10, message='camera, camera_info, odom and /clock')
    image = rig.images[-1]
    assert (image.width, image.height, image.encoding) == (320, 240, 'rgb8')
    assert len(image.data) == 320 * 240 * 3 and len(set(bytes(image.data[::97]))) > 10
    info = rig.infos[-1]
    assert (info.width, info.height) == (320, 240) and info.k[0] > 0 and info.k[2] == 160
    assert rig.odom[-1].header.frame_id == 'odom' and rig.odom[-1].child_frame_id == 'base_link'
    stamps = [c.clock.sec + c.clock.nanosec * 1e-9 for c in rig.clock]
    assert stamps == sorted(stamps) and stamps[-1] > stamps[0]
    start = rig.truth()
    assert (start.x, start.y) == pytest.approx((0.6, 0.0), abs=1e-6)   # the living room
    # driving forward on cmd_vel moves the base along its heading; without cmd_vel it stops
    twist = Twist()
    twist.linear.x = 0.3

    def driven() -> bool:
        rig.cmd_vel.publish(twist)   # a base driver wants cmd_vel all the time
        return rig.states[-1].x > start.x + 0.1

    wait_for(driven, interval=0.05, message='the base to drive forward')
    assert abs(rig.states[-1].y) < 1e-3
    at = len(rig.states)
    wait_for(lambda: len(rig.states) > at + 5, message='more ground truth')
    still = rig.states[-1].x
    wait_for(lambda: len(rig.states) > at + 10, message='more ground truth')
    assert rig.states[-1].x == pytest.approx(still, abs=1e-3)   # cmd_vel timeout stopped it


def test_a_plan_drives_to_the_kitchen_and_picks_the_named_cup(ros_context, executor):
    rig = SimRig(ros_context, executor, '/sim_plan')
    before = _positions(rig.truth())
    # out of reach from the living room: the pick fails with the distance, nothing moves
    far = rig.run(('pick', {'object': 'red cup'}))
    assert far.status == GoalStatus.STATUS_ABORTED and 'out of reach' in far.result.message
    done = rig.run(('navigate_to', {'location': 'kitchen'}),
                   ('pick', {'object': 'green cup on the right'}))
    assert done.status == GoalStatus.STATUS_SUCCEEDED, done.result.message
    assert done.result.state.held_object == 'green cup on the right'
    wait_for(lambda: rig.states[-1].held == 'green_cup_r', message='the right green cup held')
    state = rig.states[-1]
    assert math.hypot(state.x - 1.1, state.y) < 0.06 and abs(state.yaw) < 0.06   # at kitchen
    after = _positions(state)
    moved = {n for n in before if math.dist(before[n], after[n]) > 0.01}
    assert moved == {'green_cup_r'}
    # carried to the office and put down on the floor there
    done = rig.run(('navigate_to', {'location': 'office'}),
                   ('place', {'object': 'green cup on the right', 'location': 'office'}))
    assert done.status == GoalStatus.STATUS_SUCCEEDED, done.result.message
    wait_for(lambda: rig.states[-1].held == '' and next(
        o for o in rig.states[-1].objects if o.name == 'green_cup_r').y < -1.0,
        message='the cup put down in the office')


def test_skill_goals_that_cannot_run_say_why(ros_context, executor):
    rig = SimRig(ros_context, executor, '/sim_bad', executor_node=False)
    wait_for(rig.skills.server_is_ready, message='sim/run_skill')

    def run(skill, **args):
        goal = RunSkill.Goal(step=step_to_msg(Step(skill, args)))
        handle = wait_future(rig.skills.send_goal_async(goal))
        return wait_future(handle.get_result_async()).result

    assert 'no purple cup' in run('pick', object='purple cup').message
    assert 'holds nothing' in run('place', object='red cup', location='kitchen').message
    assert 'does not run' in run('navigate_to', location='kitchen').message
    looked = run('look_at', target='yellow ball')
    assert looked.success, looked.message
    wait_for(lambda: rig.states[-1].pan > 0.5, message='the camera turned left to the counter')
    # nothing of that moved an object
    assert all(not o.held for o in rig.truth().objects)
