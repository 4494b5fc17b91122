"""core.planning.stop: a stop is recognised by intent, in both directions, before any model.

The stop phrasings below were written as a user would say them, not taken from the lexicon's
patterns; the non-stops are ordinary commands that contain a stop word."""
from __future__ import annotations

import pytest

from edge_agent.core.planning import Planner, SkillCatalog, StopLexicon
from edge_agent.core.planning.backends import RulesBackend

is_stop = StopLexicon().is_stop   # the built-in lexicon alone

STOPS = [
    'stop', 'Stop!', 'STOP NOW', 'halt', 'freeze!', 'Robot, stop.', 'please stop',
    'hold it, don\'t move', 'cease all movement', "that's enough, stop what you're doing",
    "don't move", 'do not move an inch', 'Stop moving right now!', 'emergency stop',
    'abort', 'cancel that', 'stay where you are', 'hold still', 'stand still', 'enough!',
    'no, stop', 'Whoa whoa, stop', 'stop stop stop', 'quit it', 'stop everything',
    'stop the robot', 'e-stop', 'kill the motors', 'Hey robot, freeze', 'okay stop there',
    'pause', 'no more moving', "don't go", 'stop, stop', "Stop it, you're going to hit the wall",
    'go to the kitchen, no wait, stop',
]
NOT_STOPS = [
    'stop by the kitchen', 'stop at the table', "don't stop", 'go to the kitchen',
    'pick up the red cup', 'pause for 5 seconds', 'wait 3 seconds', 'put the stopwatch down',
    'tell me about bus stops', 'look at the shelf', 'hold on to the cup', 'say stop',
    'the red one', 'that one on the right', '',
]


@pytest.mark.parametrize('text', STOPS)
def test_every_way_to_say_stop_is_a_stop(text):
    assert is_stop(text), text


@pytest.mark.parametrize('text', NOT_STOPS)
def test_ordinary_commands_with_stop_words_are_not_stops(text):
    assert not is_stop(text), text


def test_the_guard_makes_a_stop_win_at_every_tier_and_a_deployment_adds_phrases(tmp_path):
    catalog = SkillCatalog()
    planner = Planner(catalog, [RulesBackend(catalog)])
    world = catalog.world(['red cup'])
    for text in ('cease all movement', 'hold it, don\'t move'):
        result = planner.plan(text, world)
        assert result.guarded and result.plan.skills() == ['stop']
    assert planner.plan('stop by the kitchen', world).plan.skills() != ['stop']
    custom = tmp_path / 'skills.yaml'
    custom.write_text((catalog.path.read_text()).replace('stop_phrases: []',
                                                         'stop_phrases: [red light]'))
    local = SkillCatalog(custom)
    assert Planner(local, [RulesBackend(local)]).plan('Red light!', world).plan.skills() == [
        'stop']
    assert StopLexicon(['red light']).is_stop('ok, red light') and not is_stop('red light')
