"""Benchmark the whole agent on the bundled scenarios: each bag replayed through a fresh graph
(as `edge-agent replay` / `demo` run it), the latency of every stage the replay measures
(end of speech -> final transcript -> agent decision -> plan -> goal accepted -> first step
started, from each command's trace), whether the expectation held, and the wall time of each
replay.
Usage: python -m edge_agent.bench replay [--tier N] [--scenarios a,b]
"""
import argparse
import statistics

from edge_agent.app.replay import replay
from edge_agent.bags.expect import load_expectation
from edge_agent.bags.scenarios import SCENARIOS, find

STAGES = ('end of speech -> transcript', 'transcript -> decision', 'decision -> plan',
          'plan -> goal accepted', 'goal accepted -> first step', 'end of speech -> first step')
COLUMNS = ('transcript', 'decision', 'plan', 'accepted', '1st step', 'total')


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--tier', type=int, help='pin speech, vision and planner to a tier')
    parser.add_argument('--scenarios', help='comma-separated names (default: all)')
    args = parser.parse_args()
    names = args.scenarios.split(',') if args.scenarios else [s.name for s in SCENARIOS]
    pooled: dict[str, list[float]] = {}
    print(f'tier: {"governor" if args.tier is None else args.tier}')
    print(f'{"scenario":<18}{"pass":<6}{"replay [s]":>11}  ' +
          '  '.join(f'{c:>10}' for c in COLUMNS))
    failures = 0
    for name in names:
        bag, expect = find(name)
        result = replay(bag, load_expectation(expect), tier=args.tier,
                        arguments={'log_level': 'warn'})
        failures += not result.passed
        for stage, values in result.latencies.items():
            pooled.setdefault(stage, []).extend(values)
        cells = []
        for stage in STAGES:
            values = result.latencies.get(stage, [])
            cells.append(f'{statistics.median(values):>10.3f}' if values else f'{"-":>10}')
        print(f'{name:<18}{"yes" if result.passed else "NO":<6}{result.duration_s:>11.1f}  '
              + '  '.join(cells), flush=True)
    print('all scenarios, per stage [s]:')
    for stage, values in pooled.items():
        if values:
            print(f'  {stage:<30} p50 {statistics.median(values):.3f}  max {max(values):.3f}'
                  f'  (n={len(values)})')
    return 1 if failures else 0
