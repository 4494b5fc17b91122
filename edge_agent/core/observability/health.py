"""How a node's inputs are doing: rate, age of the newest input, processing latency, drops.

Each node keeps one ``InputHealth`` per input (a topic, an action's goals, a device) and a
``NodeHealth`` that turns them, its counters and its recent problems into the level, message
and values of its ``/diagnostics`` status. A stream input (camera, microphone, detections)
silent longer than ``stale_after_s`` is a warning ("no camera/image_raw for 6.1 s"); event
inputs (commands, transcripts) are never stale. No rclpy: nodes convert.
"""
from __future__ import annotations

import collections
from collections.abc import Callable, Iterable, Mapping
import dataclasses
import statistics
import threading
import time

__all__ = ['ERROR', 'OK', 'WARN', 'HealthReport', 'InputHealth', 'NodeHealth']

OK, WARN, ERROR = 0, 1, 2        # diagnostic_msgs/DiagnosticStatus levels
RATE_WINDOW_S = 10.0             # the input rate is measured over this much of the past
LATENCY_WINDOW = 200             # processing latencies kept for the percentiles
QOS_HOLD_S = 30.0                # an incompatible-QoS event keeps the node WARN this long


class InputHealth:
    """One input of a node; thread-safe (callbacks, workers and the diagnostics timer)."""

    def __init__(self, name: str, stale_after_s: float = 0.0,
                 clock: Callable[[], float] = time.monotonic, stream: bool = False) -> None:
        self.name, self.stale_after_s, self._clock = name, stale_after_s, clock
        self.stream = stream            # a stream may go stale; an event input never does
        self._lock = threading.Lock()
        self._arrivals: collections.deque[float] = collections.deque()
        self._latencies: collections.deque[float] = collections.deque(maxlen=LATENCY_WINDOW)
        self.received_total = 0
        self.dropped_total = 0
        self.newest: float | None = None
        self.since = clock()            # when watching began: a stream silent since is stale

    def restart(self) -> None:
        """Start watching afresh (on activate): staleness counts from now."""
        with self._lock:
            self.since = self._clock()
            self._arrivals.clear()

    def received(self) -> None:
        """An input arrived."""
        with self._lock:
            now = self._clock()
            self.newest = now
            self.received_total += 1
            self._arrivals.append(now)
            self._trim(now)

    def processed(self, seconds: float) -> None:
        """One input took ``seconds`` to process (the node's own measure of its work)."""
        with self._lock:
            self._latencies.append(float(seconds))

    def dropped(self, count: int = 1) -> None:
        """``count`` inputs were dropped (too large, too late, malformed, refused)."""
        with self._lock:
            self.dropped_total += int(count)

    def _trim(self, now: float) -> None:
        while self._arrivals and now - self._arrivals[0] > RATE_WINDOW_S:
            self._arrivals.popleft()

    def rate_hz(self, now: float | None = None) -> float:
        """Inputs per second over the last ``RATE_WINDOW_S`` (or since watching began)."""
        with self._lock:
            now = self._clock() if now is None else now
            self._trim(now)
            span = min(RATE_WINDOW_S, max(now - self.since, 1e-9))
            return len(self._arrivals) / span

    def age_s(self, now: float | None = None) -> float | None:
        """Seconds since the newest input; None before the first."""
        if self.newest is None:
            return None
        return (self._clock() if now is None else now) - self.newest

    def latency_s(self) -> tuple[float, float] | None:
        """(p50, p95) of the kept processing latencies; None before the first."""
        with self._lock:
            values = sorted(self._latencies)
        if not values:
            return None
        if len(values) == 1:
            return values[0], values[0]
        return statistics.median(values), statistics.quantiles(values, n=20,
                                                               method='inclusive')[18]

    def silent_for(self, now: float | None = None) -> float | None:
        """Seconds this stream has been silent (since its newest input, or since watching
        began when none came), when that is longer than ``stale_after_s``; else None."""
        if self.stale_after_s <= 0:
            return None
        now = self._clock() if now is None else now
        began = self.since if self.newest is None or self.newest < self.since else self.newest
        silent = now - began
        return silent if silent > self.stale_after_s else None

    def stale(self, now: float | None = None) -> str | None:
        """Why this stream counts as stale, or None (event inputs never are)."""
        silent = self.silent_for(now)
        if silent is None:
            return None
        never = self.newest is None or self.newest < self.since
        return f'no {self.name} for {silent:.1f} s' + (' (none since start)' if never else '')

    def values(self, now: float | None = None) -> dict[str, str]:
        """The input's diagnostics values, keys prefixed with its name."""
        now = self._clock() if now is None else now
        key = self.name.strip('/').replace('/', '_')
        age = self.age_s(now)
        latency = self.latency_s()
        out = {f'{key}.rate_hz': f'{self.rate_hz(now):.2f}',
               f'{key}.age_s': '-' if age is None else f'{age:.2f}',
               f'{key}.received': str(self.received_total),
               f'{key}.dropped': str(self.dropped_total),
               f'{key}.latency_p50_ms': '-' if latency is None else f'{latency[0] * 1e3:.1f}',
               f'{key}.latency_p95_ms': '-' if latency is None else f'{latency[1] * 1e3:.1f}'}
        if self.stale_after_s > 0:
            out[f'{key}.stale_after_s'] = f'{self.stale_after_s:g}'
        return out


@dataclasses.dataclass(frozen=True)
class HealthReport:
    """One /diagnostics status: level (OK, WARN, ERROR), message, values."""

    level: int
    message: str
    values: dict[str, str]


class NodeHealth:
    """A node's inputs, counters and recent problems -> ``HealthReport``.

    ``counters`` (a Counter the node increments) and ``problems`` (a deque the node appends
    to; emptied by each report) are the node's own; the newest problem since the last report
    is the message of a WARN."""

    def __init__(self, stale_after_s: float = 5.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._stale_after_s = float(stale_after_s)
        self.inputs: dict[str, InputHealth] = {}
        self.counters: collections.Counter = collections.Counter()
        self.problems: collections.deque[str] = collections.deque(maxlen=5)
        self._qos: dict[str, tuple[float, str]] = {}   # topic -> (when, what)

    def input(self, name: str, stream: bool = False) -> InputHealth:
        """The input ``name``, made at the first call; a ``stream`` goes stale after
        ``stale_after_s`` without an input."""
        if name not in self.inputs:
            self.inputs[name] = InputHealth(name, self._stale_after_s if stream else 0.0,
                                            self._clock, stream)
        return self.inputs[name]

    @property
    def stale_after_s(self) -> float:
        """Silence after which a stream input is stale [s]; 0 = never."""
        return self._stale_after_s

    @stale_after_s.setter
    def stale_after_s(self, seconds: float) -> None:
        self._stale_after_s = float(seconds)
        for health in self.inputs.values():
            if health.stream:
                health.stale_after_s = self._stale_after_s

    def restart(self) -> None:
        """Staleness counts from now (on activate)."""
        for health in self.inputs.values():
            health.restart()

    def incompatible_qos(self, topic: str, what: str) -> None:
        """A DDS endpoint with incompatible QoS was found for ``topic``."""
        self._qos[topic] = (self._clock(), what)
        self.counters[f'{topic.strip("/").replace("/", "_")}_incompatible_qos'] += 1
        self.problems.append(what)

    def report(self, *, model: Mapping[str, object] | None = None, needs_model: bool = False,
               ok_message: str = 'ok', extra: Mapping[str, object] | None = None,
               warnings: Iterable[str] = ()) -> HealthReport:
        """The status now: WARN with the node's own ``warnings`` (a held emergency stop),
        without a needed model, for a stale stream, an incompatible QoS endpoint (for
        ``QOS_HOLD_S``) or a problem since the last report; else OK."""
        now = self._clock()
        values: dict[str, str] = {}
        for health in self.inputs.values():
            values.update(health.values(now))
        values.update({k: str(v) for k, v in self.counters.items()})
        values.update({k: str(v) for k, v in (extra or {}).items()})
        values.update({k: str(v) for k, v in (model or {}).items()})
        warnings = list(warnings)
        if needs_model and model is None:
            warnings.append('no model loaded')
        warnings += [s for s in (h.stale(now) for h in self.inputs.values()) if s]
        warnings += [what for when, what in self._qos.values() if now - when <= QOS_HOLD_S]
        if self.problems:
            warnings.append(self.problems[-1])
        self.problems.clear()
        if warnings:
            # one message, most important first; duplicates (a QoS event is also a problem) once
            return HealthReport(WARN, '; '.join(dict.fromkeys(warnings)), values)
        return HealthReport(OK, ok_message, values)
