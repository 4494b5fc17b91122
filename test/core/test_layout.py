"""The package layout of DESIGN.md: one folder per capability, and core/ free of ROS."""
from __future__ import annotations

import ast
import importlib
import os
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


def _imports(path: pathlib.Path):
    """(line, module) for every absolute import of a file, lazy ones (inside functions)
    included, by its syntax tree."""
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            yield from ((node.lineno, a.name) for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.lineno, node.module


def test_core_imports_nothing_from_ros_in_its_source():
    """No rclpy, no generated interfaces, no nodes: by the syntax tree of every core file."""
    forbidden = ('rclpy', 'edge_agent.msg', 'edge_agent.srv', 'edge_agent.action',
                 'edge_agent.nodes', 'rosidl', 'launch')
    for path in CORE.rglob('*.py'):
        for line, name in _imports(path):
            assert not name.startswith(forbidden), f'{path}:{line} imports {name}'


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
    for folder in ('core', 'nodes', 'nodes/common', 'eval', 'bench', 'cli', 'sim', 'app', 'bags'):
        assert (ROOT / 'edge_agent' / folder / '__init__.py').is_file(), folder
    for folder in ('core', 'nodes', 'e2e', 'data', 'fakes'):
        assert (ROOT / 'test' / folder).is_dir(), folder
    flat = sorted(p.name for p in CORE.glob('*.py') if p.name != '__init__.py')
    assert flat == ['errors.py', 'hotswap.py'], 'core/ holds capability folders, not modules'


# What each top-level package may import from edge_agent, bottom layer first: a package uses
# only the ones below it (and the generated interfaces, msg/srv/action, above core). The
# graph's runners (app: the whole graph, bag replay, the closed loop) sit above the nodes,
# bags and simulator they run; benchmarks and the CLI on top.
_IFACES = {'msg', 'srv', 'action'}
LAYERS = {
    'core': {'core'},
    'eval': {'core', 'eval'},
    'nodes': {'core', 'nodes'} | _IFACES,
    'bags': {'core', 'eval', 'bags'} | _IFACES,
    'sim': {'core', 'nodes', 'sim'} | _IFACES,
    'app': {'core', 'eval', 'nodes', 'bags', 'sim', 'app'} | _IFACES,
    'bench': {'core', 'eval', 'nodes', 'bags', 'sim', 'app', 'bench'} | _IFACES,
    'cli': {'core', 'eval', 'nodes', 'bags', 'sim', 'app', 'bench', 'cli'} | _IFACES,
}


def _edge_agent_imports(path: pathlib.Path):
    """(line, imported top-level package) for every edge_agent import of a file."""
    for line, name in _imports(path):
        parts = name.split('.')
        if parts[0] == 'edge_agent' and len(parts) > 1:
            yield line, parts[1]


def test_every_top_level_package_imports_only_the_layers_below_it():
    package_root = ROOT / 'edge_agent'
    folders = sorted(p.name for p in package_root.iterdir()
                     if (p / '__init__.py').is_file() and p.name not in _IFACES)
    assert sorted(LAYERS) == folders, 'a new top-level folder needs its layer here'
    bad = []
    for folder, allowed in LAYERS.items():
        for path in (package_root / folder).rglob('*.py'):
            bad += [f'{path.relative_to(ROOT)}:{line} imports edge_agent.{target}'
                    for line, target in _edge_agent_imports(path) if target not in allowed]
    assert not bad, '\n'.join(bad)


def test_importing_a_package_changes_nothing_in_the_environment():
    """Importing any of our packages (the simulator's included) sets no variable."""
    code = ('import os, importlib\n'
            'before = dict(os.environ)\n'
            "for name in ('core', 'eval', 'nodes', 'bags', 'sim', 'app', 'bench', 'cli'):\n"
            "    importlib.import_module('edge_agent.' + name)\n"
            "importlib.import_module('edge_agent.sim.world')\n"
            'changed = sorted(k for k in set(before) | set(os.environ)\n'
            '                 if before.get(k) != os.environ.get(k))\n'
            'print(changed)\n'
            'raise SystemExit(1 if changed else 0)\n')
    env = {k: v for k, v in os.environ.items() if k not in ('MUJOCO_GL', 'PYOPENGL_PLATFORM')}
    result = subprocess.run([sys.executable, '-c', code], cwd=ROOT, capture_output=True,
                            text=True, timeout=300, env=env)
    assert result.returncode == 0, result.stdout + result.stderr
