"""The closed loop in simulation, with the real models over real DDS: Piper speaks the command
into the microphone stream, the speech node transcribes it, the vision node detects on the
simulated camera's renders, the agent decides (and asks, when two cups look alike), the planner
plans and the skill executor drives the MuJoCo robot. Each test passes only when the
simulator's ground truth shows the meant object in the gripper and no other object moved.

The microphone is the only stand-in (this machine has none): the test publishes what a
microphone node publishes on ``audio``, the AudioChunk stream the audio capture node sends.
"""
from __future__ import annotations

import pytest

from edge_agent.app.closed_loop import find_task, run_task

pytestmark = pytest.mark.slow


def _report(result) -> str:
    return (f'held {result.held!r}, moved {result.moved}, timed out {result.timed_out}, '
            f'outcome {result.outcome}')


def test_spoken_fetch_command_ends_with_the_red_cup_held():
    result = run_task(find_task('fetch'))
    assert result.passed, _report(result)
    assert result.held == 'red_cup' and result.moved == ['red_cup']
    outcome = result.outcome
    assert outcome.executed == ['navigate_to', 'pick'] and outcome.location == 'kitchen'
    assert outcome.plans == [['navigate_to(kitchen)', 'pick(red cup)']]
    assert outcome.said == []          # nothing to ask: one red cup in view
    print(f'end of speech -> red cup held: {result.speech_end_to_held_s:.2f} s; '
          f'real-time factor {result.real_time_factor:.2f}; stages {result.latencies}')


def test_ambiguous_command_asks_and_the_answer_picks_the_right_cup():
    result = run_task(find_task('ambiguous'))
    assert result.passed, _report(result)
    outcome = result.outcome
    assert outcome.said == ['Do you mean the green cup on the left or the green cup on the '
                            'right?']   # left to right, whatever order the detector gave
    assert outcome.policies[0] == 'clarify' and outcome.policies[-1] == 'act'
    assert outcome.plans == [['navigate_to(kitchen)', 'pick(green cup on the right)']]
    assert result.held == 'green_cup_r' and result.moved == ['green_cup_r']   # not the left one
    print(f'end of answer -> green cup held: {result.speech_end_to_held_s:.2f} s; '
          f'real-time factor {result.real_time_factor:.2f}')
