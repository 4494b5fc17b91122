"""Supervision over real DDS: `edge-agent up --processes` brings every node of the launch
file's graph up in its own process (real models), in order; each node killed with SIGKILL
while the graph serves is back and serving, a hung one (SIGSTOP: alive, silent) is found by
its missing heartbeats, killed and started again, the supervisor says so on /diagnostics,
and stopping leaves no process behind."""
from __future__ import annotations

import signal

from diagnostic_msgs.msg import DiagnosticArray
from rclpy.node import Node
from ros_helpers import wait_for

from edge_agent.app.processes import ProcessGraph
from edge_agent.bench.restart import kill_and_wait

BOUND_S = 120.0   # generous for a loaded CI machine; measured: docs/benchmarks.md


def assert_policy_grants_what_the_nodes_use(probe, names):
    """The SROS2 policy (config/security/policy.yaml) grants each running node, in its own
    enclave and in the one-process `graph` enclave, every interface the graph shows it uses,
    and another node's enclave would not do (the check can fail)."""
    from rclpy._rclpy_pybind11 import NodeNameNonExistentError
    from rclpy.action import (
        get_action_client_names_and_types_by_node,
        get_action_server_names_and_types_by_node,
    )

    from edge_agent.core.config.paths import data_file
    from edge_agent.core.security import load_policy, not_granted

    policy = load_policy(data_file('config/security/policy.yaml'))
    getters = {'publish': probe.get_publisher_names_and_types_by_node,
               'subscribe': probe.get_subscriber_names_and_types_by_node,
               'reply': probe.get_service_names_and_types_by_node,
               'request': probe.get_client_names_and_types_by_node,
               'execute': lambda n, ns: get_action_server_names_and_types_by_node(probe, n, ns),
               'call': lambda n, ns: get_action_client_names_and_types_by_node(probe, n, ns)}
    # the probe's own view of the graph may lag behind the supervisor's (another participant)
    def seen(name):
        try:
            return bool(probe.get_publisher_names_and_types_by_node(name, '/'))
        except NodeNameNonExistentError:
            return False
    for name in names:
        wait_for(lambda n=name: seen(n), BOUND_S, message=f'the probe to see {name} publish')
    for name in names:
        used = {kind: [topic for topic, _ in get(name, '/')] for kind, get in getters.items()}
        assert used['publish'], name
        assert not_granted(policy.enclaves[name], used) == [], name
        assert not_granted(policy.enclaves['graph'], used) == [], name
    agent = {kind: [t for t, _ in get('agent', '/')] for kind, get in getters.items()}
    assert 'publish /agent/belief' in not_granted(policy.enclaves['speech'], agent)


def test_every_node_killed_comes_back_and_a_hung_one_is_restarted(ros_context, executor):
    probe = executor.add(Node('supervision_probe', context=ros_context))
    statuses: dict[str, list] = {}
    probe.create_subscription(DiagnosticArray, '/diagnostics', lambda m: [
        statuses.setdefault(s.name, []).append(s) for s in m.status], 50)
    graph = ProcessGraph()
    children = [s.name for s in graph.specs if s.name != 'supervisor']
    assert {'speech', 'vision', 'planner', 'agent', 'skill_executor'} <= set(children)
    try:
        graph.start()
        first = graph.pids()
        assert set(first) == set(children)
        assert_policy_grants_what_the_nodes_use(probe, children)
        for name in children:
            seconds = kill_and_wait(graph, name, timeout=BOUND_S)
            print(f'{name}: back in {seconds:.2f} s after kill -9')
        seconds = kill_and_wait(graph, 'vision', signal.SIGSTOP, timeout=BOUND_S)
        print(f'vision: back in {seconds:.2f} s after SIGSTOP')
        report = graph.supervisor.report()
        assert report.level == 0 and report.message == f'all {len(children)} nodes serving'
        for name in children:
            assert report.values[f'{name}.restarts'] == ('2' if name == 'vision' else '1')
            assert report.values[f'{name}.state'] == 'serving'
            assert graph.pids()[name] != first[name]
        assert 'vision.reason' not in report.values   # cleared once it served again
        # the restarted nodes serve: their own /diagnostics come again, models loaded
        statuses.clear()
        wait_for(lambda: {'edge_agent: speech', 'edge_agent: vision', 'edge_agent: planner',
                          'edge_agent: agent', 'edge_agent: supervisor'} <= set(statuses),
                 timeout=30, message="every node's /diagnostics after the restarts")
        for name in ('edge_agent: speech', 'edge_agent: vision', 'edge_agent: planner'):
            assert 'no model loaded' not in statuses[name][-1].message
        # a loss is on the supervisor's /diagnostics while it lasts
        statuses.clear()
        graph.procs['agent'].kill()
        wait_for(lambda: any('agent lost (process' in s.message or 'agent starting' in
                             s.message for s in statuses.get('edge_agent: supervisor', [])),
                 timeout=30, message="the agent's loss on the supervisor's /diagnostics")
        wait_for(lambda: graph.supervisor.supervision.serving('agent'), timeout=BOUND_S,
                 message='the agent serving again')
        procs = list(graph.procs.values())
    finally:
        graph.stop()
    assert all(p.poll() is not None for p in procs)
    assert graph.pids() == {}
