"""The installed `edge-agent` executables: doctor and model commands, as a user runs them."""
from __future__ import annotations

import importlib.util
import json
import os
import pathlib
import re
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
PREFIX = pathlib.Path(sys.prefix)
EXECUTABLES = [PREFIX / 'bin' / 'edge-agent', PREFIX / 'lib' / 'edge_agent' / 'edge-agent']


def run(exe, *args, env=None, cwd='/'):
    """Run outside the repo (cwd '/') so the installed package, not the source tree, is used."""
    return subprocess.run([str(exe), *args], capture_output=True, text=True, timeout=120,
                          env=dict(os.environ, **(env or {})), cwd=cwd)


@pytest.mark.parametrize('exe', EXECUTABLES, ids=['bin', 'lib-ros2-run'])
def test_installed_executable_runs(exe):
    assert os.access(exe, os.X_OK), f'{exe} is not installed or not executable'
    result = run(exe, '--help')
    assert result.returncode == 0, result.stderr
    assert 'doctor' in result.stdout and 'models' in result.stdout


def test_doctor_passes_on_this_machine():
    result = run(EXECUTABLES[0], 'doctor', '--json')
    assert result.returncode == 0, result.stdout + result.stderr
    checks = {c['name']: c for c in json.loads(result.stdout)}
    for name in ('ros2', 'interfaces', 'onnxruntime', 'ctranslate2', 'llama.cpp',
                 'tier catalog', 'model whisper-tiny.en', 'model qwen2.5-coder-0.5b-q4km'):
        assert checks[name]['status'] == 'ok', checks[name]
    assert 'rmw_' in checks['ros2']['detail']
    assert checks['interfaces']['detail'].startswith('19 msg, 1 srv, 5 action')
    assert 'CPUExecutionProvider' in checks['onnxruntime']['detail']


def test_doctor_fails_when_a_joined_model_is_missing(tmp_path):
    """An empty model cache: the joined models are missing, so doctor must exit non-zero."""
    result = run(EXECUTABLES[0], 'doctor', env={'EDGE_AGENT_MODEL_DIR': str(tmp_path)})
    assert result.returncode == 1
    line = next(x for x in result.stdout.splitlines() if 'model whisper-base' in x)
    assert line.startswith('[FAIL]') and 'is missing' in line
    assert 'required failing' in result.stdout.splitlines()[-1]


def test_models_list_and_path():
    listing = run(EXECUTABLES[0], 'models', 'list', '--json')
    assert listing.returncode == 0, listing.stderr
    rows = {r['name']: r for r in json.loads(listing.stdout)}
    assert rows['smollm2-135m-q4_1']['verified'] and rows['whisper-base']['modality'] == 'stt'
    path = run(EXECUTABLES[0], 'models', 'path', 'qwen2.5-coder-0.5b-q4km')
    assert path.returncode == 0
    assert pathlib.Path(path.stdout.strip()).read_bytes()[:4] == b'GGUF'


def test_models_errors_are_clear(tmp_path):
    unknown = run(EXECUTABLES[0], 'models', 'path', 'gpt-9')
    assert unknown.returncode == 2
    assert "unknown model 'gpt-9'" in unknown.stderr and 'Traceback' not in unknown.stderr
    bad = tmp_path / 'manifest.yaml'
    bad.write_text('models: {tiny: {modality: stt, format: x, license: MIT, layout: file, '
                   'packages: [], files: {m.bin: {sha256: "' + '0' * 64 + '", size: 1, '
                   'parts: [{module: edge_agent, path: __init__.py}]}}}}\n')
    verify = run(EXECUTABLES[0], 'models', '--manifest', str(bad), 'verify', '--all')
    assert verify.returncode == 1
    assert 'edge_agent/__init__.py has' in verify.stdout and 'the manifest says 1' in verify.stdout


def test_thermal_trace_tools_round_trip(tmp_path, capsys):
    """replay writes a shipped trace into a fake tree; record reads it back; simulate runs
    the policy (in-process: these commands need no ROS)."""
    from edge_agent.cli import main
    from edge_agent.core.thermal import load_trace

    traces = pathlib.Path(__file__).parents[1] / 'data' / 'thermal'
    root = tmp_path / 'sys'
    assert main(['thermal', 'replay', str(traces / 'steady.csv'), str(root),
                 '--speed', '100000']) == 0
    out = tmp_path / 'rec.csv'
    assert main(['thermal', 'record', str(out), '--sysfs-root', str(root),
                 '--duration', '0.2', '--period', '0.1']) == 0
    recorded, trips = load_trace(out)
    original, original_trips = load_trace(traces / 'steady.csv')
    assert trips == original_trips
    assert recorded[0].temps == pytest.approx(original[-1].temps, abs=0.01)
    capsys.readouterr()
    assert main(['thermal', 'simulate', str(traces / 'heat_up.csv')]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[1] for line in lines[1:]] == ['1', '2']
    assert main(['thermal', 'record', str(out), '--sysfs-root', str(tmp_path / 'none'),
                 '--duration', '0.1']) == 1
    assert main(['thermal', 'simulate', str(tmp_path / 'missing.csv')]) == 2


def test_planner_commands_print_plans_and_accuracy(capsys):
    from edge_agent.cli import main

    assert main(['planner', '--tier', '2', 'plan', 'take the red cup to the office']) == 0
    plan = json.loads(capsys.readouterr().out)
    assert plan['backend'] == 'rules'
    assert [s['skill'] for s in plan['steps']] == ['pick', 'navigate_to', 'place']
    assert main(['planner', '--tier', '2', 'eval']) == 0   # the held-out set, both halves
    out = capsys.readouterr().out.splitlines()
    header, _, row = out[-3:]
    assert header.split(' | ')[:4] == ['| tier', 'planner', 'accuracy_dev', 'accuracy_test']
    cells = dict(zip(header.strip('| ').split(' | '), row.strip('| ').split(' | '),
                     strict=True))
    assert cells['tier'] == '2' and cells['unsafe'] == '0' and cells['false_stops'] == '0'
    assert float(cells['accuracy_test']) >= 0.70 and cells['stops'] == '20/20'
    assert any(line.split()[:3] == ['category', 'dev', 'test'] for line in out)
    from edge_agent.eval.planner import default_eval_path  # the set without halves

    assert main(['planner', '--tier', '2', 'eval', '--split', 'dev', '--cases',
                 str(default_eval_path())]) == 2
    assert 'no cases with split' in capsys.readouterr().out


def test_vision_detect_prints_detections_and_writes_annotated_pngs(tmp_path):
    """`edge-agent vision detect` as a user first runs it on a photo of their own: the real
    detector's findings printed, the photo written with its boxes drawn; a missing file is a
    one-line error and exit 1, and the others are still done."""
    import numpy as np

    from edge_agent.eval.photos import read_image

    coffee = pathlib.Path(importlib.util.find_spec('skimage').submodule_search_locations[0]) / \
        'data' / 'coffee.png'
    proc = subprocess.run([sys.executable, '-m', 'edge_agent.cli', 'vision', 'detect',
                           str(coffee), str(tmp_path / 'missing.jpg'), '--out',
                           str(tmp_path / 'seen')], capture_output=True, text=True, timeout=120,
                          cwd=ROOT)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert 'coco_centernet_512.onnx' in proc.stdout and '80 classes' in proc.stdout
    assert re.search(r'^\s+cup\s+0\.\d\d \w+\s+\[', proc.stdout, re.M), proc.stdout
    assert 'missing.jpg: no such file' in proc.stderr and 'Traceback' not in proc.stderr
    drawn = read_image(tmp_path / 'seen' / 'coffee.png')
    original = read_image(coffee)
    assert drawn.shape == original.shape and not np.array_equal(drawn, original)
