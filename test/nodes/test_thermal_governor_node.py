"""The thermal governor node over real DDS, reading a fake sysfs tree (this machine has no
thermal sensors; the fake tree has the same files the kernel provides, so the node reads it
through the real code path)."""
from __future__ import annotations

from diagnostic_msgs.msg import DiagnosticArray
import pytest
from rclpy.node import Node
from rclpy.parameter import Parameter
from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy
from ros_helpers import wait_for, wait_future

from edge_agent.core.thermal import FakeSysfs, TripPoint
from edge_agent.msg import ModelTier
from edge_agent.nodes.thermal_governor import ThermalGovernor
from edge_agent.srv import SetModelTier

LATCHED = QoSProfile(depth=1, reliability=ReliabilityPolicy.RELIABLE,
                     durability=DurabilityPolicy.TRANSIENT_LOCAL)
TRIPS = {'cpu-thermal': [TripPoint('passive', 85.0), TripPoint('critical', 100.0)]}


def make_governor(ros_context, tmp_path, **params):
    overrides = {'sysfs_root': str(tmp_path), 'period_s': 0.05, 'min_dwell_s': 0.0,
                 'lookahead_s': 0.0, **params}
    return ThermalGovernor(context=ros_context, parameter_overrides=[
        Parameter(k, value=v) for k, v in overrides.items()])


def test_governor_publishes_latched_tier_diagnostics_and_serves_override(
        ros_context, executor, tmp_path):
    fake = FakeSysfs(tmp_path, TRIPS, ['cpu-thermal', 'gpu-thermal'])
    fake.apply({'cpu-thermal': 50.0, 'gpu-thermal': 48.0})
    executor.add(make_governor(ros_context, tmp_path))
    probe = executor.add(Node('tier_probe', context=ros_context))
    tiers: list[ModelTier] = []
    diags: list[DiagnosticArray] = []
    probe.create_subscription(ModelTier, 'system/model_tier', tiers.append, LATCHED)
    probe.create_subscription(DiagnosticArray, '/diagnostics', diags.append, 10)

    wait_for(lambda: tiers, message='the first tier message')
    assert tiers[-1].tier_index == 0 and tiers[-1].tier_name == 'full'
    assert tiers[-1].zone_names == ['cpu-thermal', 'gpu-thermal']
    assert tiers[-1].max_temperature == 50.0

    fake.apply({'cpu-thermal': 78.0, 'gpu-thermal': 60.0})  # above the 70 C threshold
    wait_for(lambda: tiers[-1].tier_index == 1, message='the step down to tier 1')
    assert 'stepping down to tier 1' in tiers[-1].reason

    # a node started later still gets the current tier (transient local)
    late: list[ModelTier] = []
    probe.create_subscription(ModelTier, 'system/model_tier', late.append, LATCHED)
    wait_for(lambda: late, message='the latched tier for a late joiner')
    assert late[0].tier_index == 1

    wait_for(lambda: diags and any(v.key == 'zone cpu-thermal' and v.value == '78.0'
                                   for v in diags[-1].status[0].values),
             message='diagnostics with the zone temperature')
    status = diags[-1].status[0]
    assert status.level == status.OK and status.message.startswith('tier 1')

    client = probe.create_client(SetModelTier, 'system/set_model_tier')
    wait_for(client.service_is_ready, message='the tier service')
    response = wait_future(client.call_async(
        SetModelTier.Request(tier_index=2, duration=0.0, reason='operator test')))
    assert response.success and response.active_tier == 2
    wait_for(lambda: tiers[-1].tier_index == 2 and tiers[-1].override_active,
             message='the overridden tier')
    bad = wait_future(client.call_async(SetModelTier.Request(tier_index=9)))
    assert not bad.success and 'out of range' in bad.message
    cleared = wait_future(client.call_async(
        SetModelTier.Request(tier_index=SetModelTier.Request.CLEAR_OVERRIDE)))
    assert cleared.success
    wait_for(lambda: not tiers[-1].override_active, message='the override to clear')


def test_sensor_dropout_is_a_diagnostic_not_a_crash(ros_context, executor, tmp_path):
    fake = FakeSysfs(tmp_path, TRIPS, ['cpu-thermal'])
    fake.apply({'cpu-thermal': 75.0})
    governor = executor.add(make_governor(ros_context, tmp_path))
    probe = executor.add(Node('diag_probe', context=ros_context))
    diags: list[DiagnosticArray] = []
    probe.create_subscription(DiagnosticArray, '/diagnostics', diags.append, 10)
    wait_for(lambda: diags, message='diagnostics')
    fake.apply({'cpu-thermal': None})
    wait_for(lambda: diags[-1].status[0].message == 'no readable thermal zone',
             message='the dropout warning')
    status = diags[-1].status[0]
    assert status.level == status.WARN
    assert any(v.key == 'zone cpu-thermal' and v.value.startswith('offline')
               for v in status.values)
    assert {v.key: v.value for v in status.values}['tier'] == '1'  # held, not reset
    fake.apply({'cpu-thermal': 50.0})
    wait_for(lambda: diags[-1].status[0].level == status.OK, message='recovery')
    assert governor.get_parameter('sysfs_root').value == str(tmp_path)


def test_bad_parameters_are_rejected_with_a_reason(ros_context, tmp_path):
    FakeSysfs(tmp_path, TRIPS, ['cpu-thermal']).apply({'cpu-thermal': 40.0})
    governor = make_governor(ros_context, tmp_path)
    try:
        result = governor.set_parameters([Parameter('hysteresis_c', value=-2.0)])[0]
        assert not result.successful and 'hysteresis_c out of range' in result.reason
        for name, bad in (('hysteresis_c', float('nan')), ('min_dwell_s', float('inf')),
                          ('lookahead_s', float('-inf'))):
            result = governor.set_parameters([Parameter(name, value=bad)])[0]
            assert not result.successful and name in result.reason, (name, result.reason)
        result = governor.set_parameters_atomically([
            Parameter('use_trip_points', value=False),
            Parameter('thresholds_c', value=[80.0, 60.0])])
        assert not result.successful and 'strictly increasing' in result.reason
        ok = governor.set_parameters_atomically([
            Parameter('use_trip_points', value=False),
            Parameter('thresholds_c', value=[60.0, 75.0])])
        assert ok.successful
        assert governor._policy.config.thresholds_c == (60.0, 75.0)
        assert governor.get_parameter('hysteresis_c').value == 3.0
        descriptor = governor.describe_parameter('min_dwell_s')
        assert descriptor.description.endswith('[s].')
        assert descriptor.floating_point_range[0].to_value == 3600.0  # ros2 param describe
    finally:
        governor.destroy_node()


def test_installed_executable_runs_and_stops_cleanly_on_sigint(ros_context, executor, tmp_path):
    """`ros2 run edge_agent thermal_governor` as a separate process; SIGINT ends it with 0."""
    import os
    import pathlib
    import signal
    import subprocess
    import sys

    exe = pathlib.Path(sys.prefix) / 'lib' / 'edge_agent' / 'thermal_governor'
    assert os.access(exe, os.X_OK), f'{exe} not installed'
    FakeSysfs(tmp_path, TRIPS, ['cpu-thermal']).apply({'cpu-thermal': 91.0})
    probe = executor.add(Node('exe_probe', context=ros_context))
    tiers: list[ModelTier] = []
    probe.create_subscription(ModelTier, 'system/model_tier', tiers.append, LATCHED)
    proc = subprocess.Popen([str(exe), '--ros-args', '-p', f'sysfs_root:={tmp_path}',
                             '-p', 'period_s:=0.1'], cwd='/',
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        wait_for(lambda: tiers or proc.poll() is not None, message='a tier from the process')
        assert tiers, proc.stdout.read().decode(errors='replace')
        assert tiers[0].tier_index == 2  # 91 C: above the passive-derived thresholds
    finally:
        proc.send_signal(signal.SIGINT)
        output = proc.communicate(timeout=20)[0].decode(errors='replace')
    assert proc.returncode == 0, output
    assert 'Traceback' not in output


def test_jetson_readings_through_jtop(ros_context, executor, tmp_path, monkeypatch):
    """jtop (jetson-stats) here is the stand-in in test/fakes, behind jtop's interface: this
    machine is no Jetson. Trip points still come from the sysfs tree."""
    import json
    import pathlib
    import sys

    state = tmp_path / 'jtop.json'
    state.write_text(json.dumps({'temperature': {
        'cpu': {'online': True, 'temp': 79.0}, 'gpu': {'online': True, 'temp': 60.5},
        'cv0': {'online': False, 'temp': -256.0}}, 'nvpmodel': '15W'}))
    monkeypatch.setenv('FAKE_JTOP_JSON', str(state))
    monkeypatch.syspath_prepend(str(pathlib.Path(__file__).parents[1] / 'fakes'))
    sys.modules.pop('jtop', None)
    root = tmp_path / 'sys'
    FakeSysfs(root, TRIPS, ['cpu-thermal']).apply({'cpu-thermal': 20.0})
    executor.add(make_governor(ros_context, root, use_jtop=True))
    probe = executor.add(Node('jtop_probe', context=ros_context))
    tiers: list[ModelTier] = []
    diags: list[DiagnosticArray] = []
    probe.create_subscription(ModelTier, 'system/model_tier', tiers.append, LATCHED)
    probe.create_subscription(DiagnosticArray, '/diagnostics', diags.append, 10)
    wait_for(lambda: tiers and diags, message='tier and diagnostics from jtop readings')
    assert tiers[-1].zone_names == ['cpu', 'gpu'] and tiers[-1].max_temperature == 79.0
    assert tiers[-1].tier_index == 1  # 79 C is above the 70 C threshold from the trip point
    values = {v.key: v.value for v in diags[-1].status[0].values}
    assert values['power_mode'] == '15W' and values['zone cv0'].startswith('offline')
    sys.modules.pop('jtop', None)


def test_expired_override_is_republished_and_bad_parameters_are_refused(
        ros_context, executor, tmp_path):
    import math

    fake = FakeSysfs(tmp_path, TRIPS, ['cpu-thermal'])
    fake.apply({'cpu-thermal': 50.0})
    governor = executor.add(make_governor(ros_context, tmp_path))
    probe = executor.add(Node('expiry_probe', context=ros_context))
    tiers: list[ModelTier] = []
    probe.create_subscription(ModelTier, 'system/model_tier', tiers.append, LATCHED)
    client = probe.create_client(SetModelTier, 'system/set_model_tier')
    wait_for(client.service_is_ready, message='the tier service')
    # an override of the tier already in use: when it expires the tier does not change,
    # but the latched message must no longer say the override holds
    response = wait_future(client.call_async(SetModelTier.Request(tier_index=0, duration=0.3)))
    assert response.success
    wait_for(lambda: tiers and tiers[-1].override_active, message='the override')
    wait_for(lambda: not tiers[-1].override_active, message='the expired override republished')
    assert tiers[-1].tier_index == 0
    for value in (math.nan, math.inf, -1.0):
        for name in ('hysteresis_c', 'min_dwell_s', 'lookahead_s'):
            result = governor.set_parameters([Parameter(name, value=value)])[0]
            assert not result.successful, (name, value)
    for duration in (math.nan, math.inf, -2.0):
        bad = wait_future(client.call_async(SetModelTier.Request(tier_index=1,
                                                                 duration=duration)))
        assert not bad.success and 'finite' in bad.message
    from rclpy.exceptions import ParameterException

    with pytest.raises(ParameterException, match='period_s'):   # the descriptor's range
        make_governor(ros_context, tmp_path, period_s=0.0)
