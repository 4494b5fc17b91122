"""PCM conversion for the speech pipeline: any encoding, rate and channel count -> float32 mono.

Used by the speech node for every incoming AudioChunk; raises AudioFormatError with a reason
for input it cannot take (unknown encoding, a byte count that does not divide into frames,
absurd sample rates) and cleans NaN/inf samples instead of passing them to the models.
"""
from __future__ import annotations

import numpy as np

from edge_agent.core.errors import EdgeAgentError

__all__ = ['AudioFormatError', 'ENCODINGS', 'decode_pcm', 'resample', 'to_int16_bytes']

ENCODINGS = {'s16le': np.dtype('<i2'), 's32le': np.dtype('<i4'), 'f32le': np.dtype('<f4'),
             'u8': np.dtype('u1')}
MIN_RATE, MAX_RATE = 4000, 384000


class AudioFormatError(EdgeAgentError, ValueError):
    """Audio that cannot be decoded; the message says why."""


def decode_pcm(data: bytes, encoding: str, channels: int, sample_rate: int) -> tuple[
        np.ndarray, int]:
    """Interleaved PCM bytes -> (float32 mono samples in [-1, 1], count of bad samples fixed)."""
    dtype = ENCODINGS.get(encoding.lower().strip())
    if dtype is None:
        raise AudioFormatError(f'unknown encoding {encoding!r}; supported: '
                               f'{", ".join(ENCODINGS)}')
    if not 1 <= channels <= 64:
        raise AudioFormatError(f'channel count {channels} out of range 1..64')
    if not MIN_RATE <= sample_rate <= MAX_RATE:
        raise AudioFormatError(f'sample rate {sample_rate} Hz out of range '
                               f'{MIN_RATE}..{MAX_RATE}')
    frame = dtype.itemsize * channels
    if len(data) % frame:
        raise AudioFormatError(f'{len(data)} bytes is not a whole number of {frame}-byte frames')
    raw = np.frombuffer(data, dtype=dtype)
    if dtype.kind == 'f':
        samples = raw.astype(np.float32)
    elif dtype.kind == 'u':
        samples = (raw.astype(np.float32) - 128.0) / 128.0
    else:
        samples = raw.astype(np.float32) / float(np.iinfo(dtype).max)
    bad = int(np.count_nonzero(~np.isfinite(samples)))
    if bad:
        samples = np.nan_to_num(samples, nan=0.0, posinf=0.0, neginf=0.0)
    samples = np.clip(samples, -1.0, 1.0)
    if channels > 1:
        samples = samples.reshape(-1, channels).mean(axis=1)
    return samples.astype(np.float32, copy=False), bad


def _lowpass(samples: np.ndarray, cutoff: float, taps: int = 63) -> np.ndarray:
    """Windowed-sinc low-pass; ``cutoff`` as a fraction of the sample rate (0..0.5)."""
    n = np.arange(taps) - (taps - 1) / 2
    kernel = 2 * cutoff * np.sinc(2 * cutoff * n) * np.hamming(taps)
    kernel /= kernel.sum()
    return np.convolve(samples, kernel.astype(np.float32), mode='same')


def resample(samples: np.ndarray, rate_in: int, rate_out: int = 16000) -> np.ndarray:
    """Resample mono float32 audio (anti-alias filter when downsampling, then interpolation)."""
    if rate_in == rate_out or samples.size == 0:
        return samples.astype(np.float32, copy=False)
    if rate_out < rate_in:
        samples = _lowpass(samples, 0.45 * rate_out / rate_in)
    duration = samples.size / rate_in
    count = int(round(duration * rate_out))
    positions = np.arange(count, dtype=np.float64) * (rate_in / rate_out)
    return np.interp(positions, np.arange(samples.size), samples).astype(np.float32)


def to_int16_bytes(samples: np.ndarray) -> bytes:
    """float32 [-1, 1] -> s16le bytes (for AudioChunk and WAV files)."""
    return (np.clip(samples, -1.0, 1.0) * 32767.0).astype('<i2').tobytes()
