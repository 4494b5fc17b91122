"""Microphone capture node: publishes ``audio`` (edge_agent/AudioChunk, s16le) from sounddevice.

sounddevice (PortAudio) is optional: without it, or without an input device, the node logs a
clear error naming the fix and exits with status 1 instead of a traceback.
"""
from __future__ import annotations

import queue
import time

from rclpy.node import Node

from edge_agent.msg import AudioChunk
from edge_agent.nodes.common import (
    OVERRIDABLE,
    SENSOR,
    STALE_PARAM,
    Param,
    ReportsHealth,
    declare,
    run,
)

__all__ = ['PARAMETERS', 'AudioCapture', 'MicrophoneError', 'main']


class MicrophoneError(RuntimeError):
    """No usable microphone; the message says what to do."""


PARAMETERS = [
    Param('device', '', 'Input device name or index as sounddevice lists it; empty = the '
          'default input.', read_only=True),
    Param('sample_rate', 16000, 'Capture rate [Hz].', (4000, 384000), read_only=True),
    Param('channels', 1, 'Channels to capture [count].', (1, 64), read_only=True),
    Param('chunk_ms', 100, 'Samples per published chunk [ms].', (10, 2000), read_only=True),
    Param('frame_id', 'microphone', 'frame_id of the published chunks.'),
    STALE_PARAM,
]


class AudioCapture(ReportsHealth, Node):
    """Read the microphone in a PortAudio callback and publish fixed-size chunks."""

    def __init__(self, **kwargs) -> None:
        super().__init__('audio_capture', **kwargs)
        declare(self, PARAMETERS)
        self.watch_health('edge_agent: audio capture', 'microphone')
        # blocks from the device; latency: device callback -> chunk published; dropped: the
        # hand-over queue was full (the node fell 50 chunks behind)
        self._blocks_in = self.health.input('microphone', stream=True)
        device = self.get_parameter('device').value
        self.rate = self.get_parameter('sample_rate').value
        self.channels = self.get_parameter('channels').value
        chunk_ms = self.get_parameter('chunk_ms').value
        try:
            import sounddevice
        except (ImportError, OSError) as exc:
            raise MicrophoneError(
                f'sounddevice is not usable ({exc}); install it with `pip install sounddevice` '
                'and PortAudio with `apt install libportaudio2`') from exc
        self._sd = sounddevice
        try:
            device_arg = int(device) if str(device).isdigit() else (device or None)
            info = sounddevice.query_devices(device_arg, 'input')
        except (ValueError, sounddevice.PortAudioError) as exc:
            raise MicrophoneError(
                f'no input device {device!r} ({exc}); available devices:\n'
                f'{sounddevice.query_devices()}') from exc
        self._queue: queue.Queue = queue.Queue(maxsize=50)
        self.pub = self.create_publisher(AudioChunk, 'audio', SENSOR,
                                         qos_overriding_options=OVERRIDABLE,
                                         event_callbacks=self.publisher_events('audio'))
        self.own_diagnostics()
        self.stream = sounddevice.RawInputStream(
            samplerate=self.rate, channels=self.channels, dtype='int16', device=device_arg,
            blocksize=int(self.rate * chunk_ms / 1000), callback=self._on_audio)
        self.stream.start()
        self.create_timer(chunk_ms / 2000.0, self._drain)
        self.get_logger().info(f'capturing from {info["name"]} at {self.rate} Hz')

    def _on_audio(self, data, frames, time_info, status) -> None:
        # PortAudio's thread: only hand the bytes over, never block
        stamp = self.get_clock().now().to_msg()
        self._blocks_in.received()
        try:
            self._queue.put_nowait((bytes(data), stamp, bool(status), time.monotonic()))
        except queue.Full:
            self._blocks_in.dropped()

    def _drain(self) -> None:
        while True:
            try:
                data, stamp, overflow, captured = self._queue.get_nowait()
            except queue.Empty:
                return
            if overflow:
                self.health.counters['overflows'] += 1
                self.health.problems.append('microphone overflow: samples were lost')
                self.get_logger().warning('microphone overflow: samples were lost',
                                          throttle_duration_sec=5.0)
            msg = AudioChunk(sample_rate=self.rate, channels=self.channels,
                             encoding=AudioChunk.ENCODING_S16LE, data=data)
            msg.header.stamp, msg.header.frame_id = stamp, self.get_parameter('frame_id').value
            self.pub.publish(msg)
            self._blocks_in.processed(time.monotonic() - captured)

    def destroy_node(self):
        stream = getattr(self, 'stream', None)
        if stream is not None:
            stream.stop()
            stream.close()
        return super().destroy_node()


def main(args=None) -> int:
    """Capture until interrupted; exit status 1 with a clear message when there is no mic."""
    return run(AudioCapture, args, fatal=(MicrophoneError,))
