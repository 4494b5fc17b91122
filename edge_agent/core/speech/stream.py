"""The speech stream: audio chunks in, utterance events to decode out (no ROS, no threads).

``SpeechStream.feed`` takes one chunk as it arrived (bytes, encoding, channels, rate, stamp),
converts it to 16 kHz mono, runs the wake-word detector and the VAD segmenter, and returns the
events worth acting on: ``start`` (someone speaks), ``partial`` (only when no partial is already
waiting for the decoder: only the newest one matters), ``pause`` (the words so far, at a short
silence: they may be the whole command, see ``end_now``) and ``final`` (always). Without the wake
word in or shortly before an utterance, its events are dropped. ``stamp_of`` maps a stream
position back to the ROS time of the chunk it came from, so a transcript carries the time its
speech began. While ``muted`` (the robot speaks) the microphone is heard as silence, so the
robot never transcribes itself. Problems are counted in ``stats`` and the newest described in
``errors``.
"""
from __future__ import annotations

import collections
from collections.abc import MutableMapping, MutableSequence
import threading

import numpy as np

from edge_agent.core.speech.pcm import AudioFormatError, decode_pcm, resample
from edge_agent.core.speech.vad import SAMPLE_RATE, Segmenter, SegmentEvent, SpeechConfig

__all__ = ['SpeechStream']


class SpeechStream:
    """Chunks -> utterance events; see the module docstring."""

    def __init__(self, config: SpeechConfig, vad, wake=None, wake_window_s: float = 8.0,
                 stats: MutableMapping | None = None,
                 errors: MutableSequence | None = None) -> None:
        self.segmenter = Segmenter(config, vad)
        self.wake = wake
        self.wake_window_s = wake_window_s
        self.stats = stats if stats is not None else collections.Counter()
        self.errors = errors if errors is not None else collections.deque(maxlen=5)
        self.partial_pending = False    # a partial waits for the decoder; the decoder clears it
        self._stamps: collections.deque = collections.deque(maxlen=512)
        self._position = 0
        self._last_stamp_ns: int | None = None
        self._last_wake: int | None = None
        self.muted = False   # while the robot speaks: the microphone is heard as silence
        self._lock = threading.Lock()   # feed (audio thread) vs end_now (decoder thread)

    @property
    def config(self) -> SpeechConfig:
        return self.segmenter.config

    @config.setter
    def config(self, config: SpeechConfig) -> None:
        self.segmenter.config = config

    def feed(self, data: bytes, encoding: str, channels: int, sample_rate: int,
             stamp_ns: int = 0, frame_id: str = '') -> list[SegmentEvent]:
        """Process one chunk; AudioFormatError (with the reason) when it cannot be decoded."""
        self.stats['chunks'] += 1
        if not data:
            raise AudioFormatError('empty chunk')
        samples, fixed = decode_pcm(data, encoding, channels, sample_rate)
        if fixed:
            self.stats['nonfinite_samples'] += fixed
            self.errors.append(f'{fixed} NaN/inf samples replaced by 0')
        if self._last_stamp_ns is not None and stamp_ns and stamp_ns < self._last_stamp_ns:
            self.stats['stamps_backwards'] += 1
            self.errors.append('audio stamp went backwards; keeping the stream order')
        self._last_stamp_ns = stamp_ns or self._last_stamp_ns
        samples = resample(samples, sample_rate, SAMPLE_RATE)
        if self.muted:
            # Silence of the same length keeps positions and stamps true and lets an utterance
            # that began before the robot spoke end as it would have.
            self.stats['muted_chunks'] += 1
            samples = np.zeros_like(samples)
        self._stamps.append((self._position, stamp_ns, frame_id))
        self._position += samples.size
        if self.wake is not None:
            for hit in self.wake.feed(samples):
                self._last_wake = hit
                self.stats['wake_words'] += 1
        events = []
        with self._lock:
            segmented = self.segmenter.feed(samples)
        for event in segmented:
            if event.kind != 'start' and not self._awake(event.start_sample):
                if event.kind == 'final' and event.audio is not None:
                    self.stats['gated_by_wake_word'] += 1
                continue
            if event.kind == 'partial':
                if self.partial_pending:
                    self.stats['partials_skipped'] += 1
                    continue
                self.partial_pending = True
            elif event.kind == 'final':
                if event.audio is None:
                    continue  # a click, not speech
                if event.forced:
                    self.stats['segments_cut_at_max'] += 1
            events.append(event)
        return events

    def end_now(self, utterance: int, pause_end: int) -> bool:
        """End ``utterance`` at that pause (``Segmenter.end_now``); thread-safe."""
        with self._lock:
            return self.segmenter.end_now(utterance, pause_end)

    def _awake(self, utterance_start: int) -> bool:
        """Without a wake word always; else when it was heard in or shortly before it."""
        if self.wake is None:
            return True
        window = int(self.wake_window_s * SAMPLE_RATE)
        return self._last_wake is not None and self._last_wake >= utterance_start - window

    def stamp_of(self, position: int) -> tuple[int | None, str]:
        """(ROS time [ns] of stream sample ``position``, frame_id); None when unknown."""
        best = None
        for start, stamp_ns, frame in self._stamps:
            if start <= position:
                best = (start, stamp_ns, frame)
        if best is None or not best[1]:
            return None, best[2] if best else ''
        return max(best[1] + int((position - best[0]) * 1e9 / SAMPLE_RATE), 0), best[2]
