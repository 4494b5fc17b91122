"""Replay a bag through the whole graph and record what the graph did.

``replay()`` starts the graph in this process (``AgentGraph``, the launch file's nodes with
``use_sim_time``), plays the bag into it (``BagPlayer``: original timing and ``/clock``), and
watches the graph's outputs with a probe node (``Watcher``): final and partial transcripts,
detections, each decision of the agent with every policy's expected free energy, plans, the
skills the executor starts, the robot state, what the robot says, and each command's trace
(``agent/trace``: stage latencies from the messages' own stamps). It ends when the bag is over
and the graph has settled (the expectation met, or nothing new for ``settle_s``), or at the
deadline, and returns the ``Outcome``, its diff against an expectation, and stage latencies.
"""
from __future__ import annotations

from collections.abc import Callable
import copy
import dataclasses
import threading
import time

from edge_agent.bags.expect import Expectation, Outcome, compare, normalize

__all__ = ['ReplayResult', 'Watcher', 'replay', 'step_text']


def step_text(step) -> str:
    """A plan step as ``skill(value, ...)``."""
    values = []
    for arg in step.arguments:
        value = (arg.string_value, arg.double_value, arg.integer_value,
                 arg.bool_value)[arg.type] if arg.type < 4 else ''
        values.append(f'{value:g}' if isinstance(value, float) else str(value))
    return f"{step.skill}({', '.join(values)})"


@dataclasses.dataclass
class ReplayResult:
    """A replay's outcome, its differences from the expectation, and measured latencies."""

    outcome: Outcome
    diff: list[str]
    latencies: dict[str, list[float]]
    timed_out: bool
    duration_s: float

    @property
    def passed(self) -> bool:
        return not self.diff and not self.timed_out


class Watcher:
    """A probe node's subscriptions to the graph's outputs, kept as an ``Outcome``; every
    event also goes to ``on_event(kind, message)`` (the demo's console view)."""

    def __init__(self, node, on_event: Callable[[str, object], None] | None = None) -> None:
        from action_msgs.msg import GoalStatusArray
        from rclpy.qos import qos_profile_sensor_data
        from std_msgs.msg import String

        from edge_agent.action import ExecutePlan
        from edge_agent.msg import (
            BeliefSummary,
            DetectionArray,
            Plan,
            RobotState,
            Trace,
            Transcript,
        )
        from edge_agent.nodes.common import LATCHED
        from edge_agent.nodes.common.trace import TRACE_TOPIC

        self.outcome = Outcome()
        self.on_event = on_event or (lambda kind, msg: None)
        self.changed = threading.Event()
        self.last_change = time.monotonic()
        self._robot_busy = False
        self._lock = threading.Lock()
        self.latencies: dict[str, list[float]] = {}   # stage -> seconds, from the traces
        node.create_subscription(Transcript, 'speech/transcript', self._transcript, 50)
        node.create_subscription(DetectionArray, 'vision/detections', self._detections,
                                 qos_profile_sensor_data)
        node.create_subscription(BeliefSummary, 'agent/belief', self._belief, 50)
        node.create_subscription(String, 'agent/say', self._said, 50)
        node.create_subscription(Plan, 'agent/plan', self._plan, 50)
        node.create_subscription(RobotState, 'robot/state', self._state, LATCHED)
        node.create_subscription(Trace, TRACE_TOPIC, self._trace, 50)
        self._steps_seen: set = set()
        # goals in flight anywhere in the graph: the agent's command, the executor's plan, an
        # observe or listen request; the graph has settled only when none is
        self._active: dict[str, set] = {}
        for action in ('agent/execute_command', 'executor/execute_plan', 'vision/observe',
                       'speech/listen'):
            node.create_subscription(GoalStatusArray, f'{action}/_action/status',
                                     self._status_of(action), 10)
        node.create_subscription(ExecutePlan.Impl.FeedbackMessage,
                                 'executor/execute_plan/_action/feedback', self._step, 50)

    def _touch(self) -> None:
        self.last_change = time.monotonic()
        self.changed.set()

    def _trace(self, msg) -> None:
        from edge_agent.nodes.common.trace import latencies

        with self._lock:
            for stage, seconds in latencies(msg):
                self.latencies.setdefault(stage, []).append(seconds)
        self.on_event('trace', msg)

    def _transcript(self, msg) -> None:
        if msg.is_final and msg.text.strip():
            with self._lock:
                self.outcome.transcripts.append(normalize(msg.text))
            self._touch()
        self.on_event('transcript', msg)

    def _detections(self, msg) -> None:
        self.on_event('detections', msg)

    def _belief(self, msg) -> None:
        with self._lock:
            self.outcome.policies.append(msg.chosen_policy)
            objects = [h for h in msg.hypotheses if h.factor == 'object']
            if objects:
                self.outcome.target = max(objects, key=lambda h: h.probability).value
        self._touch()
        self.on_event('belief', msg)

    def _said(self, msg) -> None:
        with self._lock:
            self.outcome.said.append(msg.data)
        self._touch()
        self.on_event('said', msg)

    def _plan(self, msg) -> None:
        with self._lock:
            self.outcome.plans.append([step_text(s) for s in msg.steps])
        self._touch()
        self.on_event('plan', msg)

    def _status_of(self, action: str):
        from action_msgs.msg import GoalStatus

        running = (GoalStatus.STATUS_ACCEPTED, GoalStatus.STATUS_EXECUTING,
                   GoalStatus.STATUS_CANCELING)

        def on_status(msg) -> None:
            with self._lock:
                self._active[action] = {bytes(s.goal_info.goal_id.uuid) for s in msg.status_list
                                        if s.status in running}
            self._touch()
        return on_status

    @property
    def busy(self) -> bool:
        """Whether a goal runs anywhere in the graph, or the robot is busy."""
        return self._robot_busy or any(self._active.values())

    def _step(self, msg) -> None:
        """The executor's action feedback: one message per step it starts."""
        key = (bytes(msg.goal_id.uuid), msg.feedback.step_index)
        with self._lock:
            if key in self._steps_seen:
                return
            self._steps_seen.add(key)
            self.outcome.executed.append(msg.feedback.current_step.skill)
        self._touch()
        self.on_event('step', msg.feedback)

    def _state(self, msg) -> None:
        with self._lock:
            self._robot_busy = msg.busy
            self.outcome.held_object = msg.held_object
            self.outcome.location = msg.location
        self._touch()
        self.on_event('state', msg)


def replay(bag, expectation: Expectation | None = None, *, tier: int | None = None,
           rate: float = 1.0, settle_s: float = 5.0, arguments: dict | None = None,
           on_event: Callable[[str, object], None] | None = None,
           on_node: Callable[[str], None] | None = None,
           on_ready: Callable[[], None] | None = None) -> ReplayResult:
    """Play ``bag`` through a fresh graph; see the module docstring. ``tier`` pins every model
    node to one tier of config/model_tiers.yaml (None: follow the thermal governor);
    ``on_node(name)`` as each node comes up, ``on_ready()`` as playback starts, ``on_event``
    for everything the graph does (see ``Watcher``)."""
    from rclpy.node import Node

    from edge_agent.app.runner import AgentGraph
    from edge_agent.bags.ros import BagPlayer

    overrides: dict[str, dict] = {name: dict(values) for name, values in
                                  (expectation.parameters if expectation else {}).items()}
    if tier is not None:
        for name in ('speech', 'vision', 'planner'):
            overrides.setdefault(name, {})['tier'] = int(tier)
    graph = AgentGraph({'use_sim_time': 'true', **(arguments or {})}, overrides=overrides)
    deadline_s = expectation.timeout_s if expectation else 90.0
    graph.start(on_node=on_node)
    began = time.monotonic()
    try:
        probe = graph.add(Node('replay_probe', context=graph.context))
        player = BagPlayer(probe, bag, rate=rate, topics=_inputs(probe, bag, graph))
        watcher = Watcher(probe, on_event)
        player.wait_for_subscribers(30.0)
        if on_ready is not None:
            on_ready()
        began = time.monotonic()
        player.start()
        timed_out = True
        ended = None
        # A scenario says when its last words end: once they are past and the outcome is what
        # it expects, the rest of the bag (the camera's tail, kept for a slow decoder) is not
        # waited for; a user's bag without that plays to the end.
        lines_end = expectation.lines_end_s if expectation else None
        while time.monotonic() - began < deadline_s:
            watcher.changed.clear()
            met = expectation is not None and not compare(watcher.outcome, expectation.expect)
            played = (time.monotonic() - began) * rate
            if ended is None and (player.finished.is_set() or (
                    met and lines_end is not None and played >= lines_end)):
                ended = time.monotonic()
            if ended is not None and not watcher.busy:
                # quiet since the last event and since the bag ended (the speech node may
                # still be decoding the last words, which no goal status shows)
                quiet = time.monotonic() - max(watcher.last_change, ended)
                if quiet >= (1.0 if met else settle_s):
                    timed_out = False
                    break
            watcher.changed.wait(0.2)
        player.stop()
        if player.error is not None:
            raise player.error
        with watcher._lock:   # a copy: nodes still publish while the graph stops
            outcome = copy.deepcopy(watcher.outcome)
        diff = compare(outcome, expectation.expect) if expectation else []
        return ReplayResult(outcome, diff, dict(watcher.latencies), timed_out,
                            time.monotonic() - began)
    finally:
        graph.stop()


def _inputs(probe, bag, graph) -> list[str]:
    """The bag's topics the graph takes in: a recording of a whole robot also holds what the
    graph itself publishes (transcripts, plans, state); playing those would compete with it."""
    from edge_agent.bags.bag import bag_info

    _duration, topics = bag_info(bag)
    ours = {node.get_name() for node in graph.nodes.values()}
    inputs = [t.name for t in topics if t.name != '/clock' and not any(
        info.node_name in ours for info in probe.get_publishers_info_by_topic(t.name))]
    if not inputs:
        from edge_agent.core.errors import ConfigError
        raise ConfigError(f'{bag}: every topic in it is published by the graph itself; '
                          'record its inputs (e.g. /audio, /camera/image_raw)')
    return inputs
