"""Access to the committed speech test set (test/data/speech, made with Piper TTS)."""
from __future__ import annotations

import pathlib
import wave

import numpy as np
import yaml

DATA = pathlib.Path(__file__).parent / 'data' / 'speech'
REFERENCES = yaml.safe_load((DATA / 'references.yaml').read_text())


def load(name: str) -> np.ndarray:
    """16 kHz mono float32 samples of ``name``.wav."""
    with wave.open(str(DATA / f'{name}.wav')) as wav:
        assert wav.getframerate() == 16000 and wav.getnchannels() == 1
        return np.frombuffer(wav.readframes(wav.getnframes()), '<i2').astype(np.float32) / 32767


def spoken() -> list[str]:
    return [k for k, v in REFERENCES.items() if v['kind'] in ('command', 'non_command')]
