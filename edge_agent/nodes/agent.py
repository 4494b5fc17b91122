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

import queue
import threading
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
    FrameDetection,
    Heard,
    RecentDetections,
    SensorModels,
)
from edge_agent.core.planning import is_stop
from edge_agent.core.planning.skills import SkillCatalog
from edge_agent.msg import (
    BeliefSummary,
    DetectionArray,
    Hypothesis,
    PolicyEvaluation,
    Trace,
    Transcript,
)
from edge_agent.nodes.common import (
    AUTOSTART_PARAM,
    RELIABLE,
    SENSOR,
    STALE_PARAM,
    OwnedEntities,
    Param,
    ReportsHealth,
    declare,
    run,
)
from edge_agent.nodes.common.detector_info import (
    detector_model,
    info_labels,
    subscribe_detector_info,
)
from edge_agent.nodes.common.futures import goal_result, serve_queue, wait_future
from edge_agent.nodes.common.trace import TRACE_TOPIC, traced

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


def heard_from(msg: Transcript) -> Heard:
    """The core's view of a final transcript."""
    return Heard(msg.text, tuple((w.word, float(w.probability)) for w in msg.words),
                 float(msg.no_speech_prob), float(msg.confidence))


def candidates_from(objects, width: int) -> list[Candidate]:
    """Candidates from vision/observe's fused objects (their evidence across the frames)."""
    out = []
    for obj in objects:
        det = obj.detection
        x = (det.x_min + det.x_max) / 2 / width if width else None
        seen = max(int(obj.frames_seen), 1)
        out.append(Candidate(det.label, det.color_name, float(det.color_fraction),
                             [float(obj.mean_score)] * seen, 0, x))
    return out


class AgentNode(ReportsHealth, OwnedEntities, LifecycleNode):
    """Lifecycle agent node; see the module docstring."""

    def __init__(self, **kwargs) -> None:
        super().__init__('agent', **kwargs)
        self._synonyms: dict[str, str] = {}
        self._detector_labels: frozenset[str] = frozenset()   # vision/detector_info
        self._sensor_models = SensorModels()   # its detector model fitted to the detector
        self._recent = RecentDetections()
        self._commands: queue.Queue = queue.Queue()
        self._generation = 0             # bumped by every new command: the running one ends
        self._goals: list = []           # goal handles in flight, cancelled by a new command
        self._goals_lock = threading.Lock()
        self._image_width = 0
        self._listening = False          # a question waits for its answer on speech/listen
        self._worker: threading.Thread | None = None
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
        try:   # the words people use for the detector's labels ("mug" for a cup)
            self._synonyms = SkillCatalog(self.get_parameter('skills_file').value
                                          or None).synonyms
        except EdgeAgentError as exc:
            return self.fail(f'configure failed: {exc}')
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
        self._action_clients = {  # made once, kept for the node's lifetime
            'observe': self.action_client(Observe, 'vision/observe'),
            'listen': self.action_client(Listen, 'speech/listen'),
            'execute': self.action_client(ExecuteCommand, 'agent/execute_command')}
        return super().on_configure(state)

    def _start_work(self) -> None:
        self._worker = threading.Thread(target=self._work, daemon=True)
        self._worker.start()

    def _stop_work(self) -> None:
        self._generation += 1
        self._cancel_goals()
        if self._worker is not None:
            self._commands.put(None)
            self._worker.join(timeout=30)
            self._worker = None

    # -- inputs -------------------------------------------------------------------------------
    def _on_detections(self, msg: DetectionArray) -> None:
        self._detections_in.received()
        width = int(msg.image_width) or 1
        self._image_width = width
        self._recent.add(FrameDetection(d.label.strip().lower(), d.color_name.strip().lower(),
                                        float(d.color_fraction), float(d.score),
                                        (d.x_min + d.x_max) / 2 / width)
                         for d in msg.detections)

    def _on_detector_info(self, msg) -> None:
        self._detector_labels = info_labels(msg)
        fitted = detector_model(msg)
        self._sensor_models = SensorModels(detector=fitted) if fitted else SensorModels()

    def _on_transcript(self, msg: Transcript) -> None:
        if not msg.is_final and msg.at_pause and msg.text.strip() and self._worker is not None:
            self._speculate(msg)
        if not msg.is_final or not msg.text.strip() or self._worker is None:
            return
        if self._listening and not is_stop(msg.text):
            return  # the answer to our question: speech/listen brings it to the loop
        self._transcripts_in.received()
        self._generation += 1           # whatever runs ends: a newer command replaces it
        self._cancel_goals()
        if is_stop(msg.text):
            self.get_logger().info(f'stop: {msg.text!r}')
        self._commands.put((self._generation, msg, self._recent.candidates(), time.monotonic()))

    def _speculate(self, msg: Transcript) -> None:
        """Words at a pause, maybe the whole command: when the agent would act on them, the
        planner plans them now and keeps the plan for the final transcript (speculative
        planning); nothing runs unless the final says the same words."""
        if self._listening or is_stop(msg.text) or not self.get_parameter(
                'speculative_planning').value:
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

    # -- the loop -----------------------------------------------------------------------------
    def _work(self) -> None:
        serve_queue(self._commands, self._job, lambda job, exc: self.get_logger().error(
            f'command {job[1].text!r} failed: {type(exc).__name__}: {exc}'))

    def _job(self, job) -> None:
        generation, msg, candidates, received = job
        if generation == self._generation:   # else replaced before it started
            self._command(generation, msg, candidates, received)
        else:
            self._transcripts_in.dropped()

    def _current(self, generation: int) -> bool:
        return generation == self._generation

    def _command(self, generation: int, msg: Transcript, candidates: list[Candidate],
                 received: float) -> None:
        heard = heard_from(msg)
        self.get_logger().debug(f'heard {heard.text!r}: {heard.words}, no speech '
                                f'{heard.no_speech_prob:.2f}')
        trace = msg.trace   # end of speech and transcript; the decision is added below
        if is_stop(heard.text):  # straight to the planner, whose guard makes it win
            self._transcripts_in.processed(time.monotonic() - received)
            self._execute(generation, heard.text, 1.0, self._traced(trace, 'decision'))
            return
        blind = self._detections_in.silent_for()
        if blind is not None:   # the user waits for an answer: say the robot is blind
            self.get_logger().warning(f'{heard.text!r} came while {self._detections_in.stale()}')
            self._say(f'My camera has sent nothing for {blind:.0f} seconds.')
        loop = self._deliberation(heard, candidates)
        self.decisions = []
        began = time.monotonic()
        while self._current(generation):
            decision = loop.decide()
            self.decisions.append(decision)
            decided = self._traced(trace, 'decision')
            self._publish_belief(decision, loop, began, decided)
            if len(self.decisions) == 1:
                self._transcripts_in.processed(time.monotonic() - received)
            self.get_logger().info(
                f'{heard.text!r}: {decision.kind} (P(heard right)={decision.p_intent:.2f}, '
                + ', '.join(f'{c} {p:.2f}' for c, p in zip(decision.candidates,
                                                          decision.p_target, strict=False))
                + f'; G={min(e.g for e in decision.evaluations):.2f})')
            if decision.kind == 'act':
                self._execute(generation, loop.grounded_command(decision), decision.p_intent,
                              decided)
                return
            if decision.kind == 'give_up':
                self._say(decision.text)
                self._trace_pub.publish(self._traced(decided, 'gave up'))
                return
            started = time.monotonic()
            if decision.kind == 'observe':
                result = self._observe(generation, decision.policy.frames)
                loop.spend(decision.policy, time.monotonic() - started)
                if result is None:
                    return
                loop.observed(candidates_from(result.objects, self._image_width),
                              int(result.frames_processed))
            else:  # repeat or clarify: ask, then listen for the answer
                self._listening = True  # an answer arriving before the listen goal is ours
                self._say(decision.text)
                answer = self._listen(generation)
                loop.spend(decision.policy, time.monotonic() - started)
                if answer is None:
                    return
                if answer.trace.stages:   # the answer's end of speech starts the wait now
                    trace = answer.trace
                if answer.text.strip() and is_stop(answer.text):
                    self._execute(generation, answer.text, 1.0, self._traced(trace, 'decision'))
                    return
                if decision.kind == 'repeat' and answer.text.strip():
                    loop.repeated(heard_from(answer))
                elif decision.kind == 'clarify':
                    loop.answered(answer.text)

    # -- actions --------------------------------------------------------------------------------
    def _say(self, text: str) -> None:
        self._say_pub.publish(String(data=text))
        self.get_logger().info(f'say: {text}')

    def _goal(self, generation: int, name: str, goal, timeout: float):
        """Send ``goal`` and wait for its result (None when cancelled, replaced or failed)."""
        client = self._action_clients[name]
        if not client.wait_for_server(timeout_sec=5.0):
            self.get_logger().error(f'{name}: no action server')
            return None
        sent = client.send_goal_async(goal)
        if not wait_future(sent, 10.0) or not self._current(generation):
            return None
        handle = sent.result()
        if not handle.accepted:
            self.get_logger().warning(f'{name}: goal rejected')
            return None
        with self._goals_lock:
            self._goals.append(handle)
        try:  # cancelled when a newer command replaces this one, or at the timeout
            response = goal_result(handle, timeout, lambda: not self._current(generation))
            return None if response is None else response.result
        finally:
            with self._goals_lock:
                if handle in self._goals:
                    self._goals.remove(handle)

    def _cancel_goals(self) -> None:
        with self._goals_lock:
            goals, self._goals = list(self._goals), []
        for handle in goals:
            handle.cancel_goal_async()

    def _observe(self, generation: int, frames: int):
        return self._goal(generation, 'observe', Observe.Goal(frames=frames),
                          timeout=30.0 + frames)

    def _listen(self, generation: int):
        timeout = self.get_parameter('listen_timeout_s').value
        self._listening = True
        try:
            result = self._goal(generation, 'listen', Listen.Goal(timeout=timeout),
                                timeout + 10.0)
        finally:
            self._listening = False
        if result is None:
            return None
        return result.transcript

    def _traced(self, trace, stage: str):
        return traced(trace, stage, self.get_clock().now().to_msg())

    def _execute(self, generation: int, command: str, confidence: float, trace) -> None:
        result = self._goal(generation, 'execute',
                            ExecuteCommand.Goal(command=command, command_confidence=confidence,
                                                trace=trace),
                            self.get_parameter('planner_timeout_s').value)
        if result is not None:
            self.get_logger().info(f'{command!r}: {result.message}')

    # -- agent/belief ---------------------------------------------------------------------------
    def _publish_belief(self, decision: Decision, loop: Deliberation, began: float,
                        trace) -> None:
        msg = BeliefSummary(entropy=float(decision.entropy), chosen_policy=decision.policy.name,
                            requests_used=loop.budget.requests,
                            requests_budget=loop.budget.max_requests, trace=trace)
        msg.header.stamp = trace.stamps[-1]
        msg.time_left = float(max(loop.budget.max_time_s - (time.monotonic() - began), 0.0))
        msg.hypotheses = [Hypothesis(factor='intent', value=loop.heard.text,
                                     probability=float(decision.p_intent)),
                          Hypothesis(factor='intent', value='(something else was said)',
                                     probability=float(1.0 - decision.p_intent))]
        names = [*decision.candidates, '(none of these)']
        msg.hypotheses += [Hypothesis(factor='object', value=name, probability=float(p))
                           for name, p in zip(names, decision.p_target, strict=True)]
        msg.policies = [PolicyEvaluation(policy=e.name, expected_free_energy=float(e.g),
                                         risk=float(e.risk), ambiguity=float(e.ambiguity))
                        for e in decision.evaluations]
        msg.chosen_expected_free_energy = float(
            next(e.g for e in decision.evaluations if e.name == decision.policy.name))
        self._belief_pub.publish(msg)


def main(args=None) -> int:
    """Run the agent; it configures and activates itself."""
    return run(AgentNode, args, lifecycle=True)
