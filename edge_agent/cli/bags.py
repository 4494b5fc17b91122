"""`edge-agent bag record|play|info` and `edge-agent replay`: rosbag2 bags without ros2bag."""
from __future__ import annotations

import sys

import yaml

from edge_agent.cli.common import CommandError

__all__ = ['add_parser', 'print_replay']


def _graph(name: str):
    """One node in a ``NodeSet`` (SIGINT/SIGTERM left to us): (the set, the node)."""
    from rclpy.node import Node

    from edge_agent.cli.up import stop_on_signals
    from edge_agent.nodes.common.executor import NodeSet

    stop_on_signals()
    graph = NodeSet(num_threads=2, signals=False)
    return graph, graph.add(Node(name, context=graph.context), lifecycle=False)


def _cmd_record(args) -> int:
    from edge_agent.bags.ros import BagRecorder

    if not args.topics:
        raise CommandError('name the topics to record, e.g. /audio /camera/image_raw')
    graph, node = _graph('edge_agent_bag_record')
    try:
        recorder = BagRecorder(node, args.output, args.topics, storage=args.storage)
        print(f'recording {", ".join(recorder.topics)} into {args.output} (Ctrl-C stops)',
              file=sys.stderr)
        graph.spin_until(lambda: False, args.duration)
        recorder.close()
        counts = ', '.join(f'{t}: {n}' for t, n in recorder.counts.items()) or 'nothing'
        print(f'recorded {counts}' + (f'; {recorder.dropped} dropped (queue full)'
                                      if recorder.dropped else ''), file=sys.stderr)
    finally:
        graph.close()
    return 0


def _cmd_play(args) -> int:
    from edge_agent.bags.ros import BagPlayer

    graph, node = _graph('edge_agent_bag_play')
    try:
        player = BagPlayer(node, args.bag, rate=args.rate, loop=args.loop,
                           topics=args.topics or None, start_offset_s=args.start_offset,
                           clock_hz=0.0 if args.no_clock else args.clock_hz,
                           hold_clock=False, namespace=args.namespace)
        print(f'playing {args.bag} ({player.duration_s:.1f} s, {", ".join(player.topics)}) '
              f'at {args.rate:g}x' + (' in a loop' if args.loop else ''), file=sys.stderr)
        if args.wait_for_subscribers > 0:
            missing = player.wait_for_subscribers(args.wait_for_subscribers)
            if missing:
                print(f'no subscriber to {", ".join(missing)} after '
                      f'{args.wait_for_subscribers:g} s; playing anyway', file=sys.stderr)
        player.start()
        graph.spin_until(player.finished.is_set)
        player.stop()
        if player.error is not None:
            raise CommandError(f'playback failed: {player.error}')
        print(f'published {player.published} messages', file=sys.stderr)
    finally:
        graph.close()
    return 0


def _cmd_info(args) -> int:
    from edge_agent.bags.bag import bag_info

    duration, topics = bag_info(args.bag)
    print(f'{args.bag}: {duration:.2f} s, {sum(t.count for t in topics)} messages')
    for t in topics:
        qos = 'latched' if t.transient_local else 'reliable' if t.reliable else 'best effort'
        print(f'  {t.name:<28} {t.type:<36} {t.count:>7}  {qos}')
    return 0


def print_replay(result, out=sys.stdout) -> None:
    """The outcome as an expectation (ready to save and edit), the latencies, the diff."""
    print(yaml.safe_dump({'expect': result.outcome.as_dict()}, sort_keys=False, width=100),
          file=out, end='')
    for stage, values in result.latencies.items():
        shown = ', '.join(f'{v:.2f}' for v in values)
        print(f'# latency {stage}: {shown} s', file=out)
    if result.timed_out:
        print('# the graph had not settled by the deadline', file=out)
    for line in result.diff:
        print(line, file=out)


def _cmd_replay(args) -> int:
    import pathlib

    from edge_agent.app.replay import replay
    from edge_agent.bags.expect import load_expectation

    expectation = load_expectation(args.expect) if args.expect else None
    if expectation is None:
        sidecar = pathlib.Path(str(args.bag).rstrip('/') + '.expect.yaml')
        expectation = load_expectation(sidecar) if sidecar.is_file() else None
    from edge_agent.cli.up import stop_on_signals

    stop_on_signals()
    result = replay(args.bag, expectation, tier=args.tier, rate=args.rate)
    print_replay(result)
    if expectation is None:
        print('# no expectation given: outcome printed only', file=sys.stderr)
        return 0
    verdict = 'PASS' if result.passed else 'FAIL'
    print(f'{verdict}: {args.bag} ({result.duration_s:.1f} s)', file=sys.stderr)
    return 0 if result.passed else 1


def add_parser(sub) -> None:
    """The `bag` command group and the `replay` command."""
    bag = sub.add_parser('bag', help='record, play or describe rosbag2 bags (MCAP, sqlite3)')
    bsub = bag.add_subparsers(dest='bag_command', required=True)
    record = bsub.add_parser('record', help='record topics into a new bag')
    record.add_argument('topics', nargs='*', help='topics to record (custom types included)')
    record.add_argument('-o', '--output', required=True, help='bag folder to create')
    record.add_argument('--storage', choices=('mcap', 'sqlite3'), default='mcap')
    record.add_argument('--duration', type=float, help='seconds, then stop (default: Ctrl-C)')
    record.set_defaults(func=_cmd_record)
    play = bsub.add_parser('play', help='publish a bag with its original timing and /clock')
    play.add_argument('bag', help='bag folder')
    play.add_argument('--rate', type=float, default=1.0, help='playback speed factor')
    play.add_argument('--loop', action='store_true', help='start over at the end')
    play.add_argument('--topics', nargs='+', help='only these topics')
    play.add_argument('--start-offset', type=float, default=0.0,
                      help='seconds into the bag to start from')
    play.add_argument('--clock-hz', type=float, default=100.0,
                      help='/clock rate for nodes with use_sim_time (default 100)')
    play.add_argument('--no-clock', action='store_true', help='do not publish /clock')
    play.add_argument('--wait-for-subscribers', type=float, default=0.0, metavar='SECONDS',
                      help='first wait (up to SECONDS) until every topic has a subscriber, '
                      'so nodes still starting do not miss the beginning')
    play.add_argument('--namespace', default='',
                      help="play the bag's topics into this namespace (/audio -> /NS/audio)")
    play.set_defaults(func=_cmd_play)
    info = bsub.add_parser('info', help='duration, topics, types, counts and QoS of a bag')
    info.add_argument('bag', help='bag folder')
    info.set_defaults(func=_cmd_info)

    replay = sub.add_parser(
        'replay', help='play a bag through the whole graph and compare the outcome',
        description='Start the graph (use_sim_time), play BAG into it, print what it did as '
                    'an expectation; with an expectation (--expect, or BAG.expect.yaml next to '
                    'the bag) exit 1 and print a diff on a mismatch.')
    replay.add_argument('bag', help='bag folder (audio and camera topics)')
    replay.add_argument('--expect', help='expectation YAML (see edge_agent/bags/expect.py)')
    replay.add_argument('--tier', type=int, help='pin speech, vision and planner to this tier '
                        '(default: follow the thermal governor)')
    replay.add_argument('--rate', type=float, default=1.0, help='playback speed factor')
    replay.set_defaults(func=_cmd_replay)
