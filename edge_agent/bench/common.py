"""What the benchmarks share: percentiles, CPU-timed repeats, peak memory, the source tree."""
from __future__ import annotations

from collections.abc import Callable
import pathlib
import resource
import statistics
import time

__all__ = ['SOURCE_ROOT', 'cpu_timed', 'peak_rss_mb', 'percentile']

# Benchmarks read test data of the source tree (held-out renders, the speech set).
SOURCE_ROOT = pathlib.Path(__file__).resolve().parents[2]


def percentile(values, q: int) -> float:
    """The q-th 5 % step (q=18 -> p95) of ``values``; the value itself for a single one."""
    values = list(values)
    return statistics.quantiles(values, n=20)[q] if len(values) > 1 else values[0]


def cpu_timed(fn: Callable[[], object], repeats: int) -> list[float]:
    """CPU time [s] of each of ``repeats`` calls of ``fn``."""
    out = []
    for _ in range(repeats):
        start = time.process_time()
        fn()
        out.append(time.process_time() - start)
    return out


def peak_rss_mb() -> float:
    """Peak resident memory of this process [MB]."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
