"""Wake-word detection over the 16 kHz stream (pymicro-wakeword, optional).
"""
from __future__ import annotations

import numpy as np

from edge_agent.core.errors import MissingDependency

__all__ = ['WakeWordDetector']


class WakeWordDetector:
    """microWakeWord (pymicro-wakeword, optional) over the 16 kHz stream.

    ``feed`` returns the stream positions (in samples) at which the wake word was heard.
    Models: okay_nabu, hey_jarvis, hey_mycroft, alexa.
    """

    def __init__(self, model: str) -> None:
        try:
            from pymicro_wakeword import MicroWakeWord, MicroWakeWordFeatures, Model
        except ImportError as exc:
            raise MissingDependency(
                'wake-word gating needs `pip install pymicro-wakeword`') from exc
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
        from edge_agent.core.speech.pcm import to_int16_bytes

        self._position += audio.size
        hits = []
        for features in self._features.process_streaming(to_int16_bytes(audio)):
            if self._detector.process_streaming(features):
                hits.append(self._position)
        return hits
