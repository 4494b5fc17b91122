"""The speaker node over real DDS with real Piper (installed for the tests; optional at run
time): agent/say becomes speech on speaker/audio, speech/speaking brackets it, and the speech
node, hearing the robot's own voice through the "microphone", never transcribes it. No sound
card here: the node publishes the audio and, finding no output device, plays nothing.
"""
from __future__ import annotations

import pathlib
import threading
import time
import wave

import numpy as np
import pytest
from rclpy.node import Node
from rclpy.parameter import Parameter
from rclpy.qos import qos_profile_sensor_data
from ros_helpers import wait_for
from std_msgs.msg import Bool, String

from edge_agent.msg import AudioChunk, Transcript
from edge_agent.nodes.common import LATCHED, RELIABLE
from edge_agent.nodes.speaker import SpeakerNode
from edge_agent.nodes.speech import SpeechNode

DATA = pathlib.Path(__file__).resolve().parents[1] / 'data'
pytest.importorskip('piper', reason='piper-tts is in requirements/test.txt')


class Ears:
    """A probe that records what the speaker says and whether it is speaking."""

    def __init__(self, executor, ros_context, namespace: str) -> None:
        self.node = executor.add(Node('ears', namespace=namespace, context=ros_context))
        self.audio: list[AudioChunk] = []
        self.speaking: list[bool] = []
        self.transcripts: list[Transcript] = []
        self.node.create_subscription(AudioChunk, 'speaker/audio', self.audio.append, RELIABLE)
        self.node.create_subscription(Bool, 'speech/speaking',
                                      lambda m: self.speaking.append(m.data), LATCHED)
        self.node.create_subscription(Transcript, 'speech/transcript',
                                      self.transcripts.append, RELIABLE)
        self.say = self.node.create_publisher(String, 'agent/say', RELIABLE)
        self.mic = self.node.create_publisher(AudioChunk, 'audio', qos_profile_sensor_data)

    def play(self, pcm: bytes, rate: int, speed: float = 1.0) -> None:
        """Publish ``pcm`` (s16le mono) as 0.1 s microphone chunks at ``speed`` x real time."""
        step = rate // 10 * 2
        for i in range(0, len(pcm), step):
            msg = AudioChunk(encoding='s16le', channels=1, sample_rate=rate,
                             data=pcm[i:i + step])
            msg.header.stamp = self.node.get_clock().now().to_msg()
            self.mic.publish(msg)
            time.sleep(0.1 / speed)


def test_agent_say_is_spoken_with_piper_and_bracketed_by_speaking(ros_context, executor):
    # Piper samples noise on every call: 1 in 40 of its renderings of this sentence came back
    # from Whisper tiny.en as "... the blue cut?"; with the noise off the audio is always the same
    speaker = executor.activate(SpeakerNode(context=ros_context, namespace='/voice1',
                                            parameter_overrides=[
                                                Parameter('deterministic_voice', value=True)]))
    ears = Ears(executor, ros_context, '/voice1')
    wait_for(lambda: ears.speaking == [False], message='the latched speaking state')
    ears.say.publish(String(data='Do you mean the red cup or the blue cup?'))
    wait_for(lambda: ears.audio and ears.speaking[-1] is False and len(ears.speaking) >= 3,
             message='speech and the end of speaking')
    assert ears.speaking == [False, True, False]
    chunk = ears.audio[0]
    assert (chunk.encoding, chunk.channels, chunk.sample_rate) == ('s16le', 1, 22050)
    samples = np.frombuffer(bytes(chunk.data), np.int16)
    assert samples.size / 22050 > 1.0 and np.abs(samples).max() > 1000   # real speech
    assert list(speaker.spoken) == ['Do you mean the red cup or the blue cup?']
    # what Piper said is what was asked (Whisper tiny.en listens to it)
    from edge_agent.core.models import ModelCatalog
    from edge_agent.core.speech import SpeechConfig, WhisperEngine, resample

    audio = resample(samples.astype(np.float32) / 32768, 22050, 16000)
    engine = WhisperEngine(str(ModelCatalog().path('whisper-tiny.en')), 'tiny.en')
    try:
        text = engine.transcribe(audio, SpeechConfig(language='en')).text.lower()
    finally:
        engine.close()
    assert 'red cup' in text and 'blue cup' in text, text


def test_without_a_voice_the_text_is_logged_only(ros_context, executor, tmp_path):
    speaker = executor.activate(SpeakerNode(context=ros_context, namespace='/voice2',
                                            parameter_overrides=[Parameter('tts', value='none')]))
    ears = Ears(executor, ros_context, '/voice2')
    wait_for(lambda: ears.say.get_subscription_count() > 0, message='the speaker subscribed')
    ears.say.publish(String(data='Hello'))
    ears.say.publish(String(data='   '))    # blank: ignored
    wait_for(lambda: list(speaker.spoken) == ['Hello'], message='the text logged')
    assert ears.audio == [] and True not in ears.speaking
    broken = tmp_path / 'voice.onnx'
    broken.write_bytes(b'not a model')
    (tmp_path / 'voice.onnx.json').write_text('{}')
    from rclpy.lifecycle import TransitionCallbackReturn
    node = executor.add(SpeakerNode(context=ros_context, namespace='/voice3',
                                    parameter_overrides=[
                                        Parameter('voice_model', value=str(broken))]))
    assert node.trigger_configure() == TransitionCallbackReturn.FAILURE
    assert 'cannot load the Piper voice' in node.failure_reason and str(broken) in \
        node.failure_reason


def wav_pcm(path: pathlib.Path) -> bytes:
    with wave.open(str(path)) as f:
        return f.readframes(f.getnframes())


def test_the_speech_node_never_transcribes_the_robot_speaking(ros_context, executor):
    """The robot's own speech reaches the microphone (relayed from speaker/audio) while it
    speaks: no transcript. Afterwards the user's command is heard as usual."""
    executor.activate(SpeakerNode(context=ros_context, namespace='/voice4'))
    speech = executor.activate(SpeechNode(context=ros_context, namespace='/voice4',
                                          parameter_overrides=[
                                              Parameter('tier', value=1),
                                              Parameter('language', value='en')]))
    ears = Ears(executor, ros_context, '/voice4')
    wait_for(lambda: ears.mic.get_subscription_count() > 0 and ears.speaking == [False],
             message='the speech node subscribed')
    relayed = threading.Event()

    def echo(msg: AudioChunk) -> None:  # the room: the speaker is heard by the microphone
        ears.play(bytes(msg.data), msg.sample_rate)
        relayed.set()

    ears.node.create_subscription(AudioChunk, 'speaker/audio',
                                  lambda m: threading.Thread(target=echo, args=(m,)).start(),
                                  RELIABLE)
    ears.say.publish(String(data='Sorry, I did not catch that. Could you say it again?'))
    assert relayed.wait(60), 'the robot never spoke'
    wait_for(lambda: ears.speaking[-1] is False, message='the end of speaking')
    assert speech._stats['muted_chunks'] > 10
    ears.play(wav_pcm(DATA / 'speech' / 'pick_red_cup.wav') + b'\0' * 32000, 16000, speed=2)
    wait_for(lambda: any(t.is_final for t in ears.transcripts), timeout=60,
             message="the user's command")
    finals = [t.text.lower() for t in ears.transcripts if t.is_final]
    assert len(finals) == 1 and 'red cup' in finals[0], finals
    assert not any('say it again' in t.text.lower() for t in ears.transcripts)
