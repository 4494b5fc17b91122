"""What the benchmarks share: percentiles, CPU-timed repeats, peak memory, the source tree."""
from __future__ import annotations

from collections.abc import Callable, Iterator
import contextlib
import os
import pathlib
import resource
import statistics
import time

__all__ = ['SOURCE_ROOT', 'cpu_timed', 'peak_rss_mb', 'percentile', 'rss_mb', 'running_graph']

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


def rss_mb(pid: int | str = 'self') -> float | None:
    """Resident memory of process ``pid`` now [MiB]; None when it is gone."""
    try:
        with open(f'/proc/{pid}/statm') as fh:
            return int(fh.read().split()[1]) * os.sysconf('SC_PAGE_SIZE') / 1024 ** 2
    except (OSError, IndexError, ValueError):
        return None


def peak_rss_mb() -> float:
    """Peak resident memory of this process [MB]."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


@contextlib.contextmanager
def running_graph(make_nodes: Callable[[object], list], probe: str | None = None,
                  num_threads: int | None = None) -> Iterator[tuple[list, object]]:
    """Lifecycle nodes (``make_nodes(context)``) configured, activated and spinning on the
    project's executor in a private context on ROS_DOMAIN_ID (``NodeSet``), plus a plain probe
    node named ``probe`` (None: none); yields (nodes, probe) and shuts all of it down after."""
    from rclpy.node import Node

    from edge_agent.nodes.common.executor import NodeSet

    with NodeSet(num_threads=num_threads) as graph:
        nodes = [graph.add(node) for node in make_nodes(graph.context)]
        extra = graph.add(Node(probe, context=graph.context), lifecycle=False) if probe else None
        graph.spin()
        yield nodes, extra
