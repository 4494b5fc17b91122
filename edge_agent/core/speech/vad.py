"""Voice activity and segmentation: Silero VAD over a 16 kHz stream, cut into utterances.

``Segmenter`` turns audio into events (speech started, partial audio every ``partial_interval_s``
while someone speaks, final audio at the end of speech or at ``max_segment_s``).
"""
from __future__ import annotations

import collections
import dataclasses
import os

import numpy as np

__all__ = ['CONTEXT', 'SAMPLE_RATE', 'SegmentEvent', 'Segmenter', 'SpeechConfig', 'StreamingVad',
           'WINDOW']


SAMPLE_RATE = 16000
WINDOW = 512      # Silero's window at 16 kHz (32 ms)
CONTEXT = 64      # samples of the previous window the model sees


@dataclasses.dataclass
class SpeechConfig:
    """VAD, segmentation and decoding settings (times in seconds, probabilities 0..1)."""

    vad_threshold: float = 0.5         # speech when the VAD probability reaches this
    vad_neg_threshold: float = 0.35    # silence again when it falls below this
    min_silence_s: float = 0.5         # silence that ends an utterance
    speech_pad_s: float = 0.2          # audio kept before and after speech
    min_speech_s: float = 0.25         # shorter bursts are dropped as clicks
    max_segment_s: float = 15.0        # a stream that never goes silent is cut here
    partial_interval_s: float = 1.0    # re-decode the growing segment this often (0 = never)
    pause_s: float = 0.15              # silence after which the words so far are decoded as a
    #                                    possible end (semantic end-pointing; 0 = never)
    no_speech_threshold: float = 0.6   # with low log prob, drop segments Whisper deems silent
    log_prob_threshold: float = -1.0   # average token log prob below which a segment is doubted
    compression_ratio_threshold: float = 2.4  # repetitive text above this is a hallucination
    beam_size: int = 1
    language: str = ''                 # '' = detect (multilingual models), e.g. 'en'
    word_timestamps: bool = True

    def validate(self) -> None:
        """Raise ValueError naming the first bad setting."""
        for name in ('vad_threshold', 'vad_neg_threshold', 'no_speech_threshold'):
            if not 0.0 < getattr(self, name) < 1.0:
                raise ValueError(f'{name} must be in (0, 1)')
        if self.vad_neg_threshold > self.vad_threshold:
            raise ValueError('vad_neg_threshold must not exceed vad_threshold')
        for name in ('min_silence_s', 'speech_pad_s', 'min_speech_s', 'partial_interval_s',
                     'pause_s'):
            if getattr(self, name) < 0:
                raise ValueError(f'{name} must be >= 0')
        if self.max_segment_s < 1.0:
            raise ValueError('max_segment_s must be >= 1')
        if self.beam_size < 1:
            raise ValueError('beam_size must be >= 1')


class StreamingVad:
    """Silero VAD (the ONNX model shipped in faster-whisper) over a stream, 32 ms at a time."""

    def __init__(self, model_path: str | None = None) -> None:
        import onnxruntime as ort

        if model_path is None:
            from faster_whisper.vad import get_assets_path

            model_path = os.path.join(get_assets_path(), 'silero_vad_v6.onnx')
        opts = ort.SessionOptions()
        opts.inter_op_num_threads = 1
        opts.intra_op_num_threads = 1
        opts.log_severity_level = 4
        self._session = ort.InferenceSession(model_path, providers=['CPUExecutionProvider'],
                                             sess_options=opts)
        self.reset()

    def reset(self) -> None:
        self._h = np.zeros((1, 1, 128), np.float32)
        self._c = np.zeros((1, 1, 128), np.float32)
        self._context = np.zeros(CONTEXT, np.float32)

    def __call__(self, window: np.ndarray) -> float:
        """Speech probability of one 512-sample window."""
        frame = np.concatenate([self._context, window]).reshape(1, -1).astype(np.float32)
        prob, self._h, self._c = self._session.run(
            None, {'input': frame, 'h': self._h, 'c': self._c})
        self._context = window[-CONTEXT:]
        return float(prob[0])


@dataclasses.dataclass(frozen=True)
class SegmentEvent:
    """What the segmenter saw: 'start', 'partial', 'pause' or 'final', with the utterance
    audio. A 'pause' comes once per silence of ``pause_s`` inside an utterance: the words so
    far, which may already be the whole command (``Segmenter.end_now`` ends it there)."""

    kind: str
    utterance: int
    audio: np.ndarray | None
    start_sample: int         # stream position of the utterance's first sample
    forced: bool = False      # final because max_segment_s was reached
    end_sample: int = 0       # pause, final: stream position where the speech ended (no pad)
    pause_end: int = 0        # final: end_sample of the 'pause' after which nothing was said


class Segmenter:
    """Feed 16 kHz float32 audio of any length; get SegmentEvents back."""

    def __init__(self, config: SpeechConfig, vad: StreamingVad) -> None:
        self.config = config
        self.vad = vad
        self._pending = np.zeros(0, np.float32)
        self._preroll: collections.deque = collections.deque()
        self._preroll_len = 0
        self._speech: list[np.ndarray] = []
        self._in_speech = False
        self._silence = 0
        self._voiced = 0
        self._paused = 0          # end_sample of the 'pause' that went out, 0 once speech came
        self._since_partial = 0
        self._position = 0
        self._start = 0
        self.utterance = 0

    @property
    def in_speech(self) -> bool:
        return self._in_speech

    def _samples(self, seconds: float) -> int:
        return int(round(seconds * SAMPLE_RATE))

    def feed(self, audio: np.ndarray) -> list[SegmentEvent]:
        """Process ``audio``; returns the events it completed, in order."""
        events: list[SegmentEvent] = []
        self._pending = np.concatenate([self._pending, audio.astype(np.float32, copy=False)])
        while self._pending.size >= WINDOW:
            window, self._pending = self._pending[:WINDOW], self._pending[WINDOW:]
            events.extend(self._window(window, self.vad(window)))
            self._position += WINDOW
        return events

    def _window(self, window: np.ndarray, prob: float) -> list[SegmentEvent]:
        cfg = self.config
        if not self._in_speech:
            if prob >= cfg.vad_threshold:
                self._in_speech, self._silence, self._voiced = True, 0, WINDOW
                self._since_partial = 0
                self.utterance += 1
                self._speech = list(self._preroll) + [window]
                self._start = self._position - self._preroll_len
                self._preroll.clear()
                self._preroll_len = 0
                return [SegmentEvent('start', self.utterance, None, self._start)]
            self._preroll.append(window)
            self._preroll_len += WINDOW
            while self._preroll_len - WINDOW >= self._samples(cfg.speech_pad_s):
                self._preroll_len -= self._preroll.popleft().size
            return []
        self._speech.append(window)
        self._since_partial += WINDOW
        if prob < cfg.vad_neg_threshold:
            self._silence += WINDOW
        else:
            self._silence, self._paused = 0, 0
            self._voiced += WINDOW
        length = sum(w.size for w in self._speech)
        if self._silence >= self._samples(cfg.min_silence_s):
            keep = length - self._silence + self._samples(cfg.speech_pad_s)
            return self._finish(min(keep, length), forced=False, spoken=length - self._silence)
        if length + WINDOW > self._samples(cfg.max_segment_s):  # never longer than the max
            return self._finish(length, forced=True, spoken=length)
        if (cfg.pause_s > 0 and not self._paused and self._silence >= self._samples(cfg.pause_s)
                and self._voiced >= self._samples(cfg.min_speech_s)):
            self._paused = self._start + length - self._silence
            return [SegmentEvent('pause', self.utterance, np.concatenate(self._speech),
                                 self._start, end_sample=self._paused)]
        if cfg.partial_interval_s > 0 and self._since_partial >= self._samples(
                cfg.partial_interval_s):
            self._since_partial = 0
            return [SegmentEvent('partial', self.utterance, np.concatenate(self._speech),
                                 self._start)]
        return []

    def _finish(self, keep: int, forced: bool, spoken: int) -> list[SegmentEvent]:
        audio = np.concatenate(self._speech)[:keep]
        voiced, paused = self._voiced, self._paused
        self._in_speech, self._speech, self._silence, self._paused = False, [], 0, 0
        if voiced < self._samples(self.config.min_speech_s):
            return [SegmentEvent('final', self.utterance, None, self._start)]  # a click
        return [SegmentEvent('final', self.utterance, audio, self._start, forced,
                             self._start + spoken, pause_end=0 if forced else paused)]

    def end_now(self, utterance: int, pause_end: int) -> bool:
        """End ``utterance`` at its pause that ended at ``pause_end`` (semantic end-pointing:
        the words up to it already form a whole command); False when the utterance is over
        or speech came since that pause. No 'final' event follows: the caller has the
        pause's transcript."""
        if not (self._in_speech and self.utterance == utterance
                and self._paused == pause_end != 0):
            return False
        self._in_speech, self._speech, self._silence, self._paused = False, [], 0, 0
        return True
