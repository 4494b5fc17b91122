"""Planner node: serves ``agent/execute_command``, publishes ``agent/plan``.

A lifecycle node: parameters are declared at construction, publishers and the action server
are made in ``on_configure``, the tier's model is loaded in ``on_activate`` and freed in
``on_deactivate``. The world state comes from ``vision/detections`` (colour + label) and the
skill executor's ``robot/state`` (what is held, where the robot is), the tier from
``system/model_tier`` (or the ``tier`` parameter). Planning logic lives in
``edge_agent.core.planning``. The validated plan goes to the skill executor's
``executor/execute_plan``, whose per-step feedback is relayed; a new goal preempts the running
one, cancelling a goal cancels its plan on the executor, a stop wins there.
"""
from __future__ import annotations

import dataclasses
import threading

from rclpy.action import GoalResponse
from rclpy.lifecycle import Node as LifecycleNode
from rclpy.lifecycle import TransitionCallbackReturn

from edge_agent.action import ExecuteCommand, ExecutePlan
from edge_agent.core.config.tiers import TierCatalog
from edge_agent.core.errors import EdgeAgentError
from edge_agent.core.models import ModelCatalog
from edge_agent.core.planning import Planner, SeenObject, SkillCatalog, WorldMemory, build_backend
from edge_agent.core.planning.backends import ServerBackend
from edge_agent.msg import DetectionArray, RobotState
from edge_agent.msg import Plan as PlanMsg
from edge_agent.nodes.common import (
    LATCHED,
    RELIABLE,
    SENSOR,
    ModelNode,
    Param,
    declare,
    run,
    tier_parameters,
)
from edge_agent.nodes.common.futures import wait_future
from edge_agent.nodes.common.plans import plan_to_msg

__all__ = ['PARAMETERS', 'PlannerNode', 'main', 'plan_to_msg']


PARAMETERS = [
    *tier_parameters(initial=0),
    Param('server_url', '', 'OpenAI-compatible server tried first (llama.cpp server, vLLM), e.g. '
          'http://edge-server:8080; empty = on-device only.'),
    Param('server_timeout_s', 10.0, 'Give up on the server after this long and plan on-device '
          '[s].', (0.1, 600.0)),
    Param('skills_file', '', "Skill catalog YAML; empty = the package's config/skills.yaml.",
          read_only=True),
    Param('n_threads', 0, 'CPU threads for llama.cpp; 0 = all cores.', (0, 256), read_only=True),
    Param('detection_min_score', 0.4, 'Detections below this score are not in the world state '
          '[0..1].', (0.0, 1.0)),
    Param('detection_max_age_s', 5.0, 'Forget detections older than this [s].', (0.0, 3600.0)),
    Param('executor_timeout_s', 5.0, 'Wait this long for the skill executor '
          '(executor/execute_plan) before the command fails [s].', (0.1, 120.0)),
]


class PlannerNode(ModelNode, LifecycleNode):
    """Lifecycle planner node; see the module docstring."""

    def __init__(self, **kwargs) -> None:
        super().__init__('planner', **kwargs)
        self.init_tiers()
        self._memory = WorldMemory()
        self._robot = RobotState()   # the skill executor's last word on held object and place
        self._skills: SkillCatalog | None = None
        self._models: ModelCatalog | None = None
        self._active_goal = 0
        declare(self, PARAMETERS, self.check_tier, apply=self._apply)
        self._apply([self.get_parameter(name) for name in (
            'detection_min_score', 'detection_max_age_s')])

    # -- parameters ---------------------------------------------------------------------------
    def _apply(self, params) -> None:
        for p in params:
            if p.name == 'tier':
                self.tier_changed(p.value)
            elif p.name in ('server_url', 'server_timeout_s') and self.engines.engine is not None:
                threading.Thread(target=self.switch_tier, args=(self.engines.key,),
                                 kwargs={'force': True}, daemon=True).start()
            elif p.name == 'detection_min_score':
                self._memory.min_score = p.value
            elif p.name == 'detection_max_age_s':
                self._memory.max_age_s = p.value

    # -- lifecycle ----------------------------------------------------------------------------
    def on_configure(self, state) -> TransitionCallbackReturn:
        try:
            self._skills = SkillCatalog(self.get_parameter('skills_file').value or None)
            self._models = ModelCatalog()
            self._tiers = TierCatalog(known_models=set(self._models.models))
        except EdgeAgentError as exc:
            return self.fail(f'configure failed: {exc}')
        self._plan_pub = self.own(self.create_lifecycle_publisher(PlanMsg, 'agent/plan',
                                                                  RELIABLE))
        self.own(self.create_subscription(DetectionArray, 'vision/detections',
                                          self._on_detections, SENSOR))
        self.own(self.create_subscription(RobotState, 'robot/state', self._on_robot_state,
                                          LATCHED))
        self._plans = self.action_client(ExecutePlan, 'executor/execute_plan')
        self.own(self.follow_tiers())
        self.serve_action(ExecuteCommand, 'agent/execute_command', self._execute,
                          goal_callback=self._on_goal, handle_accepted_callback=self._on_accepted)
        return super().on_configure(state)

    def _stop_work(self) -> None:
        self._active_goal += 1  # running goals end (preempted) instead of acting while inactive

    # -- world state and tiers ----------------------------------------------------------------
    def _on_robot_state(self, msg: RobotState) -> None:
        self._robot = msg

    def _world(self):
        return dataclasses.replace(self._memory.world(self._skills),
                                   held=self._robot.held_object.strip().lower(),
                                   location=self._robot.location.strip().lower())

    def _on_detections(self, msg: DetectionArray) -> None:
        self._memory.observe(SeenObject(d.label, d.score, d.color_name) for d in msg.detections)

    def _load_tier(self, index: int) -> Planner:
        chain = []
        if self.get_parameter('server_url').value:
            chain.append(ServerBackend('server', self._skills,
                                       self.get_parameter('server_url').value,
                                       timeout_s=self.get_parameter('server_timeout_s').value))
        threads = self.get_parameter('n_threads').value or None
        try:
            chain.append(build_backend(index, self._skills, self._tiers, self._models, threads))
        except (EdgeAgentError, RuntimeError, ValueError) as exc:
            self._tier_error(f'planner tier {index} model unavailable ({exc}); using rules')
        return Planner(self._skills, chain)

    def _describe(self, planner: Planner) -> str:
        return 'backends ' + ', '.join(b.name for b in planner.backends)

    # -- the action ---------------------------------------------------------------------------
    def _on_goal(self, goal) -> GoalResponse:
        if self.engines.engine is None:
            self.get_logger().warning('goal rejected: the planner is not active')
            return GoalResponse.REJECT
        return GoalResponse.ACCEPT

    def _on_accepted(self, goal_handle) -> None:
        self._active_goal += 1  # any running goal sees this and stops (preemption)
        goal_handle.execute()

    def _execute(self, goal_handle):
        token = self._active_goal
        command = goal_handle.request.command
        feedback = ExecuteCommand.Feedback(stage='planning', status='planning')
        goal_handle.publish_feedback(feedback)
        with self.engines.use() as planner:
            if planner is None:
                goal_handle.abort()
                return ExecuteCommand.Result(success=False, message='planner not active')
            result = planner.plan(command, self._world())
        for reason in result.fallbacks:
            self.get_logger().warning(f'fallback: {reason}')
        msg = plan_to_msg(result.plan, self.get_clock().now().to_msg())
        msg.command_confidence = float(goal_handle.request.command_confidence)
        self._plan_pub.publish(msg)
        self.get_logger().info(f'plan ({result.backend}, {result.plan.planning_time:.2f} s): '
                               + '; '.join(s.describe() for s in result.plan.steps))
        feedback.stage, feedback.step_count = 'executing', len(msg.steps)
        if goal_handle.is_cancel_requested:
            goal_handle.canceled()
            return ExecuteCommand.Result(plan=msg, success=False, message='canceled')
        is_stop = result.plan.skills() == ['stop']

        def preempted() -> bool:  # a newer command arrived; a stop is never preempted
            return token != self._active_goal and not is_stop

        if preempted():
            goal_handle.abort()
            return ExecuteCommand.Result(plan=msg, success=False,
                                         message='preempted by a newer command')
        success, outcome, message = self._run_plan(goal_handle, msg, feedback, preempted)
        if outcome == 'canceled' and goal_handle.is_cancel_requested:
            goal_handle.canceled()
        elif not success:
            goal_handle.abort()
        else:
            feedback.stage, feedback.status = 'done', 'done'
            goal_handle.publish_feedback(feedback)
            goal_handle.succeed()
            message = f'{message} ({result.backend})'
        return ExecuteCommand.Result(plan=msg, success=success, message=message)

    def _run_plan(self, goal_handle, msg: PlanMsg, feedback, preempted):
        """Send ``msg`` to the skill executor and relay its feedback; (success, outcome,
        message). Cancelling or preempting the command cancels the plan there."""
        wait = self.get_parameter('executor_timeout_s').value
        if not self._plans.wait_for_server(timeout_sec=wait):
            return False, 'failed', (f'no skill executor on executor/execute_plan after '
                                     f'{wait:g} s (is the skill_executor node running?)')

        def relay(fb) -> None:
            fb = fb.feedback
            feedback.step_index, feedback.current_step = fb.step_index, fb.current_step
            feedback.status = f'{fb.adapter}: {fb.status}'
            goal_handle.publish_feedback(feedback)

        def interrupted() -> bool:
            return goal_handle.is_cancel_requested or preempted()

        sent = self._plans.send_goal_async(ExecutePlan.Goal(plan=msg), feedback_callback=relay)
        if not wait_future(sent, wait, interrupted) or not sent.result().accepted:
            if sent.done() and sent.result().accepted:
                sent.result().cancel_goal_async()
            if interrupted():
                return False, 'canceled', 'canceled'
            return False, 'failed', 'the skill executor did not take the plan (inactive?)'
        handle = sent.result()
        answer = handle.get_result_async()
        if not wait_future(answer, float('inf'), interrupted):
            handle.cancel_goal_async()
            if not goal_handle.is_cancel_requested:
                return False, 'preempted', 'preempted by a newer command'
            wait_future(answer, 5.0)   # the executor confirms the plan ended
            return False, 'canceled', 'canceled'
        result = answer.result().result
        return bool(result.success), result.outcome, result.message


def main(args=None) -> int:
    """Run the planner; it configures and activates itself (manage it with lifecycle tools)."""
    return run(PlannerNode, args, lifecycle=True)
