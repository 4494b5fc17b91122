"""Every lifecycle node through every transition, driven over DDS by its lifecycle services.

configure -> activate -> deactivate -> cleanup -> configure -> activate -> shutdown, checking
after each step what the graph shows (one action server, never two; publishers gone after
cleanup; goals refused unless active) and that the model is loaded only while active; then
shutdown from each primary state. The action server itself lives from the first configure to
destroy_node (see ModelNode.serve_action for why).
"""
from __future__ import annotations

import itertools
import time

from lifecycle_msgs.msg import State, Transition
from lifecycle_msgs.srv import ChangeState, GetState
import pytest
from rclpy.action import ActionClient, get_action_server_names_and_types_by_node
from rclpy.node import Node
from rclpy.parameter import Parameter
from ros_helpers import done_within, wait_for, wait_future

from edge_agent.action import ExecuteCommand, Listen, Observe
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

ACTION_TYPES = {'speech': Listen, 'vision': Observe, 'planner': ExecuteCommand}
_COUNTER = itertools.count()
_GOAL_STATE = {
    Transition.TRANSITION_CONFIGURE: State.PRIMARY_STATE_INACTIVE,
    Transition.TRANSITION_ACTIVATE: State.PRIMARY_STATE_ACTIVE,
    Transition.TRANSITION_DEACTIVATE: State.PRIMARY_STATE_INACTIVE,
    Transition.TRANSITION_CLEANUP: State.PRIMARY_STATE_UNCONFIGURED,
    Transition.TRANSITION_UNCONFIGURED_SHUTDOWN: State.PRIMARY_STATE_FINALIZED,
    Transition.TRANSITION_INACTIVE_SHUTDOWN: State.PRIMARY_STATE_FINALIZED,
    Transition.TRANSITION_ACTIVE_SHUTDOWN: State.PRIMARY_STATE_FINALIZED,
}


def _answer(future, timeout: float):
    """The service's response, or None when none came within ``timeout`` [s]."""
    return future.result() if done_within(future, timeout) else None


class LifecycleClient:
    """Drives a node's lifecycle through its ``~/change_state`` and ``~/get_state`` services."""

    def __init__(self, probe: Node, name: str) -> None:
        self.probe, self.name = probe, name
        self.change = probe.create_client(ChangeState, f'{name}/change_state')
        self.get = probe.create_client(GetState, f'{name}/get_state')
        wait_for(lambda: self.change.service_is_ready() and self.get.service_is_ready(),
                 message=f'the lifecycle services of {name}')

    # A service client is "ready" once its requests can reach the server, which can be before
    # the server's responses can reach it: the first response may be lost. A lost answer is
    # recognised by asking the state (idempotent), and a lost request is sent again.
    def transition(self, transition_id: int, timeout: float = 120.0) -> bool:
        goal = _GOAL_STATE[transition_id]
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            request = ChangeState.Request(transition=Transition(id=transition_id))
            answer = _answer(self.change.call_async(request),
                             min(15.0, max(deadline - time.monotonic(), 0.1)))
            if answer is not None:
                return answer.success
            if self.state() == goal:
                return True
        raise AssertionError(f'{self.name}: transition {transition_id} got no answer')

    def state(self) -> int:
        for _ in range(10):
            answer = _answer(self.get.call_async(GetState.Request()), 5.0)
            if answer is not None:
                return answer.current_state.id
        raise AssertionError(f'{self.name}: get_state got no answer')


def action_servers(probe: Node, name: str) -> list[str]:
    return [n for n, _ in get_action_server_names_and_types_by_node(probe, name,
                                                                    probe.get_namespace())]


def goal_accepted(probe: Node, kind: str) -> bool:
    """Send the node's action an empty goal over DDS; whether it was accepted."""
    action_type = ACTION_TYPES[kind]
    client = ActionClient(probe, action_type, NODES[kind][1])
    try:
        wait_for(client.server_is_ready, message=f'the {kind} action server')
        handle = wait_future(client.send_goal_async(action_type.Goal()), timeout=30,
                             message=f'the {kind} goal response')
        if handle.accepted:
            handle.cancel_goal_async()
        return handle.accepted
    finally:
        client.destroy()


def start(ros_context, executor, kind: str):
    """The node in a namespace of its own (a node of the same name from an earlier test may
    linger in the DDS graph for a while), and a probe beside it."""
    cls, action, topic, overrides = NODES[kind]
    namespace = f'/lifecycle_{kind}_{next(_COUNTER)}'
    node = executor.add(cls(context=ros_context, namespace=namespace,
                            parameter_overrides=overrides))
    probe = executor.add(Node(f'{kind}_lifecycle_probe', namespace=namespace,
                              context=ros_context))
    return node, probe, LifecycleClient(probe, kind), f'{namespace}/{action}', topic


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
        # the graph cache is updated asynchronously: under load the publisher shows up late
        wait_for(lambda: probe.count_publishers(topic) == 1,
                 message=f'one {topic} publisher (round {round_})')
        assert node.engines.engine is None
        assert client.transition(Transition.TRANSITION_ACTIVATE)
        assert client.state() == State.PRIMARY_STATE_ACTIVE and node.engines.engine is not None
        if round_ == 0:
            assert client.transition(Transition.TRANSITION_DEACTIVATE)
            assert client.state() == State.PRIMARY_STATE_INACTIVE
            assert node.engines.engine is None  # the model is freed on deactivate
            assert client.transition(Transition.TRANSITION_CLEANUP)
            assert client.state() == State.PRIMARY_STATE_UNCONFIGURED
            wait_for(lambda: probe.count_publishers(topic) == 0,
                     message=f'{kind} publishers gone after cleanup')
            assert action_servers(probe, kind) == [action] and node.engines.engine is None
            assert not goal_accepted(probe, kind)  # the server stays, refusing goals

    assert client.transition(Transition.TRANSITION_ACTIVE_SHUTDOWN)
    assert client.state() == State.PRIMARY_STATE_FINALIZED
    assert node.engines.engine is None and not goal_accepted(probe, kind)


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
    assert len(getattr(node, '_action_servers', {})) <= 1


@pytest.mark.parametrize('node_class', ['PlannerNode', 'AgentNode'])
def test_configure_fails_with_the_reason_on_a_bad_catalog(ros_context, executor, tmp_path,
                                                          node_class):
    """Both read the skill catalog (the agent for its synonyms)."""
    from edge_agent.nodes.agent import AgentNode

    bad = tmp_path / 'skills.yaml'
    bad.write_text('places: []\nskills: {}\n')
    cls = {'PlannerNode': PlannerNode, 'AgentNode': AgentNode}[node_class]
    node = executor.add(cls(context=ros_context, parameter_overrides=[
        Parameter('skills_file', value=str(bad))]))
    from rclpy.lifecycle import TransitionCallbackReturn

    assert node.trigger_configure() == TransitionCallbackReturn.FAILURE
    assert 'skills.yaml: skills: Dictionary should have at least 1 item' in node.failure_reason
    assert not getattr(node, '_owned', [])  # nothing was created
    good = executor.add(cls(context=ros_context))
    assert good.trigger_configure() == TransitionCallbackReturn.SUCCESS
    if node_class == 'AgentNode':
        assert good._synonyms['mug'] == 'cup'


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
            (['-p', 'executor_timeout_s:=nan'], 'executor_timeout_s')):
        result = subprocess.run([sys.executable, '-c', code, '--ros-args', *args],
                                capture_output=True, text=True, timeout=120,
                                env={**os.environ, 'PYTHONUNBUFFERED': '1'})
        assert result.returncode == 1, result.stderr
        last = result.stderr.strip().splitlines()[-1]
        assert 'error: ' in last and expected in last, result.stderr
        assert 'Traceback' not in result.stderr
