"""The governor's tier policy: readings -> tier index.

A temperature trend, hysteresis, a minimum dwell time, an emergency floor near the critical trip
point and a manual override with expiry.
"""
from __future__ import annotations

import collections
import dataclasses
import math

from edge_agent.core.thermal.sensors import ThermalReading

__all__ = ['PolicyConfig', 'TierDecision', 'TierPolicy']


@dataclasses.dataclass
class PolicyConfig:
    """Tier policy settings; temperatures in degrees Celsius, times in seconds."""

    num_tiers: int = 3
    thresholds_c: tuple[float, ...] = ()  # empty: derived from the passive trip point
    threshold_span_c: float = 15.0        # derived thresholds spread over this below passive
    default_passive_c: float = 85.0       # when no zone reports a passive trip point
    hysteresis_c: float = 3.0             # cool this far below a threshold to step back up
    min_dwell_s: float = 10.0             # hold a tier at least this long (emergencies excepted)
    emergency_margin_c: float = 5.0       # floor tier within this of the critical trip point
    trend_window_s: float = 20.0          # window for the temperature slope
    lookahead_s: float = 10.0             # act on the temperature expected this far ahead
    throttle_ratio: float = 0.95          # CPU capped below this share of max = throttling

    def validate(self) -> None:
        """Raise ValueError naming the first bad setting."""
        if self.num_tiers < 1:
            raise ValueError('num_tiers must be >= 1')
        if self.thresholds_c:
            if len(self.thresholds_c) != self.num_tiers - 1:
                raise ValueError(f'thresholds_c needs num_tiers - 1 = {self.num_tiers - 1} '
                                 f'values, got {len(self.thresholds_c)}')
            if list(self.thresholds_c) != sorted(set(self.thresholds_c)):
                raise ValueError('thresholds_c must be strictly increasing')
        for name in ('hysteresis_c', 'min_dwell_s', 'emergency_margin_c', 'lookahead_s'):
            if getattr(self, name) < 0:
                raise ValueError(f'{name} must be >= 0')
        if self.trend_window_s <= 0 or self.threshold_span_c <= 0:
            raise ValueError('trend_window_s and threshold_span_c must be > 0')
        if not 0 < self.throttle_ratio <= 1:
            raise ValueError('throttle_ratio must be in (0, 1]')


@dataclasses.dataclass(frozen=True)
class TierDecision:
    """The policy's answer for one reading."""

    tier: int
    reason: str
    changed: bool
    max_temp_c: float | None
    trend_c_per_s: float
    throttling: bool
    override_active: bool
    thresholds_c: tuple[float, ...]


class TierPolicy:
    """Map thermal readings to a tier index (0 = richest) without flapping."""

    def __init__(self, config: PolicyConfig | None = None) -> None:
        self.config = config or PolicyConfig()
        self.config.validate()
        self.tier = 0
        self._since = -math.inf
        self._history: collections.deque = collections.deque()
        self._override: tuple[int, float] | None = None  # (tier, expiry stamp or inf)

    # -- manual override ----------------------------------------------------------------------
    def set_override(self, tier: int, duration_s: float, now: float) -> None:
        """Force ``tier`` for ``duration_s`` seconds (0 = until cleared)."""
        if not 0 <= tier < self.config.num_tiers:
            raise ValueError(f'tier {tier} out of range 0..{self.config.num_tiers - 1}')
        if duration_s < 0 or not math.isfinite(duration_s):
            raise ValueError('duration must be a finite number >= 0')
        self._override = (tier, now + duration_s if duration_s > 0 else math.inf)

    def clear_override(self) -> None:
        self._override = None

    # -- helpers ------------------------------------------------------------------------------
    def thresholds(self, reading: ThermalReading) -> tuple[float, ...]:
        """Configured thresholds, or ones spread below the passive trip point."""
        cfg = self.config
        if cfg.thresholds_c:
            return tuple(cfg.thresholds_c)
        steps = cfg.num_tiers - 1
        if steps == 0:
            return ()
        passive = reading.trip('passive') or cfg.default_passive_c
        if steps == 1:
            return (passive - cfg.threshold_span_c / 2,)
        return tuple(passive - cfg.threshold_span_c + cfg.threshold_span_c * k / (steps - 1)
                     for k in range(steps))

    def _trend(self, now: float, temp: float | None) -> float:
        if temp is not None:
            self._history.append((now, temp))
        while self._history and self._history[0][0] < now - self.config.trend_window_s:
            self._history.popleft()
        if len(self._history) < 3:
            return 0.0
        ts = [t for t, _ in self._history]
        ys = [y for _, y in self._history]
        mean_t, mean_y = sum(ts) / len(ts), sum(ys) / len(ys)
        var = sum((t - mean_t) ** 2 for t in ts)
        if var <= 0:
            return 0.0
        return sum((t - mean_t) * (y - mean_y) for t, y in zip(ts, ys, strict=True)) / var

    def _set(self, tier: int, now: float) -> bool:
        changed = tier != self.tier
        if changed:
            self.tier = tier
            self._since = now
        return changed

    # -- the decision -------------------------------------------------------------------------
    def update(self, reading: ThermalReading) -> TierDecision:
        """Decide the tier for ``reading``; call once per sampling period."""
        cfg = self.config
        now = reading.stamp
        temp = reading.max_temp_c
        trend = self._trend(now, temp)
        thresholds = self.thresholds(reading)
        ratio = reading.min_cap_ratio
        throttling = ratio is not None and ratio < cfg.throttle_ratio
        floor = cfg.num_tiers - 1

        def decide(tier: int, reason: str, override: bool = False) -> TierDecision:
            changed = self._set(tier, now)
            return TierDecision(tier, reason, changed, temp, trend, throttling, override,
                                thresholds)

        if self._override is not None:
            tier, expiry = self._override
            if now < expiry:
                return decide(tier, f'manual override to tier {tier}', override=True)
            self._override = None

        if temp is None:
            return decide(self.tier, 'no valid temperature reading; holding the current tier')

        critical = reading.trip('critical')
        if critical is not None and temp >= critical - cfg.emergency_margin_c:
            return decide(floor, f'emergency: {temp:.1f} C within {cfg.emergency_margin_c:.1f} C '
                                 f'of the critical trip point {critical:.1f} C')

        # Heat is acted on early (expected temperature), cooling only on the measured one.
        expected = temp + max(trend, 0.0) * cfg.lookahead_s
        wanted = sum(1 for t in thresholds if expected >= t)
        reason = f'{temp:.1f} C (expected {expected:.1f} C in {cfg.lookahead_s:.0f} s)'
        if throttling and wanted == 0 and floor > 0:
            wanted = 1
            reason += f'; CPU capped at {ratio:.0%} of its maximum clock'

        dwell_left = cfg.min_dwell_s - (now - self._since)
        held = f'{reason}; holding tier {self.tier} for {dwell_left:.0f} s more (dwell)'
        if wanted > self.tier:
            if dwell_left > 0 and self.tier > 0:
                return decide(self.tier, held)
            return decide(wanted, f'{reason}: stepping down to tier {wanted}')
        if wanted < self.tier:
            # Step back up one tier at a time, once clearly below the threshold that put us
            # here, and only after the dwell time.
            release = thresholds[self.tier - 1] - cfg.hysteresis_c
            if temp > release:
                return decide(self.tier, f'{reason}; waiting to cool below {release:.1f} C '
                                         '(hysteresis)')
            if dwell_left > 0:
                return decide(self.tier, held)
            return decide(self.tier - 1, f'{reason}: cooled below {release:.1f} C, '
                                         f'stepping up to tier {self.tier - 1}')
        return decide(self.tier, reason)
