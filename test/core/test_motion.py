"""Relative motion and questions about the robot's state, without ROS: the phrasings people use
become drive / turn / come_back steps within the catalog's limits (over a limit: refused aloud,
naming it, nothing moves), questions are answered from the state at every tier, the odometry
controllers reach their goal on a simulated differential base, and the executor remembers
where a command began so that come_back returns there."""
from __future__ import annotations

import math

import pytest

from edge_agent.core.execution import DryRunAdapter, Executor
from edge_agent.core.execution.drive import DriveStraight, TurnBy
from edge_agent.core.execution.state import RobotState, RobotStateTracker
from edge_agent.core.planning import Planner, SkillCatalog, Step, WorldState
from edge_agent.core.planning.motion import fold_numbers, spoken_number
from edge_agent.core.planning.rules import RuleParser

CATALOG = SkillCatalog()


def steps_of(command: str, world: WorldState | None = None) -> list[str]:
    planner = Planner(CATALOG, [])
    return [s.describe() for s in planner.plan(command, world or CATALOG.world()).plan.steps]


@pytest.mark.parametrize('said, value', [
    ('10', 10), ('1.5', 1.5), ('ten', 10), ('twenty five', 25), ('a hundred eighty', 180),
    ('one point five', 1.5), ('half', 0.5), ('a couple of', 2), ('three hundred sixty', 360),
    ('a', 1), ('ninety', 90), ('five two', None), ('kitchen', None), ('', None)])
def test_spoken_numbers(said, value):
    assert spoken_number(said) == value


def test_an_and_inside_a_number_is_not_a_clause_break():
    assert fold_numbers('go forward one and a half meters and turn left') == \
        'go forward 1.5 meters and turn left'
    assert fold_numbers('a meter and a half') == '1.5 meter'
    assert fold_numbers('turn a hundred and eighty degrees') == 'turn a hundred eighty degrees'
    assert fold_numbers('go to the kitchen and a half') == 'go to the kitchen and a half'


@pytest.mark.parametrize('command, steps', [
    ('Go forward two meters.', ['drive(meters=2)']),
    ('Go forward 2 m.', ['drive(meters=2)']),
    ('move ahead 50 centimeters', ['drive(meters=0.5)']),
    ('Drive forward one and a half meters.', ['drive(meters=1.5)']),
    ('go forward a meter and a half', ['drive(meters=1.5)']),
    ('go half a meter forward', ['drive(meters=0.5)']),
    ('drive backwards 3 feet', ['drive(meters=-0.914)']),
    ('go back two meters', ['drive(meters=-2)']),
    ('back up a bit', ['drive(meters=-0.25)']),
    ('go forward', ['drive(meters=1)']),             # the catalog's default
    ('move forward a little', ['drive(meters=0.25)']),   # the catalog's "a bit"
    ('turn left', ['turn(degrees=90)']),
    ('Turn right.', ['turn(degrees=-90)']),
    ('turn around', ['turn(degrees=180)']),
    ('Turn right 45 degrees.', ['turn(degrees=-45)']),
    ('rotate thirty degrees to the left', ['turn(degrees=30)']),
    ('turn a hundred and eighty degrees', ['turn(degrees=180)']),
    ('turn a bit to the right', ['turn(degrees=-15)']),
    ('take a left', ['turn(degrees=90)']),
    ('come back', ['come_back()']),
    ('Go back.', ['come_back()']),
    ('return to where you started', ['come_back()']),
    ('go back to the kitchen', ["navigate_to(location='kitchen')"]),   # a place: not back
    ('turn to the kitchen', ["look_at(target='kitchen')"]),            # a target: look
    ('Go to the kitchen, then come back.', ["navigate_to(location='kitchen')", 'come_back()']),
    ('go forward 1 meter, turn left and come back',
     ['drive(meters=1)', 'turn(degrees=90)', 'come_back()']),
])
def test_relative_motion_phrasings(command, steps):
    assert steps_of(command) == steps


@pytest.mark.parametrize('command, limit', [
    ('Go forward ten meters.', 'drive at most 5 meters'),
    ('back up 20 feet', 'drive at most 5 meters'),
    ('turn left 720 degrees', 'turn at most 360 degrees'),
    ('go forward 10 meters and pick up the red cup', 'drive at most 5 meters'),
])
def test_a_command_over_a_limit_is_refused_naming_it_and_nothing_moves(command, limit):
    world = CATALOG.world(['red cup'])
    plan = Planner(CATALOG, []).plan(command, world).plan
    assert [s.skill for s in plan.steps] == ['say']
    assert limit in plan.steps[0].args['text'] and 'did not move' in plan.steps[0].args['text']


def test_the_limits_come_from_the_catalog(tmp_path):
    text = CATALOG.path.read_text().replace(
        "{name: meters, type: number, min: -5, max: 5, default: 1, small: 0.25}",
        "{name: meters, type: number, min: -1, max: 12, default: 0.5, small: 0.1}")
    custom = tmp_path / 'skills.yaml'
    custom.write_text(text)
    catalog = SkillCatalog(custom)
    planner = Planner(catalog, [])
    world = catalog.world()
    assert [s.describe() for s in planner.plan('go forward ten meters', world).plan.steps] == [
        'drive(meters=10)']
    assert [s.describe() for s in planner.plan('go forward', world).plan.steps] == [
        'drive(meters=0.5)']
    refused = planner.plan('back up two meters', world).plan.steps[0].args['text']
    assert 'at most 1 meters' in refused


def test_a_bad_default_in_the_catalog_is_a_config_error(tmp_path):
    from edge_agent.core.errors import ConfigError

    custom = tmp_path / 'skills.yaml'
    custom.write_text(CATALOG.path.read_text().replace('default: 90', 'default: 900'))
    with pytest.raises(ConfigError, match='default=900.0 outside'):
        SkillCatalog(custom)


def test_questions_are_answered_from_state_by_the_guard_at_every_tier():
    world = WorldState(CATALOG.places, objects=('red cup', 'yellow ball'), held='green box',
                       location='kitchen')
    parser = RuleParser(CATALOG)

    def said(question: str, state: WorldState = world) -> list[str]:
        plan = parser.guard(question, state)   # before any tier: rules and models alike
        assert plan is not None and {s.skill for s in plan.steps} == {'say'}, question
        CATALOG.validate(plan, state)
        return [s.args['text'] for s in plan.steps]

    assert said('What do you see?') == ['I see a red cup, a yellow ball.',
                                        'I am holding the green box.']
    assert said('what are you holding?') == ['I am holding the green box.']
    assert said('Where are you?') == ['I am at the kitchen.']
    empty = WorldState(CATALOG.places)
    assert said('what do you see', empty) == ['I see nothing I recognise.']
    assert said('What are you holding?', empty) == ['I am not holding anything.']
    assert said('where are you', empty) == [
        'I have not reached a known place since I last moved.']
    able = ' '.join(said('What can you do?'))
    for words in ('drive to a known place', 'pick up a detected object', 'drive straight',
                  'turn on the spot', 'return to where', 'Say stop'):
        assert words in able
    assert '(' not in able   # the argument notes are for the model, not said aloud
    assert all(len(s) <= CATALOG.max_text_length for s in said('What can you do?'))
    assert parser.guard('what is the capital of France', world) is None   # not about itself


def test_drive_straight_reaches_the_distance_forward_and_backward_holding_the_line():
    for distance in (1.0, -0.6, 2.5):
        x, y, yaw = 1.0, -2.0, 0.7
        control = DriveStraight(x, y, yaw, distance, max_linear=0.3)
        for _ in range(4000):
            forward, turn, done = control.command(x, y, yaw)
            if done:
                break
            x += forward * math.cos(yaw) * 0.02
            y += forward * math.sin(yaw) * 0.02
            yaw += turn * 0.02 + 0.0005   # a base that drifts to the left
        assert done
        travelled = (x - 1.0) * math.cos(0.7) + (y + 2.0) * math.sin(0.7)
        across = -(x - 1.0) * math.sin(0.7) + (y + 2.0) * math.cos(0.7)
        assert travelled == pytest.approx(distance, abs=0.011)
        assert abs(across) < 0.03


def test_turn_by_counts_across_the_wrap_so_a_full_turn_is_a_full_turn():
    for degrees in (90, -45, 180, 360):
        yaw, unwrapped = 3.0, 3.0
        control = TurnBy(math.radians(degrees), max_angular=1.0)
        for _ in range(4000):
            turn, done = control.command((yaw + math.pi) % (2 * math.pi) - math.pi)
            if done:
                break
            yaw += turn * 0.02
            unwrapped += turn * 0.02
        assert done
        assert math.degrees(unwrapped - 3.0) == pytest.approx(degrees, abs=1.0)


class _Base:
    """A dry-run adapter that records where it was asked to mark home."""

    name = 'recording'

    def __init__(self) -> None:
        self.marks = 0
        self.dry = DryRunAdapter(step_time_s=0.0)

    def mark_home(self) -> None:
        self.marks += 1

    def run(self, step, interrupted):
        return self.dry.run(step, interrupted)


def test_come_back_returns_to_where_the_current_or_last_moving_command_began():
    base = _Base()
    state = RobotStateTracker(RobotState(location='kitchen'))
    executor = Executor(base, CATALOG, state)
    assert executor.run([Step('drive', {'meters': 2}), Step('turn', {'degrees': 90})]).success
    assert base.marks == 1 and state.snapshot().location == ''   # off the named place
    assert executor.run([Step('come_back', {})]).success          # the last command's start
    assert base.marks == 1 and state.snapshot().location == 'kitchen'
    assert executor.run([Step('say', {'text': 'hello'})]).success   # does not move: no mark
    assert executor.run([Step('navigate_to', {'location': 'office'}),
                         Step('come_back', {})]).success          # this command's start
    assert base.marks == 2 and state.snapshot().location == 'kitchen'


def test_the_executor_refuses_motion_over_the_catalog_limits_from_any_sender():
    executor = Executor(DryRunAdapter(step_time_s=0.0), CATALOG)
    assert 'meters=9' in executor.check_plan([Step('drive', {'meters': 9})])
    assert 'degrees=-400' in executor.check_plan([Step('turn', {'degrees': -400})])
    assert executor.check_plan([Step('drive', {'meters': -5})]) is None
