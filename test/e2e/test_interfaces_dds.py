"""Every generated interface over real DDS: publish and receive each message type with every
field set, call the service, run each action with feedback and result, and cancel one."""
from __future__ import annotations

import importlib
import os
import pathlib
import subprocess
import sys
import threading

from action_msgs.msg import GoalStatus
import pytest
from rclpy.action import ActionClient, ActionServer, CancelResponse, GoalResponse
from rclpy.callback_groups import ReentrantCallbackGroup
from rclpy.node import Node
from rclpy.qos import QoSProfile, ReliabilityPolicy
from ros_helpers import wait_for, wait_future
from rosidl_parser import definition as idl

ROOT = pathlib.Path(__file__).resolve().parents[2]


def _names(kind: str) -> list[str]:
    return sorted(p.stem for p in (ROOT / kind).glob(f'*.{kind}'))


MSG_NAMES = _names('msg')
SRV_NAMES = _names('srv')
ACTION_NAMES = _names('action')


def _interface(kind: str, name: str):
    return getattr(importlib.import_module(f'edge_agent.{kind}'), name)


def _value(slot, seed: int, field: str):
    """A non-default value for a field of type ``slot``; ``seed`` varies values between runs."""
    if isinstance(slot, idl.AbstractNestedType):
        count = slot.size if isinstance(slot, idl.Array) else 2
        if isinstance(slot, idl.BoundedSequence):
            count = min(count, slot.maximum_size)
        return [_value(slot.value_type, seed + i, field) for i in range(count)]
    if isinstance(slot, idl.NamespacedType):
        module = importlib.import_module('.'.join(slot.namespaces))
        return filled(getattr(module, slot.name)(), seed + 1)
    if isinstance(slot, idl.AbstractString):
        return f'{field}-{seed}-ü'  # non-ASCII on purpose: strings are UTF-8 on the wire
    typename = slot.typename
    if typename == 'boolean':
        return True
    if typename in ('float', 'double'):
        return 0.5 + seed  # exactly representable in float32
    if typename in ('octet', 'char'):
        return bytes([65 + seed % 26]) if typename == 'octet' else chr(65 + seed % 26)
    return 1 + seed % 100  # every integer type holds 1..100


def filled(msg, seed: int = 1):
    """``msg`` with every field set to a non-default value, recursively."""
    for (field, _), slot in zip(msg.get_fields_and_field_types().items(), msg.SLOT_TYPES,
                                strict=True):
        value = _value(slot, seed, field)
        if field == 'data' and isinstance(value, list):  # uint8[]: give it real bytes
            value = bytes(range(seed, seed + 64))
        setattr(msg, field, value)
    return msg


def test_every_interface_file_is_generated():
    assert len(MSG_NAMES) >= 16 and SRV_NAMES and len(ACTION_NAMES) == 5
    for kind, names in (('msg', MSG_NAMES), ('srv', SRV_NAMES), ('action', ACTION_NAMES)):
        for name in names:
            assert _interface(kind, name) is not None


@pytest.mark.parametrize('kind,names', [('msg', MSG_NAMES), ('srv', SRV_NAMES),
                                        ('action', ACTION_NAMES)])
def test_every_field_is_documented(kind, names):
    """House style: every field and constant line carries a comment with its unit."""
    for name in names:
        text = (ROOT / kind / f'{name}.{kind}').read_text()
        for line in text.splitlines():
            stripped = line.strip()
            if stripped and not stripped.startswith('#') and stripped != '---':
                assert '#' in stripped, f'{kind}/{name}: field without a comment: {stripped!r}'


def test_every_message_round_trips_over_dds(ros_context, executor):
    qos = QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE)
    sender = executor.add(Node('iface_sender', context=ros_context))
    receiver = executor.add(Node('iface_receiver', context=ros_context))
    received: dict[str, object] = {}
    lock = threading.Lock()
    publishers = {}
    sent = {}
    for i, name in enumerate(MSG_NAMES):
        cls = _interface('msg', name)
        topic = f'iface_test/{name.lower()}'

        def store(msg, name=name):
            with lock:
                received.setdefault(name, msg)

        receiver.create_subscription(cls, topic, store, qos)
        publishers[name] = sender.create_publisher(cls, topic, qos)
        sent[name] = filled(cls(), seed=i + 1)
        assert sent[name] != cls(), f'{name}: the filler left every field at its default'

    def all_received():
        with lock:
            missing = [n for n in MSG_NAMES if n not in received]
        for name in missing:  # keep publishing until discovery has matched every pair
            publishers[name].publish(sent[name])
        return not missing

    wait_for(all_received, interval=0.2, message='every message type to arrive')
    for name in MSG_NAMES:
        assert received[name] == sent[name], f'{name} changed on the wire'
    assert bytes(received['AudioChunk'].data) == bytes(range(1, 65))
    assert received['Transcript'].words[1].word.endswith('-ü')


def test_set_model_tier_service(ros_context, executor):
    from edge_agent.srv import SetModelTier

    server_node = executor.add(Node('tier_server', context=ros_context))
    client_node = executor.add(Node('tier_client', context=ros_context))
    calls = []

    def handle(request, response):
        calls.append(request)
        response.success = 0 <= request.tier_index < 3
        response.active_tier = request.tier_index if response.success else 0
        response.message = f'tier {request.tier_index}: {request.reason}'
        return response

    server_node.create_service(SetModelTier, 'system/set_model_tier', handle)
    client = client_node.create_client(SetModelTier, 'system/set_model_tier')
    wait_for(lambda: client.service_is_ready(), message='the tier service')
    request = SetModelTier.Request(tier_index=2, duration=30.0, reason='hot-ü')
    response = wait_future(client.call_async(request), message='the tier service response')
    assert response.success and response.active_tier == 2
    assert response.message == 'tier 2: hot-ü'
    assert calls[0] == request
    refused = wait_future(client.call_async(SetModelTier.Request(tier_index=7)))
    assert not refused.success and refused.active_tier == 0
    assert SetModelTier.Request.CLEAR_OVERRIDE == -1


@pytest.mark.parametrize('name', ACTION_NAMES)
def test_action_feedback_and_result(ros_context, executor, name):
    cls = _interface('action', name)
    goal = filled(cls.Goal(), seed=3)
    feedbacks = [filled(cls.Feedback(), seed=10 + k) for k in range(2)]
    result = filled(cls.Result(), seed=20)
    goals_seen = []

    def execute(goal_handle):
        goals_seen.append(goal_handle.request)
        for feedback in feedbacks:
            goal_handle.publish_feedback(feedback)
        goal_handle.succeed()
        return result

    server_node = executor.add(Node(f'{name.lower()}_server', context=ros_context))
    client_node = executor.add(Node(f'{name.lower()}_client', context=ros_context))
    ActionServer(server_node, cls, f'test/{name.lower()}', execute,
                 callback_group=ReentrantCallbackGroup())
    client = ActionClient(client_node, cls, f'test/{name.lower()}')
    wait_for(lambda: client.server_is_ready(), message=f'the {name} action server')
    got_feedback = []
    handle = wait_future(client.send_goal_async(
        goal, feedback_callback=lambda fb: got_feedback.append(fb.feedback)))
    assert handle.accepted
    outcome = wait_future(handle.get_result_async(), message=f'the {name} result')
    assert outcome.status == GoalStatus.STATUS_SUCCEEDED
    assert outcome.result == result
    assert goals_seen == [goal]
    # Feedback and result travel on different topics, so the last feedback may trail.
    wait_for(lambda: len(got_feedback) == 2, message=f'{name} feedback')
    assert got_feedback == feedbacks


def test_action_cancel(ros_context, executor):
    from edge_agent.action import Observe

    started = threading.Event()

    def execute(goal_handle):
        feedback = Observe.Feedback()
        while not goal_handle.is_cancel_requested:
            feedback.frames_processed += 1
            goal_handle.publish_feedback(feedback)
            started.set()
            threading.Event().wait(0.02)
        goal_handle.canceled()
        return Observe.Result(frames_processed=feedback.frames_processed)

    server_node = executor.add(Node('observe_server', context=ros_context))
    client_node = executor.add(Node('observe_client', context=ros_context))
    ActionServer(server_node, Observe, 'vision/observe', execute,
                 goal_callback=lambda _goal: GoalResponse.ACCEPT,
                 cancel_callback=lambda _goal: CancelResponse.ACCEPT,
                 callback_group=ReentrantCallbackGroup())
    client = ActionClient(client_node, Observe, 'vision/observe')
    wait_for(lambda: client.server_is_ready(), message='the observe action server')
    handle = wait_future(client.send_goal_async(Observe.Goal(frames=1000)))
    assert handle.accepted
    assert started.wait(20.0)
    cancel = wait_future(handle.cancel_goal_async(), message='the cancel response')
    assert len(cancel.goals_canceling) == 1
    outcome = wait_future(handle.get_result_async(), message='the canceled result')
    assert outcome.status == GoalStatus.STATUS_CANCELED
    assert outcome.result.frames_processed >= 1


PUBLISHER_SCRIPT = '''
import sys, time, rclpy
from rclpy.node import Node
from edge_agent.msg import Transcript, WordInfo
rclpy.init()
node = Node('transcript_publisher')
pub = node.create_publisher(Transcript, 'speech/transcript', 10)
msg = Transcript(text='go to the kitchen', is_final=True, confidence=0.875,
                 words=[WordInfo(word=' go', start=0.0, end=0.25, probability=0.5)])
deadline = time.monotonic() + 30
while time.monotonic() < deadline and rclpy.ok():
    pub.publish(msg)
    rclpy.spin_once(node, timeout_sec=0.1)
'''


def test_message_crosses_process_boundary(ros_context, executor, tmp_path):
    """A second process publishes over DDS; this one receives (the real multi-process case)."""
    from edge_agent.msg import Transcript

    got = []
    node = executor.add(Node('transcript_listener', context=ros_context))
    node.create_subscription(Transcript, 'speech/transcript', got.append, 10)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    proc = subprocess.Popen([sys.executable, '-c', PUBLISHER_SCRIPT], env=env, cwd=tmp_path,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        wait_for(lambda: got or proc.poll() is not None, timeout=30,
                 message='a transcript from the other process')
        assert got, f'publisher exited early: {proc.stdout.read().decode(errors="replace")}'
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    assert got[0].text == 'go to the kitchen' and got[0].is_final
    assert got[0].confidence == 0.875 and got[0].words[0].word == ' go'
