"""`edge-agent thermal`: record, simulate and replay thermal traces."""
from __future__ import annotations

import sys

from edge_agent.cli.common import CommandError

__all__ = ['add_parser']


def _cmd_thermal_record(args) -> int:
    import time

    from edge_agent.core.thermal import SysfsThermalReader, record_trace, write_trace

    reader = SysfsThermalReader(args.sysfs_root, [z for z in args.zones.split(',') if z])
    samples = max(1, round(args.duration / args.period))
    points, trips = record_trace(reader, samples, args.period, time.monotonic, time.sleep)
    if not any(p.temps for p in points):
        print(f'edge-agent: error: no thermal zones under {args.sysfs_root}/class/thermal',
              file=sys.stderr)
        return 1
    write_trace(args.output, points, trips)
    print(f'wrote {len(points)} samples of {len(points[0].temps)} zones to {args.output}')
    return 0


def _load_trace(path):
    from edge_agent.core.thermal import load_trace

    try:
        return load_trace(path)
    except (OSError, ValueError) as exc:
        raise CommandError(f'cannot read thermal trace {path}: {exc}') from exc


def _cmd_thermal_simulate(args) -> int:
    from edge_agent.core.config.tiers import TierCatalog
    from edge_agent.core.thermal import PolicyConfig, TierPolicy, reading_from_trace

    points, trips = _load_trace(args.trace)
    tiers = TierCatalog()
    policy = TierPolicy(PolicyConfig(num_tiers=len(tiers)))
    print(f'{"t [s]":>8}  tier  reason')
    for point in points:
        decision = policy.update(reading_from_trace(point, trips))
        if decision.changed:
            print(f'{point.t:8.1f}  {decision.tier:>4}  {tiers[decision.tier].name}: '
                  f'{decision.reason}')
    return 0


def _cmd_thermal_replay(args) -> int:
    import time

    from edge_agent.core.thermal import FakeSysfs

    points, trips = _load_trace(args.trace)
    if not points:
        return 0
    fake = FakeSysfs(args.sysfs_root, trips, list(points[0].temps))
    print(f'replaying {len(points)} samples into {args.sysfs_root} at {args.speed}x; '
          f'point a governor at it: --ros-args -p sysfs_root:={args.sysfs_root}')
    start = time.monotonic()
    for point in points:
        delay = start + (point.t - points[0].t) / args.speed - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        fake.apply(point.temps)
    return 0


def add_parser(sub) -> None:
    """The `thermal` command group."""
    thermal = sub.add_parser('thermal', help='record, replay and simulate thermal traces')
    tsub = thermal.add_subparsers(dest='thermal_command', required=True)
    rec = tsub.add_parser('record', help='sample the thermal zones into a trace CSV')
    rec.add_argument('output', help='CSV file to write')
    rec.add_argument('--duration', type=float, default=60.0, help='seconds to record')
    rec.add_argument('--period', type=float, default=1.0, help='seconds between samples')
    rec.add_argument('--sysfs-root', default='/sys', help='sysfs root (default /sys)')
    rec.add_argument('--zones', default='', help='comma-separated zone types (default all)')
    rec.set_defaults(func=_cmd_thermal_record)
    sim = tsub.add_parser('simulate', help='run the tier policy over a trace, print changes')
    sim.add_argument('trace', help='trace CSV')
    sim.set_defaults(func=_cmd_thermal_simulate)
    rep = tsub.add_parser('replay', help='write a trace into a fake sysfs tree in real time')
    rep.add_argument('trace', help='trace CSV')
    rep.add_argument('sysfs_root', help='folder to create the fake tree in')
    rep.add_argument('--speed', type=float, default=1.0, help='playback speed factor')
    rep.set_defaults(func=_cmd_thermal_replay)
