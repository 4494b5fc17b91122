"""core.hotswap: load outside the lock, switch between requests, close the old engine once."""
from __future__ import annotations

import threading

import pytest

from edge_agent.core.hotswap import HotSwap


class Engine:
    def __init__(self, name: str) -> None:
        self.name, self.closed = name, 0

    def close(self) -> None:
        self.closed += 1


def test_swap_switches_and_closes_the_old_engine_once():
    swap = HotSwap()
    a, b = Engine('a'), Engine('b')
    first = swap.swap(0, lambda: a)
    assert first.key == 0 and first.previous_key is None and swap.engine is a
    assert swap.swap(0, lambda: Engine('unused')) is None  # same key: nothing to do
    report = swap.swap(1, lambda: b)
    assert report.previous_key == 0 and swap.engine is b and swap.key == 1
    assert a.closed == 1 and b.closed == 0
    swap.close()
    assert b.closed == 1 and swap.engine is None and swap.key is None


def test_a_failed_load_keeps_the_current_engine_serving():
    swap = HotSwap()
    a = Engine('a')
    swap.swap(0, lambda: a)

    def broken():
        raise OSError('model file missing')

    with pytest.raises(OSError, match='missing'):
        swap.swap(1, broken)
    assert swap.engine is a and swap.key == 0 and a.closed == 0


def test_the_switch_waits_for_the_request_in_flight_and_loads_meanwhile():
    swap = HotSwap()
    old, new = Engine('old'), Engine('new')
    swap.swap(0, lambda: old)
    in_request, release, loaded = threading.Event(), threading.Event(), threading.Event()
    seen = []

    def request():
        with swap.use() as engine:
            in_request.set()
            release.wait(10)
            seen.append((engine.name, engine.closed))  # still open while in use

    def load():
        loaded.set()
        return new

    worker = threading.Thread(target=request)
    worker.start()
    assert in_request.wait(10)
    swapper = threading.Thread(target=swap.swap, args=(1, load))
    swapper.start()
    assert loaded.wait(10), 'loading must not wait for the request'
    assert swap.engine is old and old.closed == 0  # not switched while the request runs
    release.set()
    worker.join(10)
    swapper.join(10)
    assert seen == [('old', 0)] and swap.engine is new and old.closed == 1


def test_a_close_error_is_kept_not_raised():
    class Bad(Engine):
        def close(self):
            raise RuntimeError('driver gone')

    swap = HotSwap()
    swap.swap(0, lambda: Bad('bad'))
    swap.swap(1, lambda: Engine('ok'))
    assert swap.key == 1 and 'driver gone' in swap.close_errors[0]


def test_the_old_engine_is_gone_when_its_memory_is_handed_back(monkeypatch):
    """After a swap (and a close) nothing holds the old engine any more when the heap is trimmed
    (return_freed_memory: gc, then glibc's malloc_trim), so what it freed can go back; a
    reference kept by the swap would make the trim useless (each whisper swap left ~150 MB)."""
    import gc
    import weakref

    from edge_agent.core import hotswap

    seen = []
    real = hotswap.return_freed_memory

    def checked():
        gc.collect()
        seen.append([ref() is None for ref in refs])
        real()

    monkeypatch.setattr(hotswap, 'return_freed_memory', checked)
    swap = HotSwap()
    refs = []
    for key in range(3):
        engine = Engine(str(key))
        refs.append(weakref.ref(engine))
        swap.swap(key, lambda e=engine: e)
        del engine
    swap.close()
    assert seen == [[True, False], [True, True, False], [True, True, True]]
