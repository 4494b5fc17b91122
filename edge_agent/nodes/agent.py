"""Agent node: a final transcript becomes an action, after the evidence that removes the most
uncertainty (active inference, ``edge_agent.core.inference``).

Takes final ``speech/transcript`` messages and ``vision/detections``; for each command it runs a
``Deliberation`` and carries out what it decides: ``vision/observe`` for more frames, a
question on ``agent/say`` then ``speech/listen`` for the answer (repeat or clarify), the
grounded command to the planner's ``agent/execute_command`` when acting, or a spoken reason
when giving up. ``agent/belief`` is published at every decision. A stop command cancels the
command in progress at once (its questions, observations and planner goal) and is passed to
the planner, where a stop always wins; any other new command replaces the one in progress.
"""
from __future__ import annotations

import time

from rclpy.callback_groups import MutuallyExclusiveCallbackGroup
from rclpy.lifecycle import Node as LifecycleNode
from rclpy.lifecycle import TransitionCallbackReturn
from std_msgs.msg import String

from edge_agent.action import ExecuteCommand, Listen, Observe
from edge_agent.core.errors import EdgeAgentError
from edge_agent.core.inference import (
    Budget,
    Candidate,
    Decision,
    Deliberation,
    Heard,
    RecentDetections,
    SensorModels,
)
from edge_agent.core.inference.command import (
    COMMAND,
    SPECULATE,
    CommandLoop,
    LatestCommand,
    route,
)
from edge_agent.core.planning import SkillCatalog, StopLexicon
from edge_agent.msg import (
    BeliefSummary,
    DetectionArray,
    RobotState,
    Trace,
    Transcript,
)
from edge_agent.nodes.common import (
    AUTOSTART_PARAM,
    LATCHED,
    RELIABLE,
    SENSOR,
    STALE_PARAM,
    OwnedEntities,
    Param,
    ReportsHealth,
    declare,
    run,
)
from edge_agent.nodes.common.beliefs import (
    belief_msg,
    candidates_from,
    frame_detections,
    heard_from,
)
from edge_agent.nodes.common.detector_info import (
    detector_model,
    info_labels,
    subscribe_detector_info,
)
from edge_agent.nodes.common.futures import RunningGoals
from edge_agent.nodes.common.trace import ANSWER_STAGE, TRACE_TOPIC, traced

__all__ = ['PARAMETERS', 'AgentNode', 'main']

PARAMETERS = [
    AUTOSTART_PARAM,
    Param('max_requests', 3, 'Information requests (observe, ask) allowed per command.',
          (0, 20)),
    Param('max_time_s', 30.0, 'Time allowed per command before acting or giving up [s].',
          (1.0, 600.0)),
    Param('observe_frames', 10, 'Frames one vision/observe request gathers [count].', (1, 300)),
    Param('camera_rate_hz', 5.0, 'Detector frame rate the observe time is planned with [Hz].',
          (0.1, 120.0)),
    Param('detection_window_s', 2.0, 'Detections of this long before a command are its '
          'evidence [s].', (0.1, 60.0)),
    Param('listen_timeout_s', 8.0, 'Wait this long for an answer to a question [s].',
          (1.0, 120.0)),
    Param('planner_timeout_s', 300.0, 'Give up on a planner goal after this long [s].',
          (1.0, 3600.0)),
    Param('labels', '', 'Object labels a command may name besides the detector\'s own (its '
          'class names come on vision/detector_info) and those it reports (comma-separated).'),
    Param('skills_file', '', "Skill catalog YAML (its synonyms: mug -> cup); empty = the "
          "package's config/skills.yaml."),
    Param('speculative_planning', True, 'Plan the words heard at a pause in speech before '
          'the final transcript (kept by the planner, run only when the final says the same '
          'words).'),
    STALE_PARAM,
]


class _NodeActions:
    """``AgentActions`` over DDS for one command (its generation: a newer command ends it)."""

    def __init__(self, node: AgentNode, current, trace) -> None:
        self.node, self.current, self.trace = node, current, trace
        self.began = time.monotonic()
        self.decided_trace = None   # the trace stamped at the last decision

    def say(self, text: str) -> None:
        self.node._say(text)

    def decided(self, decision: Decision, loop: Deliberation) -> None:
        node = self.node
        node.decisions.append(decision)
        self.decided_trace = node._traced(self.trace, 'decision')
        node._belief_pub.publish(belief_msg(decision, loop, self.began, self.decided_trace))
        node.get_logger().info(
            f'{loop.heard.text!r}: {decision.kind} (P(heard right)={decision.p_intent:.2f}, '
            + ', '.join(f'{c} {p:.2f}' for c, p in zip(decision.candidates, decision.p_target,
                                                      strict=False))
            + f'; G={min(e.g for e in decision.evaluations):.2f})')
        if decision.kind == 'give_up':
            node._trace_pub.publish(node._traced(self.decided_trace, 'gave up'))

    def observe(self, frames: int):
        result = self.node._goal(self, 'observe', Observe.Goal(frames=frames), 30.0 + frames)
        if result is None:
            return None
        return (candidates_from(result.objects, self.node._image_width),
                int(result.frames_processed))

    def ask(self, decision: Decision) -> Heard | None:
        node = self.node
        timeout = node.get_parameter('listen_timeout_s').value
        node._listening = True   # an answer arriving before the listen goal is ours
        try:
            node._say(decision.text)
            result = node._goal(self, 'listen', Listen.Goal(timeout=timeout), timeout + 10.0)
        finally:
            node._listening = False
        if result is None:
            return None
        if result.transcript.trace.stages:   # the answer's end of speech starts the wait now
            self.trace, self.decided_trace = result.transcript.trace, None
        return heard_from(result.transcript)

    def look_elsewhere(self):
        return None   # no action for it yet: the deliberation is made without the policy

    def act(self, command: str, confidence: float) -> None:
        trace = self.decided_trace or self.node._traced(self.trace, 'decision')
        result = self.node._goal(self, 'execute', ExecuteCommand.Goal(
            command=command, command_confidence=confidence, trace=trace),
            self.node.get_parameter('planner_timeout_s').value)
        if result is not None:
            self.node.get_logger().info(f'{command!r}: {result.message}')


class AgentNode(ReportsHealth, OwnedEntities, LifecycleNode):
    """Lifecycle agent node; see the module docstring."""

    def __init__(self, **kwargs) -> None:
        super().__init__('agent', **kwargs)
        self._synonyms: dict[str, str] = {}
        self._stops = StopLexicon()      # the catalog's (built-in lexicon + stop_phrases)
        self._detector_labels: frozenset[str] = frozenset()   # vision/detector_info
        self._sensor_models = SensorModels()   # its detector model fitted to the detector
        self._recent = RecentDetections()
        self._commands = LatestCommand()   # one at a time; a new command ends the running one
        self._goals = RunningGoals()       # cancelled by a new command
        self._image_width = 0
        self._listening = False          # a question waits for its answer on speech/listen
        self._plan_asks = False          # a plan's ask step waits for its answer (robot/state)
        self._action_clients: dict = {}
        self.decisions: list[Decision] = []   # the last command's decisions (tests, console)
        declare(self, PARAMETERS, apply=self._apply)
        self._apply([self.get_parameter('detection_window_s')])
        self.watch_health('edge_agent: agent', 'agent')
        # final transcripts in; latency: transcript -> first decision; dropped: replaced by a
        # newer command before the loop started on them
        self._transcripts_in = self.health.input('speech/transcript')
        self._detections_in = self.health.input('vision/detections', stream=True)

    def _apply(self, params) -> None:
        for p in params:
            if p.name == 'detection_window_s':
                self._recent.window_s = p.value

    # -- lifecycle ----------------------------------------------------------------------------
    def on_configure(self, state) -> TransitionCallbackReturn:
        try:   # the words people use for the detector's labels ("mug" for a cup), the stops
            catalog = SkillCatalog(self.get_parameter('skills_file').value or None)
        except EdgeAgentError as exc:
            return self.fail(f'configure failed: {exc}')
        self._synonyms, self._stops = catalog.synonyms, catalog.stops
        self._belief_pub = self.own(self.create_lifecycle_publisher(
            BeliefSummary, 'agent/belief', RELIABLE,
            event_callbacks=self.publisher_events('agent/belief')))
        self.own_diagnostics()
        self._say_pub = self.own(self.create_lifecycle_publisher(String, 'agent/say', RELIABLE))
        self._trace_pub = self.own(self.create_lifecycle_publisher(Trace, TRACE_TOPIC, RELIABLE))
        self.own(self.create_subscription(
            Transcript, 'speech/transcript', self._on_transcript, RELIABLE,
            callback_group=MutuallyExclusiveCallbackGroup(),
            event_callbacks=self.subscription_events('speech/transcript', self._transcripts_in)))
        self.own(self.create_subscription(
            DetectionArray, 'vision/detections', self._on_detections, SENSOR,
            callback_group=MutuallyExclusiveCallbackGroup(),
            event_callbacks=self.subscription_events('vision/detections', self._detections_in)))
        self.own(subscribe_detector_info(self, self._on_detector_info))
        self.own(self.create_subscription(RobotState, 'robot/state', self._on_robot_state,
                                          LATCHED))
        self._action_clients = {  # made once, kept for the node's lifetime
            'observe': self.action_client(Observe, 'vision/observe'),
            'listen': self.action_client(Listen, 'speech/listen'),
            'execute': self.action_client(ExecuteCommand, 'agent/execute_command')}
        return super().on_configure(state)

    def _start_work(self) -> None:
        self._commands.start(
            self._job, on_dropped=lambda _item: self._transcripts_in.dropped(),
            on_error=lambda item, exc: self.get_logger().error(
                f'command {item[0].text!r} failed: {type(exc).__name__}: {exc}'))

    def _stop_work(self) -> None:
        self._commands.end_current()
        self._goals.cancel_all()
        self._commands.stop()

    # -- inputs -------------------------------------------------------------------------------
    def _on_detections(self, msg: DetectionArray) -> None:
        self._detections_in.received()
        self._image_width = int(msg.image_width) or 1
        self._recent.add(frame_detections(msg))

    def _on_detector_info(self, msg) -> None:
        self._detector_labels = info_labels(msg)
        fitted = detector_model(msg)
        self._sensor_models = SensorModels(detector=fitted) if fitted else SensorModels()

    def _on_robot_state(self, msg: RobotState) -> None:
        self._plan_asks = msg.current_skill == 'ask'

    def _on_transcript(self, msg: Transcript) -> None:
        if not self._commands.running:
            return
        # a question awaits its answer, or this final already answered one (a speech/listen
        # goal took it: its result and this message race, and robot/state moves on)
        answer = self._listening or self._plan_asks or ANSWER_STAGE in msg.trace.stages
        kind = route(msg.text, msg.is_final, msg.at_pause, answer, self._stops.is_stop)
        if kind == SPECULATE:
            self._speculate(msg)
        elif kind == COMMAND:
            self._transcripts_in.received()
            self._commands.submit((msg, self._recent.candidates(), time.monotonic()))
            self._goals.cancel_all()   # whatever ran ends: the newer command replaces it
        # ANSWER: the answer to a question (ours or a plan's): speech/listen brings it

    def _speculate(self, msg: Transcript) -> None:
        """Words at a pause, maybe the whole command: when the agent would act on them, the
        planner plans them now and keeps the plan for the final transcript (speculative
        planning); nothing runs unless the final says the same words."""
        if not self.get_parameter('speculative_planning').value:
            return
        loop = self._deliberation(heard_from(msg), self._recent.candidates())
        decision = loop.decide()
        if decision.kind != 'act':
            return
        client = self._action_clients['execute']
        if client.server_is_ready():
            client.send_goal_async(ExecuteCommand.Goal(
                command=loop.grounded_command(decision), command_confidence=decision.p_intent,
                speculative=True))
            self.health.counters['speculative_plans_asked'] += 1

    def _deliberation(self, heard: Heard, candidates: list[Candidate]) -> Deliberation:
        param = self.get_parameter
        labels = {x.strip() for x in param('labels').value.split(',') if x.strip()}
        return Deliberation(
            heard, candidates, labels | self._detector_labels | self._recent.labels,
            models=self._sensor_models,
            budget=Budget(param('max_requests').value, param('max_time_s').value),
            observe_frames=param('observe_frames').value,
            frame_rate_hz=param('camera_rate_hz').value, can_look_elsewhere=False,
            synonyms=self._synonyms)

    # -- the loop (core.inference.command.CommandLoop) ----------------------------------------
    def _job(self, item, current) -> None:
        msg, candidates, received = item
        heard = heard_from(msg)
        if self._stops.is_stop(heard.text):
            self.get_logger().info(f'stop: {heard.text!r}')
        blind = self._detections_in.silent_for()
        warning = None
        if blind is not None:   # the user waits for an answer: say the robot is blind
            self.get_logger().warning(f'{heard.text!r} came while {self._detections_in.stale()}')
            warning = f'My camera has sent nothing for {blind:.0f} seconds.'
        self.decisions = []
        actions = _NodeActions(self, current, msg.trace)
        self._transcripts_in.processed(time.monotonic() - received)
        CommandLoop(actions, self._stops.is_stop).run(
            self._deliberation(heard, candidates), current, warning)

    # -- actions --------------------------------------------------------------------------------
    def _say(self, text: str) -> None:
        self._say_pub.publish(String(data=text))
        self.get_logger().info(f'say: {text}')

    def _goal(self, actions: _NodeActions, name: str, goal, timeout: float):
        """Send ``goal`` and wait for its result (None when cancelled, replaced or failed)."""
        client = self._action_clients[name]
        if not client.wait_for_server(timeout_sec=5.0):
            self.get_logger().error(f'{name}: no action server')
            return None
        deadline = time.monotonic() + timeout
        status, response = self._goals.run(
            client, goal, min(10.0, timeout),
            lambda: not actions.current() or time.monotonic() > deadline)
        if status == 'rejected':
            self.get_logger().warning(f'{name}: goal rejected')
        return response.result if status == 'done' else None

    def _traced(self, trace, stage: str):
        return traced(trace, stage, self.get_clock().now().to_msg())


def main(args=None) -> int:
    """Run the agent; it configures and activates itself."""
    return run(AgentNode, args, lifecycle=True)
