"""Thermal sensing: the Linux thermal interface under a configurable root, or jtop on a Jetson.

``SysfsThermalReader`` reads ``class/thermal/thermal_zone*`` (temperatures, trip points) and CPU
frequency capping (``devices/system/cpu/cpu*/cpufreq``), so a fake tree replays a recorded trace
on any machine.
"""
from __future__ import annotations

from collections.abc import Sequence
import dataclasses
import os
import pathlib

__all__ = ['CpuFreq', 'JtopThermalReader', 'SysfsThermalReader', 'ThermalReading', 'TripPoint',
           'ZoneReading']


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


def _read_text(path: pathlib.Path, limit: int = 4096) -> str:
    """A sysfs attribute as text: any bytes decode (bad ones replaced), at most ``limit`` read
    (a broken driver or a fake tree may hand over anything)."""
    with open(path, 'rb') as f:
        return f.read(limit).decode('utf-8', errors='replace').strip()


def _zone_number(folder: pathlib.Path) -> tuple[int, str]:
    """Sort key: thermal_zone2 before thermal_zone10; odd names (thermal_zonefoo) last."""
    suffix = folder.name[len('thermal_zone'):]
    return (int(suffix), '') if suffix.isdigit() else (1 << 30, folder.name)


def _read_millideg(path: pathlib.Path) -> float:
    value = int(_read_text(path, 32)) / 1000.0   # millidegrees: a handful of digits; 32 bytes
    # keep a 100 000-digit file from overflowing the float (and int()'s digit limit)
    if not _PLAUSIBLE_C[0] <= value <= _PLAUSIBLE_C[1]:
        raise ValueError(f'implausible temperature {value:.1f} C')
    return value


class SysfsThermalReader:
    """Read thermal zones and CPU frequency caps under ``root`` (default ``/sys``).

    ``zones`` restricts to zone type names (e.g. Jetson's "cpu-thermal", "gpu-thermal",
    "tj-thermal"); empty means all. A zone that cannot be read is reported with ``temp_c=None``
    and the error, never raised; so is anything else a broken or changing tree holds (folders
    with odd names, bytes that are not text, files that vanish between listing and reading).
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
        return sorted(dirs, key=_zone_number)

    def _read_zone(self, folder: pathlib.Path) -> ZoneReading | None:
        try:
            name = _read_text(folder / 'type')
        except OSError:
            name = folder.name
        if self.zones and name not in self.zones:
            return None
        trips = []
        try:
            trip_files = sorted(folder.glob('trip_point_*_temp'))
        except OSError:
            trip_files = []
        for trip_file in trip_files:
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
        try:
            folders = sorted((self.root / 'devices' / 'system' / 'cpu').glob('cpu[0-9]*'))
        except OSError:
            folders = []
        for folder in folders:
            freq = folder / 'cpufreq'
            try:
                if not freq.is_dir():
                    continue
            except OSError:
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
        """One reading, stamped with the caller's monotonic time; never raises."""
        zones = []
        for folder in self._zone_dirs():
            try:
                zone = self._read_zone(folder)
            except (OSError, ValueError) as exc:   # e.g. the folder vanished while listing
                zone = ZoneReading(folder.name, None, (), f'{type(exc).__name__}: {exc}')
            if zone is not None:
                zones.append(zone)
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
