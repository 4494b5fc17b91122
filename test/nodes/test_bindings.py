"""Skills bound to the robot's own interfaces by a YAML file, over real DDS: the skill executor
node with a bindings file, and stand-in servers whose interfaces are not ours (other packages,
other field names and types): a grasp action (played by nav2_msgs/NavigateToPose: a string,
a nested float64, a uint16 error code), a pan-tilt service (diagnostic_msgs/AddDiagnostics: a
string in, a bool and a message out) and a drive service (nav_msgs/GetPlan: a float32 in, no
success field). The servers stand in for a robot's drivers (no arm or pan-tilt here); the
executor, its adapter and the interfaces are the real ones. Bad bindings fail configure with
one error naming every problem."""
from __future__ import annotations

import threading
import time

from action_msgs.msg import GoalStatus
import pytest
from rclpy.action import ActionServer, CancelResponse
from rclpy.callback_groups import ReentrantCallbackGroup
from rclpy.lifecycle import TransitionCallbackReturn
from rclpy.node import Node
from rclpy.parameter import Parameter
from ros_helpers import wait_for, wait_future

from edge_agent.action import ExecutePlan
from edge_agent.core.config.schema import BindingFile, load_yaml
from edge_agent.core.planning import Plan, Step
from edge_agent.msg import Detection, DetectionArray
from edge_agent.nodes.common import RELIABLE
from edge_agent.nodes.common.plans import plan_to_msg
from edge_agent.nodes.skill_executor import SkillExecutorNode

nav2 = pytest.importorskip('nav2_msgs.action', reason='scripts/setup.sh builds the stand-in')

BINDINGS = """
schema_version: 1
bindings:
  pick:
    action: arm/grasp
    type: nav2_msgs/action/NavigateToPose
    fields:
      behavior_tree: "{object.colour} {object.label}"
      pose.pose.position.x: "{object.box.center_x}"
      pose.pose.position.y: "{object.box.width}"
      pose.header.frame_id: camera
    success: {field: error_code, equals: 0}
    message: error_msg
    timeout_s: 2.0
  look_at:
    service: pan_tilt/point_at
    type: diagnostic_msgs/srv/AddDiagnostics
    fields: {load_namespace: "{target}"}
    success: {field: success, equals: true}
    message: message
  drive:
    service: base/drive
    type: nav_msgs/srv/GetPlan
    fields:
      tolerance: "{meters}"
      goal.header.frame_id: "{meters} m ahead"
"""


class Robot(Node):
    """The robot's own drivers: a grasp action, a pan-tilt service, a drive service."""

    def __init__(self, context, namespace: str) -> None:
        from diagnostic_msgs.srv import AddDiagnostics
        from nav_msgs.srv import GetPlan

        super().__init__('robot_drivers', namespace=namespace, context=context)
        group = ReentrantCallbackGroup()
        self.grasps: list = []
        self.points: list[str] = []
        self.drives: list = []
        self.cancelled = threading.Event()
        ActionServer(self, nav2.NavigateToPose, 'arm/grasp', self._grasp, callback_group=group,
                     cancel_callback=lambda _g: CancelResponse.ACCEPT)
        self.create_service(AddDiagnostics, 'pan_tilt/point_at', self._point,
                            callback_group=group)
        self.create_service(GetPlan, 'base/drive', self._drive, callback_group=group)

    def _grasp(self, goal_handle):
        goal = goal_handle.request
        self.grasps.append(goal)
        result = nav2.NavigateToPose.Result()
        if goal.behavior_tree == 'green ball':   # a grasp that never ends
            while not goal_handle.is_cancel_requested:
                time.sleep(0.02)
            self.cancelled.set()
            goal_handle.canceled()
            return result
        if goal.behavior_tree == 'blue box':     # the gripper reports a failure
            result.error_code, result.error_msg = 9001, 'gripper jammed'
        goal_handle.succeed()
        return result

    def _point(self, request, response):
        self.points.append(request.load_namespace)
        response.success = request.load_namespace != 'shelf'
        response.message = 'out of range' if not response.success else 'pointed'
        return response

    def _drive(self, request, response):
        self.drives.append((request.tolerance, request.goal.header.frame_id))
        return response


def executor_node(ros_context, namespace: str, bindings: str, tmp_path, **params):
    path = tmp_path / 'bindings.yaml'
    path.write_text(bindings)
    overrides = [Parameter(k, value=v) for k, v in {
        'step_time_s': 0.05, 'bindings_file': str(path), **params}.items()]
    return SkillExecutorNode(context=ros_context, namespace=namespace,
                             parameter_overrides=overrides)


def run(client, *steps):
    handle = wait_future(client.send_goal_async(ExecutePlan.Goal(
        plan=plan_to_msg(Plan('test', [Step(skill, args) for skill, args in steps])))))
    assert handle.accepted
    return wait_future(handle.get_result_async(), timeout=30, message='the plan result')


def test_bound_skills_reach_the_robots_own_action_and_services(ros_context, executor,
                                                              tmp_path):
    from rclpy.action import ActionClient

    node = executor.activate(executor_node(ros_context, '/bound', BINDINGS, tmp_path))
    robot = executor.add(Robot(ros_context, '/bound'))
    probe = executor.add(Node('probe', namespace='/bound', context=ros_context))
    camera = probe.create_publisher(DetectionArray, 'vision/detections', RELIABLE)
    client = ActionClient(probe, ExecutePlan, 'executor/execute_plan')
    wait_for(client.server_is_ready, message='executor/execute_plan')
    wait_for(lambda: camera.get_subscription_count() > 0, message='the detections subscription')
    frame = DetectionArray(image_width=640, image_height=480, detections=[
        Detection(label='cup', color_name='red', score=0.9, x_min=100.0, y_min=50.0,
                  x_max=140.0, y_max=90.0),
        Detection(label='box', color_name='blue', score=0.8, x_min=300.0, y_min=60.0,
                  x_max=380.0, y_max=120.0),
        Detection(label='ball', color_name='green', score=0.7, x_min=10.0, y_min=10.0,
                  x_max=20.0, y_max=20.0)])
    camera.publish(frame)
    wait_for(lambda: node.get_parameter('bindings_file').value and _seen(node), timeout=10,
             message='the frame at the executor')

    # pick -> the grasp action, its fields filled from the object and its newest box
    done = run(client, ('pick', {'object': 'red cup'}))
    assert done.result.outcome == 'succeeded', done.result.message
    goal = robot.grasps[-1]
    assert goal.behavior_tree == 'red cup' and goal.pose.header.frame_id == 'camera'
    assert (goal.pose.pose.position.x, goal.pose.pose.position.y) == (120.0, 40.0)
    assert done.result.state.held_object == 'red cup'

    # a result that means failure, with the robot's own message
    done = run(client, ('place', {'object': 'red cup', 'location': 'table'}),
               ('pick', {'object': 'blue box'}))
    assert done.result.outcome == 'failed'
    assert 'error_code' not in done.result.message and 'gripper jammed' in done.result.message

    # a grasp that never ends: the binding's timeout cancels it, the step fails saying so
    began = time.monotonic()
    done = run(client, ('pick', {'object': 'green ball'}))
    assert done.result.outcome == 'failed' and 'no result within 2 s' in done.result.message
    assert robot.cancelled.wait(10) and time.monotonic() - began < 15

    # an object with no recent box: the step fails before anything is sent
    sent = len(robot.grasps)
    done = run(client, ('pick', {'object': 'yellow cup'}))
    assert 'no recent detection of the yellow cup' in done.result.message
    assert len(robot.grasps) == sent

    # look_at -> the pan-tilt service; success read from the response
    done = run(client, ('look_at', {'target': 'kitchen'}))
    assert done.result.outcome == 'succeeded' and robot.points == ['kitchen']
    done = run(client, ('look_at', {'target': 'shelf'}))
    assert done.result.outcome == 'failed' and '(out of range)' in done.result.message

    # drive -> a service without a success field: answered = done; a number fills a float32
    done = run(client, ('drive', {'meters': 1.5}))
    assert done.result.outcome == 'succeeded'
    assert robot.drives == [(1.5, '1.5 m ahead')]

    # skills without a binding keep the configured adapter (dry run)
    done = run(client, ('navigate_to', {'location': 'kitchen'}))
    assert done.result.outcome == 'succeeded' and done.status == GoalStatus.STATUS_SUCCEEDED


def _seen(node) -> bool:
    from edge_agent.nodes.adapters.bound import BoundAdapter

    adapter = node._plans.executor.adapter
    bound = [a for a in adapter.default.routes.values() if isinstance(a, BoundAdapter)]
    return bool(bound) and bound[0].detections.box('red cup') is not None


def test_a_bad_binding_fails_configure_naming_every_problem(ros_context, executor, tmp_path):
    bad = """
schema_version: 1
bindings:
  pick:
    action: arm/grasp
    type: nav2_msgs/action/NavigateToPose
    fields:
      pose.pose.position.z_axis: "{object.box.center_x}"
      behavior_tree: "{meters}"
      pose.pose.position.x: "{object.label}"
      pose.pose.position.y: fast
    success: {field: ok, equals: true}
  look_at:
    service: pan_tilt/point_at
    type: vendor_msgs/srv/PointAt
  teleport:
    service: base/teleport
    type: std_srvs/srv/Trigger
"""
    node = executor.add(executor_node(ros_context, '/bad_bound', bad, tmp_path))
    assert node.trigger_configure() == TransitionCallbackReturn.FAILURE
    reason = node.failure_reason
    for expected in (
            "has no field 'pose.pose.position.z_axis' (did you mean",
            '{meters} is not an argument of pick (it has object)',
            'pose.pose.position.x: a double field needs a number, not text',
            "pose.pose.position.y: 'fast' is not a double",
            "success: the result has no field 'ok'",
            "the interface package 'vendor_msgs' is not installed",
            "no skill 'teleport' in the catalog"):
        assert expected in reason, reason
    assert not getattr(node, '_owned', [])


def test_the_documented_example_is_a_valid_bindings_file():
    from edge_agent.core.config.paths import data_file

    example = load_yaml(data_file('config/bindings.example.yaml'), BindingFile, 'bindings')
    assert set(example.bindings) == {'pick', 'look_at'}
