"""SHA-256 of model files, read in chunks with an optional progress bar; the check of a
user-supplied model file against the SHA-256 its user expects.
"""
from __future__ import annotations

import hashlib
import os
import pathlib
import re

from edge_agent.core.models.manifest import ModelIntegrityError, ModelMissingError

__all__ = ['CHUNK_BYTES', 'check_sha256', 'progress_bar', 'sha256_file']


CHUNK_BYTES = 4 * 1024 * 1024


class _NullBar:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def update(self, n: int) -> None:
        pass


def sha256_file(path: str | os.PathLike, progress=None, label: str = '') -> str:
    """SHA-256 hex digest of a file read in chunks; ``progress`` is a tqdm-like bar factory."""
    path = pathlib.Path(path)
    digest = hashlib.sha256()
    with open(path, 'rb') as fh, progress_bar(progress, path.stat().st_size, label) as bar:
        while chunk := fh.read(CHUNK_BYTES):
            digest.update(chunk)
            bar.update(len(chunk))
    return digest.hexdigest()


def progress_bar(progress, total: int, desc: str):
    if progress is None:
        return _NullBar()
    return progress(total=total, desc=desc, unit='B', unit_scale=True, unit_divisor=1024)


def check_sha256(path: str | os.PathLike, expected: str) -> None:
    """Hash ``path`` in full and raise ModelIntegrityError, naming the file, unless it is
    ``expected`` (hex, any case); an empty ``expected`` checks nothing."""
    expected = (expected or '').strip().lower()
    if not expected:
        return
    if not re.fullmatch(r'[0-9a-f]{64}', expected):
        raise ModelIntegrityError(f'{expected!r} is not a SHA-256 (64 hex digits) for {path}')
    path = pathlib.Path(path)
    if not path.is_file():
        raise ModelMissingError(f'model file {path} does not exist')
    actual = sha256_file(path)
    if actual != expected:
        raise ModelIntegrityError(f'{path}: SHA-256 is {actual}, expected {expected}; the file '
                                  'is not the one configured (damaged or replaced)')
