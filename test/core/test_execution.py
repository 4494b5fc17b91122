"""core.execution: steps through an adapter, cancel, preemption, a stop always wins."""
from __future__ import annotations

import threading

from edge_agent.core.execution import DryRunAdapter, Executor
from edge_agent.core.planning import Step

PLAN = [Step('navigate_to', {'location': 'kitchen'}), Step('pick', {'object': 'red cup'})]


class Recorder:
    name = 'recorder'

    def __init__(self, fail_at: int | None = None, raise_at: int | None = None) -> None:
        self.ran, self.fail_at, self.raise_at = [], fail_at, raise_at

    def run(self, step, interrupted):
        self.ran.append(step.skill)
        if len(self.ran) - 1 == self.raise_at:
            raise ValueError('gripper offline')
        if len(self.ran) - 1 == self.fail_at:
            return False, 'blocked'
        return True, 'ok'


def test_all_steps_run_in_order_with_a_callback_per_step():
    adapter, started = Recorder(), []
    result = Executor(adapter).run(PLAN, on_step=lambda i, s: started.append((i, s.skill)))
    assert result.success and result.outcome == 'succeeded'
    assert adapter.ran == ['navigate_to', 'pick'] == [s for _, s in started]
    assert [o.index for o in result.steps] == [0, 1] and all(o.success for o in result.steps)


def test_a_failing_or_raising_step_fails_the_plan_and_stops_it():
    adapter = Recorder(fail_at=0)
    result = Executor(adapter).run(PLAN)
    assert result.outcome == 'failed' and 'step 0' in result.message and 'blocked' in \
        result.message and adapter.ran == ['navigate_to']
    result = Executor(Recorder(raise_at=1)).run(PLAN)
    assert result.outcome == 'failed' and 'ValueError: gripper offline' in result.message


def test_cancel_interrupts_a_running_dry_run_step():
    cancel = threading.Event()
    timer = threading.Timer(0.1, cancel.set)
    timer.start()
    result = Executor(DryRunAdapter(step_time_s=30.0)).run(PLAN, cancelled=cancel.is_set)
    timer.join()
    assert result.outcome == 'canceled' and len(result.steps) == 1
    assert not result.steps[0].success and result.steps[0].duration_s < 10


def test_a_newer_command_preempts_but_never_a_stop():
    result = Executor(DryRunAdapter(0.0)).run(PLAN, preempted=lambda: True)
    assert result.outcome == 'preempted' and result.steps == []
    stop = Executor(DryRunAdapter(0.0)).run([Step('stop', {})], preempted=lambda: True)
    assert stop.success and [o.skill for o in stop.steps] == ['stop']
