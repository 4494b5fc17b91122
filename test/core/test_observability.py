"""Without ROS: input health (rate, age, latency percentiles, drops, staleness, the report)
and a command's stage latencies from its trace."""
from manual_clock import ManualClock
import pytest

from edge_agent.core.observability import OK, WARN, NodeHealth, stage_latencies
from edge_agent.core.observability.health import QOS_HOLD_S


def test_rate_age_latency_and_drops_of_a_stream():
    clock = ManualClock(100.0)
    health = NodeHealth(stale_after_s=2.0, clock=clock)
    camera = health.input('camera/image_raw', stream=True)
    for i in range(50):            # 10 Hz for 5 s, each frame 3 ms (one slow: 30 ms)
        clock.now += 0.1
        camera.received()
        camera.processed(0.030 if i == 25 else 0.003)
    camera.dropped(4)
    clock.now += 0.5
    values = health.report().values
    assert abs(float(values['camera_image_raw.rate_hz']) - 50 / 5.5) < 0.01
    assert values['camera_image_raw.age_s'] == '0.50'
    assert values['camera_image_raw.received'] == '50'
    assert values['camera_image_raw.dropped'] == '4'
    assert values['camera_image_raw.latency_p50_ms'] == '3.0'
    assert 3.0 <= float(values['camera_image_raw.latency_p95_ms']) < 30.0
    # the rate is over the last 10 s only
    clock.now += 20.0
    assert camera.rate_hz() == 0.0


def test_a_silent_stream_warns_and_an_event_input_never_does():
    clock = ManualClock(100.0)
    health = NodeHealth(stale_after_s=5.0, clock=clock)
    camera = health.input('camera/image_raw', stream=True)
    health.input('speech/transcript')            # commands come when someone speaks
    clock.now += 4.0
    assert health.report().level == OK and camera.silent_for() is None
    clock.now += 2.0
    assert camera.silent_for() == 6.0
    report = health.report()
    assert report.level == WARN
    assert report.message == 'no camera/image_raw for 6.0 s (none since start)'
    camera.received()
    assert health.report(ok_message='fine') == health.report(ok_message='fine')
    assert health.report().level == OK
    clock.now += 7.5
    assert health.report().message == 'no camera/image_raw for 7.5 s'
    assert camera.silent_for() == 7.5
    health.stale_after_s = 0.0                   # the parameter turns it off
    assert health.report().level == OK
    health.stale_after_s = 10.0
    assert health.report().level == OK
    assert health.report().values['camera_image_raw.stale_after_s'] == '10'


def test_restart_counts_staleness_from_activation():
    clock = ManualClock(100.0)
    health = NodeHealth(stale_after_s=1.0, clock=clock)
    health.input('audio', stream=True)
    clock.now += 30.0                            # configured long ago, activated now
    health.restart()
    assert health.report().level == OK
    clock.now += 1.5
    assert 'no audio for 1.5 s' in health.report().message


def test_problems_warn_once_and_incompatible_qos_is_held():
    clock = ManualClock(100.0)
    health = NodeHealth(clock=clock)
    health.problems.append('frame skipped: bad encoding')
    assert health.report().message == 'frame skipped: bad encoding'
    assert health.report().level == OK           # reported once, then cleared
    health.incompatible_qos('speech/transcript', 'speech/transcript: incompatible')
    report = health.report()
    assert report.level == WARN and report.message == 'speech/transcript: incompatible'
    assert report.values['speech_transcript_incompatible_qos'] == '1'
    clock.now += QOS_HOLD_S - 1
    assert health.report().level == WARN         # still there: the endpoint still cannot match
    clock.now += 2
    assert health.report().level == OK


def test_model_counters_and_own_warnings():
    health = NodeHealth(clock=ManualClock(100.0))
    health.counters['frames_oversized'] += 2
    report = health.report(needs_model=True)
    assert (report.level, report.message) == (WARN, 'no model loaded')
    report = health.report(model={'model': 'whisper-base', 'tier': 0}, needs_model=True,
                           ok_message='tier 0', extra={'adapter': 'sim'})
    assert (report.level, report.message) == (OK, 'tier 0')
    assert report.values['model'] == 'whisper-base'
    assert report.values['frames_oversized'] == '2' and report.values['adapter'] == 'sim'
    report = health.report(warnings=['emergency stop engaged'])
    assert (report.level, report.message) == (WARN, 'emergency stop engaged')


def test_stage_latencies_of_a_trace():
    ms = 1_000_000
    rows = stage_latencies(1000 * ms, ['transcript', 'decision', 'plan'],
                           [1900 * ms, 1910 * ms, 1925 * ms])
    assert [(k, round(v, 3)) for k, v in rows] == [
        ('end of speech -> transcript', 0.9), ('transcript -> decision', 0.01),
        ('decision -> plan', 0.015), ('end of speech -> plan', 0.925)]
    # typed: no end of speech, no total
    assert stage_latencies(0, ['plan', 'goal accepted'], [5 * ms, 6 * ms]) == [
        ('plan -> goal accepted', 0.001)]
    assert stage_latencies(0, [], []) == []
    # a clock step backwards (sim time reset) is 0, not negative
    assert stage_latencies(0, ['a', 'b'], [9 * ms, 3 * ms]) == [('a -> b', 0.0)]
    with pytest.raises(ValueError, match='2 stages but 1 stamps'):
        stage_latencies(0, ['a', 'b'], [1])
