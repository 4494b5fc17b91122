"""Swap a model engine while it serves: load the new one, switch under a lock, close the old one.

Every model node (speech, vision, planner) holds its engine in a ``HotSwap``. Loading takes
seconds, so it happens outside the lock and the old engine keeps serving meanwhile; users of the
engine hold the lock only while they run it (``with swap.use() as engine``), so the switch
waits for an in-flight request instead of dropping it, and the old engine is closed only once
nothing runs on it. A load that fails leaves the current engine in place. After an engine is
closed, the heap's free pages go back to the system (``return_freed_memory``).
"""
from __future__ import annotations

import collections
from collections.abc import Callable, Iterator
import contextlib
import ctypes
import dataclasses
import functools
import gc
import threading
import time
from typing import Generic, TypeVar

__all__ = ['HotSwap', 'SwapReport', 'close_quietly', 'return_freed_memory']

Engine = TypeVar('Engine')


@dataclasses.dataclass(frozen=True)
class SwapReport:
    """What a swap did: the key (e.g. a tier index) now in use and how long it took [s]."""

    key: object
    previous_key: object
    load_s: float      # loading the new engine (the old one served meanwhile)
    switch_s: float    # waiting for the in-flight request, switching and closing the old one


def close_quietly(engine) -> str | None:
    """``engine.close()`` if it has one; an error while closing is returned, not raised."""
    close = getattr(engine, 'close', None)
    if close is None:
        return None
    try:
        close()
    except Exception as exc:  # noqa: BLE001 - a failing close must not stop the swap
        return f'closing {type(engine).__name__} failed: {type(exc).__name__}: {exc}'
    return None


@functools.lru_cache(maxsize=1)
def _malloc_trim():
    try:
        return ctypes.CDLL(None).malloc_trim   # glibc; absent on musl and macOS
    except (OSError, AttributeError):
        return None


def return_freed_memory() -> None:
    """Collect garbage and hand the C heap's free pages back to the system (glibc's
    ``malloc_trim``). glibc keeps what a closed model freed in its per-thread arenas, so each
    model swap left the process bigger: measured with whisper-base <-> tiny.en, RSS 296 -> 993 MB
    over 8 swaps without this, a plateau of 386-438 MB over 20 swaps with it (docs/benchmarks.md,
    soak)."""
    gc.collect()
    trim = _malloc_trim()
    if trim is not None:
        trim(0)


class HotSwap(Generic[Engine]):
    """The current engine of a node, replaced without dropping requests; see the module doc."""

    def __init__(self) -> None:
        self._lock = threading.RLock()        # held while the engine runs, and to switch
        self._load_lock = threading.Lock()    # one load at a time
        self._engine: Engine | None = None
        self._key: object = None
        self.close_errors: collections.deque[str] = collections.deque(maxlen=16)   # the last

    @property
    def engine(self) -> Engine | None:
        """The current engine (None before the first swap and after close)."""
        return self._engine

    @property
    def key(self) -> object:
        return self._key

    @contextlib.contextmanager
    def use(self) -> Iterator[Engine | None]:
        """Hold the current engine for one request; a swap switches after the request ends."""
        with self._lock:
            yield self._engine

    def swap(self, key: object, load: Callable[[], Engine],
             force: bool = False) -> SwapReport | None:
        """Load with ``load()`` and switch to it; None when ``key`` is already in use (unless
        ``force``). Exceptions from ``load`` propagate and leave the current engine serving."""
        with self._load_lock:
            if not force and self._engine is not None and key == self._key:
                return None
            began = time.monotonic()
            engine = load()
            loaded = time.monotonic()
            with self._lock:
                old, previous = self._engine, self._key
                self._engine, self._key = engine, key
                error = close_quietly(old) if old is not None and old is not engine else None
            if error:
                self.close_errors.append(error)
            if old is not None and old is not engine:
                old = None
                return_freed_memory()
            return SwapReport(key, previous, loaded - began, time.monotonic() - loaded)

    def close(self) -> None:
        """Close the current engine (after any in-flight request) and hold none."""
        with self._load_lock, self._lock:
            old, self._engine, self._key = self._engine, None, None
            error = close_quietly(old) if old is not None else None
        if error:
            self.close_errors.append(error)
        if old is not None:
            old = None
            return_freed_memory()
