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


def test_spoken_motion_turns_drives_comes_back_answers_and_a_stop_halts_a_drive():
    """Seven spoken commands, each said once the last is done, then "Stop." 1.5 s into the
    last drive. The ground truth after each command shows the motion the words asked for."""
    import math

    result = run_task(find_task('motion'))
    assert result.passed, _report(result)
    assert len(result.poses) == 8, result.poses   # the start, then after each command
    start, left, ahead, back, right, _seen, around, stopped = result.poses

    def turned(a, b) -> float:
        return math.degrees((b[2] - a[2] + math.pi) % (2 * math.pi) - math.pi)

    def along(a, b) -> float:
        return (b[0] - a[0]) * math.cos(a[2]) + (b[1] - a[1]) * math.sin(a[2])

    errors = {
        'turn left (deg)': turned(start, left) - 90,
        'forward 1 m (m)': along(left, ahead) - 1.0,
        'come back (m)': math.dist(back[:2], left[:2]),
        'come back (deg)': turned(left, back),
        'turn right (deg)': turned(back, right) + 90,
        'turn around (deg)': abs(turned(right, around)) - 180,
    }
    print('motion errors by the ground truth:',
          {k: round(v, 3) for k, v in errors.items()})
    assert abs(errors['turn left (deg)']) < 5 and math.dist(start[:2], left[:2]) < 0.05
    assert abs(errors['forward 1 m (m)']) < 0.05
    assert errors['come back (m)'] < 0.05 and abs(errors['come back (deg)']) < 5
    assert abs(errors['turn right (deg)']) < 5 and abs(errors['turn around (deg)']) < 5
    # "What do you see?": answered aloud from what the camera sees, the robot did not move
    seen = [s for s in result.outcome.said if s.startswith('I see ')]
    assert seen and 'cup' in seen[0], result.outcome.said
    assert math.dist(right[:2], _seen[:2]) < 0.01
    # "Go forward three meters." then "Stop.": the base stopped well short of 3 m
    driven = along(around, stopped)
    assert 0.1 < driven < 2.5, driven
    assert result.stop_latency_s is not None
    assert [p for p in result.outcome.plans if p == ['stop()']], result.outcome.plans
    print(f'said again: {result.repeats}; '
          f'stop: end of speech -> base commanded to 0: {result.stop_latency_s:.2f} s after '
          f'{driven:.2f} m of 3 m; real-time factor {result.real_time_factor:.2f}; stages '
          f'{ {k: [round(x, 2) for x in v] for k, v in result.latencies.items()} }')
