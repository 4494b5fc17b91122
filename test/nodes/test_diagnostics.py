"""/diagnostics over real DDS: every node reports its inputs' health (rate, age of the newest
input, processing latency, drops, tier and model), a deliberate QoS mismatch is a warning on
both sides, and a stream that goes silent is a warning. The camera is the MuJoCo simulator's;
the thermal sensors are a fake sysfs tree (this machine has none), read by the real code."""
from __future__ import annotations

import threading

from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus
from rclpy.node import Node
from rclpy.parameter import Parameter
from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy
from ros_helpers import wait_for
from std_msgs.msg import String

from edge_agent.core.thermal import FakeSysfs, TripPoint
from edge_agent.msg import BeliefSummary, Transcript
from edge_agent.nodes.agent import AgentNode
from edge_agent.nodes.planner import PlannerNode
from edge_agent.nodes.skill_executor import SkillExecutorNode
from edge_agent.nodes.speaker import SpeakerNode
from edge_agent.nodes.speech import SpeechNode
from edge_agent.nodes.thermal_governor import ThermalGovernor
from edge_agent.nodes.vision import VisionNode
from edge_agent.sim.node import SimulatorNode


class Diagnostics:
    """The newest status of every node, by name."""

    def __init__(self, probe: Node) -> None:
        self.latest: dict[str, DiagnosticStatus] = {}
        self._lock = threading.Lock()
        probe.create_subscription(DiagnosticArray, '/diagnostics', self._take, 50)

    def _take(self, msg: DiagnosticArray) -> None:
        with self._lock:
            for status in msg.status:
                self.latest[status.name] = status

    def values(self, name: str) -> dict[str, str]:
        with self._lock:
            status = self.latest.get(name)
        return {} if status is None else {v.key: v.value for v in status.values}

    def status(self, name: str) -> DiagnosticStatus | None:
        with self._lock:
            return self.latest.get(name)


def number(values: dict[str, str], key: str) -> float:
    value = values.get(key, '-')
    return float(value) if value not in ('-', '') else float('nan')


def test_every_node_reports_its_inputs_health(ros_context, executor, tmp_path):
    fake = FakeSysfs(tmp_path, {'cpu-thermal': [TripPoint('passive', 85.0)]}, ['cpu-thermal'])
    fake.apply({'cpu-thermal': 50.0})
    executor.add(SimulatorNode(context=ros_context, parameter_overrides=[
        Parameter('width', value=320), Parameter('height', value=240),
        Parameter('camera_rate_hz', value=5.0)]))
    executor.add(ThermalGovernor(context=ros_context, parameter_overrides=[
        Parameter('sysfs_root', value=str(tmp_path)), Parameter('period_s', value=0.2)]))
    speech = executor.activate(SpeechNode(context=ros_context, parameter_overrides=[
        Parameter('tier', value=2), Parameter('language', value='en'),
        Parameter('stale_input_s', value=1.0)]))
    executor.activate(VisionNode(context=ros_context, parameter_overrides=[
        Parameter('tier', value=2), Parameter('world', value='synthetic')]))
    executor.activate(SkillExecutorNode(context=ros_context, parameter_overrides=[
        Parameter('step_time_s', value=0.05)]))
    executor.activate(PlannerNode(context=ros_context, parameter_overrides=[
        Parameter('tier', value=2)]))
    executor.activate(AgentNode(context=ros_context))
    executor.activate(SpeakerNode(context=ros_context, parameter_overrides=[
        Parameter('tts', value='none')]))
    probe = executor.add(Node('diagnostics_probe', context=ros_context))
    diags = Diagnostics(probe)

    # the simulator's camera drives vision, whose detections reach agent and planner
    def streams_flow() -> bool:
        vision = diags.values('edge_agent: vision')
        return (number(vision, 'camera_image_raw.rate_hz') > 0
                and number(vision, 'camera_image_raw.latency_p50_ms') > 0
                and number(diags.values('edge_agent: agent'), 'vision_detections.rate_hz') > 0
                and number(diags.values('edge_agent: planner'), 'vision_detections.rate_hz') > 0)

    wait_for(streams_flow, timeout=60, message='camera -> vision -> agent and planner rates')
    vision = diags.values('edge_agent: vision')
    assert vision['tier'] == '2' and vision['model'].endswith('.onnx')
    assert 0 <= number(vision, 'camera_image_raw.age_s') < 5
    assert diags.values('edge_agent: planner')['model'] == 'rules'
    # no microphone publishes audio: the speech node says so, with its model
    wait_for(lambda: 'no audio for' in (diags.status('edge_agent: speech') or
                                        DiagnosticStatus()).message,
             message='a stale-audio warning from speech')
    assert diags.status('edge_agent: speech').level == DiagnosticStatus.WARN
    assert diags.values('edge_agent: speech')['model'] == 'whisper-tiny.en'
    assert diags.values('edge_agent: thermal governor')['thermal_zones.rate_hz'] != '0.00'

    # a command through agent -> planner -> executor, and a sentence for the speaker
    transcripts = probe.create_publisher(Transcript, 'speech/transcript', 10)
    say = probe.create_publisher(String, 'agent/say', 10)
    wait_for(lambda: transcripts.get_subscription_count() and say.get_subscription_count(),
             message='agent and speaker subscribed')
    transcripts.publish(Transcript(is_final=True, text='Go to the kitchen.', confidence=0.95))
    say.publish(String(data='Hello.'))

    def latencies() -> bool:
        return (number(diags.values('edge_agent: agent'),
                       'speech_transcript.latency_p50_ms') >= 0
                and number(diags.values('edge_agent: planner'),
                           'agent_execute_command.latency_p50_ms') >= 0
                and number(diags.values('edge_agent: skill executor'),
                           'executor_execute_plan.latency_p50_ms') >= 0
                and number(diags.values('edge_agent: speaker'),
                           'agent_say.latency_p50_ms') >= 0)

    wait_for(latencies, timeout=30, message='each stage to report a processing latency')
    for name, key in (('edge_agent: agent', 'speech_transcript'),
                      ('edge_agent: planner', 'agent_execute_command'),
                      ('edge_agent: skill executor', 'executor_execute_plan'),
                      ('edge_agent: speaker', 'agent_say')):
        values = diags.values(name)
        assert values[f'{key}.received'] == '1', (name, values)
        assert values[f'{key}.dropped'] == '0', (name, values)
    assert diags.values('edge_agent: skill executor')['adapter'] == 'dry_run+voice'
    speech.set_parameters([Parameter('stale_input_s', value=0.0)])   # turned off
    wait_for(lambda: 'no audio' not in diags.status('edge_agent: speech').message,
             message='the stale warning to end when turned off')


def test_incompatible_qos_is_a_warning_on_both_sides(ros_context, executor):
    agent = executor.activate(AgentNode(context=ros_context, namespace='/qos'))
    probe = executor.add(Node('qos_probe', namespace='/qos', context=ros_context))
    diags = Diagnostics(probe)
    # the agent subscribes to transcripts reliably: a best-effort publisher cannot match
    probe.create_publisher(Transcript, 'speech/transcript',
                           QoSProfile(depth=10, reliability=ReliabilityPolicy.BEST_EFFORT))
    # agent/belief is volatile: a subscriber asking for transient local cannot match
    probe.create_subscription(BeliefSummary, 'agent/belief', lambda _m: None,
                              QoSProfile(depth=1, reliability=ReliabilityPolicy.RELIABLE,
                                         durability=DurabilityPolicy.TRANSIENT_LOCAL))

    def warned() -> bool:
        status = diags.status('edge_agent: agent')
        return (status is not None and status.level == DiagnosticStatus.WARN
                and 'speech/transcript: a publisher with incompatible QoS (reliability)'
                in status.message
                and 'agent/belief: a subscriber with incompatible QoS (durability)'
                in status.message)

    wait_for(warned, timeout=30, message='both incompatible-QoS warnings from the agent')
    values = diags.values('edge_agent: agent')
    assert values['speech_transcript_incompatible_qos'] == '1'
    assert values['agent_belief_incompatible_qos'] == '1'
    assert agent.health.counters['speech_transcript_incompatible_qos'] == 1


def test_a_commands_trace_carries_its_stamps_to_the_first_step(ros_context, executor):
    """End of speech -> transcript -> decision -> plan -> goal accepted -> first step, in the
    messages themselves; `edge-agent trace` (its own process) prints the latencies live."""
    import os
    import pathlib
    import subprocess
    import sys

    from rclpy.time import Time

    from edge_agent.msg import Plan, Trace
    from edge_agent.nodes.common.trace import latencies

    executor.activate(SkillExecutorNode(context=ros_context, namespace='/traced',
                                        parameter_overrides=[Parameter('step_time_s',
                                                                       value=0.05)]))
    executor.activate(PlannerNode(context=ros_context, namespace='/traced',
                                  parameter_overrides=[Parameter('tier', value=2)]))
    executor.activate(AgentNode(context=ros_context, namespace='/traced'))
    probe = executor.add(Node('trace_probe', namespace='/traced', context=ros_context))
    traces: list[Trace] = []
    beliefs: list[BeliefSummary] = []
    plans: list[Plan] = []
    probe.create_subscription(Trace, 'agent/trace', traces.append, 10)
    probe.create_subscription(BeliefSummary, 'agent/belief', beliefs.append, 10)
    probe.create_subscription(Plan, 'agent/plan', plans.append, 10)
    transcripts = probe.create_publisher(Transcript, 'speech/transcript', 10)
    tool = subprocess.Popen(
        [str(pathlib.Path(sys.prefix) / 'bin' / 'edge-agent'), 'trace', '--namespace',
         '/traced', '--count', '1'], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True, env=dict(os.environ))
    try:
        wait_for(lambda: any(i.node_name == 'edge_agent_trace' for i in
                             probe.get_subscriptions_info_by_topic('/traced/agent/trace'))
                 and transcripts.get_subscription_count(), timeout=60,
                 message='edge-agent trace and the agent subscribed')
        now = probe.get_clock().now()
        heard = Transcript(is_final=True, text='Go to the kitchen.', confidence=0.95)
        heard.trace.end_of_speech = Time(nanoseconds=now.nanoseconds - 400_000_000).to_msg()
        heard.trace.utterance_id = 7
        heard.trace.stages, heard.trace.stamps = ['transcript'], [now.to_msg()]
        transcripts.publish(heard)
        wait_for(lambda: traces, message="the command's trace on agent/trace")
        out, err = tool.communicate(timeout=60)
    finally:
        if tool.poll() is None:
            tool.kill()
    trace = traces[0]
    assert list(trace.stages) == ['transcript', 'decision', 'plan', 'goal accepted',
                                  'first step']
    assert trace.utterance_id == 7
    stamps = [Time.from_msg(s).nanoseconds for s in trace.stamps]
    assert stamps == sorted(stamps) and stamps[0] == now.nanoseconds
    rows = dict(latencies(trace))
    assert abs(rows['end of speech -> transcript'] - 0.4) < 1e-6
    stages = [v for k, v in rows.items() if not k.startswith('end of speech -> first')]
    assert abs(sum(stages) - rows['end of speech -> first step']) < 1e-6
    assert rows['end of speech -> first step'] < 0.4 + 20.0
    # the decision and the plan carry the trace as far as it went
    assert list(beliefs[-1].trace.stages) == ['transcript', 'decision']
    assert list(plans[-1].trace.stages) == ['transcript', 'decision', 'plan']
    assert tool.returncode == 0, err
    assert out.startswith('utterance 7: end of speech -> transcript 400 ms | transcript -> '
                          'decision '), out
    assert '| end of speech -> first step ' in out
