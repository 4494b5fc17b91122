"""Every lifecycle node through every transition, driven over DDS by its lifecycle services.

configure -> activate -> deactivate -> cleanup -> configure -> activate -> shutdown, checking
after each step what the graph shows (one action server, never two; none after cleanup) and
that the model is loaded only while active; then shutdown from each primary state.
"""
from __future__ import annotations

from lifecycle_msgs.msg import State, Transition
from lifecycle_msgs.srv import ChangeState, GetState
import pytest
from rclpy.action import get_action_server_names_and_types_by_node
from rclpy.node import Node
from rclpy.parameter import Parameter
from ros_helpers import wait_for, wait_future

from edge_agent.nodes.planner import PlannerNode
from edge_agent.nodes.speech import SpeechNode
from edge_agent.nodes.vision import VisionNode

# node class, its name, its action, a topic it publishes, overrides that need no big model
NODES = {
    'speech': (SpeechNode, 'speech/listen', 'speech/transcript', [Parameter('tier', value=1)]),
    'vision': (VisionNode, 'vision/observe', 'vision/detections', []),
    'planner': (PlannerNode, 'agent/execute_command', 'agent/plan',
                [Parameter('tier', value=2)]),
}


class LifecycleClient:
    """Drives a node's lifecycle through its ``~/change_state`` and ``~/get_state`` services."""

    def __init__(self, probe: Node, name: str) -> None:
        self.probe, self.name = probe, name
        self.change = probe.create_client(ChangeState, f'/{name}/change_state')
        self.get = probe.create_client(GetState, f'/{name}/get_state')
        wait_for(lambda: self.change.service_is_ready() and self.get.service_is_ready(),
                 message=f'the lifecycle services of {name}')

    def transition(self, transition_id: int, timeout: float = 120.0) -> bool:
        request = ChangeState.Request(transition=Transition(id=transition_id))
        return wait_future(self.change.call_async(request), timeout=timeout,
                           message=f'{self.name} transition {transition_id}').success

    def state(self) -> int:
        return wait_future(self.get.call_async(GetState.Request())).current_state.id


def action_servers(probe: Node, name: str) -> list[str]:
    return [n for n, _ in get_action_server_names_and_types_by_node(probe, name, '/')]


def start(ros_context, executor, kind: str):
    cls, action, topic, overrides = NODES[kind]
    node = executor.add(cls(context=ros_context, parameter_overrides=overrides))
    probe = executor.add(Node(f'{kind}_lifecycle_probe', context=ros_context))
    return node, probe, LifecycleClient(probe, kind), f'/{action}', topic


@pytest.mark.parametrize('kind', list(NODES))
def test_full_cycle_over_dds(ros_context, executor, kind):
    node, probe, client, action, topic = start(ros_context, executor, kind)
    assert client.state() == State.PRIMARY_STATE_UNCONFIGURED
    assert action_servers(probe, kind) == [] and node._tiers is None

    for round_ in range(2):  # configure twice: cleanup must have removed everything
        assert client.transition(Transition.TRANSITION_CONFIGURE)
        assert client.state() == State.PRIMARY_STATE_INACTIVE
        wait_for(lambda: action_servers(probe, kind) == [action],
                 message=f'one {action} server (round {round_})')
        assert probe.count_publishers(topic) == 1 and node.engines.engine is None
        assert client.transition(Transition.TRANSITION_ACTIVATE)
        assert client.state() == State.PRIMARY_STATE_ACTIVE and node.engines.engine is not None
        if round_ == 0:
            assert client.transition(Transition.TRANSITION_DEACTIVATE)
            assert client.state() == State.PRIMARY_STATE_INACTIVE
            assert node.engines.engine is None  # the model is freed on deactivate
            assert client.transition(Transition.TRANSITION_CLEANUP)
            assert client.state() == State.PRIMARY_STATE_UNCONFIGURED
            wait_for(lambda: action_servers(probe, kind) == [] and probe.count_publishers(
                topic) == 0, message=f'{kind} entities gone after cleanup')

    assert client.transition(Transition.TRANSITION_ACTIVE_SHUTDOWN)
    assert client.state() == State.PRIMARY_STATE_FINALIZED
    assert node.engines.engine is None
    wait_for(lambda: action_servers(probe, kind) == [], message=f'{kind} action gone')


@pytest.mark.parametrize('kind', list(NODES))
@pytest.mark.parametrize('steps,shutdown', [
    ([], Transition.TRANSITION_UNCONFIGURED_SHUTDOWN),
    ([Transition.TRANSITION_CONFIGURE], Transition.TRANSITION_INACTIVE_SHUTDOWN),
    ([Transition.TRANSITION_CONFIGURE, Transition.TRANSITION_ACTIVATE],
     Transition.TRANSITION_ACTIVE_SHUTDOWN),
], ids=['unconfigured', 'inactive', 'active'])
def test_shutdown_from_each_state(ros_context, executor, kind, steps, shutdown):
    node, probe, client, action, topic = start(ros_context, executor, kind)
    for step in steps:
        assert client.transition(step)
    assert client.transition(shutdown)
    assert client.state() == State.PRIMARY_STATE_FINALIZED
    assert node.engines.engine is None and not getattr(node, '_owned', [])
    wait_for(lambda: action_servers(probe, kind) == [], message=f'{kind} action gone')


def test_configure_fails_with_the_reason_on_a_bad_catalog(ros_context, executor, tmp_path):
    bad = tmp_path / 'skills.yaml'
    bad.write_text('places: []\nskills: {}\n')
    node = executor.add(PlannerNode(context=ros_context, parameter_overrides=[
        Parameter('skills_file', value=str(bad))]))
    from rclpy.lifecycle import TransitionCallbackReturn

    assert node.trigger_configure() == TransitionCallbackReturn.FAILURE
    assert 'skills.yaml: skills: Dictionary should have at least 1 item' in node.failure_reason
    assert not getattr(node, '_owned', [])  # nothing was created


def test_run_exits_1_with_one_line_instead_of_a_traceback(tmp_path):
    """A node started with a bad catalog (or an out-of-range parameter) says why and exits."""
    import os
    import subprocess
    import sys

    bad = tmp_path / 'skills.yaml'
    bad.write_text('places: [kitchen]\nskills: {say: {}}\n')
    code = 'import sys; from edge_agent.nodes.planner import main; sys.exit(main())'
    for args, expected in (
            (['-p', f'skills_file:={bad}'], 'planner: configure failed: '),
            (['-p', 'detection_min_score:=7.0'], 'detection_min_score'),
            (['-p', 'step_time_s:=nan'], 'step_time_s')):
        result = subprocess.run([sys.executable, '-c', code, '--ros-args', *args],
                                capture_output=True, text=True, timeout=120,
                                env={**os.environ, 'PYTHONUNBUFFERED': '1'})
        assert result.returncode == 1, result.stderr
        last = result.stderr.strip().splitlines()[-1]
        assert 'error: ' in last and expected in last, result.stderr
        assert 'Traceback' not in result.stderr
