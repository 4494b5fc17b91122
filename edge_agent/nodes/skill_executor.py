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
The order, preemption and stops are ``core.execution.PlanCoordinator``'s; this node converts.
"""
from __future__ import annotations

import time

from rclpy.action import GoalResponse
from rclpy.callback_groups import MutuallyExclusiveCallbackGroup
from rclpy.lifecycle import Node as LifecycleNode
from rclpy.lifecycle import TransitionCallbackReturn
from std_msgs.msg import Bool, String

from edge_agent.action import ExecutePlan, Listen
from edge_agent.core.errors import EdgeAgentError
from edge_agent.core.execution import (
    CANCELED,
    PREEMPTED,
    REJECTED,
    STOPPED,
    SUCCEEDED,
    DryRunAdapter,
    Executor,
    PlanCoordinator,
    RobotStateTracker,
    RoutedAdapter,
)
from edge_agent.core.planning import SkillCatalog, Step, is_stop_plan
from edge_agent.msg import RobotState, Trace
from edge_agent.nodes.adapters import VoiceAdapter
from edge_agent.nodes.adapters.build import motion_adapter
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
from edge_agent.nodes.common.plans import steps_from_msg
from edge_agent.nodes.common.trace import TRACE_TOPIC, traced

__all__ = ['PARAMETERS', 'SkillExecutorNode', 'main']

PARAMETERS = [
    AUTOSTART_PARAM,
    Param('adapter', 'dry_run', 'How motion skills reach the robot: dry_run (nothing moves), '
          'nav2 (navigate_to as nav2_msgs/NavigateToPose goals, drive/turn as DriveOnHeading, '
          'BackUp and Spin; pick, place, look_at dry-run unless bound: bindings_file), sim (the '
          'simulator node: the base over cmd_vel/odom, the rest as sim/run_skill goals).',
          read_only=True, choices=('dry_run', 'nav2', 'sim')),
    Param('step_time_s', 0.2, 'Dry-run: time each motion step takes [s].', (0.0, 600.0)),
    Param('skills_file', '', "Skill catalog YAML with each skill's limits; empty = the "
          "package's config/skills.yaml.", read_only=True),
    Param('places_file', '', "Place poses for Nav2; empty = the package's config/places.yaml.",
          read_only=True),
    Param('nav2_action', 'navigate_to_pose', 'NavigateToPose action name of Nav2.',
          read_only=True),
    Param('nav2_drive_on_heading_action', 'drive_on_heading', "nav2: Nav2's DriveOnHeading "
          'behaviour (drive forward).', read_only=True),
    Param('nav2_backup_action', 'backup', "nav2: Nav2's BackUp behaviour (drive backward).",
          read_only=True),
    Param('nav2_spin_action', 'spin', "nav2: Nav2's Spin behaviour (turn).", read_only=True),
    Param('nav2_server_timeout_s', 5.0, 'Wait this long for the Nav2 (or simulator) action '
          'server [s].', (0.1, 120.0)),
    Param('nav2_behavior_tree', '', 'Behaviour tree for NavigateToPose goals; empty = '
          "Nav2's default.", read_only=True),
    Param('bindings_file', '', 'Skills bound to the robot\'s own actions and services (YAML, '
          'see config/bindings.example.yaml): each binding replaces the adapter for its skill; '
          'empty = none.', read_only=True),
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


class SkillExecutorNode(ReportsHealth, OwnedEntities, LifecycleNode):
    """Lifecycle skill executor node; see the module docstring."""

    def __init__(self, **kwargs) -> None:
        super().__init__('skill_executor', **kwargs)
        self._robot = RobotStateTracker()
        self._dry = DryRunAdapter()
        self._plans: PlanCoordinator | None = None   # order, preemption, stops (core)
        self._active = False
        self._accepted: dict[bytes, tuple] = {}  # plan -> (ticket, when, trace) until it runs
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
            motion = motion_adapter(self, param('adapter').value, catalog, self._dry)
        except EdgeAgentError as exc:
            return self.fail(f'configure failed: {exc}')
        say = self.own(self.create_lifecycle_publisher(String, 'agent/say', RELIABLE))
        voice = VoiceAdapter(say, self.action_client(Listen, 'speech/listen'),
                             lambda timeout: Listen.Goal(timeout=float(timeout)),
                             param('listen_timeout_s').value)
        adapter = RoutedAdapter(motion, {'say': voice, 'ask': voice})
        self._plans = PlanCoordinator(Executor(adapter, catalog, self._robot))
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
                          priority=lambda goal: is_stop_plan(goal.plan.steps))
        return super().on_configure(state)

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
        if self._plans is not None:
            message = self._plans.stop_everything()
            self.get_logger().debug(f'stop (the executor is deactivating): {message}')

    def on_cleanup(self, state) -> TransitionCallbackReturn:
        self._plans = None
        return super().on_cleanup(state)

    # -- stops and plans (core.execution.PlanCoordinator) --------------------------------------
    def _on_emergency_stop(self, msg: Bool) -> None:
        plans = self._plans
        if plans is None:
            return
        if not msg.data:
            if plans.release():
                self.get_logger().info('emergency stop released')
                self._publish_state()
            return
        message = plans.emergency_stop(bool(self.get_parameter('emergency_stop_latches').value))
        self.get_logger().warning(f'stop (emergency_stop): {message}')
        self._publish_state()

    def _on_accepted(self, goal_handle) -> None:
        """Number the plan in arrival order; a stop ends every plan accepted before it."""
        plans = self._plans
        self._accepted[bytes(goal_handle.goal_id.uuid)] = (
            plans.accept(goal_handle.request.plan.steps) if plans is not None else None,
            time.monotonic(), traced(goal_handle.request.plan.trace, 'goal accepted',
                                     self.get_clock().now().to_msg()))
        self._plans_in.received()
        goal_handle.execute()

    def _execute(self, goal_handle):
        ticket, accepted, trace = self._accepted.pop(bytes(goal_handle.goal_id.uuid),
                                                     (None, 0.0, None))
        traces = [trace]   # published once: at the first step, or with the refusal
        plans = self._plans
        if plans is None or ticket is None or not self._active:
            if plans is not None and ticket is not None:
                plans.order.release(ticket)
            return self._end(goal_handle, REJECTED, 'the skill executor is not active', traces)
        try:
            steps = steps_from_msg(goal_handle.request.plan)
        except ValueError as exc:
            plans.order.release(ticket)
            return self._end(goal_handle, REJECTED, f'malformed plan: {exc}', traces)
        feedback = ExecutePlan.Feedback(step_count=len(steps),
                                        adapter=plans.executor.adapter.name)

        def on_step(index: int, step: Step) -> None:
            if index == 0:
                self._plans_in.processed(time.monotonic() - accepted)
                self._end_trace(traces, 'first step')
            self._publish_state()
            feedback.step_index = index
            feedback.current_step = goal_handle.request.plan.steps[index]
            feedback.status = step.describe()
            goal_handle.publish_feedback(feedback)
            self.get_logger().info(f'[{feedback.adapter}] step {index}: {step.describe()}')

        end = plans.execute(ticket, steps, lambda: goal_handle.is_cancel_requested, on_step)
        self._publish_state()
        if end.outcome not in (SUCCEEDED, REJECTED, STOPPED, PREEMPTED, CANCELED):
            self.get_logger().warning(f'plan {end.outcome}: {end.message}')
        return self._end(goal_handle, end.outcome, end.message, traces, end.steps_done,
                         end.answers)

    def _end(self, goal_handle, outcome: str, message: str, traces, steps_done: int = 0,
             answers=()):
        if outcome == REJECTED:
            self._plans_in.dropped()
            self._end_trace(traces, 'rejected')
        result = ExecutePlan.Result(success=outcome == SUCCEEDED, outcome=outcome,
                                    message=message, steps_done=steps_done,
                                    answers=list(answers), state=self._state_msg())
        if outcome == SUCCEEDED:
            goal_handle.succeed()
        elif outcome == CANCELED and goal_handle.is_cancel_requested:
            goal_handle.canceled()
        else:
            goal_handle.abort()
        return result

    def _end_trace(self, traces: list, stage: str) -> None:
        """Publish the plan's trace on agent/trace, ended by ``stage`` (once per plan)."""
        trace, traces[:] = traces[0], [None]
        if trace is not None and self._active:
            self._trace_pub.publish(traced(trace, stage, self.get_clock().now().to_msg()))

    # -- robot/state and diagnostics -----------------------------------------------------------
    def _status(self) -> tuple[str, bool, str]:
        """(the skill running, whether the emergency stop holds, the adapter's name)."""
        plans = self._plans
        if plans is None:
            return '', False, ''
        return plans.running, plans.estop, plans.executor.adapter.name

    def health_report(self):
        running, estop, adapter = self._status()
        extra = {'adapter': adapter or '-', 'running': running or '-', 'emergency_stop': estop}
        if self._plans is not None and self._plans.last_stop_s is not None:
            extra['last_emergency_stop_s'] = round(self._plans.last_stop_s, 4)
        return self.health.report(ok_message=f'running {running}' if running else 'idle',
                                  extra=extra,
                                  warnings=['emergency stop engaged'] if estop else ())

    def _state_msg(self) -> RobotState:
        snapshot = self._robot.snapshot()
        running, estop, adapter = self._status()
        msg = RobotState(location=snapshot.location, held_object=snapshot.held,
                         busy=bool(running), current_skill=running, emergency_stop=estop,
                         adapter=adapter)
        msg.header.stamp = self.get_clock().now().to_msg()
        return msg

    def _publish_state(self) -> None:
        if self._active:
            self._state_pub.publish(self._state_msg())


def main(args=None) -> int:
    """Run the skill executor; it configures and activates itself."""
    return run(SkillExecutorNode, args, lifecycle=True)
