"""Supervision without ROS: heartbeats, exits, hangs, restarts, giving up, the report."""
from __future__ import annotations

from manual_clock import ManualClock

from edge_agent.core.observability.supervision import Supervision


def test_a_killed_node_is_restarted_and_its_time_back_measured():
    clock = ManualClock()
    sup = Supervision(['vision'], heartbeat_timeout_s=2.0, clock=clock)
    assert sup.report()[0] == 1   # waiting: not serving yet
    sup.started('vision', 100)
    sup.beat('vision', 100, 'inactive')
    assert not sup.serving('vision')
    sup.beat('vision', 100, 'active')
    assert sup.serving('vision') and sup.due() == []
    assert sup.report()[:2] == (0, 'all 1 nodes serving')
    clock.now = 10.0
    sup.exited('vision', -9)
    assert sup.due() == [('vision', 'process 100 killed by signal 9')]
    level, message, values = sup.report()
    assert level == 1 and 'vision lost (process 100 killed by signal 9)' in message
    clock.now = 10.5
    sup.started('vision', 101)
    clock.now = 13.25
    sup.beat('vision', 101, 'active')
    member = sup.members['vision']
    assert member.restarts == 1 and member.back_in_s == [3.25]
    assert sup.report()[2]['vision.last_restart_s'] == '3.25'


def test_a_hung_node_is_lost_after_the_heartbeat_timeout():
    clock = ManualClock()
    sup = Supervision(heartbeat_timeout_s=2.0, clock=clock)
    sup.beat('planner', 7, 'active')         # members also join by their first heartbeat
    assert sup.serving('planner')
    clock.now = 1.9
    assert sup.due() == []
    clock.now = 4.5
    assert sup.due() == [('planner', 'no heartbeat for 4.5 s')]


def test_a_respawned_process_is_a_restart_and_a_bad_state_a_loss():
    clock = ManualClock()
    sup = Supervision(clock=clock)
    sup.beat('agent', 1, 'active')
    clock.now = 1.0
    sup.beat('agent', 2, 'unconfigured')     # launch respawned it; not serving yet
    member = sup.members['agent']
    assert member.restarts == 1 and member.state == 'lost'
    assert 'process 1 was replaced by 2' in member.reason
    clock.now = 2.0
    sup.beat('agent', 2, 'active')
    assert sup.serving('agent') and member.back_in_s == [1.0]
    sup.beat('agent', 2, 'inactive')         # deactivated under us
    assert sup.due() == [('agent', "state 'inactive' instead of active")]


def test_a_node_that_keeps_dying_fails_instead_of_restarting_forever():
    clock = ManualClock()
    sup = Supervision(['speech'], max_restarts=3, restart_window_s=60.0, clock=clock)
    sup.started('speech', 1)
    for pid in range(2, 5):
        clock.now += 1.0
        sup.exited('speech', 1)
        assert sup.due() == [('speech', f'process {pid - 1} exited with status 1')]
        sup.started('speech', pid)
    sup.exited('speech', 1)
    assert sup.due() == []
    level, message, _ = sup.report()
    assert level == 2 and message.startswith('speech failed: process 4 exited with status 1')
    assert 'restarted 3 times in 60 s, giving up' in message
    sup.beat('speech', 4, 'active')          # a failed member stays failed
    assert sup.members['speech'].state == 'failed'


def test_a_node_that_never_serves_is_lost_after_the_start_timeout():
    clock = ManualClock()
    sup = Supervision(start_timeout_s=30.0, clock=clock)
    sup.started('vision', 5)
    sup.beat('vision', 5, 'inactive')
    clock.now = 31.0
    assert sup.due() == [('vision', "not serving 30 s after start (state 'inactive')")]
