"""`edge-agent trace`: each command's end-to-end latency, live, from the graph's agent/trace."""
from __future__ import annotations

import sys

__all__ = ['add_parser', 'format_trace']


def format_trace(msg) -> str:
    """One line per command: its per-stage latencies and the total."""
    from edge_agent.nodes.common.trace import latencies

    source = f'utterance {msg.utterance_id}' if msg.utterance_id else 'typed command'
    rows = latencies(msg)
    if not rows:
        return f'{source}: {", ".join(msg.stages) or "no stages"}'
    return f'{source}: ' + ' | '.join(f'{stage} {seconds * 1000:.0f} ms'
                                      for stage, seconds in rows)


def _cmd_trace(args) -> int:
    import threading

    import rclpy
    from rclpy.executors import ExternalShutdownException, SingleThreadedExecutor
    from rclpy.node import Node

    from edge_agent.cli.up import stop_on_signals
    from edge_agent.msg import Trace
    from edge_agent.nodes.common import RELIABLE
    from edge_agent.nodes.common.trace import TRACE_TOPIC

    rclpy.init(args=None)
    node = Node('edge_agent_trace', namespace=args.namespace or '/')
    seen = threading.Event()
    count = [0]

    def show(msg) -> None:
        print(format_trace(msg), flush=True)
        count[0] += 1
        if args.count and count[0] >= args.count:
            seen.set()

    node.create_subscription(Trace, TRACE_TOPIC, show, RELIABLE)
    print(f'edge-agent trace: listening on {node.resolve_topic_name(TRACE_TOPIC)} '
          '(Ctrl-C stops)', file=sys.stderr, flush=True)
    stopping = stop_on_signals()
    executor = SingleThreadedExecutor()
    executor.add_node(node)
    try:
        while not seen.is_set() and not stopping.is_set():
            executor.spin_once(timeout_sec=0.2)
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    finally:
        node.destroy_node()
        rclpy.try_shutdown()
    return 0 if not args.count or seen.is_set() else 130


def add_parser(sub) -> None:
    """The `trace` command."""
    trace = sub.add_parser(
        'trace', help="print each command's end-to-end latency as the graph runs",
        description="Subscribe to agent/trace and print, for each command, the time from the "
                    'end of speech to the final transcript, the agent\'s decision, the plan, '
                    'the executor accepting it and the first step starting (from the '
                    "messages' own stamps), and the total.")
    trace.add_argument('--namespace', default='', help="the graph's namespace (default: none)")
    trace.add_argument('--count', type=int, default=0,
                       help='exit after this many commands (default: run until Ctrl-C)')
    trace.set_defaults(func=_cmd_trace)
