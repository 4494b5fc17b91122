"""Thermal sensing and the tier policy of the thermal governor (no ROS here).

``SysfsThermalReader`` reads the Linux thermal interface (``class/thermal/thermal_zone*``) and
CPU frequency capping (``devices/system/cpu/cpu*/cpufreq``) under a configurable root, so a fake
tree replays a recorded trace on any machine. ``TierPolicy`` maps readings to a tier index with
a temperature trend, hysteresis, a minimum dwell time, an emergency floor near the critical trip
point and a manual override with expiry.
"""
from __future__ import annotations

import collections
from collections.abc import Iterable, Sequence
import csv
import dataclasses
import math
import os
import pathlib

__all__ = [
    'CpuFreq',
    'FakeSysfs',
    'JtopThermalReader',
    'PolicyConfig',
    'SysfsThermalReader',
    'ThermalReading',
    'TierDecision',
    'TierPolicy',
    'TracePoint',
    'TripPoint',
    'ZoneReading',
    'load_trace',
    'reading_from_trace',
    'record_trace',
    'write_trace',
]

# Readings outside this range are sensor faults (disconnected sensors read -273 C or 255 C).
_PLAUSIBLE_C = (-40.0, 150.0)


@dataclasses.dataclass(frozen=True)
class TripPoint:
    """A kernel trip point of a zone: type ("passive", "hot", "critical", ...) and temperature."""

    type: str
    temp_c: float


@dataclasses.dataclass(frozen=True)
class ZoneReading:
    """One thermal zone: its type name, temperature (None when offline) and trip points."""

    name: str
    temp_c: float | None
    trips: tuple[TripPoint, ...] = ()
    error: str = ''


@dataclasses.dataclass(frozen=True)
class CpuFreq:
    """Frequency capping of one CPU: the thermal driver lowers scaling_max below cpuinfo_max."""

    cpu: str
    cur_khz: int | None
    scaling_max_khz: int | None
    cpuinfo_max_khz: int | None

    @property
    def cap_ratio(self) -> float | None:
        """scaling_max / cpuinfo_max: 1.0 = uncapped."""
        if not self.scaling_max_khz or not self.cpuinfo_max_khz:
            return None
        return self.scaling_max_khz / self.cpuinfo_max_khz


@dataclasses.dataclass(frozen=True)
class ThermalReading:
    """Everything read at one instant; ``stamp`` is seconds on a monotonic clock."""

    stamp: float
    zones: tuple[ZoneReading, ...]
    cpus: tuple[CpuFreq, ...] = ()
    power_mode: str = ''

    @property
    def valid_zones(self) -> list[ZoneReading]:
        return [z for z in self.zones if z.temp_c is not None]

    @property
    def max_temp_c(self) -> float | None:
        temps = [z.temp_c for z in self.valid_zones]
        return max(temps) if temps else None

    @property
    def min_cap_ratio(self) -> float | None:
        ratios = [c.cap_ratio for c in self.cpus if c.cap_ratio is not None]
        return min(ratios) if ratios else None

    def trip(self, kind: str) -> float | None:
        """Lowest trip point of ``kind`` over the valid zones."""
        temps = [t.temp_c for z in self.valid_zones for t in z.trips if t.type == kind]
        return min(temps) if temps else None


def _read_text(path: pathlib.Path) -> str:
    return path.read_text().strip()


def _read_millideg(path: pathlib.Path) -> float:
    value = int(_read_text(path)) / 1000.0
    if not _PLAUSIBLE_C[0] <= value <= _PLAUSIBLE_C[1]:
        raise ValueError(f'implausible temperature {value:.1f} C')
    return value


class SysfsThermalReader:
    """Read thermal zones and CPU frequency caps under ``root`` (default ``/sys``).

    ``zones`` restricts to zone type names (e.g. Jetson's "cpu-thermal", "gpu-thermal",
    "tj-thermal"); empty means all. A zone that cannot be read is reported with ``temp_c=None``
    and the error, never raised.
    """

    def __init__(self, root: str | os.PathLike = '/sys', zones: Sequence[str] = (),
                 power_mode_file: str | os.PathLike | None = '/var/lib/nvpmodel/status') -> None:
        self.root = pathlib.Path(root)
        self.zones = tuple(zones)
        self.power_mode_file = pathlib.Path(power_mode_file) if power_mode_file else None

    def _zone_dirs(self) -> list[pathlib.Path]:
        base = self.root / 'class' / 'thermal'
        try:
            dirs = [d for d in base.iterdir() if d.name.startswith('thermal_zone')]
        except OSError:
            return []
        return sorted(dirs, key=lambda d: int(d.name[len('thermal_zone'):] or 0))

    def _read_zone(self, folder: pathlib.Path) -> ZoneReading | None:
        try:
            name = _read_text(folder / 'type')
        except OSError:
            name = folder.name
        if self.zones and name not in self.zones:
            return None
        trips = []
        for trip_file in sorted(folder.glob('trip_point_*_temp')):
            try:
                kind = _read_text(trip_file.with_name(trip_file.name[:-4] + 'type'))
                trips.append(TripPoint(kind, _read_millideg(trip_file)))
            except (OSError, ValueError):
                continue  # a trip point without a readable type or value is unusable
        try:
            temp = _read_millideg(folder / 'temp')
        except (OSError, ValueError) as exc:
            return ZoneReading(name, None, tuple(trips), f'{type(exc).__name__}: {exc}')
        return ZoneReading(name, temp, tuple(trips))

    def _read_cpus(self) -> list[CpuFreq]:
        cpus = []
        for folder in sorted((self.root / 'devices' / 'system' / 'cpu').glob('cpu[0-9]*')):
            freq = folder / 'cpufreq'
            if not freq.is_dir():
                continue

            def khz(name: str, freq=freq) -> int | None:
                try:
                    return int(_read_text(freq / name))
                except (OSError, ValueError):
                    return None

            cpus.append(CpuFreq(folder.name, khz('scaling_cur_freq'), khz('scaling_max_freq'),
                                khz('cpuinfo_max_freq')))
        return cpus

    def _power_mode(self) -> str:
        # Jetson: nvpmodel keeps the active power mode in its status file ("pmode:0001 ...").
        if self.power_mode_file is None:
            return ''
        try:
            return _read_text(self.power_mode_file).splitlines()[0]
        except (OSError, IndexError):
            return ''

    def read(self, stamp: float) -> ThermalReading:
        """One reading, stamped with the caller's monotonic time."""
        zones = [z for z in (self._read_zone(d) for d in self._zone_dirs()) if z is not None]
        return ThermalReading(stamp, tuple(zones), tuple(self._read_cpus()), self._power_mode())


class JtopThermalReader:
    """Jetson readings through jetson-stats' ``jtop`` (optional import; needs its service).

    Same ``read(stamp)`` interface as SysfsThermalReader. jtop gives temperatures and the
    nvpmodel power mode but no trip points, so ``trip_source`` (a SysfsThermalReader) supplies
    those; zones jtop reports offline have no temperature.
    """

    def __init__(self, trip_source: SysfsThermalReader | None = None) -> None:
        try:
            from jtop import jtop
        except ImportError as exc:
            raise RuntimeError('jtop is not installed (pip install jetson-stats)') from exc
        self._jetson = jtop()
        self._jetson.start()
        self._trips = trip_source

    def read(self, stamp: float) -> ThermalReading:
        trips: dict[str, tuple[TripPoint, ...]] = {}
        cpus: tuple[CpuFreq, ...] = ()
        if self._trips is not None:
            base = self._trips.read(stamp)
            trips = {z.name.lower().replace('-thermal', ''): z.trips for z in base.zones}
            cpus = base.cpus
        zones = []
        if not self._jetson.ok():
            return ThermalReading(stamp, (), cpus, '')
        for name, value in (self._jetson.temperature or {}).items():
            online = value.get('online', True) if isinstance(value, dict) else True
            temp = value.get('temp') if isinstance(value, dict) else value
            valid = online and isinstance(temp, (int, float)) and (
                _PLAUSIBLE_C[0] <= temp <= _PLAUSIBLE_C[1])
            zones.append(ZoneReading(str(name), float(temp) if valid else None,
                                     trips.get(str(name).lower(), ()),
                                     '' if valid else 'offline in jtop'))
        mode = self._jetson.nvpmodel
        power = str(getattr(mode, 'name', mode or ''))
        return ThermalReading(stamp, tuple(zones), cpus, power)

    def close(self) -> None:
        self._jetson.close()


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


# -- traces ------------------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class TracePoint:
    """One row of a thermal trace: time [s] and zone temperatures [C] (None = dropout)."""

    t: float
    temps: dict


def load_trace(path: str | os.PathLike) -> tuple[list[TracePoint], dict[str, list[TripPoint]]]:
    """Read a trace CSV: ``# trip <zone> <type> <temp_c>`` lines, header ``t,<zone>,...``."""
    trips: dict[str, list[TripPoint]] = {}
    rows = []
    with open(path, newline='') as fh:
        lines = []
        for line in fh:
            if line.startswith('# trip '):
                _, _, zone, kind, temp = line.split()
                trips.setdefault(zone, []).append(TripPoint(kind, float(temp)))
            elif not line.startswith('#') and line.strip():
                lines.append(line)
    reader = csv.DictReader(lines)
    if not reader.fieldnames or reader.fieldnames[0] != 't':
        raise ValueError(f'{path}: the header must start with "t"')
    for row in reader:
        temps = {k: (float(v) if v not in ('', None) else None)
                 for k, v in row.items() if k != 't'}
        rows.append(TracePoint(float(row['t']), temps))
    return rows, trips


def write_trace(path: str | os.PathLike, points: Iterable[TracePoint],
                trips: dict[str, list[TripPoint]]) -> None:
    """Write a trace in the format ``load_trace`` reads."""
    points = list(points)
    zones = list(points[0].temps) if points else []
    with open(path, 'w', newline='') as fh:
        for zone, zone_trips in trips.items():
            for trip in zone_trips:
                fh.write(f'# trip {zone} {trip.type} {trip.temp_c:.1f}\n')
        writer = csv.writer(fh)
        writer.writerow(['t', *zones])
        for p in points:
            writer.writerow([f'{p.t:.2f}', *('' if p.temps.get(z) is None else f'{p.temps[z]:.2f}'
                                             for z in zones)])


class FakeSysfs:
    """A sysfs-shaped tree under ``root`` that a trace is written into, step by step.

    Stands in for the Jetson's /sys on machines without thermal sensors; the reader cannot
    tell it from the real interface. A dropout (None) makes the zone's temp file unreadable,
    as an offline sensor does.
    """

    def __init__(self, root: str | os.PathLike, trips: dict[str, list[TripPoint]],
                 zones: Sequence[str]) -> None:
        self.root = pathlib.Path(root)
        self._dirs = {}
        for index, zone in enumerate(zones):
            folder = self.root / 'class' / 'thermal' / f'thermal_zone{index}'
            folder.mkdir(parents=True, exist_ok=True)
            (folder / 'type').write_text(zone + '\n')
            for k, trip in enumerate(trips.get(zone, [])):
                (folder / f'trip_point_{k}_type').write_text(trip.type + '\n')
                (folder / f'trip_point_{k}_temp').write_text(f'{round(trip.temp_c * 1000)}\n')
            self._dirs[zone] = folder

    def set_cpu_cap(self, cpu: int, scaling_max_khz: int, cpuinfo_max_khz: int) -> None:
        folder = self.root / 'devices' / 'system' / 'cpu' / f'cpu{cpu}' / 'cpufreq'
        folder.mkdir(parents=True, exist_ok=True)
        (folder / 'scaling_max_freq').write_text(f'{scaling_max_khz}\n')
        (folder / 'cpuinfo_max_freq').write_text(f'{cpuinfo_max_khz}\n')
        (folder / 'scaling_cur_freq').write_text(f'{scaling_max_khz}\n')

    def apply(self, temps: dict) -> None:
        """Write one trace row's temperatures (atomically, as the kernel's reads are)."""
        for zone, temp in temps.items():
            path = self._dirs[zone] / 'temp'
            if temp is None:
                path.unlink(missing_ok=True)
                continue
            tmp = path.with_suffix('.tmp')
            tmp.write_text(f'{round(temp * 1000)}\n')
            tmp.replace(path)


def reading_from_trace(point: TracePoint, trips: dict[str, list[TripPoint]]) -> ThermalReading:
    """The reading a sysfs tree holding ``point`` would give."""
    zones = tuple(ZoneReading(z, t, tuple(trips.get(z, []))) for z, t in point.temps.items())
    return ThermalReading(point.t, zones)


def record_trace(reader: SysfsThermalReader, samples: int, period_s: float, clock, sleep
                 ) -> tuple[list[TracePoint], dict[str, list[TripPoint]]]:
    """Sample ``reader`` ``samples`` times, ``period_s`` apart (clock/sleep injected for tests)."""
    points: list[TracePoint] = []
    trips: dict[str, list[TripPoint]] = {}
    start = clock()
    for k in range(samples):
        reading = reader.read(clock() - start)
        for zone in reading.zones:
            if zone.trips:
                trips.setdefault(zone.name, list(zone.trips))
        points.append(TracePoint(reading.stamp, {z.name: z.temp_c for z in reading.zones}))
        if k + 1 < samples:
            sleep(max(0.0, start + (k + 1) * period_s - clock()))
    return points, trips
