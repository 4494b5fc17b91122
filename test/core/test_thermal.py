"""Thermal reader and tier policy without ROS, on the shipped traces and a fake sysfs tree."""
from __future__ import annotations

import pathlib

import pytest

from edge_agent.core.thermal import (
    FakeSysfs,
    PolicyConfig,
    SysfsThermalReader,
    ThermalReading,
    TierPolicy,
    TripPoint,
    ZoneReading,
    load_trace,
    reading_from_trace,
)

TRACES = pathlib.Path(__file__).parents[1] / 'data' / 'thermal'


def run_trace(name: str, config: PolicyConfig | None = None):
    points, trips = load_trace(TRACES / f'{name}.csv')
    policy = TierPolicy(config)
    return [(p, policy.update(reading_from_trace(p, trips))) for p in points]


def changes(decisions):
    return [(p.t, d.tier) for p, d in decisions if d.changed]


def test_steady_trace_stays_at_the_richest_tier():
    decisions = run_trace('steady')
    assert changes(decisions) == []
    assert {d.tier for _, d in decisions} == {0}


def test_heat_up_steps_down_in_order_and_reaches_the_floor_near_critical():
    decisions = run_trace('heat_up')
    steps = changes(decisions)
    assert [tier for _, tier in steps] == [1, 2]
    # thresholds come from the passive trip point (85 C): 70 C and 85 C
    assert decisions[0][1].thresholds_c == (70.0, 85.0)
    first = next(p for p, d in decisions if d.tier == 1)
    assert 66.0 < first.temps['tj-thermal'] < 71.0  # early, thanks to the trend look-ahead
    near_critical = [d for p, d in decisions if max(p.temps.values()) >= 95.0]
    assert near_critical and all(d.tier == 2 and d.reason.startswith('emergency')
                                 for d in near_critical)


def test_oscillation_near_a_threshold_does_not_flap():
    decisions = run_trace('oscillating')
    assert len(changes(decisions)) <= 2
    naive = run_trace('oscillating', PolicyConfig(hysteresis_c=0, min_dwell_s=0, lookahead_s=0))
    assert len(changes(naive)) >= 5, 'the trace must be one that flaps without the guards'


def test_dwell_time_separates_every_change():
    for name in ('heat_up', 'oscillating', 'dropout', 'cool_down'):
        times = [t for t, _ in changes(run_trace(name))]
        gaps = [b - a for a, b in zip(times, times[1:], strict=False)]
        assert all(g >= 10.0 for g in gaps), (name, times)


def test_cool_down_steps_up_one_tier_at_a_time_below_the_hysteresis():
    decisions = run_trace('cool_down')
    assert [tier for _, tier in changes(decisions)] == [2, 1, 0]
    for p, d in decisions:
        if d.changed and d.tier < 2:
            assert max(p.temps.values()) <= (85.0 if d.tier == 1 else 70.0) - 3.0


def test_sensor_dropout_holds_the_tier_and_keeps_using_live_zones():
    decisions = run_trace('dropout')
    blind = [(p, d) for p, d in decisions if 400 <= p.t < 420]
    assert blind and all(d.max_temp_c is None for _, d in blind)
    tier_before = decisions[399][1].tier
    assert all(d.tier == tier_before and 'no valid temperature' in d.reason for _, d in blind)
    partial = [d for p, d in decisions if 200 <= p.t < 260]
    assert all(d.max_temp_c is not None for d in partial)


def test_override_wins_until_it_expires():
    policy = TierPolicy(PolicyConfig(min_dwell_s=0))
    cool = (ZoneReading('cpu-thermal', 40.0, (TripPoint('passive', 85.0),)),)
    policy.set_override(2, duration_s=5.0, now=0.0)
    assert policy.update(ThermalReading(1.0, cool)).tier == 2
    assert policy.update(ThermalReading(1.0, cool)).override_active
    assert policy.update(ThermalReading(6.0, cool)).tier == 1  # expired: steps back up
    with pytest.raises(ValueError, match='out of range'):
        policy.set_override(3, 1.0, 0.0)


@pytest.mark.parametrize('kwargs,match', [
    ({'thresholds_c': (80.0, 70.0)}, 'strictly increasing'),
    ({'thresholds_c': (80.0,)}, 'needs num_tiers - 1'),
    ({'hysteresis_c': -1.0}, 'hysteresis_c'),
    ({'throttle_ratio': 0.0}, 'throttle_ratio'),
])
def test_bad_config_is_rejected_with_a_reason(kwargs, match):
    with pytest.raises(ValueError, match=match):
        TierPolicy(PolicyConfig(**kwargs))


def test_reader_on_a_fake_tree_with_offline_and_garbage_sensors(tmp_path):
    trips = {'cpu-thermal': [TripPoint('passive', 85.0), TripPoint('critical', 100.0)]}
    fake = FakeSysfs(tmp_path, trips, ['cpu-thermal', 'gpu-thermal', 'bad-thermal'])
    fake.apply({'cpu-thermal': 61.5, 'gpu-thermal': None, 'bad-thermal': 20.0})
    (tmp_path / 'class/thermal/thermal_zone2/temp').write_text('-273000\n')  # broken sensor
    fake.set_cpu_cap(0, 1_000_000, 2_000_000)
    reading = SysfsThermalReader(tmp_path, power_mode_file=None).read(5.0)
    by_name = {z.name: z for z in reading.zones}
    assert by_name['cpu-thermal'].temp_c == 61.5
    assert by_name['gpu-thermal'].temp_c is None and 'FileNotFoundError' in by_name[
        'gpu-thermal'].error
    assert by_name['bad-thermal'].temp_c is None and 'implausible' in by_name['bad-thermal'].error
    assert reading.trip('critical') == 100.0 and reading.min_cap_ratio == 0.5
    only = SysfsThermalReader(tmp_path, zones=['gpu-thermal'], power_mode_file=None).read(0.0)
    assert [z.name for z in only.zones] == ['gpu-thermal']
    assert SysfsThermalReader(tmp_path / 'nothing').read(0.0).zones == ()


def test_cpu_capping_counts_as_throttling():
    policy = TierPolicy(PolicyConfig(min_dwell_s=0))
    from edge_agent.core.thermal import CpuFreq
    zones = (ZoneReading('cpu-thermal', 50.0, (TripPoint('passive', 85.0),)),)
    capped = ThermalReading(0.0, zones, (CpuFreq('cpu0', 1, 800_000, 2_000_000),))
    decision = policy.update(capped)
    assert decision.throttling and decision.tier == 1 and 'capped at 40%' in decision.reason


def test_a_broken_sysfs_tree_never_raises(tmp_path):
    """Odd folder names, bytes that are not text, a vanished (dangling) zone, directories
    where files belong, junk in every file: read() reports, never raises."""
    fake = FakeSysfs(tmp_path, {'cpu-thermal': [TripPoint('passive', 85.0)]}, ['cpu-thermal'])
    fake.apply({'cpu-thermal': 61.5})
    thermal = tmp_path / 'class' / 'thermal'
    odd = thermal / 'thermal_zonefoo'
    odd.mkdir()
    (odd / 'type').write_bytes(b'\xff\xfe\x80 gpu')
    (odd / 'temp').write_bytes(b'\x00\x01junk')
    (odd / 'trip_point_0_type').write_bytes(b'\xc3\x28')
    (odd / 'trip_point_0_temp').write_bytes(b'9' * 100000)
    (thermal / 'thermal_zone7').symlink_to(tmp_path / 'gone')       # vanished
    weird = thermal / 'thermal_zone12'
    (weird / 'temp').mkdir(parents=True)                              # a directory, not a file
    (weird / 'type').write_text('nan-thermal')
    cpu = tmp_path / 'devices' / 'system' / 'cpu' / 'cpu0' / 'cpufreq'
    cpu.mkdir(parents=True)
    (cpu / 'scaling_max_freq').write_bytes(b'\xff')
    reading = SysfsThermalReader(tmp_path, power_mode_file=tmp_path / 'nvp').read(1.0)
    assert reading.max_temp_c == 61.5
    names = [z.name for z in reading.zones]
    assert names[:3] == ['cpu-thermal', 'thermal_zone7', 'nan-thermal']   # numeric order
    assert '\ufffd' in names[3]   # the undecodable type, replaced, still named
    assert all(z.temp_c is None and z.error for z in reading.zones[1:])
    assert reading.zones[0].trips == (TripPoint('passive', 85.0),)
    assert reading.cpus[0].cap_ratio is None
    (tmp_path / 'nvp').write_bytes(b'\xff\xfe pmode')
    assert 'pmode' in SysfsThermalReader(tmp_path, power_mode_file=tmp_path / 'nvp'
                                         ).read(2.0).power_mode
