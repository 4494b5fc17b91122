"""Skill executor node: runs plan steps on the robot through adapters; a stop always wins.

Serves ``executor/execute_plan`` (edge_agent/ExecutePlan): the planner sends each validated
plan here. Steps run one at a time through ``core.execution.Executor`` (the catalog's limits
and the robot state are checked before any adapter moves) and the adapter the ``adapter``
parameter picks: ``dry_run`` (nothing moves; each step takes ``step_time_s``), ``nav2``
(``navigate_to`` as nav2_msgs/NavigateToPose goals with poses from the places file, the other
motion skills dry-run) or ``sim`` (the simulated robot: ``navigate_to`` over ``cmd_vel`` and
``odom`` with poses from the world layout, ``look_at``/``pick``/``place`` as
``sim/run_skill`` goals to the simulator node). ``say``/``ask`` always go to the robot's
voice (``agent/say``, then ``speech/listen`` for an answer).

A newer plan preempts the running one (which ends first: two plans never drive at once). A
stop plan, or ``true`` on ``emergency_stop`` (std_msgs/Bool, reliable), ends every running
plan at once and stops every adapter; with ``emergency_stop_latches`` the emergency stop
then refuses plans (with that reason) until ``false`` is published. ``robot/state``
(latched) says where the robot is, what it holds, what runs, and whether the stop holds.

Plans are numbered when the server accepts them (in the order their requests arrived), not when
their thread starts: a stop accepted after a plan ends that plan even if its thread has not
started yet, and a plan accepted before a stop never runs after it.
"""
from __future__ import annotations

import math
import threading
import time

from rclpy.action import GoalResponse
from rclpy.callback_groups import MutuallyExclusiveCallbackGroup
from rclpy.lifecycle import Node as LifecycleNode
from rclpy.lifecycle import TransitionCallbackReturn
from std_msgs.msg import Bool, String

from edge_agent.action import ExecutePlan, Listen
from edge_agent.core.errors import EdgeAgentError
from edge_agent.core.execution import (
    DryRunAdapter,
    Executor,
    RobotStateTracker,
    RoutedAdapter,
)
from edge_agent.core.planning import SkillCatalog, Step
from edge_agent.msg import RobotState, Trace
from edge_agent.nodes.adapters import Nav2Adapter, VoiceAdapter, load_places
from edge_agent.nodes.adapters.nav2 import navigate_to_pose_type
from edge_agent.nodes.adapters.sim import SimAdapter
from edge_agent.nodes.common import (
    AUTOSTART_PARAM,
    LATCHED,
    RELIABLE,
    OwnedEntities,
    Param,
    ReportsHealth,
    declare,
    run,
)
from edge_agent.nodes.common.goals import goal_parameters
from edge_agent.nodes.common.plans import step_to_msg, steps_from_msg
from edge_agent.nodes.common.trace import TRACE_TOPIC, traced

__all__ = ['PARAMETERS', 'SkillExecutorNode', 'main']

PARAMETERS = [
    AUTOSTART_PARAM,
    Param('adapter', 'dry_run', 'How motion skills reach the robot: dry_run (nothing moves), '
          'nav2 (navigate_to as nav2_msgs/NavigateToPose goals; pick, place, look_at dry-run), '
          'sim (the simulator node: navigate_to over cmd_vel/odom, the rest as sim/run_skill '
          'goals).', read_only=True, choices=('dry_run', 'nav2', 'sim')),
    Param('step_time_s', 0.2, 'Dry-run: time each motion step takes [s].', (0.0, 600.0)),
    Param('skills_file', '', "Skill catalog YAML with each skill's limits; empty = the "
          "package's config/skills.yaml.", read_only=True),
    Param('places_file', '', "Place poses for Nav2; empty = the package's config/places.yaml.",
          read_only=True),
    Param('nav2_action', 'navigate_to_pose', 'NavigateToPose action name of Nav2.',
          read_only=True),
    Param('nav2_server_timeout_s', 5.0, 'Wait this long for the Nav2 (or simulator) action '
          'server [s].', (0.1, 120.0)),
    Param('nav2_behavior_tree', '', 'Behaviour tree for NavigateToPose goals; empty = '
          "Nav2's default.", read_only=True),
    Param('world_file', '', "sim: world layout YAML with the place poses; empty = the "
          "package's config/sim/world.yaml.", read_only=True),
    Param('sim_rate_hz', 20.0, 'sim: cmd_vel rate of the navigate_to controller [Hz].',
          (1.0, 100.0), read_only=True),
    Param('listen_timeout_s', 8.0, 'An ask step waits this long for the answer [s].',
          (1.0, 120.0)),
    Param('emergency_stop_latches', True, 'After true on emergency_stop, refuse plans until '
          'false is published (false: the stop only ends what runs).'),
    *goal_parameters(8),
]


def _is_stop_plan(plan) -> bool:
    return [s.skill for s in plan.steps] == ['stop']


class SkillExecutorNode(ReportsHealth, OwnedEntities, LifecycleNode):
    """Lifecycle skill executor node; see the module docstring."""

    def __init__(self, **kwargs) -> None:
        super().__init__('skill_executor', **kwargs)
        self._robot = RobotStateTracker()
        self._dry = DryRunAdapter()
        self._executor: Executor | None = None
        self._active = False
        self._latest = 0          # sequence number of the newest plan: older ones are preempted
        self._stops = 0           # bumped by every stop: plans running then end at once
        self._estop = False       # a latched emergency stop holds
        self._running = ''        # the skill running now
        self._motion = threading.Lock()   # held while a plan runs: one plan drives at a time
        self._count = threading.Lock()
        # goal -> (sequence, stops then, when accepted: monotonic, and its trace)
        self._accepted: dict[bytes, tuple[int, int, float, object]] = {}
        self.stop_latencies: list[float] = []   # stop message -> every plan ended [s]
        self._traces: dict[bytes, object] = {}  # running plan -> its trace, until it ends
        declare(self, PARAMETERS, apply=self._apply)
        self._apply([self.get_parameter('step_time_s')])
        self.watch_health('edge_agent: skill executor', 'robot')
        # plans in; latency: plan accepted -> its first step started; dropped: refused
        # (inactive, malformed, outside the skills' limits, emergency stop held)
        self._plans_in = self.health.input('executor/execute_plan')

    def _apply(self, params) -> None:
        for p in params:
            if p.name == 'step_time_s':
                self._dry.step_time_s = p.value

    # -- lifecycle ----------------------------------------------------------------------------
    def on_configure(self, state) -> TransitionCallbackReturn:
        param = self.get_parameter
        try:
            catalog = SkillCatalog(param('skills_file').value or None)
            motion = self._motion_adapter(param('adapter').value)
        except EdgeAgentError as exc:
            return self.fail(f'configure failed: {exc}')
        say = self.own(self.create_lifecycle_publisher(String, 'agent/say', RELIABLE))
        voice = VoiceAdapter(say, self.action_client(Listen, 'speech/listen'),
                             lambda timeout: Listen.Goal(timeout=float(timeout)),
                             param('listen_timeout_s').value)
        adapter = RoutedAdapter(motion, {'say': voice, 'ask': voice})
        self._executor = Executor(adapter, catalog, self._robot)
        self._state_pub = self.own(self.create_lifecycle_publisher(
            RobotState, 'robot/state', LATCHED,
            event_callbacks=self.publisher_events('robot/state')))
        self.own_diagnostics()
        self._trace_pub = self.own(self.create_lifecycle_publisher(Trace, TRACE_TOPIC, RELIABLE))
        self.own(self.create_subscription(Bool, 'emergency_stop', self._on_emergency_stop,
                                          RELIABLE,
                                          callback_group=MutuallyExclusiveCallbackGroup()))
        self.serve_action(ExecutePlan, 'executor/execute_plan', self._execute,
                          goal_callback=lambda _goal: self._accepting(),
                          handle_accepted_callback=self._on_accepted,
                          priority=lambda goal: _is_stop_plan(goal.plan))
        return super().on_configure(state)

    def _motion_adapter(self, kind: str):
        if kind == 'dry_run':
            return self._dry
        if kind == 'sim':
            return RoutedAdapter(self._dry, dict.fromkeys(SimAdapter.skills, self._sim_adapter()))
        action_type = navigate_to_pose_type()
        name = self.get_parameter('nav2_action').value
        nav2 = Nav2Adapter(self, self.action_client(action_type, name), action_type, name,
                           load_places(self.get_parameter('places_file').value or None),
                           self.get_parameter('nav2_server_timeout_s').value,
                           self.get_parameter('nav2_behavior_tree').value,
                           on_status=lambda text: self.get_logger().debug(text))
        return RoutedAdapter(self._dry, {'navigate_to': nav2})

    def _sim_adapter(self) -> SimAdapter:
        from geometry_msgs.msg import Twist
        from nav_msgs.msg import Odometry

        from edge_agent.action import RunSkill
        from edge_agent.sim.world import load_layout

        layout = load_layout(self.get_parameter('world_file').value or None)
        cmd_vel = self.own(self.create_lifecycle_publisher(Twist, 'cmd_vel', RELIABLE))
        pose: list = [None]

        def on_odom(msg) -> None:
            q = msg.pose.pose.orientation
            yaw = math.atan2(2 * (q.w * q.z + q.x * q.y), 1 - 2 * (q.y * q.y + q.z * q.z))
            pose[0] = (msg.pose.pose.position.x, msg.pose.pose.position.y, yaw)

        def send(forward: float, turn: float) -> None:
            if cmd_vel.is_activated:
                twist = Twist()
                twist.linear.x, twist.angular.z = float(forward), float(turn)
                cmd_vel.publish(twist)

        self.own(self.create_subscription(Odometry, 'odom', on_odom, RELIABLE,
                                          callback_group=MutuallyExclusiveCallbackGroup()))
        return SimAdapter(layout.places, send, lambda: pose[0],
                          self.action_client(RunSkill, 'sim/run_skill'), RunSkill.Goal,
                          step_to_msg, self.get_parameter('nav2_server_timeout_s').value,
                          self.get_parameter('sim_rate_hz').value,
                          on_status=lambda text: self.get_logger().debug(text))

    def _accepting(self):
        return GoalResponse.ACCEPT if self._active else GoalResponse.REJECT

    def _start_work(self) -> None:
        self._active = True

    def on_activate(self, state) -> TransitionCallbackReturn:
        result = super().on_activate(state)   # the publishers are active from here on
        self._publish_state()
        return result

    def _stop_work(self) -> None:
        if not self._active:
            # stopped already (deactivate or shutdown; destroy_node calls this again, after
            # shutdown released the publishers the adapters would stop through)
            return
        self._active = False
        self._stop_everything('the executor is deactivating', quiet=True)

    def on_cleanup(self, state) -> TransitionCallbackReturn:
        self._executor = None
        return super().on_cleanup(state)

    # -- stops --------------------------------------------------------------------------------
    def _stop_everything(self, why: str, quiet: bool = False) -> None:
        """End every running plan now and stop every adapter (a stop step to each)."""
        with self._count:
            self._stops += 1
        executor = self._executor
        if executor is not None:
            _ok, message = executor.adapter.run(Step('stop', {}), lambda: False)
            log = self.get_logger()
            (log.debug if quiet else log.warning)(f'stop ({why}): {message}')

    def _on_emergency_stop(self, msg: Bool) -> None:
        if not msg.data:
            if self._estop:
                self._estop = False
                self.get_logger().info('emergency stop released')
                self._publish_state()
            return
        began = time.monotonic()
        self._estop = bool(self.get_parameter('emergency_stop_latches').value)
        self._stop_everything('emergency_stop')
        # Every plan that ran has ended once it releases the motion lock.
        if self._motion.acquire(timeout=10.0):
            self._motion.release()
            self.stop_latencies.append(time.monotonic() - began)
        self._publish_state()

    # -- plans --------------------------------------------------------------------------------
    def _on_accepted(self, goal_handle) -> None:
        """Number the plan in arrival order; a stop ends every plan accepted before it."""
        with self._count:
            self._latest += 1
            if _is_stop_plan(goal_handle.request.plan):
                self._stops += 1
            self._accepted[bytes(goal_handle.goal_id.uuid)] = (
                self._latest, self._stops, time.monotonic(),
                traced(goal_handle.request.plan.trace, 'goal accepted',
                       self.get_clock().now().to_msg()))
        self._plans_in.received()
        goal_handle.execute()

    def _execute(self, goal_handle):
        with self._count:
            sequence, stops, accepted, trace = self._accepted.pop(
                bytes(goal_handle.goal_id.uuid),
                (-1, -1, time.monotonic(), goal_handle.request.plan.trace))
        self._traces[bytes(goal_handle.goal_id.uuid)] = trace   # see _end_trace
        executor = self._executor
        try:
            steps = steps_from_msg(goal_handle.request.plan)
        except ValueError as exc:
            return self._end(goal_handle, 'rejected', f'malformed plan: {exc}')
        if executor is None or not self._active:
            return self._end(goal_handle, 'rejected', 'the skill executor is not active')
        refused = executor.check_plan(steps)
        if refused is not None:
            return self._end(goal_handle, 'rejected', refused)
        is_stop = [s.skill for s in steps] == ['stop']
        if is_stop:
            self._stop_everything('stop plan')
            stops = self._stops
        elif self._estop:
            return self._end(goal_handle, 'rejected', 'emergency stop engaged: publish false '
                             'on emergency_stop to release it')
        elif stops != self._stops:
            return self._end(goal_handle, 'stopped', 'stopped before it began')
        if not self._motion.acquire(timeout=30.0):
            return self._end(goal_handle, 'failed', 'the previous plan did not end within 30 s')
        try:
            if sequence != self._latest and not is_stop:
                return self._end(goal_handle, 'preempted', 'preempted by a newer plan')
            return self._run(goal_handle, executor, steps, sequence, stops, accepted)
        finally:
            self._running = ''
            self._motion.release()
            self._publish_state()

    def _run(self, goal_handle, executor: Executor, steps: list[Step], sequence: int,
             stops: int, accepted: float):
        feedback = ExecutePlan.Feedback(step_count=len(steps), adapter=executor.adapter.name)
        plan_steps = goal_handle.request.plan.steps

        def on_step(index: int, step: Step) -> None:
            if index == 0:
                self._plans_in.processed(time.monotonic() - accepted)
                self._end_trace(goal_handle, 'first step')
            self._running = step.skill
            self._publish_state()
            feedback.step_index, feedback.current_step = index, plan_steps[index]
            feedback.status = step.describe()
            goal_handle.publish_feedback(feedback)
            self.get_logger().info(f'[{executor.adapter.name}] step {index}: {step.describe()}')

        outcome = executor.run(
            steps, cancelled=lambda: goal_handle.is_cancel_requested or self._stops != stops,
            preempted=lambda: sequence != self._latest, on_step=on_step)
        done = sum(1 for o in outcome.steps if o.success)
        if outcome.outcome == 'canceled' and not goal_handle.is_cancel_requested:
            return self._end(goal_handle, 'stopped', 'stopped', done)
        if not outcome.success:
            self.get_logger().warning(f'plan {outcome.outcome}: {outcome.message}')
        return self._end(goal_handle, outcome.outcome, outcome.message, done)

    def _end(self, goal_handle, outcome: str, message: str, steps_done: int = 0):
        if outcome == 'rejected':
            self._plans_in.dropped()
            self._end_trace(goal_handle, 'rejected')
        self._traces.pop(bytes(goal_handle.goal_id.uuid), None)
        result = ExecutePlan.Result(success=outcome == 'succeeded', outcome=outcome,
                                    message=message, steps_done=steps_done,
                                    state=self._state_msg())
        if outcome == 'succeeded':
            goal_handle.succeed()
        elif outcome == 'canceled' and goal_handle.is_cancel_requested:
            goal_handle.canceled()
        else:
            goal_handle.abort()
        return result

    def _end_trace(self, goal_handle, stage: str) -> None:
        """Publish the plan's trace on agent/trace, ended by ``stage`` (once per plan: its
        first step, or its refusal)."""
        trace = self._traces.pop(bytes(goal_handle.goal_id.uuid), None)
        publisher = getattr(self, '_trace_pub', None)
        if trace is not None and publisher is not None and self._active:
            publisher.publish(traced(trace, stage, self.get_clock().now().to_msg()))

    # -- robot/state and diagnostics -----------------------------------------------------------
    def health_report(self):
        executor = self._executor
        return self.health.report(
            ok_message=f'running {self._running}' if self._running else 'idle',
            extra={'adapter': executor.adapter.name if executor is not None else '-',
                   'running': self._running or '-', 'emergency_stop': self._estop},
            warnings=['emergency stop engaged'] if self._estop else ())

    def _state_msg(self) -> RobotState:
        snapshot = self._robot.snapshot()
        executor = self._executor
        msg = RobotState(location=snapshot.location, held_object=snapshot.held,
                         busy=bool(self._running), current_skill=self._running,
                         emergency_stop=self._estop,
                         adapter=executor.adapter.name if executor is not None else '')
        msg.header.stamp = self.get_clock().now().to_msg()
        return msg

    def _publish_state(self) -> None:
        publisher = getattr(self, '_state_pub', None)
        if publisher is not None and self._active:
            publisher.publish(self._state_msg())


def main(args=None) -> int:
    """Run the skill executor; it configures and activates itself."""
    return run(SkillExecutorNode, args, lifecycle=True)
