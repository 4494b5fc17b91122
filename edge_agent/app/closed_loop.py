"""The closed loop: a spoken command to the simulated robot, ending with the object picked.

``run_task()`` starts the whole graph in this process (``AgentGraph`` with the simulator node,
``robot:=sim`` and ``use_sim_time``), speaks the task's command with Piper into a continuous
16 kHz microphone stream on ``audio`` (a quiet room between words, as a microphone hears it),
and answers the robot's question, if it asks one, once it has finished speaking. A task may
say more commands, each once the graph has settled after the last, and interrupt the last one
("Stop.") while it moves the base; the base's pose is recorded before the first command and
after each one. Speech,
vision on the simulated camera, agent, planner and skill executor all run over DDS; the outcome
is read from the simulator's ground truth (``sim/ground_truth``): which object the gripper
holds, which objects moved, where the base is. Nothing is scripted past the user's words.
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
    """What the user says (and answers, if asked), and what should come of it: the object that
    should end up held ('' = none), or, for the base's motion, nothing held or moved."""

    name: str
    description: str
    command: str
    held: str = ''                  # body name in config/sim/world.yaml; '' = nothing held
    answer: str = ''                # spoken after the robot's question, if it asks one
    then: tuple[str, ...] = ()      # said one by one after the command, each once it is done
    interrupt: str = ''             # said while the last command moves the base ("Stop.")
    interrupt_after_s: float = 1.5  # ... this long after the base began to move
    timeout_s: float = 150.0

    @property
    def commands(self) -> tuple[str, ...]:
        return (self.command, *self.then)


TASKS: tuple[Task, ...] = (
    Task('fetch', 'Drive to the kitchen and pick up the red cup.',
         'Go to the kitchen and pick up the red cup.', held='red_cup'),
    Task('ambiguous', 'Two green cups: the robot asks which one; the answer picks the right one.',
         'Go to the kitchen and pick up the green cup.', held='green_cup_r',
         answer='The one on the right.'),
    Task('motion', 'Turn and drive by voice, come back, say what it sees, and stop a long '
         'drive halfway.', 'Please turn to the left.',
         then=('Go forward one meter.', 'Come back.', 'Now turn to the right.',
               'What do you see?', 'Turn around.', 'Go forward three meters.'),
         interrupt='Stop.', timeout_s=300.0),
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
    objects by the ground truth, the base's pose before the first command and after each one
    (x, y, yaw by the ground truth), and timings [s, wall clock]."""

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
    poses: list[tuple[float, float, float]] = dataclasses.field(default_factory=list)
    stop_latency_s: float | None = None   # end of the interrupt's speech -> base commanded 0
    repeats: int = 0   # times the user said something again (asked to, or nothing came of it)

    @property
    def passed(self) -> bool:
        """The expected object held (or none), and no other object moved."""
        return not self.timed_out and not self.diff

    @property
    def diff(self) -> list[str]:
        """What the simulator shows against what the task wants, as diff lines."""
        lines = []
        if self.held != self.expected:
            lines += [f'-held: {self.expected or "(nothing)"}',
                      f'+held: {self.held or "(nothing)"}']
        moved = [self.expected] if self.expected else []
        if self.moved != moved:
            lines += [f'-moved: [{", ".join(moved)}]', f'+moved: [{", ".join(self.moved)}]']
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
    from nav_msgs.msg import Odometry
    from rclpy.node import Node
    from rclpy.parameter import Parameter
    from std_msgs.msg import Bool

    from edge_agent.app.replay import Watcher
    from edge_agent.app.runner import AgentGraph
    from edge_agent.core.speech import PiperVoiceEngine
    from edge_agent.msg import SimState, Transcript
    from edge_agent.nodes.common import LATCHED, RELIABLE

    voice = PiperVoiceEngine()
    try:
        commands = [speech_samples(text, voice) for text in task.commands]
        answer = speech_samples(task.answer, voice) if task.answer else None
        interrupt = speech_samples(task.interrupt, voice) if task.interrupt else None
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
        still: list[float] = []                # wall times odom showed the base commanded 0
        moving: list[float] = []               # ... and commanded to move
        probe.create_subscription(SimState, 'sim/ground_truth', states.append, LATCHED)
        probe.create_subscription(Bool, 'speech/speaking',
                                  lambda m: voice.append((time.monotonic(), m.data)), LATCHED)
        probe.create_subscription(Odometry, 'odom', lambda m: (
            still if m.twist.twist.linear.x == 0.0 and m.twist.twist.angular.z == 0.0
            else moving).append(time.monotonic()), RELIABLE)
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
        poses = [(states[-1].x, states[-1].y, states[-1].yaw)] if states else []
        mic.start()
        if on_ready is not None:
            on_ready()
        began = time.monotonic()
        time.sleep(1.0)          # a moment of room noise before the user speaks
        said = [time.monotonic()]   # when each utterance was queued
        last = commands.pop(0)     # the newest command's speech (said again if asked to)
        mic.say(last)
        asked_at = None            # when the robot's newest question came
        questions = 0              # the robot's questions so far
        repeats = 0
        held_at = None
        moving_at = stopped_said = stop_clip = None
        unheard_s = 10.0           # ... said again when nothing came of it for this long
        timed_out = True
        while time.monotonic() - began < task.timeout_s:
            watcher.changed.clear()
            asked = sum(t.rstrip().endswith('?') for t in watcher.outcome.said)
            if asked > questions and asked_at is None:
                asked_at = time.monotonic()
            if asked_at is not None and not mic.speaking and _finished_speaking(voice, asked_at):
                # the user answers the robot's question: with the task's answer, or, asked to
                # say it again ("Sorry, I did not catch that"), with the command once more
                reply, answer = (answer, None) if answer is not None else (last, None)
                questions, asked_at = asked, None
                if reply is not last or repeats < 2:
                    repeats += reply is last
                    time.sleep(0.5)   # the user takes a breath after the robot's question
                    mic.say(reply)
                    said.append(time.monotonic())
            truth = states[-1] if states else None
            if truth is not None and truth.held and held_at is None:
                held_at = time.monotonic()
            # the last command is moving the base: the interruption comes a moment later
            if interrupt is not None and not commands and not mic.speaking:
                if moving_at is None and moving and moving[-1] >= mic.spoken_ends[-1]:
                    moving_at = time.monotonic()
                if moving_at is not None and time.monotonic() - moving_at >= \
                        task.interrupt_after_s:
                    mic.say(interrupt)
                    said.append(time.monotonic())
                    stop_clip, interrupt = interrupt, None
                    stopped_said = len(mic.spoken_ends)
            # nothing came of what the user said (no transcript: the words were lost, or the
            # base still drives after "Stop."): the user says it again, twice at most in all
            quiet = time.monotonic() - max(mic.spoken_ends[-1] if mic.spoken_ends else 0.0,
                                           heard[-1] if heard else 0.0)
            if not mic.speaking and repeats < 2 and quiet > (
                    unheard_s if stop_clip is None else 4.0) and (
                    len(heard) < len(said) and not watcher.busy
                    or stop_clip is not None and moving and moving[-1] > time.monotonic() - 0.5):
                repeats += 1
                mic.say(stop_clip if stop_clip is not None else last)
                if stop_clip is not None:
                    stopped_said = len(mic.spoken_ends)   # the stop is timed from this one
            settled = (not watcher.busy and not mic.speaking and len(heard) >= len(said)
                       and _finished_speaking(voice, said[-1], no_voice_s=0.0)
                       and time.monotonic() - watcher.last_change >= settle_s)
            if settled and commands:
                if truth is not None:
                    poses.append((truth.x, truth.y, truth.yaw))
                time.sleep(0.5)   # the user takes a breath before the next command
                said.append(time.monotonic())
                last = commands.pop(0)
                mic.say(last)
            elif settled and not commands and interrupt is None and (
                    held_at is not None or not task.held):
                if truth is not None:
                    poses.append((truth.x, truth.y, truth.yaw))
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
        stop_latency = None
        if stopped_said is not None and len(mic.spoken_ends) > stopped_said:
            stop_end = mic.spoken_ends[stopped_said]
            after = [t for t in still if t >= stop_end]
            stop_latency = after[0] - stop_end if after else None
            if stop_latency is not None:
                latencies['end of speech -> base stopped'] = [stop_latency]
            if after and len(heard) > stopped_said:   # the stop's own final transcript
                latencies['final transcript -> base stopped'] = [after[0] - heard[-1]]
        return ClosedLoopResult(
            task.name, task.held, truth.held if truth else '', moved, watcher.outcome,
            latencies,
            (held_at - end) if held_at is not None and end is not None else None,
            time.monotonic() - began, float(truth.real_time_factor) if truth else 0.0,
            timed_out, poses, stop_latency, repeats)
    finally:
        if mic is not None:
            mic.stop()
        graph.stop()

