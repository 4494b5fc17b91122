"""The skill executor node over real DDS: plans with per-step feedback, robot/state, the
emergency stop (latched, measured), stop plans and preemption, bad plans, limits, the voice
steps, and the Nav2 adapter against a stand-in NavigateToPose server.

nav2_msgs is not installable here (no PyPI wheel): scripts/setup.sh builds a stand-in
interface package with the same NavigateToPose definition (test/fakes/nav2_msgs), and the
stand-in *server* below plays Nav2's part with that interface. The adapter under test is the
one a real robot uses.
"""
from __future__ import annotations

import math
import threading
import time

from action_msgs.msg import GoalStatus
import pytest
from rclpy.action import ActionClient, ActionServer, CancelResponse
from rclpy.callback_groups import ReentrantCallbackGroup
from rclpy.node import Node
from rclpy.parameter import Parameter
from ros_helpers import wait_for, wait_future
from std_msgs.msg import Bool, String

from edge_agent.action import ExecutePlan
from edge_agent.core.planning import Plan, Step
from edge_agent.msg import PlanStep, RobotState, SkillArgument
from edge_agent.nodes.common import LATCHED, RELIABLE
from edge_agent.nodes.common.plans import plan_to_msg
from edge_agent.nodes.skill_executor import SkillExecutorNode


def plan(*steps):
    return plan_to_msg(Plan('test', [Step(skill, args) for skill, args in steps]))


GO_PICK = plan(('navigate_to', {'location': 'kitchen'}), ('pick', {'object': 'red cup'}))
GO_FAR = plan(('navigate_to', {'location': 'kitchen'}), ('navigate_to', {'location': 'office'}))


class Rig:
    """A skill executor in its own namespace and a probe node that talks to it."""

    def __init__(self, ros_context, executor, namespace: str, **params) -> None:
        overrides = [Parameter(k, value=v) for k, v in {'step_time_s': 0.05, **params}.items()]
        self.node = executor.activate(SkillExecutorNode(
            context=ros_context, namespace=namespace, parameter_overrides=overrides))
        self.probe = executor.add(Node('probe', namespace=namespace, context=ros_context))
        self.states: list[RobotState] = []
        self.said: list[str] = []
        self.probe.create_subscription(RobotState, 'robot/state', self.states.append, LATCHED)
        self.probe.create_subscription(String, 'agent/say', lambda m: self.said.append(m.data),
                                       RELIABLE)
        self.estop = self.probe.create_publisher(Bool, 'emergency_stop', RELIABLE)
        self.client = ActionClient(self.probe, ExecutePlan, 'executor/execute_plan')
        wait_for(self.client.server_is_ready, message='executor/execute_plan')
        wait_for(lambda: self.estop.get_subscription_count() > 0,
                 message='the emergency_stop subscription')

    def send(self, msg, feedback=None):
        handle = wait_future(self.client.send_goal_async(
            ExecutePlan.Goal(plan=msg),
            feedback_callback=(lambda f: feedback.append(f.feedback))
            if feedback is not None else None))
        assert handle.accepted
        return handle

    def run(self, msg, feedback=None):
        return wait_future(self.send(msg, feedback).get_result_async(), message='the result')


def test_a_plan_runs_step_by_step_and_robot_state_follows(ros_context, executor):
    rig = Rig(ros_context, executor, '/ex_plan')
    feedback = []
    done = rig.run(GO_PICK, feedback)
    assert done.status == GoalStatus.STATUS_SUCCEEDED and done.result.outcome == 'succeeded'
    assert done.result.steps_done == 2
    assert [f.current_step.skill for f in feedback] == ['navigate_to', 'pick']
    assert {f.adapter for f in feedback} == {'dry_run+voice'}
    assert (done.result.state.location, done.result.state.held_object) == ('kitchen', 'red cup')
    wait_for(lambda: rig.states and rig.states[-1].held_object == 'red cup'
             and not rig.states[-1].busy, message='robot/state after the plan')
    # a second pick with a full gripper fails before anything moves, with the reason
    again = rig.run(plan(('pick', {'object': 'blue cup'})))
    assert again.status == GoalStatus.STATUS_ABORTED and again.result.outcome == 'failed'
    assert 'already holding the red cup' in again.result.message


def test_emergency_stop_ends_the_running_plan_latches_and_releases(ros_context, executor):
    rig = Rig(ros_context, executor, '/ex_estop', step_time_s=600.0)
    feedback = []
    handle = rig.send(GO_FAR, feedback)
    wait_for(lambda: feedback, message='the first step to start')
    sent = time.monotonic()
    rig.estop.publish(Bool(data=True))
    ended = wait_future(handle.get_result_async(), message='the stopped plan')
    latency = time.monotonic() - sent
    assert ended.status == GoalStatus.STATUS_ABORTED and ended.result.outcome == 'stopped'
    assert ended.result.steps_done == 0
    print(f'emergency_stop -> plan ended at the client: {latency * 1000:.1f} ms')
    wait_for(lambda: rig.states and rig.states[-1].emergency_stop, message='latched state')
    refused = rig.run(GO_PICK)
    assert refused.result.outcome == 'rejected' and 'emergency stop engaged' in \
        refused.result.message
    # a stop plan still runs while the emergency stop holds
    assert rig.run(plan(('stop', {}))).result.success
    rig.estop.publish(Bool(data=False))
    wait_for(lambda: not rig.states[-1].emergency_stop, message='the release')
    rig.node.set_parameters([Parameter('step_time_s', value=0.01)])
    assert rig.run(GO_PICK).result.success


def test_a_stop_plan_ends_every_plan_and_a_newer_plan_preempts(ros_context, executor):
    rig = Rig(ros_context, executor, '/ex_stop', step_time_s=600.0)
    first_fb, second_fb = [], []
    first = rig.send(GO_FAR, first_fb)
    wait_for(lambda: first_fb, message='the first plan to start')
    second = rig.send(GO_FAR, second_fb)
    preempted = wait_future(first.get_result_async(), message='the preempted plan')
    assert preempted.result.outcome == 'preempted'
    wait_for(lambda: second_fb, message='the newer plan to start')
    stop = rig.run(plan(('stop', {})))
    assert stop.result.success
    stopped = wait_future(second.get_result_async(), message='the stopped plan')
    assert stopped.result.outcome == 'stopped'
    # a client's cancel is a cancel
    third_fb = []
    third = rig.send(GO_FAR, third_fb)
    wait_for(lambda: third_fb, message='the third plan to start')
    wait_future(third.cancel_goal_async())
    assert wait_future(third.get_result_async()).status == GoalStatus.STATUS_CANCELED


def test_bad_plans_are_refused_with_the_reason_and_the_node_keeps_serving(ros_context,
                                                                         executor):
    rig = Rig(ros_context, executor, '/ex_bad')
    unknown = plan(('fly', {}))
    assert 'step 0 (fly): unknown skill' in rig.run(unknown).result.message
    assert rig.run(plan()).result.message == 'the plan has no steps'
    bad_type = plan(('navigate_to', {'location': 'kitchen'}))
    bad_type.steps[0].arguments[0].type = 9
    result = rig.run(bad_type).result
    assert result.outcome == 'rejected' and 'unknown type 9' in result.message
    huge = rig.run(plan(*[('wait', {'seconds': 0})] * 500)).result
    assert huge.outcome == 'rejected' and huge.message == 'the plan has 500 steps; at most 8'
    forever = rig.run(plan(('wait', {'seconds': float('inf')}))).result
    assert forever.outcome == 'rejected' and \
        'seconds must be a finite number, not inf' in forever.message
    wrong = rig.run(plan(('pick', {'location': 'kitchen'}))).result
    assert "arguments ['location'] but the skill takes ['object']" in wrong.message
    assert rig.run(GO_PICK).result.success


def test_say_speaks_through_agent_say_and_an_unanswerable_ask_fails(ros_context, executor):
    rig = Rig(ros_context, executor, '/ex_voice', listen_timeout_s=1.0)
    said = rig.run(plan(('say', {'text': 'Hello there'})))
    assert said.result.success
    wait_for(lambda: rig.said == ['Hello there'], message='agent/say')
    asked = rig.run(plan(('ask', {'question': 'Which cup?'})))
    assert not asked.result.success and 'no speech/listen server' in asked.result.message
    assert 'Which cup?' in rig.said


class StandInNav2(Node):
    """Plays Nav2's part with the NavigateToPose interface: feedback while "driving", then
    succeeds, or aborts with an error code; records goals and cancels."""

    def __init__(self, context, namespace: str, drive_s: float = 0.2,
                 abort: bool = False) -> None:
        from nav2_msgs.action import NavigateToPose

        super().__init__('stand_in_nav2', namespace=namespace, context=context)
        self.action = NavigateToPose
        self.drive_s, self.abort = drive_s, abort
        self.goals, self.cancelled = [], threading.Event()
        self.server = ActionServer(self, NavigateToPose, 'navigate_to_pose', self._execute,
                                   callback_group=ReentrantCallbackGroup(),
                                   cancel_callback=lambda _g: CancelResponse.ACCEPT)

    def _execute(self, goal_handle):
        self.goals.append(goal_handle.request)
        ends = time.monotonic() + self.drive_s
        while time.monotonic() < ends:
            if goal_handle.is_cancel_requested:
                self.cancelled.set()
                goal_handle.canceled()
                return self.action.Result()
            feedback = self.action.Feedback(distance_remaining=float(ends - time.monotonic()))
            goal_handle.publish_feedback(feedback)
            time.sleep(0.02)
        if self.abort:
            goal_handle.abort()
            return self.action.Result(error_code=9002, error_msg='no transform map -> odom')
        goal_handle.succeed()
        return self.action.Result()


def test_nav2_adapter_sends_place_poses_and_reports_nav2_outcomes(ros_context, executor):
    pytest.importorskip('nav2_msgs.action', reason='scripts/setup.sh builds the stand-in')
    from edge_agent.nodes.adapters import load_places

    nav2 = executor.add(StandInNav2(ros_context, '/ex_nav2'))
    rig = Rig(ros_context, executor, '/ex_nav2', adapter='nav2')
    done = rig.run(GO_PICK)
    assert done.result.success, done.result.message
    pose = load_places().places['kitchen']
    goal = nav2.goals[0]
    assert goal.pose.header.frame_id == 'map'
    assert (goal.pose.pose.position.x, goal.pose.pose.position.y) == (pose.x, pose.y)
    assert math.isclose(2 * math.atan2(goal.pose.pose.orientation.z,
                                       goal.pose.pose.orientation.w), pose.yaw, abs_tol=1e-6)
    assert len(nav2.goals) == 1   # pick is not Nav2's job: dry run

    nav2.drive_s = 600.0          # an emergency stop cancels the Nav2 goal itself
    feedback = []
    handle = rig.send(GO_FAR, feedback)
    wait_for(lambda: len(nav2.goals) == 2, message='the second Nav2 goal')
    rig.estop.publish(Bool(data=True))
    assert wait_future(handle.get_result_async()).result.outcome == 'stopped'
    assert nav2.cancelled.wait(10), 'Nav2 never saw the cancel'
    rig.estop.publish(Bool(data=False))
    wait_for(lambda: rig.states and not rig.states[-1].emergency_stop, message='the release')

    nav2.drive_s, nav2.abort = 0.05, True
    failed = rig.run(plan(('navigate_to', {'location': 'office'}))).result
    assert failed.outcome == 'failed'
    assert 'aborted (error 9002: no transform map -> odom)' in failed.message


class StandInBehaviours(Node):
    """Plays Nav2's behaviour servers (DriveOnHeading, BackUp, Spin): records each goal and
    succeeds, or (``hold``) runs until cancelled."""

    def __init__(self, context, namespace: str) -> None:
        from nav2_msgs.action import BackUp, DriveOnHeading, Spin

        super().__init__('stand_in_behaviours', namespace=namespace, context=context)
        self.goals: list[tuple[str, object]] = []
        self.hold, self.cancelled = False, threading.Event()
        for action, name in ((DriveOnHeading, 'drive_on_heading'), (BackUp, 'backup'),
                             (Spin, 'spin')):
            ActionServer(self, action, name, self._serve(name, action),
                         callback_group=ReentrantCallbackGroup(),
                         cancel_callback=lambda _g: CancelResponse.ACCEPT)

    def _serve(self, name, action):
        def execute(goal_handle):
            self.goals.append((name, goal_handle.request))
            while self.hold:
                if goal_handle.is_cancel_requested:
                    self.cancelled.set()
                    goal_handle.canceled()
                    return action.Result()
                time.sleep(0.02)
            goal_handle.succeed()
            return action.Result()
        return execute


def test_nav2_behaviours_drive_turn_come_back_and_a_stop_cancels_them(ros_context, executor):
    pytest.importorskip('nav2_msgs.action', reason='scripts/setup.sh builds the stand-in')
    nav2 = executor.add(StandInBehaviours(ros_context, '/ex_moves'))
    executor.add(StandInNav2(ros_context, '/ex_moves'))
    rig = Rig(ros_context, executor, '/ex_moves', adapter='nav2')
    done = rig.run(plan(('drive', {'meters': 1.5}), ('turn', {'degrees': -90}),
                        ('drive', {'meters': -0.5}), ('come_back', {}))).result
    assert done.outcome == 'succeeded', done.message
    sent = [(name, round(g.target.x, 3) if name != 'spin' else round(math.degrees(
        g.target_yaw), 1)) for name, g in nav2.goals]
    # forward 1.5, right 90, back 0.5; then undone in reverse: forward 0.5, left 90, back 1.5
    assert sent == [('drive_on_heading', 1.5), ('spin', -90.0), ('backup', 0.5),
                    ('drive_on_heading', 0.5), ('spin', 90.0), ('backup', 1.5)]
    first = nav2.goals[0][1]
    assert math.isclose(first.speed, 0.3, abs_tol=1e-6)          # the catalog's speed
    assert first.time_allowance.sec == math.ceil(2 * 1.5 / 0.3 + 10)

    # come_back across a navigate_to is refused, naming why
    failed = rig.run(plan(('navigate_to', {'location': 'kitchen'}), ('drive', {'meters': 1}),
                          ('come_back', {}))).result
    assert failed.outcome == 'failed' and 'cannot come back across a navigate_to' in \
        failed.message

    # a stop ends a running behaviour at once
    nav2.hold = True
    handle = rig.send(plan(('drive', {'meters': 4})))
    wait_for(lambda: nav2.goals[-1][0] == 'drive_on_heading' and nav2.goals[-1][1].target.x
             == 4.0, message='the long drive')
    rig.estop.publish(Bool(data=True))
    assert wait_future(handle.get_result_async()).result.outcome == 'stopped'
    assert nav2.cancelled.wait(10), 'the behaviour never saw the cancel'


def test_nav2_adapter_without_a_server_fails_with_the_fix(ros_context, executor):
    pytest.importorskip('nav2_msgs.action', reason='scripts/setup.sh builds the stand-in')
    rig = Rig(ros_context, executor, '/ex_nonav', adapter='nav2', nav2_server_timeout_s=0.5)
    failed = rig.run(plan(('navigate_to', {'location': 'office'}))).result
    assert failed.outcome == 'failed' and 'is Nav2 running?' in failed.message


def test_plan_messages_round_trip_through_core_steps():
    from edge_agent.nodes.common.plans import steps_from_msg

    steps = [Step('wait', {'seconds': 2.5}), Step('wait', {'seconds': 3}),
             Step('say', {'text': 'hi'})]
    msg = plan_to_msg(Plan('x', steps))
    assert steps_from_msg(msg) == steps
    msg.steps.append(PlanStep(skill='say', arguments=[SkillArgument(name='text', type=7)]))
    with pytest.raises(ValueError, match='unknown type 7'):
        steps_from_msg(msg)
