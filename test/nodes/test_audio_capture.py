"""Microphone capture: a clear error without sounddevice, and the whole chain from a
microphone through audio_capture (its own process) to the speech node's transcript. The
microphone is the fake sounddevice in test/fakes (this machine has none), behind the same
interface the real package has."""
from __future__ import annotations

import os
import pathlib
import signal
import subprocess
import sys

from diagnostic_msgs.msg import DiagnosticArray
from rclpy.node import Node
from rclpy.parameter import Parameter
from rclpy.qos import qos_profile_sensor_data
from ros_helpers import wait_for

from edge_agent.msg import AudioChunk, Transcript
from edge_agent.nodes.speech import SpeechNode

EXE = pathlib.Path(sys.prefix) / 'lib' / 'edge_agent' / 'audio_capture'
FAKES = pathlib.Path(__file__).parents[1] / 'fakes'
WAV = pathlib.Path(__file__).parents[1] / 'data' / 'speech' / 'nav_kitchen.wav'


def test_no_sounddevice_is_a_clear_error_not_a_crash():
    env = dict(os.environ)
    env.pop('PYTHONPATH', None)
    # a sounddevice that cannot load stands for a machine without PortAudio
    result = subprocess.run([sys.executable, '-c', 'import sys; sys.modules["sounddevice"] = '
                             'None; from edge_agent.nodes.audio_capture import main; '
                             'sys.exit(main())'], capture_output=True, text=True, timeout=60,
                            cwd='/', env=env)
    assert result.returncode == 1, result.stderr
    assert 'pip install sounddevice' in result.stderr and 'Traceback' not in result.stderr


def test_unknown_device_lists_the_devices():
    env = dict(os.environ, PYTHONPATH=str(FAKES), FAKE_MIC_WAV=str(WAV))
    result = subprocess.run([str(EXE), '--ros-args', '-p', 'device:=usb mic'],
                            capture_output=True, text=True, timeout=60, cwd='/', env=env)
    assert result.returncode == 1
    assert "no input device 'usb mic'" in result.stderr and 'fake mic' in result.stderr


def test_microphone_to_transcript(ros_context, executor):
    speech = SpeechNode(context=ros_context, parameter_overrides=[
        Parameter('tier', value=2), Parameter('language', value='en'),
        Parameter('qos_overrides./audio.subscription.depth', value=100)])
    executor.activate(speech)
    probe = executor.add(Node('mic_probe', context=ros_context))
    chunks: list[AudioChunk] = []
    transcripts: list[Transcript] = []
    probe.create_subscription(AudioChunk, 'audio', chunks.append, qos_profile_sensor_data)
    probe.create_subscription(Transcript, 'speech/transcript', transcripts.append, 10)
    mic_health: list[dict] = []
    probe.create_subscription(DiagnosticArray, '/diagnostics', lambda m: mic_health.extend(
        {v.key: v.value for v in s.values} for s in m.status
        if s.name == 'edge_agent: audio capture'), 10)
    # The command repeats (FAKE_MIC_LOOP): chunks sent before discovery matched are lost on the
    # best-effort stream, so the first utterance heard may be cut; a later one is whole.
    env = dict(os.environ, PYTHONPATH=str(FAKES), FAKE_MIC_WAV=str(WAV), FAKE_MIC_LOOP='1')
    proc = subprocess.Popen([str(EXE)], cwd='/', env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT)

    def heard() -> bool:
        return any(t.is_final and t.text == 'Go to the kitchen.' for t in transcripts)

    try:
        wait_for(lambda: heard() or proc.poll() is not None, timeout=90,
                 message='a transcript of the microphone audio')
        # its /diagnostics: device blocks at 10 Hz (100 ms chunks), handed over in time
        wait_for(lambda: any(float(h['microphone.rate_hz']) > 5 for h in mic_health),
                 timeout=30, message="the microphone's rate on /diagnostics")
        assert proc.poll() is None, proc.stdout.read().decode(errors='replace')
    finally:
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=20)
    assert proc.returncode == 0
    assert heard(), ([t.text for t in transcripts if t.is_final], speech._stats)
    chunk = chunks[0]
    assert (chunk.sample_rate, chunk.channels, chunk.encoding) == (16000, 1, 's16le')
    assert len(chunk.data) == 3200 and chunk.header.frame_id == 'microphone'
