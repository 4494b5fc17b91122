"""core.execution: steps through an adapter, cancel, preemption, a stop always wins, limits,
the robot state."""
from __future__ import annotations

import pathlib
import threading

import pytest

from edge_agent.core.execution import DryRunAdapter, Executor, RobotState, RoutedAdapter
from edge_agent.core.planning import Step

ROOT = pathlib.Path(__file__).resolve().parents[2]

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


def catalog_with_limits(tmp_path, limits: str):
    from edge_agent.core.planning import SkillCatalog

    text = (ROOT / 'config/skills.yaml').read_text()
    text = text.replace('    limits: {timeout_s: 180}\n', f'    limits: {limits}\n', 1)
    path = tmp_path / 'skills.yaml'
    path.write_text(text)
    return SkillCatalog(path)


def test_a_step_past_its_timeout_fails_and_names_the_limit(tmp_path):
    catalog = catalog_with_limits(tmp_path, '{timeout_s: 0.05}')
    result = Executor(DryRunAdapter(step_time_s=30.0), catalog).run(PLAN)
    assert result.outcome == 'failed' and 'timed out after the 0.05 s limit' in result.message
    assert result.steps[0].duration_s < 10 and len(result.steps) == 1


def test_a_place_outside_the_allowed_ones_is_refused_before_the_adapter_moves(tmp_path):
    catalog = catalog_with_limits(tmp_path, '{allowed_places: [living room, hallway]}')
    adapter = Recorder()
    result = Executor(adapter, catalog).run(PLAN)
    assert result.outcome == 'failed' and "may not go to 'kitchen'" in result.message
    assert 'living room, hallway' in result.message and adapter.ran == []


def test_an_unknown_allowed_place_is_a_config_error(tmp_path):
    from edge_agent.core.errors import ConfigError

    with pytest.raises(ConfigError, match='allowed_places names unknown places: garage'):
        catalog_with_limits(tmp_path, '{allowed_places: [garage]}')


def test_the_robot_state_follows_the_steps_and_refuses_impossible_ones():
    executor = Executor(Recorder())
    assert executor.run(PLAN).success
    assert executor.state.snapshot() == RobotState(location='kitchen', held='red cup')
    # a full gripper cannot pick another object; the adapter is never asked
    adapter = executor.adapter = Recorder()
    result = executor.run([Step('pick', {'object': 'blue cup'})])
    assert result.outcome == 'failed' and 'already holding the red cup' in result.message
    assert adapter.ran == []
    assert executor.run([Step('place', {'object': 'red cup', 'location': 'shelf'})]).success
    assert executor.state.snapshot() == RobotState(location='shelf', held='')
    result = executor.run([Step('place', {'object': 'red cup', 'location': 'table'})])
    assert 'not holding the red cup (holding nothing)' in result.message


def test_a_routed_adapter_sends_each_skill_to_its_adapter_and_a_stop_to_all():
    nav, rest = Recorder(), Recorder()
    nav.name = 'nav'
    routed = RoutedAdapter(rest, {'navigate_to': nav})
    assert routed.name == 'recorder+nav'
    assert Executor(routed).run([*PLAN, Step('stop', {})]).success
    assert nav.ran == ['navigate_to', 'stop'] and rest.ran == ['pick', 'stop']
