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
    assert member.restarts == 1 and member.state == 'starting'
    assert 'process 1 was replaced by 2' in member.reason
    clock.now = 2.0
    sup.beat('agent', 2, 'active')
    assert sup.serving('agent') and member.back_in_s == [2.0]   # from its last heartbeat
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


def test_managed_nodes_are_brought_up_in_order_then_each_again_after_a_restart():
    clock = ManualClock()
    sup = Supervision(managed=['speech', 'vision', 'agent'], clock=clock)
    assert sup.bring_ups() == []                       # nobody heard yet
    sup.beat('vision', 20, 'unconfigured')
    sup.beat('agent', 30, 'unconfigured')
    assert sup.bring_ups() == []                       # speech first
    sup.beat('speech', 10, 'unconfigured')
    assert sup.bring_ups() == ['speech']
    sup.drive('speech')
    assert sup.bring_ups() == []                       # under way: not twice
    sup.brought_up('speech', 10)
    sup.beat('speech', 10, 'inactive')                 # a beat sent before it activated
    assert sup.bring_ups() == []                       # driven: not again for this process
    sup.beat('speech', 10, 'active')
    assert sup.bring_ups() == ['vision']
    for name, pid in (('vision', 20), ('agent', 30)):
        sup.drive(name)
        sup.brought_up(name, pid)
        sup.beat(name, pid, 'active')
    assert [sup.serving(n) for n in ('speech', 'vision', 'agent')] == [True] * 3
    # after the first bring-up, a respawned node comes up whatever the others do
    clock.now = 5.0
    sup.exited('speech', -9)
    sup.beat('agent', 31, 'unconfigured')              # launch respawned the agent
    assert sup.members['agent'].restarts == 1
    assert sup.bring_ups() == ['agent']
    sup.drive('agent')
    sup.brought_up('agent', 30)                        # the old process's answer: ignored
    assert sup.members['agent'].driving
    sup.brought_up('agent', 31)
    clock.now = 6.5
    sup.beat('agent', 31, 'active')
    assert sup.members['agent'].back_in_s == [6.5]   # from its last heartbeat (t=0)


def test_a_failed_transition_is_a_loss_with_the_nodes_reason_and_is_not_retried():
    clock = ManualClock()
    sup = Supervision(managed=['vision', 'agent'], max_restarts=2, clock=clock)
    sup.beat('vision', 5, 'unconfigured')
    sup.drive('vision')
    sup.transition_failed('vision', 4, 'configure')    # another process's answer: ignored
    assert sup.members['vision'].driving
    sup.transition_failed('vision', 5, 'configure')
    assert sup.due() == [('vision', 'configure failed')]
    sup.beat('vision', 5, 'unconfigured', 'configure failed: model file x.onnx is corrupt')
    member = sup.members['vision']
    assert member.state == 'lost' and member.reason == (
        'configure failed: model file x.onnx is corrupt')
    assert sup.bring_ups() == []                       # not again in the same process
    sup.started('vision', 5)                           # a restart (here: the same process)
    sup.beat('vision', 5, 'unconfigured')
    assert sup.bring_ups() == ['vision']
    sup.drive('vision')
    sup.transition_failed('vision', 5, 'activate')
    sup.beat('vision', 5, 'inactive', 'no vision model loaded')
    assert sup.members['vision'].reason == 'activate failed: no vision model loaded'
    sup.started('vision', 6)
    sup.beat('vision', 6, 'unconfigured')
    sup.drive('vision')
    sup.transition_failed('vision', 6, 'configure')
    assert sup.due() == []                             # restarted twice: given up
    assert sup.members['vision'].state == 'failed'
    sup.beat('agent', 7, 'unconfigured')
    assert sup.bring_ups() == ['agent']                # the next one is not held back
