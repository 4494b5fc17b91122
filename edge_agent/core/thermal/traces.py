"""Thermal traces: CSV files of zone temperatures, a fake sysfs tree that replays them, recording.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
import csv
import dataclasses
import os
import pathlib

from edge_agent.core.thermal.sensors import (
    SysfsThermalReader,
    ThermalReading,
    TripPoint,
    ZoneReading,
)

__all__ = ['FakeSysfs', 'TracePoint', 'load_trace', 'reading_from_trace', 'record_trace',
           'write_trace']


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
