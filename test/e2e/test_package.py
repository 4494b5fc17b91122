"""Package metadata: package.xml is valid format 3 and agrees with the build files."""
from __future__ import annotations

import pathlib
import shutil
import subprocess

from catkin_pkg.package import parse_package
import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]


def test_package_xml_is_valid_format_3():
    package = parse_package(str(ROOT / 'package.xml'))  # validates; raises InvalidPackage
    assert package.package_format == 3
    assert package.name == 'edge_agent'
    assert package.get_build_type() == 'ament_cmake'
    assert package.licenses == ['Apache-2.0']
    depends = {d.name for d in package.build_depends + package.exec_depends}
    # actions need both; forgetting them breaks a distro build but not the wheel build
    assert {'action_msgs', 'service_msgs', 'rosidl_default_runtime', 'rclpy'} <= depends
    assert 'rosidl_interface_packages' in [g.name for g in package.member_of_groups]


@pytest.mark.skipif(shutil.which('xmllint') is None, reason='xmllint not installed')
def test_package_xml_is_well_formed_xml():
    result = subprocess.run(['xmllint', '--noout', str(ROOT / 'package.xml')],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_versions_agree():
    import edge_agent

    package = parse_package(str(ROOT / 'package.xml'))
    assert edge_agent.__version__ == package.version


def test_launch_files_follow_house_style():
    """Every launch argument is described; no eval or subprocess inside launch files.
    (`launch` is not on PyPI, so the files are checked by their syntax tree here; what
    agent.launch.py and replay.launch.py start is checked in test/app/test_graph.py.) Reading
    an environment variable (os.environ) is allowed; running anything is not."""
    import ast

    files = sorted((ROOT / 'launch').glob('*.launch.py'))
    assert files, 'launch/agent.launch.py is missing'
    for path in files:
        tree = ast.parse(path.read_text(), str(path))
        declared = 0
        for node in ast.walk(tree):
            if isinstance(node, ast.Call):
                name = getattr(node.func, 'id', getattr(node.func, 'attr', ''))
                if name == 'DeclareLaunchArgument':
                    declared += 1
                    keywords = {k.arg for k in node.keywords}
                    assert 'description' in keywords, f'{path.name}: argument without description'
                assert name not in ('eval', 'exec', 'Popen', 'run', 'system', 'popen',
                                    'spawnv', 'execv'), (path.name, name)
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                modules = [a.name for a in node.names] + [getattr(node, 'module', '') or '']
                assert 'subprocess' not in modules, path.name
        # agent.launch.py declares graph.ARGUMENTS in one comprehension
        assert declared >= 1, f'{path.name}: declares no argument'
