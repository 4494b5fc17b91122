"""SHA-256 of model files, read in chunks with an optional progress bar.
"""
from __future__ import annotations

import hashlib
import os
import pathlib

__all__ = ['CHUNK_BYTES', 'progress_bar', 'sha256_file']


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
