"""Streaming speech-to-text: Silero VAD segments a 16 kHz stream, faster-whisper decodes it.

``Segmenter`` turns audio into events (speech started, partial audio every
``partial_interval_s`` while someone speaks, final audio at the end of speech or at
``max_segment_s``); ``WhisperEngine`` decodes a segment into a ``TranscriptResult`` whose
confidences come from the model's own probabilities, with Whisper's hallucination guards on.
"""
from __future__ import annotations

import collections
import dataclasses
import gzip
import math
import os
import re
import time

import numpy as np

__all__ = [
    'SAMPLE_RATE',
    'Segmenter',
    'SegmentEvent',
    'SpeechConfig',
    'StreamingVad',
    'TranscriptResult',
    'WakeWordDetector',
    'WhisperEngine',
    'WordResult',
    'normalise_text',
    'word_error_rate',
]

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
        for name in ('min_silence_s', 'speech_pad_s', 'min_speech_s', 'partial_interval_s'):
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
    """What the segmenter saw: 'start', 'partial' or 'final', with the utterance audio."""

    kind: str
    utterance: int
    audio: np.ndarray | None
    start_sample: int         # stream position of the utterance's first sample
    forced: bool = False      # final because max_segment_s was reached


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
            self._silence = 0
            self._voiced += WINDOW
        length = sum(w.size for w in self._speech)
        if self._silence >= self._samples(cfg.min_silence_s):
            keep = length - self._silence + self._samples(cfg.speech_pad_s)
            return self._finish(min(keep, length), forced=False)
        if length + WINDOW > self._samples(cfg.max_segment_s):  # never longer than the max
            return self._finish(length, forced=True)
        if cfg.partial_interval_s > 0 and self._since_partial >= self._samples(
                cfg.partial_interval_s):
            self._since_partial = 0
            return [SegmentEvent('partial', self.utterance, np.concatenate(self._speech),
                                 self._start)]
        return []

    def _finish(self, keep: int, forced: bool) -> list[SegmentEvent]:
        audio = np.concatenate(self._speech)[:keep]
        voiced = self._voiced
        self._in_speech, self._speech, self._silence = False, [], 0
        if voiced < self._samples(self.config.min_speech_s):
            return [SegmentEvent('final', self.utterance, None, self._start)]  # a click
        return [SegmentEvent('final', self.utterance, audio, self._start, forced)]


class WakeWordDetector:
    """microWakeWord (pymicro-wakeword, optional) over the 16 kHz stream.

    ``feed`` returns the stream positions (in samples) at which the wake word was heard.
    Models: okay_nabu, hey_jarvis, hey_mycroft, alexa.
    """

    def __init__(self, model: str) -> None:
        try:
            from pymicro_wakeword import MicroWakeWord, MicroWakeWordFeatures, Model
        except ImportError as exc:
            raise ValueError('wake-word gating needs `pip install pymicro-wakeword`') from exc
        try:
            builtin = Model(model)
        except ValueError:
            raise ValueError(f'unknown wake word {model!r}; one of '
                             f'{", ".join(m.value for m in Model)}') from None
        self.model = model
        self._detector = MicroWakeWord.from_builtin(builtin)
        self._features = MicroWakeWordFeatures()
        self._position = 0

    def feed(self, audio: np.ndarray) -> list[int]:
        from edge_agent.core.audio import to_int16_bytes

        self._position += audio.size
        hits = []
        for features in self._features.process_streaming(to_int16_bytes(audio)):
            if self._detector.process_streaming(features):
                hits.append(self._position)
        return hits


@dataclasses.dataclass(frozen=True)
class WordResult:
    word: str
    start: float
    end: float
    probability: float


@dataclasses.dataclass(frozen=True)
class TranscriptResult:
    """One decode of one segment; empty ``text`` means nothing trustworthy was heard."""

    text: str
    language: str
    language_probability: float
    confidence: float
    avg_logprob: float
    no_speech_prob: float
    compression_ratio: float
    words: tuple[WordResult, ...]
    audio_duration: float
    processing_time: float
    tier: str


def _compression_ratio(text: str) -> float:
    data = text.encode()
    return len(data) / max(len(gzip.compress(data)), 1)


class WhisperEngine:
    """faster-whisper on one model; ``device`` 'auto' picks CUDA float16 when available."""

    def __init__(self, model_path: str, tier: str, device: str = 'auto',
                 compute_type: str = 'default', cpu_threads: int = 0) -> None:
        import ctranslate2
        from faster_whisper import WhisperModel

        if device == 'auto':
            device = 'cuda' if ctranslate2.get_cuda_device_count() > 0 else 'cpu'
        if compute_type == 'default':
            supported = ctranslate2.get_supported_compute_types(device)
            compute_type = 'float16' if device == 'cuda' and 'float16' in supported else 'int8'
        self.device, self.compute_type, self.tier = device, compute_type, tier
        self.model = WhisperModel(str(model_path), device=device, compute_type=compute_type,
                                  cpu_threads=cpu_threads or (os.cpu_count() or 1))
        self.multilingual = self.model.model.is_multilingual

    def transcribe(self, audio: np.ndarray, config: SpeechConfig) -> TranscriptResult:
        """Decode ``audio`` (16 kHz float32); guards drop segments that look hallucinated."""
        began = time.monotonic()
        language = config.language or (None if self.multilingual else 'en')
        segments, info = self.model.transcribe(
            audio, language=language, beam_size=config.beam_size, vad_filter=False,
            condition_on_previous_text=False, word_timestamps=config.word_timestamps,
            no_speech_threshold=config.no_speech_threshold,
            log_prob_threshold=config.log_prob_threshold,
            compression_ratio_threshold=config.compression_ratio_threshold)
        kept, words = [], []
        for seg in segments:
            silent = (seg.no_speech_prob > config.no_speech_threshold
                      and seg.avg_logprob < config.log_prob_threshold)
            repetitive = _compression_ratio(seg.text) > config.compression_ratio_threshold
            if silent or repetitive or not seg.text.strip():
                continue
            kept.append(seg)
            words += [WordResult(w.word, float(w.start), float(w.end), float(w.probability))
                      for w in (seg.words or [])]
        text = ' '.join(s.text.strip() for s in kept).strip()
        tokens = sum(max(len(s.tokens), 1) for s in kept)
        avg = (sum(s.avg_logprob * max(len(s.tokens), 1) for s in kept) / tokens
               if kept else -math.inf)
        no_speech = max((s.no_speech_prob for s in kept), default=1.0)
        return TranscriptResult(
            text=text, language=info.language or '',
            language_probability=float(info.language_probability or 0.0),
            confidence=float(math.exp(avg)) if kept else 0.0,
            avg_logprob=float(avg) if kept else 0.0, no_speech_prob=float(no_speech),
            compression_ratio=_compression_ratio(text) if text else 0.0, words=tuple(words),
            audio_duration=audio.size / SAMPLE_RATE,
            processing_time=time.monotonic() - began, tier=self.tier)

    def close(self) -> None:
        self.model = None


# -- evaluation helpers ------------------------------------------------------------------------
_NUMBER_WORDS = {'zero': '0', 'one': '1', 'two': '2', 'three': '3', 'four': '4', 'five': '5',
                 'six': '6', 'seven': '7', 'eight': '8', 'nine': '9', 'ten': '10'}
_CONTRACTIONS = {"what's": 'what is', "where's": 'where is', "it's": 'it is',
                 "let's": 'let us', "don't": 'do not', "i'm": 'i am', "that's": 'that is'}


def normalise_text(text: str) -> list[str]:
    """Words for WER: lower case, contractions expanded, numbers as digits, no punctuation."""
    text = text.lower()
    for short, full in _CONTRACTIONS.items():
        text = text.replace(short, full)
    words = re.findall(r"[a-z0-9']+", text)
    return [_NUMBER_WORDS.get(w, w) for w in words]


def word_error_rate(references: list[str], hypotheses: list[str]) -> float:
    """Corpus WER: word edits summed over pairs / reference words."""
    edits = total = 0
    for ref, hyp in zip(references, hypotheses, strict=True):
        r, h = normalise_text(ref), normalise_text(hyp)
        row = list(range(len(h) + 1))
        for i, rw in enumerate(r, 1):
            prev, row[0] = row[0], i
            for j, hw in enumerate(h, 1):
                prev, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, prev + (rw != hw))
        edits += row[len(h)]
        total += len(r)
    return edits / max(total, 1)
