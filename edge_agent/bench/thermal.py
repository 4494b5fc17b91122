"""Benchmark: the thermal governor's cost per sample, against reading the same files bare.

Prints the time of one governor step (read every zone, trip points and CPU caps through
SysfsThermalReader, then TierPolicy.update) against a baseline that only opens and parses the
zones' temp files, both on the same fake sysfs tree in the same run, and the CPU share this
costs at the node's default 1 Hz. Usage: python -m edge_agent.bench thermal [--zones N]
"""
import argparse
import pathlib
import statistics
import sys
import tempfile

from edge_agent.bench.common import cpu_timed
from edge_agent.core.thermal import (
    FakeSysfs,
    SysfsThermalReader,
    TierPolicy,
    TripPoint,
)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--zones', type=int, default=9, help='zones in the fake tree '
                        '(a Jetson AGX Orin has 9)')
    parser.add_argument('--cpus', type=int, default=12, help='CPUs with cpufreq folders')
    parser.add_argument('--repeats', type=int, default=2000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        names = [f'zone{i}-thermal' for i in range(args.zones)]
        trips = {n: [TripPoint('passive', 85.0), TripPoint('critical', 100.0)] for n in names}
        fake = FakeSysfs(tmp, trips, names)
        fake.apply({n: 50.0 + i for i, n in enumerate(names)})
        for cpu in range(args.cpus):
            fake.set_cpu_cap(cpu, 2_000_000, 2_200_000)
        temp_files = sorted(pathlib.Path(tmp).glob('class/thermal/thermal_zone*/temp'))
        reader = SysfsThermalReader(tmp, power_mode_file=None)
        policy = TierPolicy()
        stamp = [0.0]

        def baseline():
            return [int(p.read_text()) for p in temp_files]

        def governor_step():
            stamp[0] += 1.0
            policy.update(reader.read(stamp[0]))

        for fn in (baseline, governor_step):  # warm the page cache and imports
            cpu_timed(fn, 50)
        base = cpu_timed(baseline, args.repeats)
        step = cpu_timed(governor_step, args.repeats)
    b50, s50 = statistics.median(base), statistics.median(step)
    s95 = statistics.quantiles(step, n=20)[-1]
    print(f'zones={args.zones} cpus={args.cpus} repeats={args.repeats} (CPU time per sample)')
    print(f'{"measure":<34}{"p50 [us]":>10}{"p95 [us]":>10}')
    print(f'{"baseline: read temp files only":<34}{b50 * 1e6:>10.0f}'
          f'{statistics.quantiles(base, n=20)[-1] * 1e6:>10.0f}')
    print(f'{"governor step (read + policy)":<34}{s50 * 1e6:>10.0f}{s95 * 1e6:>10.0f}')
    print(f'ratio governor/baseline: {s50 / b50:.1f}x')
    print(f'CPU share at 1 Hz: {s50 * 100:.3f} % of one core')
    return 0


if __name__ == '__main__':
    sys.exit(main())
