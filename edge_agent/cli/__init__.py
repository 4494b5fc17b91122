"""The `edge-agent` command: one module per command group (demo, up, trace, bench,
bag/replay, doctor, models, planner, thermal, vision, security); this module builds the parser
and turns errors into one line and an exit status."""
from __future__ import annotations

import argparse
import sys

from edge_agent.cli import (
    bags,
    bench,
    demo,
    doctor,
    models,
    planner,
    security,
    thermal,
    trace,
    up,
    vision,
)
from edge_agent.core.errors import EdgeAgentError

__all__ = ['build_parser', 'main']

GROUPS = (demo, up, trace, bench, bags, doctor, models, planner, thermal, vision, security)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of `edge-agent` (exposed for tests and shell completion)."""
    parser = argparse.ArgumentParser(
        prog='edge-agent', description='edge_agent: on-device spoken-command agent for ROS 2.')
    sub = parser.add_subparsers(dest='command', required=True)
    for group in GROUPS:
        group.add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of `edge-agent`; returns the process exit code."""
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except EdgeAgentError as exc:
        print(f'edge-agent: error: {exc}', file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
