"""The package layout of DESIGN.md: one folder per capability, and core/ free of ROS."""
from __future__ import annotations

import ast
import importlib
import pathlib
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
CORE = ROOT / 'edge_agent' / 'core'
CAPABILITIES = ['config', 'models', 'speech', 'vision', 'planning', 'execution', 'thermal',
                'observability']


def _core_modules() -> list[str]:
    names = []
    for path in sorted(CORE.rglob('*.py')):
        parts = path.relative_to(ROOT).with_suffix('').parts
        names.append('.'.join(parts[:-1] if parts[-1] == '__init__' else parts))
    return names


def test_core_imports_nothing_from_ros_in_its_source():
    """No rclpy, no generated interfaces, no nodes: by the syntax tree of every core file."""
    forbidden = ('rclpy', 'edge_agent.msg', 'edge_agent.srv', 'edge_agent.action',
                 'edge_agent.nodes', 'rosidl', 'launch')
    for path in CORE.rglob('*.py'):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            for name in names:
                assert not name.startswith(forbidden), f'{path}:{node.lineno} imports {name}'


def test_importing_all_of_core_loads_no_rclpy():
    """The same at run time, in a fresh interpreter: nothing pulls rclpy in indirectly."""
    code = ('import importlib, sys\n'
            f'for name in {_core_modules()!r}:\n'
            '    importlib.import_module(name)\n'
            "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('rclpy', 'rosidl_parser')"
            " or m.startswith(('edge_agent.msg', 'edge_agent.nodes')))\n"
            'print(bad)\n'
            'sys.exit(1 if bad else 0)\n')
    result = subprocess.run([sys.executable, '-c', code], cwd=ROOT, capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize('capability', CAPABILITIES)
def test_capability_folder_reexports_its_public_names(capability):
    assert (CORE / capability / '__init__.py').is_file()
    package = importlib.import_module(f'edge_agent.core.{capability}')
    assert package.__all__, capability
    assert sorted(set(package.__all__)) == sorted(package.__all__)
    for name in package.__all__:
        assert getattr(package, name) is not None, f'{capability}.{name}'


def test_top_level_layout_matches_the_design():
    for folder in ('core', 'nodes', 'nodes/common', 'eval', 'bench', 'cli', 'sim'):
        assert (ROOT / 'edge_agent' / folder / '__init__.py').is_file(), folder
    for folder in ('core', 'nodes', 'e2e', 'data', 'fakes'):
        assert (ROOT / 'test' / folder).is_dir(), folder
    flat = sorted(p.name for p in CORE.glob('*.py') if p.name != '__init__.py')
    assert flat == ['errors.py', 'hotswap.py'], 'core/ holds capability folders, not modules'
