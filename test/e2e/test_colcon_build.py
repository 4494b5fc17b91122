"""Build path A: the repository as a package in a colcon workspace, built with plain
`colcon build` against the ROS 2 installation this environment holds (here: the PyPI wheels,
standing in for /opt/ros/<distro>)."""
from __future__ import annotations

import os
import pathlib
import shutil
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
PREFIX = pathlib.Path(sys.prefix)


def _tracked_files() -> list[str]:
    if (ROOT / '.git').exists() and shutil.which('git'):
        out = subprocess.run(['git', 'ls-files', '-co', '--exclude-standard'], cwd=ROOT,
                             capture_output=True, text=True, check=True).stdout
        return [line for line in out.splitlines() if (ROOT / line).is_file()]
    skip = {'.venv', '.venv-jazzy', 'build', 'install', 'log', '.git', '__pycache__',
            '.pytest_cache'}
    return [str(p.relative_to(ROOT)) for p in ROOT.rglob('*')
            if p.is_file() and not skip & set(p.relative_to(ROOT).parts)]


@pytest.mark.slow
def test_colcon_build_installs_interfaces_and_executables(tmp_path):
    colcon = PREFIX / 'bin' / 'colcon'
    if not colcon.exists():
        pytest.skip('colcon is not installed in this environment')
    src = tmp_path / 'ws' / 'src' / 'edge_agent'
    for rel in _tracked_files():
        (src / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / rel, src / rel)
    ws = tmp_path / 'ws'
    # What sourcing /opt/ros/<distro>/setup.bash would give: the underlay on the search paths.
    env = dict(os.environ, PATH=f'{PREFIX / "bin"}{os.pathsep}{os.environ["PATH"]}',
               VIRTUAL_ENV=str(PREFIX), CMAKE_PREFIX_PATH=str(PREFIX),
               AMENT_PREFIX_PATH=str(PREFIX))
    build = subprocess.run(
        [str(colcon), 'build', '--event-handlers', 'console_direct-',
         '--cmake-args', '-DBUILD_TESTING=OFF'],
        cwd=ws, env=env, capture_output=True, text=True, timeout=900)
    assert build.returncode == 0, build.stdout[-4000:] + build.stderr[-4000:]

    install = ws / 'install' / 'edge_agent'
    exe = install / 'lib' / 'edge_agent' / 'edge-agent'
    assert os.access(exe, os.X_OK), 'ros2 run needs executables under lib/edge_agent'
    for rel in ('share/edge_agent/package.xml', 'share/edge_agent/models/manifest.yaml',
                'share/edge_agent/config/model_tiers.yaml', 'share/edge_agent/msg/Transcript.msg',
                'share/ament_index/resource_index/packages/edge_agent'):
        assert (install / rel).is_file(), rel

    script = (
        'source install/setup.bash && cd / && '
        'python -c "from edge_agent.msg import Transcript; '
        'from edge_agent.action import ExecuteCommand; '
        'from rclpy.serialization import serialize_message; '
        'import edge_agent.core.models as m; '
        "print(serialize_message(ExecuteCommand.Goal(command='stop')).hex()); "
        'print(m.default_manifest_path())" && edge-agent --help >/dev/null && '
        'echo EXE=$(command -v edge-agent)')
    check = subprocess.run(['bash', '-c', script], cwd=ws, env=env, capture_output=True,
                           text=True, timeout=120)
    assert check.returncode == 0, check.stdout + check.stderr
    lines = check.stdout.splitlines()
    assert lines[0].startswith('0001') and '73746f70' in lines[0]  # CDR header, 'stop'
    assert lines[1] == str(install / 'share' / 'edge_agent' / 'models' / 'manifest.yaml')
    assert lines[-1] == f'EXE={install / "bin" / "edge-agent"}'
