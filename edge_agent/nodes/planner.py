"""Planner node: serves ``agent/execute_command``, publishes ``agent/plan``.

A lifecycle node: the tier's model is loaded in ``on_activate`` and freed in ``on_deactivate``.
The world state comes from ``vision/detections`` (colour + label), ``vision/detector_info`` and
the skill executor's ``robot/state`` (held object, place), the tier from ``system/model_tier``
(or the ``tier`` parameter). The validated plan goes to the skill executor's
``executor/execute_plan``, whose per-step feedback is relayed; a plan that asked the user (an
``ask`` step) continues with the answer in the same goal. Who interrupts whom (a newer goal
every older one, a stop never; a stop, a cancel or ``true`` on ``emergency_stop`` ends a model
at its next token), speculation and follow-ups are ``core.planning.coordination``'s; sending a
plan and checking that no newer goal exists happen under one lock, so nothing accepted before
a stop reaches the executor after it.
"""
from __future__ import annotations

import threading

from rclpy.action import GoalResponse
from rclpy.callback_groups import MutuallyExclusiveCallbackGroup
from rclpy.lifecycle import Node as LifecycleNode
from rclpy.lifecycle import TransitionCallbackReturn
from std_msgs.msg import Bool

from edge_agent.action import ExecuteCommand, ExecutePlan
from edge_agent.core.config.tiers import TierCatalog
from edge_agent.core.errors import EdgeAgentError
from edge_agent.core.execution import CANCELED, FAILED, PREEMPTED, PlanEnd
from edge_agent.core.execution.preemption import Ticket
from edge_agent.core.models import ModelCatalog
from edge_agent.core.planning import Planner, SeenObject, SkillCatalog, WorldMemory
from edge_agent.core.planning.coordination import CommandCoordinator
from edge_agent.core.planning.planner import backend_chain
from edge_agent.msg import DetectionArray, RobotState
from edge_agent.msg import Plan as PlanMsg
from edge_agent.nodes.common import (
    AUTOSTART_PARAM,
    LATCHED,
    RELIABLE,
    SENSOR,
    STALE_PARAM,
    ModelNode,
    Param,
    declare,
    run,
    tier_parameters,
)
from edge_agent.nodes.common.detector_info import (
    detector_model,
    info_labels,
    subscribe_detector_info,
)
from edge_agent.nodes.common.futures import RunningGoals
from edge_agent.nodes.common.goals import goal_parameters
from edge_agent.nodes.common.plans import plan_to_msg
from edge_agent.nodes.common.trace import traced

__all__ = ['PARAMETERS', 'PlannerNode', 'main', 'plan_to_msg']


PARAMETERS = [
    AUTOSTART_PARAM,
    *tier_parameters(initial=0),
    Param('server_url', '', 'OpenAI-compatible server tried first (llama.cpp server, vLLM), e.g. '
          'http://edge-server:8080; empty = on-device only.'),
    Param('server_timeout_s', 10.0, 'Give up on the server after this long and plan on-device '
          '[s].', (0.1, 600.0)),
    Param('skills_file', '', "Skill catalog YAML; empty = the package's config/skills.yaml.",
          read_only=True),
    Param('n_threads', 0, 'CPU threads for llama.cpp; 0 = all cores.', (0, 256), read_only=True),
    Param('detection_min_score', 0.4, 'Detections below this score are not in the world state; '
          "a detector calibrated on real photos lowers it to its own threshold (its "
          'vision/detector_info) [0..1].', (0.0, 1.0)),
    Param('detection_max_age_s', 5.0, 'Forget detections older than this [s].', (0.0, 3600.0)),
    Param('executor_timeout_s', 5.0, 'Wait this long for the skill executor '
          '(executor/execute_plan) before the command fails [s].', (0.1, 120.0)),
    STALE_PARAM,
    *goal_parameters(8),
]


class PlannerNode(ModelNode, LifecycleNode):
    """Lifecycle planner node; see the module docstring."""

    def __init__(self, **kwargs) -> None:
        super().__init__('planner', **kwargs)
        self.init_tiers()
        self._memory = WorldMemory()
        self._skills: SkillCatalog | None = None
        self._models: ModelCatalog | None = None
        self._commands: CommandCoordinator | None = None   # order, speculation (core)
        self._tickets: dict[bytes, Ticket] = {}   # accepted goal -> its place in the order
        self._send_lock = threading.Lock()      # check "still the newest" and send, as one
        self._sent = RunningGoals()             # plans sent to the skill executor
        declare(self, PARAMETERS, self.check_tier, apply=self._apply)
        self.watch_health('edge_agent: planner', 'planner')
        self._stats, self._errors = self.health.counters, self.health.problems
        # commands in; latency: command -> validated plan; dropped: refused (no model loaded)
        self._commands_in = self.health.input('agent/execute_command')
        self._detections_in = self.health.input('vision/detections', stream=True)
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
                self._memory.set_min_score(p.value)
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
        self._plan_pub = self.own(self.create_lifecycle_publisher(
            PlanMsg, 'agent/plan', RELIABLE, event_callbacks=self.publisher_events('agent/plan')))
        self.own_diagnostics()
        self.own(self.create_subscription(
            DetectionArray, 'vision/detections', self._on_detections, SENSOR,
            event_callbacks=self.subscription_events('vision/detections', self._detections_in)))
        self.own(subscribe_detector_info(self, self._on_detector_info))
        self.own(self.create_subscription(RobotState, 'robot/state', self._on_robot_state,
                                          LATCHED))
        self.own(self.create_subscription(Bool, 'emergency_stop', self._on_emergency_stop,
                                          RELIABLE,
                                          callback_group=MutuallyExclusiveCallbackGroup()))
        self._plans = self.action_client(ExecutePlan, 'executor/execute_plan')
        self._commands = CommandCoordinator(self.engines, self._skills, self._world, self._stats)
        self.own(self.follow_tiers())
        self.serve_action(ExecuteCommand, 'agent/execute_command', self._execute,
                          goal_callback=self._on_goal, handle_accepted_callback=self._on_accepted,
                          priority=self._is_stop)
        return super().on_configure(state)

    def _stop_work(self) -> None:
        self._interrupt_all()   # running goals end (preempted) instead of acting while inactive

    def _interrupt_all(self) -> None:
        if self._commands is not None:
            self._commands.order.stop_all()

    def _on_emergency_stop(self, msg: Bool) -> None:
        if msg.data:
            self._interrupt_all()

    def destroy_node(self):
        result = super().destroy_node()
        if self._commands is not None:
            self._commands.close()
        return result

    # -- world state and tiers ----------------------------------------------------------------
    def _on_robot_state(self, msg: RobotState) -> None:
        self._memory.held, self._memory.location = msg.held_object, msg.location

    def _world(self):
        return self._memory.world(self._skills)

    def _on_detector_info(self, msg) -> None:
        self._memory.vocabulary = info_labels(msg)
        self._memory.set_min_score(calibrated=float(msg.conf_threshold)
                                   if detector_model(msg) is not None else None)

    def _on_detections(self, msg: DetectionArray) -> None:
        self._detections_in.received()
        self._memory.observe(SeenObject(d.label, d.score, d.color_name) for d in msg.detections)

    def _load_tier(self, index: int) -> Planner:
        param = self.get_parameter
        chain, problems, warm_s = backend_chain(
            index, self._skills, self._tiers, self._models, param('n_threads').value or None,
            param('server_url').value, param('server_timeout_s').value)
        for problem in problems:
            self._tier_error(problem)
        if warm_s:
            self._stats['warm_s'] = round(warm_s, 3)
        return Planner(self._skills, chain)

    def _describe(self, planner: Planner) -> str:
        return 'backends ' + ', '.join(b.name for b in planner.backends)

    def model_facts(self, planner: Planner) -> dict:
        return {'model': planner.backends[0].name,
                'backends': ', '.join(b.name for b in planner.backends)}

    # -- the action (core.planning.coordination.CommandCoordinator) ---------------------------
    def _is_stop(self, request) -> bool:
        return self._skills is not None and self._skills.stops.is_stop(request.command)

    def _on_goal(self, goal) -> GoalResponse:
        self._commands_in.received()
        if self.engines.engine is None or self._commands is None:
            self._commands_in.dropped()
            return GoalResponse.REJECT
        return GoalResponse.ACCEPT

    def _on_accepted(self, goal_handle) -> None:
        """Number the goal: it interrupts every goal accepted before it (see the core)."""
        request = goal_handle.request
        self._tickets[bytes(goal_handle.goal_id.uuid)] = self._commands.accept(
            request.command, request.speculative)
        goal_handle.execute()

    def _execute(self, goal_handle):
        ticket = self._tickets.pop(bytes(goal_handle.goal_id.uuid), None)
        if ticket is None:   # accepted as the node went inactive: ends as preempted
            return self._ended(goal_handle, None)
        try:
            return self._serve(goal_handle, ticket)
        finally:
            self._commands.order.release(ticket)

    def _serve(self, goal_handle, ticket: Ticket):
        request = goal_handle.request
        feedback = ExecuteCommand.Feedback(stage='planning', status='planning')
        goal_handle.publish_feedback(feedback)

        def interrupted() -> bool:
            return ticket.interrupted or goal_handle.is_cancel_requested

        if request.speculative:
            return self._speculate(goal_handle, request.command, interrupted)
        published = [None]   # the newest plan message; the next plan's trace follows it

        def execute(result) -> PlanEnd:
            msg = published[0] = self._publish_plan(
                goal_handle, result, request.trace if published[0] is None
                else published[0].trace)
            feedback.stage, feedback.step_count = 'executing', len(msg.steps)
            return self._run_plan(goal_handle, msg, feedback, interrupted, ticket.stop)

        served = self._commands.serve(
            request.command, ticket, interrupted, execute,
            lambda answer, follow: self.get_logger().info(
                f'answer {answer!r}: planning {follow.command!r}'
                + (f' without {", ".join(sorted(follow.hidden))}' if follow.hidden else '')))
        msg, run = published[0], served.run
        if served.run is None or served.ended:
            return self._ended(goal_handle, msg, None if served.ended else 'planner not active')
        if not run.success:
            goal_handle.abort()
            return ExecuteCommand.Result(plan=msg, success=False, message=run.message)
        feedback.stage, feedback.status = 'done', 'done'
        goal_handle.publish_feedback(feedback)
        goal_handle.succeed()
        return ExecuteCommand.Result(plan=msg, success=True,
                                     message=f'{run.message} ({served.result.backend})')

    def _publish_plan(self, goal_handle, result, trace) -> PlanMsg:
        self._commands_in.processed(result.plan.planning_time)
        for reason in result.fallbacks:
            self.get_logger().warning(f'fallback: {reason}')
        msg = plan_to_msg(result.plan, self.get_clock().now().to_msg())
        msg.command_confidence = float(goal_handle.request.command_confidence)
        msg.trace = traced(trace, 'plan', msg.header.stamp)
        self._plan_pub.publish(msg)
        self.get_logger().info(f'plan ({result.backend}, {result.plan.planning_time:.2f} s): '
                               + '; '.join(s.describe() for s in result.plan.steps))
        return msg

    def _ended(self, goal_handle, msg: PlanMsg | None, failure: str | None = None):
        """End a goal that was cancelled, preempted by a newer one, or could not plan."""
        plan = msg if msg is not None else PlanMsg()
        if failure is not None:
            goal_handle.abort()
            return ExecuteCommand.Result(plan=plan, success=False, message=failure)
        if goal_handle.is_cancel_requested:
            goal_handle.canceled()
            return ExecuteCommand.Result(plan=plan, success=False, message='canceled')
        goal_handle.abort()
        return ExecuteCommand.Result(plan=plan, success=False,
                                     message='preempted by a newer command')

    def _speculate(self, goal_handle, text: str, interrupted):
        """Plan ``text`` (words still being spoken) and keep the plan for the command that
        says them; nothing is published or executed. Rules plans are instant: not kept."""
        known, result = self._commands.speculate(text, interrupted)
        if known:
            goal_handle.succeed()
            return ExecuteCommand.Result(success=True, message='already speculated')
        if result is None:
            goal_handle.abort()
            return ExecuteCommand.Result(success=False, message='nothing kept (rules plan it at '
                                         'once, or interrupted)')
        goal_handle.succeed()
        return ExecuteCommand.Result(plan=plan_to_msg(result.plan, self.get_clock().now()
                                                      .to_msg()),
                                     success=True, message='speculative plan kept')

    def _run_plan(self, goal_handle, msg: PlanMsg, feedback, interrupted, is_stop: bool):
        """Send ``msg`` to the skill executor and relay its feedback; how it ended.
        Cancelling or preempting the command cancels
        the plan there; a stop is never interrupted, only its own cancel ends its wait."""
        wait = self.get_parameter('executor_timeout_s').value
        if not self._plans.wait_for_server(timeout_sec=wait):
            return PlanEnd(FAILED, f'no skill executor on executor/execute_plan after {wait:g} s '
                                   '(is the skill_executor node running?)')

        def relay(fb) -> None:
            fb = fb.feedback
            feedback.step_index, feedback.current_step = fb.step_index, fb.current_step
            feedback.status = f'{fb.adapter}: {fb.status}'
            goal_handle.publish_feedback(feedback)

        state, answer = self._sent.run(
            self._plans, ExecutePlan.Goal(plan=msg), wait,
            (lambda: goal_handle.is_cancel_requested) if is_stop else interrupted,
            feedback_callback=relay, guard=self._send_lock)
        if state == 'done':
            result = answer.result
            return PlanEnd(result.outcome, result.message, result.steps_done,
                           tuple(result.answers))
        if goal_handle.is_cancel_requested:
            return PlanEnd(CANCELED, 'canceled')
        if interrupted() and not is_stop:
            return PlanEnd(PREEMPTED, 'preempted by a newer command')
        return PlanEnd(FAILED, 'the skill executor did not take the plan (inactive?)')


def main(args=None) -> int:
    """Run the planner; it configures and activates itself (manage it with lifecycle tools)."""
    return run(PlannerNode, args, lifecycle=True)
