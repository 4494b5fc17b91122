"""`edge-agent up`: the launch file's graph in one process, for machines without `ros2 launch`."""
from __future__ import annotations

import argparse
import sys

from edge_agent.cli.common import CommandError

__all__ = ['add_parser', 'parse_assignments']


def parse_assignments(items: list[str]) -> dict[str, str]:
    """``name:=value`` launch-style arguments as a dict; CommandError on anything else."""
    out = {}
    for item in items:
        name, sep, value = item.partition(':=')
        if not sep or not name:
            raise CommandError(f'expected name:=value (as with ros2 launch), got {item!r}')
        out[name] = value
    return out


def stop_on_signals():
    """SIGINT and SIGTERM set the returned event and raise KeyboardInterrupt in the main thread,
    even where the shell started us with SIGINT ignored (a background job), so the graph
    always stops in order. The event keeps a signal that arrived inside a callback from C
    (llama.cpp's logger, during a model load), where the interrupt itself is swallowed."""
    import signal
    import threading

    stopping = threading.Event()

    def interrupt(_signum, _frame):
        stopping.set()
        raise KeyboardInterrupt

    signal.signal(signal.SIGINT, interrupt)
    signal.signal(signal.SIGTERM, interrupt)
    return stopping


def _cmd_up(args) -> int:
    from edge_agent.app.processes import ProcessGraph
    from edge_agent.app.runner import AgentGraph
    from edge_agent.nodes.common.run import TransitionFailed

    given = parse_assignments(args.arguments)
    if args.config:
        given['params_file'] = args.config
    nodes = [n.strip() for n in args.nodes.split(',') if n.strip()] if args.nodes else None
    agent = (ProcessGraph if args.processes else AgentGraph)(given, nodes=nodes)
    names = ', '.join(s.name for s in agent.specs)
    how = ', each in its own supervised process' if args.processes else ''
    print(f'edge-agent up: starting {names}{how} (Ctrl-C stops)', file=sys.stderr)
    stopping = stop_on_signals()
    try:
        agent.start(on_node=lambda name: print(f'  {name}: active', file=sys.stderr))
        print('edge-agent up: all nodes active', file=sys.stderr)
        while agent.running and not stopping.wait(0.5):
            pass
    except TransitionFailed as exc:
        raise CommandError(str(exc)) from None
    except KeyboardInterrupt:
        print('edge-agent up: stopping', file=sys.stderr)
    finally:
        agent.stop()
    print('edge-agent up: stopped', file=sys.stderr)
    return 0


def add_parser(sub) -> None:
    """The `up` command."""
    from edge_agent.app import graph

    described = '\n'.join(f"  {a.name}:={a.default or repr('')}  {a.description}"
                          for a in graph.ARGUMENTS)
    up = sub.add_parser(
        'up', help="run the launch file's graph in this process",
        description='Start the nodes of launch/agent.launch.py in one process, from the same '
                    'parameter YAML, configure and activate them in order; Ctrl-C stops.',
        epilog='launch arguments (as with ros2 launch edge_agent agent.launch.py):\n'
               + described,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    up.add_argument('arguments', nargs='*', metavar='name:=value',
                    help='launch arguments, e.g. robot:=nav2 mic:=true')
    up.add_argument('--config', help="parameter YAML (default: the package's config/agent.yaml)")
    up.add_argument('--nodes', help='comma-separated node names to start (default: all of the '
                    'launch file\'s; ' + ', '.join(s.name for s in graph.NODES) + ')')
    up.add_argument('--processes', action='store_true',
                    help='run each node in its own process, as ros2 launch does, brought up in '
                    'order and restarted by the supervisor when it dies or hangs')
    up.set_defaults(func=_cmd_up)
