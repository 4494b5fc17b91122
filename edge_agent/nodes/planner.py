"""Planner node: serves ``agent/execute_command``, publishes ``agent/plan``.

A lifecycle node: parameters are declared at construction, publishers and the action server
are made in ``on_configure``, the tier's model is loaded in ``on_activate`` and freed in
``on_deactivate``. The world state comes from ``vision/detections`` (colour + label), the tier
from ``system/model_tier`` (or the ``tier`` parameter). Planning logic lives in
``edge_agent.core.planner``. Steps run on a dry-run executor that logs each one, until the
skill executor node exists; a new goal preempts the running one, and a stop command wins.
"""
from __future__ import annotations

import threading
import time

from rcl_interfaces.msg import ParameterDescriptor, SetParametersResult
from rclpy.action import ActionServer, CancelResponse, GoalResponse
from rclpy.callback_groups import ReentrantCallbackGroup
from rclpy.lifecycle import Node as LifecycleNode
from rclpy.lifecycle import TransitionCallbackReturn

from edge_agent.action import ExecuteCommand
from edge_agent.core.models import ModelCatalog, ModelError
from edge_agent.core.planner import Planner, ServerTier, build_tier
from edge_agent.core.skills import PlanError, SkillCatalog
from edge_agent.core.tiers import TierCatalog
from edge_agent.msg import DetectionArray, PlanStep, SkillArgument
from edge_agent.msg import Plan as PlanMsg
from edge_agent.nodes.common import RELIABLE, SENSOR, TierFollower, run

__all__ = ['PlannerNode', 'main', 'plan_to_msg']


def plan_to_msg(plan, stamp) -> PlanMsg:
    """Convert a core Plan into the edge_agent/Plan message."""
    msg = PlanMsg(command=plan.command, planner_tier=plan.tier,
                  planning_time=float(plan.planning_time))
    msg.header.stamp = stamp
    for index, step in enumerate(plan.steps):
        args = []
        for name, value in step.args.items():
            arg = SkillArgument(name=name)
            if isinstance(value, bool):
                arg.type, arg.bool_value = SkillArgument.TYPE_BOOL, value
            elif isinstance(value, int):
                arg.type, arg.integer_value = SkillArgument.TYPE_INTEGER, value
            elif isinstance(value, float):
                arg.type, arg.double_value = SkillArgument.TYPE_DOUBLE, value
            else:
                arg.type, arg.string_value = SkillArgument.TYPE_STRING, str(value)
            args.append(arg)
        msg.steps.append(PlanStep(index=index, skill=step.skill, arguments=args,
                                  description=step.describe()))
    return msg


class PlannerNode(TierFollower, LifecycleNode):
    """Lifecycle planner node; see the module docstring."""

    def __init__(self, **kwargs) -> None:
        super().__init__('planner', **kwargs)
        describe = ParameterDescriptor
        self.declare_tier_parameters(initial=0)
        self.declare_parameter('server_url', '', describe(
            description='OpenAI-compatible server tried first (llama.cpp server, vLLM), e.g. '
                        'http://edge-server:8080; empty = on-device only.'))
        self.declare_parameter('server_timeout_s', 10.0, describe(
            description='Give up on the server after this long and plan on-device [s].'))
        self.declare_parameter('skills_file', '', describe(
            description="Skill catalog YAML; empty = the package's config/skills.yaml.",
            read_only=True))
        self.declare_parameter('n_threads', 0, describe(
            description='CPU threads for llama.cpp; 0 = all cores.', read_only=True))
        self.declare_parameter('detection_min_score', 0.4, describe(
            description='Detections below this score are not in the world state [0..1].'))
        self.declare_parameter('detection_max_age_s', 5.0, describe(
            description='Forget detections older than this [s].'))
        self.declare_parameter('step_time_s', 0.2, describe(
            description='Dry-run executor: time each step takes [s].'))
        self._tiers: TierCatalog | None = None  # loaded in on_configure
        self.add_on_set_parameters_callback(self._validate)
        self._lock = threading.Lock()          # guards tier swaps and the planner
        self._objects: dict[str, float] = {}   # object phrase -> last seen (monotonic)
        self._labels: set[str] = set()
        self._planner: Planner | None = None
        self._tier_index = -1
        self._active_goal = 0
        self._action = None

    # -- parameters ---------------------------------------------------------------------------
    def _validate(self, params) -> SetParametersResult:
        for p in params:
            if p.name == 'tier' and self._tiers is not None and not (
                    -1 <= p.value < len(self._tiers)):
                return SetParametersResult(successful=False,
                                           reason=f'tier must be -1..{len(self._tiers) - 1}')
            if p.name in ('server_timeout_s', 'detection_max_age_s', 'step_time_s') and (
                    p.value < 0):
                return SetParametersResult(successful=False, reason=f'{p.name} must be >= 0')
            if p.name == 'detection_min_score' and not 0 <= p.value <= 1:
                return SetParametersResult(successful=False,
                                           reason='detection_min_score must be in [0, 1]')
        # Loading a model takes seconds: do it off the parameter service's thread.
        for p in params:
            if self._planner is None:
                break
            if p.name == 'tier':
                threading.Thread(target=self._switch_tier, args=(self.wanted_tier(p.value),),
                                 daemon=True).start()
            if p.name in ('server_url', 'server_timeout_s'):
                threading.Thread(target=self._switch_tier, args=(self._tier_index,),
                                 kwargs={'force': True, 'overrides': {p.name: p.value}},
                                 daemon=True).start()
        return SetParametersResult(successful=True)

    # -- lifecycle ----------------------------------------------------------------------------
    def on_configure(self, state) -> TransitionCallbackReturn:
        try:
            self._skills = SkillCatalog(self.get_parameter('skills_file').value or None)
            self._models = ModelCatalog()
            self._tiers = TierCatalog(known_models=set(self._models.models))
        except (PlanError, ModelError) as exc:
            self.get_logger().error(f'configure failed: {exc}')
            return TransitionCallbackReturn.FAILURE
        self._plan_pub = self.create_lifecycle_publisher(PlanMsg, 'agent/plan', RELIABLE)
        self.create_subscription(DetectionArray, 'vision/detections', self._on_detections,
                                 SENSOR)
        self.follow_tiers()
        self._action = ActionServer(
            self, ExecuteCommand, 'agent/execute_command', self._execute,
            goal_callback=self._on_goal, cancel_callback=lambda _g: CancelResponse.ACCEPT,
            handle_accepted_callback=self._on_accepted, callback_group=ReentrantCallbackGroup())
        return super().on_configure(state)

    def on_activate(self, state) -> TransitionCallbackReturn:
        self._switch_tier(self.wanted_tier(), force=True)
        return super().on_activate(state)

    def on_deactivate(self, state) -> TransitionCallbackReturn:
        with self._lock:
            if self._planner is not None:
                self._planner.close()
            self._planner = None
        return super().on_deactivate(state)

    def on_cleanup(self, state) -> TransitionCallbackReturn:
        if self._action is not None:
            self._action.destroy()
            self._action = None
        return super().on_cleanup(state)

    # -- world state and tiers ----------------------------------------------------------------
    def _on_detections(self, msg: DetectionArray) -> None:
        now = time.monotonic()
        floor = self.get_parameter('detection_min_score').value
        for det in msg.detections:
            label = det.label.strip().lower()
            if not label:
                continue
            self._labels.add(label)
            if det.score >= floor:
                phrase = f'{det.color_name.strip().lower()} {label}'.strip()
                self._objects[phrase] = now

    def _world(self):
        horizon = time.monotonic() - self.get_parameter('detection_max_age_s').value
        visible = [o for o, seen in self._objects.items() if seen >= horizon]
        return self._skills.world(visible, labels=sorted(self._labels))

    def _serving(self) -> bool:
        return self._planner is not None

    def _switch_tier(self, index, force: bool = False, overrides=None) -> None:
        """Load the new tier, switch under the lock (between commands), then free the old."""
        if index is None:
            return
        index = max(0, min(int(index), len(self._tiers) - 1))
        if index == self._tier_index and not force:
            return
        overrides = overrides or {}

        def param(name):  # a value being set is not readable until its callback returns
            return overrides[name] if name in overrides else self.get_parameter(name).value

        began = time.monotonic()
        chain = []
        if param('server_url'):
            chain.append(ServerTier('server', self._skills, param('server_url'),
                                    timeout_s=param('server_timeout_s')))
        threads = self.get_parameter('n_threads').value or None
        try:
            chain.append(build_tier(index, self._skills, self._tiers, self._models, threads))
        except (ModelError, RuntimeError, ValueError) as exc:
            self.get_logger().error(f'tier {index} unavailable ({exc}); using the rule tier')
        new = Planner(self._skills, chain)
        with self._lock:
            old, self._planner, self._tier_index = self._planner, new, index
        if old is not None:
            old.close()
        self.get_logger().info(
            f'planner tier {index} ({self._tiers[index].name}: '
            f'{", ".join(t.name for t in new.tiers)}) ready in {time.monotonic() - began:.2f} s')

    # -- the action ---------------------------------------------------------------------------
    def _on_goal(self, goal) -> GoalResponse:
        if self._planner is None:
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
        with self._lock:
            planner = self._planner
            if planner is None:
                goal_handle.abort()
                return ExecuteCommand.Result(success=False, message='planner not active')
            result = planner.plan(command, self._world())
        for reason in result.fallbacks:
            self.get_logger().warning(f'fallback: {reason}')
        msg = plan_to_msg(result.plan, self.get_clock().now().to_msg())
        msg.command_confidence = float(goal_handle.request.command_confidence)
        self._plan_pub.publish(msg)
        self.get_logger().info(f'plan ({result.tier}, {result.plan.planning_time:.2f} s): '
                               + '; '.join(s.describe() for s in result.plan.steps))
        step_time = self.get_parameter('step_time_s').value
        feedback.stage, feedback.step_count = 'executing', len(msg.steps)
        for step in msg.steps:
            if goal_handle.is_cancel_requested:
                goal_handle.canceled()
                return ExecuteCommand.Result(plan=msg, success=False, message='canceled')
            if token != self._active_goal and result.plan.skills() != ['stop']:
                goal_handle.abort()
                return ExecuteCommand.Result(plan=msg, success=False,
                                             message='preempted by a newer command')
            feedback.step_index, feedback.current_step = step.index, step
            feedback.status = f'dry run: {step.description}'
            goal_handle.publish_feedback(feedback)
            self.get_logger().info(f'[dry run] step {step.index}: {step.description}')
            deadline = time.monotonic() + step_time
            while time.monotonic() < deadline and token == self._active_goal \
                    and not goal_handle.is_cancel_requested:
                time.sleep(0.01)
        feedback.stage, feedback.status = 'done', 'done'
        goal_handle.publish_feedback(feedback)
        goal_handle.succeed()
        return ExecuteCommand.Result(plan=msg, success=True,
                                     message=f'{len(msg.steps)} step(s) done ({result.tier})')


def main(args=None) -> int:
    """Run the planner; it configures and activates itself (manage it with lifecycle tools)."""
    return run(PlannerNode, args, lifecycle=True)
