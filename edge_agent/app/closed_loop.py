"""The closed loop: a spoken command to the simulated robot, ending with the object picked.

``run_task()`` starts the whole graph in this process (``AgentGraph`` with the simulator node,
``robot:=sim`` and ``use_sim_time``), speaks the task's command with Piper into a continuous
16 kHz microphone stream on ``audio`` (a quiet room between words, as a microphone hears it),
and answers the robot's question, if it asks one, once it has finished speaking. Speech,
vision on the simulated camera, agent, planner and skill executor all run over DDS; the outcome
is read from the simulator's ground truth (``sim/ground_truth``): which object the gripper
holds and which objects moved. Nothing is scripted past the user's words.
"""
from __future__ import annotations

from collections.abc import Callable
import dataclasses
import math
import threading
import time

import numpy as np

from edge_agent.bags.scenarios import (
    CHUNK_S,
    SAMPLE_RATE,
    audio_chunk,
    room_noise,
    speech_samples,
)

__all__ = ['TASKS', 'ClosedLoopResult', 'Task', 'find_task', 'run_task']


@dataclasses.dataclass(frozen=True)
class Task:
    """What the user says (and answers, if asked), and the object that should end up held."""

    name: str
    description: str
    command: str
    held: str                       # body name in config/sim/world.yaml
    answer: str = ''                # spoken after the robot's question, if it asks one
    timeout_s: float = 150.0


TASKS: tuple[Task, ...] = (
    Task('fetch', 'Drive to the kitchen and pick up the red cup.',
         'Go to the kitchen and pick up the red cup.', held='red_cup'),
    Task('ambiguous', 'Two green cups: the robot asks which one; the answer picks the right one.',
         'Go to the kitchen and pick up the green cup.', held='green_cup_r',
         answer='The one on the right.'),
)


def find_task(name: str) -> Task:
    from edge_agent.core.errors import ConfigError

    for task in TASKS:
        if task.name == name:
            return task
    raise ConfigError(f'no simulation task {name!r} (known: {", ".join(t.name for t in TASKS)})')


@dataclasses.dataclass
class ClosedLoopResult:
    """What happened: the outcome as the replay watcher saw it, the held object and moved
    objects by the ground truth, and timings [s, wall clock]."""

    task: str
    expected: str
    held: str
    moved: list[str]
    outcome: object
    latencies: dict[str, list[float]]
    speech_end_to_held_s: float | None
    duration_s: float
    real_time_factor: float
    timed_out: bool

    @property
    def passed(self) -> bool:
        """The expected object held, and no other object moved."""
        return not self.timed_out and not self.diff

    @property
    def diff(self) -> list[str]:
        """What the simulator shows against what the task wants, as diff lines."""
        lines = []
        if self.held != self.expected:
            lines += [f'-held: {self.expected}', f'+held: {self.held or "(nothing)"}']
        if self.moved != [self.expected]:
            lines += [f'-moved: [{self.expected}]', f'+moved: [{", ".join(self.moved)}]']
        return lines


class Microphone:
    """A microphone stream on ``audio``: quiet-room noise, with queued speech mixed in,
    published in real time in 0.1 s chunks (stamped with the node's clock)."""

    def __init__(self, node, rng: np.random.Generator | None = None) -> None:
        from edge_agent.msg import AudioChunk
        from edge_agent.nodes.common import SENSOR

        self.node = node
        self._pub = node.create_publisher(AudioChunk, 'audio', SENSOR)
        self._rng = rng or np.random.default_rng(0)
        self._queue: list[np.ndarray] = []
        self._lock = threading.Lock()
        self._running = True
        self.spoken_ends: list[float] = []   # wall time each queued speech ended
        self._thread = threading.Thread(target=self._loop, name='microphone', daemon=True)

    @property
    def subscribers(self) -> int:
        return self._pub.get_subscription_count()

    def start(self) -> None:
        self._thread.start()

    def say(self, samples: np.ndarray) -> None:
        with self._lock:
            self._queue.append(np.asarray(samples, np.float32))

    @property
    def speaking(self) -> bool:
        with self._lock:
            return bool(self._queue)

    def _loop(self) -> None:
        from edge_agent.core.speech.pcm import to_int16_bytes

        n = int(CHUNK_S * SAMPLE_RATE)
        began = time.monotonic()
        sent = 0
        while self._running:
            chunk = room_noise(self._rng, n)
            with self._lock:
                if self._queue:
                    clip = self._queue[0]
                    take = min(n, clip.size)
                    chunk[:take] += clip[:take]
                    if take == clip.size:
                        self._queue.pop(0)
                        self.spoken_ends.append(began + sent * CHUNK_S + take / SAMPLE_RATE)
                    else:
                        self._queue[0] = clip[take:]
            self._pub.publish(audio_chunk(to_int16_bytes(chunk),
                                          self.node.get_clock().now().to_msg()))
            sent += 1
            delay = began + sent * CHUNK_S - time.monotonic()
            if delay > 0:
                time.sleep(delay)

    def stop(self) -> None:
        self._running = False
        if self._thread.is_alive():
            self._thread.join(timeout=2)


def _finished_speaking(voice: list[tuple[float, bool]], since: float,
                       no_voice_s: float = 5.0) -> bool:
    """Whether the robot has said its question: speech/speaking went true after ``since`` and
    then false (the microphone path is muted meanwhile, so an answer then is not heard), or
    never went true within ``no_voice_s`` (no speaker)."""
    started = [t for t, on in voice if on and t >= since - 0.5]
    if not started:
        return time.monotonic() - since > no_voice_s
    return any(not on and t >= started[0] for t, on in voice)


def run_task(task: Task, *, tier: int | None = None, arguments: dict | None = None,
             sim_parameters: dict | None = None,
             on_event: Callable[[str, object], None] | None = None,
             on_node: Callable[[str], None] | None = None,
             on_ready: Callable[[], None] | None = None, settle_s: float = 1.0
             ) -> ClosedLoopResult:
    """Run ``task`` through a fresh graph with the simulator; see the module docstring."""
    from rclpy.node import Node
    from rclpy.parameter import Parameter
    from std_msgs.msg import Bool

    from edge_agent.app.replay import Watcher
    from edge_agent.app.runner import AgentGraph
    from edge_agent.core.speech import PiperVoiceEngine
    from edge_agent.msg import SimState, Transcript
    from edge_agent.nodes.common import LATCHED

    voice = PiperVoiceEngine()
    try:
        command = speech_samples(task.command, voice)
        answer = speech_samples(task.answer, voice) if task.answer else None
    finally:
        voice.close()
    overrides: dict[str, dict] = {'sim': dict(sim_parameters or {}),
                                  # the answer comes after the robot has asked and spoken
                                  'agent': {'listen_timeout_s': 40.0, 'max_time_s': 90.0}}
    if tier is not None:
        for name in ('speech', 'vision', 'planner'):
            overrides.setdefault(name, {})['tier'] = int(tier)
    graph = AgentGraph({'use_sim_time': 'true', 'sim': 'true', 'robot': 'sim',
                        **(arguments or {})}, overrides=overrides)
    graph.start(on_node=on_node)
    mic = None
    try:
        probe = graph.add(Node('sim_probe', context=graph.context, parameter_overrides=[
            Parameter('use_sim_time', value=True)]))   # audio stamped in simulated time
        states: list = []
        voice: list[tuple[float, bool]] = []   # (wall time, speech/speaking)
        probe.create_subscription(SimState, 'sim/ground_truth', states.append, LATCHED)
        probe.create_subscription(Bool, 'speech/speaking',
                                  lambda m: voice.append((time.monotonic(), m.data)), LATCHED)
        # stage latencies in wall-clock time: simulated time runs slower than speech when the
        # simulator cannot keep up (real-time factor < 1)
        watcher = Watcher(probe, on_event)
        heard: list[float] = []
        probe.create_subscription(
            Transcript, 'speech/transcript',
            lambda m: heard.append(time.monotonic()) if m.is_final and m.text.strip() else None,
            50)
        mic = Microphone(probe)
        deadline = time.monotonic() + 60.0
        while (mic.subscribers == 0 or not states) and time.monotonic() < deadline:
            time.sleep(0.05)
        initial = {o.name: (o.x, o.y, o.z) for o in states[-1].objects} if states else {}
        mic.start()
        if on_ready is not None:
            on_ready()
        began = time.monotonic()
        time.sleep(1.0)          # a moment of room noise before the user speaks
        mic.say(command)
        answered = answer is None
        asked_at = None
        held_at = None
        timed_out = True
        while time.monotonic() - began < task.timeout_s:
            watcher.changed.clear()
            if asked_at is None and any(t.rstrip().endswith('?') for t in watcher.outcome.said):
                asked_at = time.monotonic()
            if not answered and asked_at is not None and not mic.speaking and _finished_speaking(
                    voice, asked_at):
                time.sleep(0.5)   # the user takes a breath after the robot's question
                mic.say(answer)
                answered = True
            truth = states[-1] if states else None
            if truth is not None and truth.held and held_at is None:
                held_at = time.monotonic()
            if held_at is not None and not watcher.busy and not mic.speaking and (
                    time.monotonic() - max(watcher.last_change, held_at) >= settle_s):
                timed_out = False
                break
            watcher.changed.wait(0.1)
        truth = states[-1] if states else None
        final = {o.name: (o.x, o.y, o.z) for o in truth.objects} if truth else {}
        moved = sorted(n for n in initial if n in final and math.dist(initial[n], final[n])
                       > 0.01)
        end = mic.spoken_ends[-1] if mic.spoken_ends else None
        latencies = dict(watcher.latencies)
        latencies['end of speech -> transcript'] = [
            at - spoken for at, spoken in zip(heard, mic.spoken_ends, strict=False)]
        if held_at is not None and end is not None:
            latencies['end of speech -> object held'] = [held_at - end]
        return ClosedLoopResult(
            task.name, task.held, truth.held if truth else '', moved, watcher.outcome,
            latencies,
            (held_at - end) if held_at is not None and end is not None else None,
            time.monotonic() - began, float(truth.real_time_factor) if truth else 0.0,
            timed_out)
    finally:
        if mic is not None:
            mic.stop()
        graph.stop()
