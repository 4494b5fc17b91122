"""`edge-agent demo`: the main job as a new user runs it (a subprocess, real models, real DDS),
its errors, and the console view drawn from real messages."""
from __future__ import annotations

import os
import pathlib
import subprocess
import sys

import pytest

from edge_agent.app.console import DemoView
from edge_agent.cli import main

ROOT = pathlib.Path(__file__).resolve().parents[2]


def _demo(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, '-m', 'edge_agent.cli', 'demo', *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=300,
                          env={**os.environ, 'PYTHONUNBUFFERED': '1'})


@pytest.mark.slow
def test_demo_runs_a_scenario_to_its_success_line():
    proc = _demo('--scenario', 'clear_command', '--tier', '1')
    out = proc.stdout
    assert proc.returncode == 0, out + proc.stderr
    assert out.strip().splitlines()[-1].startswith('SUCCESS: clear_command')
    for expected in ('[start] speech active', '[transcript] heard: "Pick up the red cup."',
                     '[belief] agent: act', '[plan] plan (rules', 'pick(red cup)',
                     '[step] robot: step 1/1: pick(red cup)',
                     '[latency] end of speech -> transcript',
                     '[trace] latency: end of speech -> transcript',
                     '[latency] goal accepted -> first step'):
        assert expected in out, out


@pytest.mark.slow
def test_demo_sim_speaks_to_the_simulated_robot_until_the_cup_is_held():
    proc = _demo('--sim')
    out = proc.stdout
    assert proc.returncode == 0, out + proc.stderr
    assert out.strip().splitlines()[-1].startswith(
        'SUCCESS: sim: fetch: the simulator shows the red_cup held, nothing else moved'), out
    for expected in ('[start] sim active', '[start] playing the MuJoCo simulator',
                     'navigate_to(kitchen)', 'pick(red cup)',
                     '[latency] end of speech -> object held'):
        assert expected in out, out


def test_demo_lists_scenarios_and_refuses_unknown_ones(capsys):
    assert main(['demo', '--list']) == 0
    listed = capsys.readouterr().out
    assert 'ambiguous_object' in listed and 'stop_mid_plan' in listed
    assert 'with --sim:' in listed and 'fetch' in listed
    assert main(['demo', '--sim', '--task', 'nope']) == 2
    assert "no simulation task 'nope'" in capsys.readouterr().err
    assert main(['demo', '--scenario', 'nope']) == 2
    assert "no scenario 'nope'" in capsys.readouterr().err
    assert main(['demo', '--tier', '7']) == 2
    assert 'the catalog has tiers 0..2' in capsys.readouterr().err


def test_console_view_draws_every_stage_from_the_graphs_messages():
    from std_msgs.msg import String

    from edge_agent.action import ExecutePlan
    from edge_agent.app.replay import ReplayResult
    from edge_agent.bags.expect import Outcome
    from edge_agent.msg import (
        BeliefSummary,
        Detection,
        DetectionArray,
        Hypothesis,
        Plan,
        PlanStep,
        PolicyEvaluation,
        RobotState,
        SkillArgument,
        Transcript,
    )

    view = DemoView('clear_command', 'a test', 'tier 1 (reduced)')
    view.node_up('speech')
    assert view.event('transcript', Transcript(text='Pick up the', is_final=False)) is None
    assert 'Pick up the' in _text(view)
    line = view.event('transcript', Transcript(text='Pick up the red cup.', is_final=True,
                                               confidence=0.9))
    assert line == 'heard: "Pick up the red cup." (confidence 0.90)'
    view.event('detections', DetectionArray(backend='onnxruntime', inference_time=0.003,
                                            detections=[Detection(label='cup', score=0.97,
                                                                  color_name='red')]))
    belief = BeliefSummary(chosen_policy='act', requests_budget=3, policies=[
        PolicyEvaluation(policy='act', expected_free_energy=0.7, risk=0.7),
        PolicyEvaluation(policy='clarify', expected_free_energy=1.1, risk=0.7, ambiguity=0.4)],
        hypotheses=[Hypothesis(factor='object', value='the red cup', probability=0.95)])
    assert view.event('belief', belief) == 'agent: act (expected free energy: act 0.70, ' \
                                           'clarify 1.10)'
    step = PlanStep(skill='pick', arguments=[SkillArgument(name='object',
                                                           string_value='red cup')])
    assert view.event('plan', Plan(steps=[step], planner_backend='rules')) == \
        'plan (rules, 0.00 s): pick(red cup)'
    assert view.event('step', ExecutePlan.Feedback(step_index=0, step_count=1,
                                                   current_step=step)) == \
        'robot: step 1/1: pick(red cup)'
    view.event('state', RobotState(held_object='red cup'))
    assert view.event('said', String(data='Done.')) == 'robot says: "Done."'
    view.finish(ReplayResult(Outcome(), [], {'decision -> plan': [0.01, 0.03]}, False, 5.0))
    text = _text(view)
    for expected in ('red cup', '0.97', 'onnxruntime, 3 ms', 'the red cup 0.95',
                     '0.70 = 0.70 + 0.00', '<- chosen', '1.10 = 0.70 + 0.40',
                     'plan 1: pick(red cup)', 'holding red cup', '"Done."',
                     'decision -> plan', '0.01, 0.03 s (p50 0.02)', 'SUCCESS'):
        assert expected in text, text


def _text(view: DemoView) -> str:
    from rich.console import Console

    with open(os.devnull, 'w') as sink:
        console = Console(width=120, record=True, file=sink)
        console.print(view.render())
        return console.export_text()
