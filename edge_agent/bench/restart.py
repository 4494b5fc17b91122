"""Supervision: how long each node takes to serve again after ``kill -9`` (and after a hang).

The launch file's graph under ``edge-agent up --processes`` (``app/processes.py``), every
node in its own process with its real models. Each node in turn is killed with SIGKILL
while the graph serves; the time runs from the kill to the supervisor seeing the new process
serve (its heartbeat says active). ``--hang`` also stops one process with SIGSTOP (alive,
silent): the supervisor must find it by its missing heartbeats, kill it and start it again.
"""
from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import time

__all__ = ['kill_and_wait', 'main']


def kill_and_wait(graph, name: str, how: int = signal.SIGKILL,
                  timeout: float = 180.0) -> float:
    """Send ``how`` to node ``name``'s process, wait until another process of it serves; the
    seconds that took. TimeoutError when it does not come back."""
    sup = graph.supervisor
    old = graph.pids()[name]
    began = time.monotonic()
    os.kill(old, how)
    while time.monotonic() - began < timeout:
        with sup.lock:
            member = sup.supervision.members[name]
            back = member.state == 'serving' and member.pid not in (None, old)
        if back:
            return time.monotonic() - began
        time.sleep(0.02)
    with sup.lock:
        state = sup.supervision.members[name]
    raise TimeoutError(f'{name} not serving {timeout:.0f} s after signal {how}: {state}')


def main() -> int:
    parser = argparse.ArgumentParser(prog='python -m edge_agent.bench restart',
                                     description=__doc__.split('\n\n')[0])
    parser.add_argument('--nodes', help='comma-separated nodes (default: the launch file\'s)')
    parser.add_argument('--repeats', type=int, default=1, help='kills per node')
    parser.add_argument('--hang', default='vision', help="node to SIGSTOP once ('' = none)")
    parser.add_argument('--json', help='write the results here')
    args = parser.parse_args()
    from edge_agent.app.processes import ProcessGraph

    nodes = [n.strip() for n in args.nodes.split(',')] if args.nodes else None
    graph = ProcessGraph(nodes=nodes)
    began = time.monotonic()
    graph.start()
    up_s = time.monotonic() - began
    children = [s.name for s in graph.specs if s.name != 'supervisor']
    rows = []
    try:
        for name in children:
            times = [kill_and_wait(graph, name) for _ in range(args.repeats)]
            rows.append({'node': name, 'how': 'kill -9', 'seconds': times})
        if args.hang:
            timeout = graph.supervisor.supervision.heartbeat_timeout_s
            rows.append({'node': args.hang, 'how': f'SIGSTOP (heartbeat timeout {timeout:g} s)',
                         'seconds': [kill_and_wait(graph, args.hang, signal.SIGSTOP)]})
        restarts = graph.supervisor.report().values
    finally:
        graph.stop()
    print(f'bring-up of {len(children)} node processes in order: {up_s:.1f} s')
    print(f'{"node":18} {"how":34} {"back in p50 s":>13} {"max s":>7}')
    for r in rows:
        print(f'{r["node"]:18} {r["how"]:34} {statistics.median(r["seconds"]):13.2f} '
              f'{max(r["seconds"]):7.2f}')
    if args.json:
        with open(args.json, 'w') as fh:
            json.dump({'bring_up_s': round(up_s, 2), 'rows': rows, 'supervisor': restarts}, fh,
                      indent=1)
    return 0


if __name__ == '__main__':
    raise SystemExit(main())
