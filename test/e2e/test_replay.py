"""Every bundled scenario bag replayed through the whole graph, as `edge-agent replay` runs it:
real Fast DDS, the launch file's nodes with their default parameters (config/agent.yaml) and
the real models of the tier the thermal governor holds (whisper-base, the project's detector,
Qwen2.5 0.5B behind the rules), use_sim_time with the bag's /clock, the dry-run robot. Each
test asserts the scenario's expectation file (test/data/scenarios/NAME.expect.yaml): what was
heard, each decision of the agent, what the robot said, the plans, the skills the executor
ran and the robot's state at the end. A failure prints the diff."""
from __future__ import annotations

import os
import pathlib
import subprocess
import sys

import pytest
import yaml

from edge_agent.app.replay import replay
from edge_agent.bags.expect import load_expectation
from edge_agent.bags.scenarios import SCENARIOS, find

ROOT = pathlib.Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


@pytest.mark.parametrize('name', [s.name for s in SCENARIOS])
def test_scenario_replays_to_its_expectation(name):
    bag, expect = find(name)
    expectation = load_expectation(expect)
    assert expectation.expect, 'an expectation that checks nothing'
    result = replay(bag, expectation)
    assert not result.timed_out, f'{name}: the graph had not settled: {result.outcome}'
    assert result.diff == [], f'{name}:\n' + '\n'.join(result.diff)


def test_replay_command_exits_non_zero_and_prints_a_diff_on_a_mismatch(tmp_path):
    """`edge-agent replay` as a user runs it on their own recording with an expectation that
    does not hold: status 1, the diff on stdout, the outcome printed as an expectation. The
    recording also holds one of the graph's own outputs (what the robot said when it was
    recorded); replay plays only the graph's inputs."""
    from std_msgs.msg import String

    from edge_agent.bags.bag import BagWriter, read_bag

    scenario, _ = find('clear_command')
    bag = tmp_path / 'my_recording'
    with BagWriter(bag) as writer:
        writer.topic('/audio', 'edge_agent/msg/AudioChunk', 'sensor')
        writer.topic('/camera/image_raw', 'sensor_msgs/msg/Image', 'sensor')
        writer.topic('/agent/say', 'std_msgs/msg/String')
        messages = list(read_bag(scenario))
        for msg in messages:
            writer.write(msg.topic, msg.time_ns, msg.data)
        writer.write_message('/agent/say', messages[0].time_ns, String(data='recorded output'))
    wrong = tmp_path / 'wrong.yaml'
    wrong.write_text(yaml.safe_dump({'parameters': {'vision': {'world': 'synthetic'}},
                                     'expect': {'plans': [['pick(blue ball)']],
                                                'held_object': 'red cup'}}))
    proc = subprocess.run(
        [sys.executable, '-m', 'edge_agent.cli', 'replay', str(bag), '--expect', str(wrong)],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
        env={**os.environ, 'PYTHONUNBUFFERED': '1'})
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert '-- - pick(blue ball)' in proc.stdout and '+- - pick(red cup)' in proc.stdout
    assert 'held_object' not in ''.join(line for line in proc.stdout.splitlines()
                                        if line.startswith(('-', '+')) and 'held' in line)
    assert 'FAIL' in proc.stderr and 'Traceback' not in proc.stderr
    printed = yaml.safe_load(proc.stdout.split('\n# latency')[0].split('\n---')[0])
    assert printed['expect']['held_object'] == 'red cup'
    assert printed['expect']['said'] == []       # the recorded /agent/say was not played
