"""Record topics of a running graph into a bag, and play a bag back into one (rclpy).

``BagRecorder`` subscribes to the chosen topics as they appear (serialized, no
deserialization), with the QoS their publishers offer, and writes each message with its receive
time. ``BagPlayer`` publishes a bag's messages with their original timing (scaled by
``rate``), each topic reliable and with the durability it was recorded with, and ``/clock``
for nodes with ``use_sim_time``; ``loop``, a topic filter, a start offset and a namespace to
play into, as with `ros2 bag play`. Its clock keeps running after the last message until ``stop()``
(``hold_clock``), so timers and timeouts of the nodes under test still expire once the
recording is over.
"""
from __future__ import annotations

import queue
import threading
import time

from edge_agent.bags.bag import BagWriter, bag_info, read_bag
from edge_agent.bags.types import message_class
from edge_agent.core.errors import ConfigError

__all__ = ['BagPlayer', 'BagRecorder']


def _profile(reliable: bool, transient_local: bool, depth: int):
    from rclpy.qos import DurabilityPolicy, HistoryPolicy, QoSProfile, ReliabilityPolicy

    return QoSProfile(
        history=HistoryPolicy.KEEP_LAST, depth=depth,
        reliability=ReliabilityPolicy.RELIABLE if reliable else ReliabilityPolicy.BEST_EFFORT,
        durability=(DurabilityPolicy.TRANSIENT_LOCAL if transient_local
                    else DurabilityPolicy.VOLATILE))


class BagRecorder:
    """Record ``topics`` seen by ``node`` into a new bag at ``path``.

    Callbacks only queue the serialized message; one thread owns the bag (sqlite3 allows its
    connection on one thread only, and a slow disk then never blocks the executor). A full
    queue drops and counts (``dropped``) instead of growing without bound."""

    def __init__(self, node, path, topics: list[str], storage: str = 'mcap',
                 discovery_period_s: float = 0.5, max_queue: int = 10000) -> None:
        self.node, self.path = node, path
        self.topics = [t if t.startswith('/') else f'/{t}' for t in topics]
        self.counts: dict[str, int] = {}
        self.dropped = 0
        self.error: Exception | None = None
        self._queue: queue.Queue = queue.Queue(maxsize=max_queue)
        self._writer = BagWriter(path, storage=storage)   # refuses an existing path here
        self._subscriptions = {}
        self._thread = threading.Thread(target=self._write_loop, daemon=True,
                                        name='bag_record')
        self._thread.start()
        self._timer = node.create_timer(discovery_period_s, self.discover)
        self.discover()

    def discover(self) -> None:
        """Subscribe to each chosen topic that has appeared since the last call."""
        from rclpy.qos import DurabilityPolicy, ReliabilityPolicy

        types = dict(self.node.get_topic_names_and_types())
        for topic in self.topics:
            if topic in self._subscriptions or not types.get(topic):
                continue
            type_name = types[topic][0]
            publishers = self.node.get_publishers_info_by_topic(topic)
            reliable = bool(publishers) and all(
                p.qos_profile.reliability == ReliabilityPolicy.RELIABLE for p in publishers)
            latched = bool(publishers) and all(
                p.qos_profile.durability == DurabilityPolicy.TRANSIENT_LOCAL
                for p in publishers)
            kind = 'latched' if latched else 'reliable' if reliable else 'sensor'
            self._queue.put(('topic', topic, type_name, kind))
            self._subscriptions[topic] = self.node.create_subscription(
                message_class(type_name), topic, self._queue_for(topic),
                _profile(reliable, latched, 100), raw=True)
            self.node.get_logger().info(f'recording {topic} ({type_name}, {kind})')

    def _queue_for(self, topic: str):
        def put(data: bytes) -> None:
            try:
                self._queue.put_nowait(('message', topic,
                                        self.node.get_clock().now().nanoseconds, data))
            except queue.Full:
                self.dropped += 1
        return put

    def _write_loop(self) -> None:
        try:
            with self._writer as writer:
                while (item := self._queue.get()) is not None:
                    if item[0] == 'topic':
                        writer.topic(*item[1:])
                        self.counts[item[1]] = 0
                    else:
                        writer.write(*item[1:])
                        self.counts[item[1]] += 1
        except Exception as exc:  # noqa: BLE001 - reported by close(), never a dead thread
            self.error = exc

    def close(self) -> None:
        """Stop recording, write what is queued, close the bag; re-raises a write error."""
        self.node.destroy_timer(self._timer)
        for sub in self._subscriptions.values():
            self.node.destroy_subscription(sub)
        self._subscriptions = {}
        self._queue.put(None)
        self._thread.join()
        if self.error is not None:
            raise ConfigError(f'recording into {self.path} failed: {self.error}')


class BagPlayer:
    """Publish the bag at ``path`` from ``node``; see the module docstring."""

    def __init__(self, node, path, *, rate: float = 1.0, loop: bool = False,
                 topics: list[str] | None = None, start_offset_s: float = 0.0,
                 clock_hz: float = 100.0, hold_clock: bool = True,
                 namespace: str = '') -> None:
        from rosgraph_msgs.msg import Clock

        if not rate > 0 or rate == float('inf'):
            raise ConfigError(f'rate {rate}: must be a positive finite number')
        if not start_offset_s >= 0:
            raise ConfigError(f'start offset {start_offset_s}: must be >= 0')
        self.node, self.path, self.rate, self.loop = node, path, rate, loop
        self.start_offset_s, self.hold_clock = start_offset_s, hold_clock
        self.duration_s, infos = bag_info(path)
        if topics is not None:
            wanted = {t if t.startswith('/') else f'/{t}' for t in topics}
            missing = sorted(wanted - {i.name for i in infos})
            if missing:
                raise ConfigError(f'topic(s) {", ".join(missing)} not in the bag {path}')
            infos = [i for i in infos if i.name in wanted]
        self.topics = [i.name for i in infos]
        # Always offered reliable: a reliable publisher matches best-effort and reliable
        # subscribers alike (a best-effort one matches only the former); durability as
        # recorded, so latched state still reaches late joiners.
        prefix = f"/{namespace.strip('/')}" if namespace.strip('/') else ''
        self._publishers = {
            i.name: node.create_publisher(message_class(i.type), prefix + i.name,
                                          _profile(True, i.transient_local, 100))
            for i in infos if i.name != '/clock'}
        self._clock_pub = node.create_publisher(Clock, '/clock', 10) if clock_hz > 0 else None
        self._clock_period = 1.0 / clock_hz if clock_hz > 0 else 0.0
        self.published = 0
        self.finished = threading.Event()    # the last message was published (not in loop)
        self._stop = threading.Event()
        self._origin: tuple[float, int] | None = None   # (wall time, bag time [ns]) of t=0
        self._threads: list[threading.Thread] = []
        self.error: Exception | None = None

    def wait_for_subscribers(self, timeout: float) -> list[str]:
        """Block until every played topic has a subscriber, up to ``timeout`` seconds (nodes
        still starting would miss the first messages); returns the topics still without
        one."""
        deadline = time.monotonic() + timeout
        while True:
            missing = [topic for topic, pub in self._publishers.items()
                       if pub.get_subscription_count() == 0]
            if not missing or time.monotonic() >= deadline or self._stop.is_set():
                return missing
            time.sleep(0.05)

    def now_ns(self) -> int | None:
        """The playback clock [ns of bag time]; None before start."""
        if self._origin is None:
            return None
        wall, bag = self._origin
        return bag + int((time.monotonic() - wall) * self.rate * 1e9)

    def start(self) -> BagPlayer:
        self._threads = [threading.Thread(target=self._play, daemon=True, name='bag_play')]
        if self._clock_pub is not None:
            self._threads.append(threading.Thread(target=self._tick, daemon=True,
                                                  name='bag_clock'))
        messages = read_bag(self.path, self.topics, self.start_offset_s)
        first = next(messages, None)
        messages.close()
        self._first_ns = first.time_ns if first else 0   # where every round starts
        self._origin = (time.monotonic(), self._first_ns)
        for thread in self._threads:
            thread.start()
        return self

    def _play(self) -> None:
        try:
            while not self._stop.is_set():
                for msg in read_bag(self.path, self.topics, self.start_offset_s):
                    delay = (msg.time_ns - self.now_ns()) / 1e9 / self.rate
                    if delay > 0 and self._stop.wait(delay):
                        return
                    if msg.topic in self._publishers:
                        self._publishers[msg.topic].publish(msg.data)
                        self.published += 1
                if not self.loop:
                    break
                self._origin = (time.monotonic(), self._first_ns)
        except Exception as exc:  # noqa: BLE001 - kept for the caller, never a dead thread
            self.error = exc
        finally:
            self.finished.set()

    def _tick(self) -> None:
        from rclpy.time import Time
        from rosgraph_msgs.msg import Clock

        while not self._stop.wait(self._clock_period):
            if self.finished.is_set() and not self.hold_clock:
                return
            try:
                self._clock_pub.publish(Clock(clock=Time(nanoseconds=self.now_ns()).to_msg()))
            except Exception:  # noqa: BLE001 - the node is being destroyed: stop ticking
                return

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the last message is published; False on timeout."""
        return self.finished.wait(timeout)

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(5.0)
