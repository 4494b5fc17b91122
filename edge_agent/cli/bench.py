"""`edge-agent bench`: every benchmark in one run, as JSON and a markdown report."""
from __future__ import annotations

import pathlib
import sys

__all__ = ['add_parser']


def _cmd_bench(args) -> int:
    import datetime
    import json

    from edge_agent.bench import suite
    from edge_agent.cli.common import CommandError

    names = [n.strip() for n in args.only.split(',') if n.strip()] if args.only else None
    known = {s.name for s in suite.STEPS}
    if names and set(names) - known:
        raise CommandError(f'unknown benchmark(s) {", ".join(sorted(set(names) - known))}; '
                           f'known: {", ".join(s.name for s in suite.STEPS)}')
    report = suite.run_suite(names, quick=args.quick,
                             progress=lambda text: print(text, file=sys.stderr, flush=True))
    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    stamp = datetime.datetime.now().strftime('%Y%m%d-%H%M%S')
    text = suite.markdown(report)
    (out / f'bench-{stamp}.json').write_text(json.dumps(report, indent=1))
    (out / f'bench-{stamp}.md').write_text(text)
    if args.docs:
        suite.update_docs(pathlib.Path(args.docs), text)
    print(text)
    print(f'wrote {out / f"bench-{stamp}.json"} and .md'
          + (f'; updated {args.docs}' if args.docs else ''), file=sys.stderr)
    failed = [n for n, e in report['benchmarks'].items() if e['returncode']]
    return 1 if failed else 0


def add_parser(sub) -> None:
    """The `bench` command."""
    bench = sub.add_parser(
        'bench', help='run the benchmarks (per node and end to end) and write a report',
        description='Run the per-node benchmarks (speech, vision, planner), image transport '
                    'over DDS with and without the shared-memory profile, and the end-to-end '
                    'one (spoken commands through the whole agent, per tier; memory), each in '
                    'its own process; write JSON and markdown with the machine and every '
                    'latency target met or not. The full run takes about 20-30 minutes on 2 '
                    'cores; --quick about 6.')
    bench.add_argument('--quick', action='store_true',
                       help='fewer tiers and repeats, no thermal/agent/stop benchmarks')
    bench.add_argument('--only', help='comma-separated benchmarks to run (speech, vision, '
                       'planner, transport, e2e, thermal, agent, stop)')
    bench.add_argument('--out', default='bench-results',
                       help='folder for the JSON and markdown (default: ./bench-results)')
    bench.add_argument('--docs', help='also put the markdown into this file between the '
                       '"edge-agent bench" markers (e.g. docs/benchmarks.md)')
    bench.set_defaults(func=_cmd_bench)
