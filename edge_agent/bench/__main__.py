"""``python -m edge_agent.bench NAME [args]``: run one benchmark (speech, vision, planner, swap,
thermal, agent, stop, oversized, replay, sim, transport, e2e, restart, soak); ``--help`` after the
name lists its options. ``edge-agent bench`` runs the suite and writes JSON and markdown."""
from __future__ import annotations

import importlib
import sys

NAMES = ('speech', 'vision', 'planner', 'swap', 'thermal', 'agent', 'stop', 'oversized',
         'replay', 'sim', 'transport', 'e2e', 'restart', 'soak')


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] not in NAMES:
        print(f'usage: python -m edge_agent.bench {{{",".join(NAMES)}}} [options]',
              file=sys.stderr)
        return 2
    module = importlib.import_module(f'edge_agent.bench.{argv[0]}')
    sys.argv = [f'edge_agent.bench.{argv[0]}', *argv[1:]]
    return module.main() or 0


if __name__ == '__main__':
    sys.exit(main())
