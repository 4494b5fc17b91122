"""Supervision over real DDS: `edge-agent up --processes` brings every node of the launch
file's graph up in its own process (real models), in order; each node killed with SIGKILL
while the graph serves is back and serving, a hung one (SIGSTOP: alive, silent) is found by
its missing heartbeats, killed and started again, the supervisor says so on /diagnostics,
and stopping leaves no process behind. Under `ros2 launch` (its respawn played by the test)
the supervisor node drives the nodes' lifecycle transitions, in order and after each respawn.
"""
from __future__ import annotations

import os
import signal
import subprocess
import time

from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus
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


class _Respawner:
    """Launch's part under ``ros2 launch``, played here (``launch`` is not on PyPI): every
    node's process started at once with the launch file's command line, and started again
    ``delay_s`` after it ends (``respawn=True``)."""

    def __init__(self, graph, delay_s: float = 1.0) -> None:
        import threading

        self.graph, self.delay_s = graph, delay_s
        self.procs: dict[str, subprocess.Popen] = {}
        self.spawns: dict[str, int] = {}
        self._stop = threading.Event()
        for spec in graph.specs:
            if spec.name != 'supervisor':
                self._spawn(spec)
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._thread.start()

    def _spawn(self, spec) -> None:
        self.procs[spec.name] = subprocess.Popen(
            self.graph.command(spec), start_new_session=True, stdin=subprocess.DEVNULL,
            env=dict(os.environ, PYTHONUNBUFFERED='1'))
        self.spawns[spec.name] = self.spawns.get(spec.name, 0) + 1

    def _watch(self) -> None:
        while not self._stop.wait(0.1):
            for spec in self.graph.specs:
                proc = self.procs.get(spec.name)
                if proc is not None and proc.poll() is not None and not self._stop.wait(
                        self.delay_s):
                    self._spawn(spec)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=30)
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGINT)
        for proc in self.procs.values():
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)
        self.graph.stop()


def _launch_supervisor(executor, ros_context, graph, **params):
    """The supervisor node as the launch file starts it: no processes of its own, the
    launch file's parameters (managed_nodes: every lifecycle node, in bring-up order)."""
    from rclpy.parameter import Parameter

    from edge_agent.app import graph as graph_module
    from edge_agent.nodes.supervisor import SupervisorNode

    values = graph_module.node_parameters(graph_module.NODES[0], lambda _arg: False)
    assert values['managed_nodes'] == graph_module.managed_nodes(graph_module.NODES)
    values['managed_nodes'] = graph_module.managed_nodes(graph.specs)   # the nodes started here
    values.update(params)
    return executor.add(SupervisorNode(context=ros_context, parameter_overrides=[
        Parameter(k, value=v) for k, v in values.items()]))


def test_under_launch_the_supervisor_brings_the_nodes_up_in_order_and_after_each_respawn(
        ros_context, executor):
    """Launch starts every process at once, each with autostart false: they wait
    unconfigured, and the supervisor configures and activates them over change_state in
    bring-up order (the executor before the agent, though the agent's process is as quick);
    after a kill -9 and launch's respawn it brings the new process up, alone."""
    from edge_agent.msg import Heartbeat

    probe = executor.add(Node('launch_probe', context=ros_context))
    active_at: dict[tuple[str, int], float] = {}
    states: dict[str, set] = {}

    def beat(msg):
        name = msg.node.rsplit('/', 1)[-1]
        states.setdefault(name, set()).add(msg.state)
        if msg.state == 'active':
            active_at.setdefault((name, msg.pid), time.monotonic())

    probe.create_subscription(Heartbeat, 'supervision/heartbeat', beat, 50)
    graph = ProcessGraph(nodes=['skill_executor', 'agent'])
    sup = _launch_supervisor(executor, ros_context, graph)
    assert sup.supervision.managed == ['skill_executor', 'agent']
    launch = _Respawner(graph)
    try:
        wait_for(lambda: all(sup.supervision.serving(n) for n in ('skill_executor', 'agent')),
                 timeout=BOUND_S, message='both nodes brought up by the supervisor')
        first = {n: p.pid for n, p in launch.procs.items()}
        assert states['agent'] >= {'unconfigured', 'active'}   # it waited for the supervisor
        assert active_at[('skill_executor', first['skill_executor'])] < active_at[
            ('agent', first['agent'])]
        launch.procs['agent'].kill()
        wait_for(lambda: launch.spawns['agent'] == 2 and sup.supervision.serving('agent')
                 and sup.supervision.members['agent'].pid == launch.procs['agent'].pid,
                 timeout=BOUND_S, message='the respawned agent brought up again')
        member = sup.supervision.members['agent']
        assert member.restarts == 1 and len(member.back_in_s) == 1
        print(f'agent: back in {member.back_in_s[0]:.2f} s after its last heartbeat '
              '(kill -9, respawn 1 s)')
        assert sup.supervision.serving('skill_executor')
        assert launch.procs['skill_executor'].pid == first['skill_executor']
    finally:
        launch.stop()


def test_under_launch_a_node_whose_configure_fails_is_named_restarted_then_given_up(
        ros_context, executor, tmp_path):
    """The agent with a broken skill catalog: its configure fails, the supervisor says why on
    /diagnostics (the node's reason came in its heartbeat), kills it so that launch respawns
    it, and gives up after max_restarts with an ERROR, as for a node that keeps dying."""
    bad = tmp_path / 'skills.yaml'
    bad.write_text('places: []\nskills: {}\n')
    probe = executor.add(Node('launch_fail_probe', context=ros_context))
    statuses: list = []
    probe.create_subscription(DiagnosticArray, '/diagnostics', lambda m: statuses.extend(
        s for s in m.status if s.name == 'edge_agent: supervisor'), 50)
    graph = ProcessGraph(nodes=['agent'], overrides={'agent': {'skills_file': str(bad)}})
    sup = _launch_supervisor(executor, ros_context, graph, max_restarts=2)
    launch = _Respawner(graph, delay_s=0.5)
    assert sup.supervision.managed == ['agent']
    try:
        wait_for(lambda: any(s.level == DiagnosticStatus.ERROR for s in statuses),
                 timeout=BOUND_S, message='the agent given up, on /diagnostics')
        message = [s for s in statuses if s.level == DiagnosticStatus.ERROR][-1].message
        assert message.startswith('agent failed: configure failed: '), message
        assert 'skills: Dictionary should have at least 1 item' in message
        assert 'restarted 2 times' in message
        assert launch.spawns['agent'] >= 3   # killed after each failure, respawned by launch
    finally:
        launch.stop()
