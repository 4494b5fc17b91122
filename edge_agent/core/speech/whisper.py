"""faster-whisper decoding of one segment into a TranscriptResult.

Confidences come from the model's own probabilities, with Whisper's hallucination guards on.
"""
from __future__ import annotations

import dataclasses
import gzip
import math
import os
import time

import numpy as np

from edge_agent.core.speech.vad import SAMPLE_RATE, SpeechConfig

__all__ = ['TranscriptResult', 'WhisperEngine', 'WordResult']


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
