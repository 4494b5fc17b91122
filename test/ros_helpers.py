"""Helpers for tests over real DDS: a background executor and waits with deadlines."""
from __future__ import annotations

import threading
import time

from edge_agent.nodes.common.executor import NodeSet

# Discovery usually takes 0.15 s here, but ~20 % of runs take 3 s; leave generous room.
DEFAULT_TIMEOUT = 20.0


class BackgroundExecutor(NodeSet):
    """The project's ``NodeSet`` on the test's context, spun in a thread inside ``with``;
    nodes added to it are destroyed on exit (their work first, then the executor, then the
    nodes). ``activate`` brings a lifecycle node up; ``add`` spins a node as it is."""

    def __init__(self, context, num_threads: int = 4) -> None:
        super().__init__(context, num_threads)

    def add(self, node):
        return super().add(node, lifecycle=False)

    def activate(self, node):
        """Configure and activate a lifecycle node (both must succeed), then spin it."""
        return super().add(node, lifecycle=True)

    def __enter__(self):
        self.spin()
        return self


def rgb_image(rgb):
    """A sensor_msgs/Image (rgb8) holding an HxWx3 uint8 array."""
    import numpy as np
    from sensor_msgs.msg import Image

    return Image(height=rgb.shape[0], width=rgb.shape[1], encoding='rgb8',
                 step=rgb.shape[1] * 3, data=np.ascontiguousarray(rgb).tobytes())


def wait_for(predicate, timeout: float = DEFAULT_TIMEOUT, interval: float = 0.02,
             message: str = 'condition') -> None:
    """Poll ``predicate`` until true; fail the test with ``message`` at the deadline."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(interval)
    raise AssertionError(f'timed out after {timeout:.0f} s waiting for {message}')


def done_within(future, timeout: float) -> bool:
    """Whether an rclpy future (spun elsewhere) is done within ``timeout`` [s]."""
    done = threading.Event()
    future.add_done_callback(lambda _f: done.set())
    return done.wait(timeout)


def wait_future(future, timeout: float = DEFAULT_TIMEOUT, message: str = 'future'):
    """Block until an rclpy future (spun elsewhere) is done and return its result."""
    if not done_within(future, timeout):
        raise AssertionError(f'timed out after {timeout:.0f} s waiting for {message}')
    return future.result()
