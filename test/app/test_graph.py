"""One graph, two ways to start it: `launch/agent.launch.py` and `edge-agent up` start the same
nodes with the same parameters, and `up` brings them up over real DDS and stops on Ctrl-C.

`launch` is not on PyPI, so where it is absent the launch file is read by running its
``generate_launch_description`` against recording stand-ins of the few launch classes it uses
(arguments, conditions, substitutions, Node) and resolving what they recorded as launch and
launch_ros would; where `launch` is installed (a ROS 2 workspace) the real classes are used
and the same comparison runs on the real entities' recorded fields.
"""
from __future__ import annotations

import importlib.util
import os
import pathlib
import signal
import subprocess
import sys
import types

import pytest
from ros_helpers import wait_for

from edge_agent.app import graph
from edge_agent.app.runner import AgentGraph, launch_value, resolve_arguments
from edge_agent.core.errors import ConfigError

ROOT = pathlib.Path(__file__).resolve().parents[2]
LAUNCH_FILE = ROOT / 'launch' / 'agent.launch.py'


class _Recorded:
    def __init__(self, *args, **kwargs) -> None:
        self.args, self.kwargs = args, kwargs


def _stand_in_launch() -> dict[str, types.ModuleType]:
    def module(name, **classes):
        mod = types.ModuleType(name)
        for cls_name in classes:
            setattr(mod, cls_name, type(cls_name, (_Recorded,), {}))
        return mod

    return {
        'launch': module('launch', LaunchDescription=1),
        'launch.actions': module('launch.actions', DeclareLaunchArgument=1,
                                 SetEnvironmentVariable=1, ExecuteProcess=1,
                                 IncludeLaunchDescription=1),
        'launch.launch_description_sources': module('launch.launch_description_sources',
                                                    PythonLaunchDescriptionSource=1),
        'launch.conditions': module('launch.conditions', IfCondition=1, UnlessCondition=1),
        'launch.substitutions': module('launch.substitutions', LaunchConfiguration=1,
                                       PathJoinSubstitution=1, FindExecutable=1),
        'launch_ros.actions': module('launch_ros.actions', Node=1),
        'launch_ros.substitutions': module('launch_ros.substitutions', FindPackageShare=1),
        'launch_ros': module('launch_ros'),
    }


def _real_launch() -> bool:
    # the repo's own launch/ folder imports as an empty namespace package: not `launch`
    try:
        from launch import LaunchDescription  # noqa: F401
    except ImportError:
        return False
    return True


def _launch_description(monkeypatch, path=LAUNCH_FILE):
    if not _real_launch():
        for name, mod in _stand_in_launch().items():
            monkeypatch.setitem(sys.modules, name, mod)
    spec = importlib.util.spec_from_file_location('agent_launch', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.generate_launch_description()


def _resolve(value, args: dict[str, str]):
    """A recorded substitution's text, as launch would perform it."""
    kind = type(value).__name__
    if isinstance(value, str):
        return value
    if kind == 'LaunchConfiguration':
        return args[value.args[0]]
    if kind == 'FindPackageShare':
        return str(ROOT)
    if kind == 'PathJoinSubstitution':
        return os.path.join(*(_resolve(part, args) for part in value.args[0]))
    if isinstance(value, list):
        return ''.join(_resolve(part, args) for part in value)
    raise AssertionError(f'unexpected substitution {value!r}')


def _declared(entities) -> dict:
    """A launch description's declared arguments: name -> the declaration's keywords."""
    return {e.args[0]: e.kwargs for e in entities if type(e).__name__ == 'DeclareLaunchArgument'}


def _of(entities, kind: str) -> list:
    return [e for e in entities if type(e).__name__ == kind]


def _launched(description, given: dict[str, str]) -> dict:
    """What the launch file starts for launch arguments ``given``: per node name, its
    executable, namespace, parameter file and parameters; and the environment it sets."""
    entities = description.args[0]
    declared = _declared(entities)
    args = {name: given.get(name, _resolve(kw['default_value'], {}))
            for name, kw in declared.items()}

    def holds(entity) -> bool:
        condition = entity.kwargs.get('condition')
        return condition is None or graph.is_true(_resolve(condition.args[0], args))

    env = {e.args[0]: _resolve(e.args[1], args) for e in entities
           if type(e).__name__ == 'SetEnvironmentVariable' and holds(e)}
    nodes = {}
    for e in entities:
        if type(e).__name__ != 'Node' or not holds(e):
            continue
        params_file, values = e.kwargs['parameters']
        ros_args = e.kwargs['arguments']
        nodes[e.kwargs['name']] = {
            'executable': e.kwargs['executable'],
            'namespace': _resolve(e.kwargs['namespace'], args),
            'params_file': _resolve(params_file, args),
            # launch_ros types a substitution's text as a YAML scalar
            # (a literal bool stays one)
            'parameters': {k: v if isinstance(v, bool) else launch_value(_resolve(v, args))
                           for k, v in values.items()},
            'log_level': _resolve(ros_args[ros_args.index('--log-level') + 1], args),
            # the SROS2 enclave, used with ROS_SECURITY_ENABLE=true
            'enclave': ros_args[ros_args.index('--enclave') + 1]}
        # every node comes back when it dies (the supervisor reports it)
        assert e.kwargs['respawn'] is True and e.kwargs['respawn_delay'] > 0, e.kwargs
    return {'declared': declared, 'nodes': nodes, 'env': env}


def _up(given: dict[str, str]) -> dict:
    """What `edge-agent up` starts for the same arguments (without starting it)."""
    agent = AgentGraph(given)
    args = agent.arguments
    return {spec.name: {'executable': spec.name, 'namespace': args['namespace'],
                        'params_file': args['params_file'], 'parameters': agent.parameters(spec),
                        'log_level': args['log_level'], 'enclave': spec.enclave}
            for spec in agent.specs}


@pytest.mark.parametrize('given', [
    {},
    {'robot': 'nav2', 'mic': 'true', 'namespace': 'robot1', 'use_sim_time': 'true',
     'vision_model': '/models/yolo.onnx', 'vision_backend': 'opencv', 'log_level': 'debug'},
    {'params_file': str(ROOT / 'config' / 'agent.yaml'), 'shm_profile': 'false'},
])
def test_launch_file_and_up_start_the_same_nodes_with_the_same_parameters(monkeypatch, given):
    launched = _launched(_launch_description(monkeypatch), given)
    assert set(launched['declared']) == {a.name for a in graph.ARGUMENTS}
    assert all(kw['description'] for kw in launched['declared'].values())
    up = _up(given)
    assert launched['nodes'] == up
    assert ('audio_capture' in up) == (given.get('mic') == 'true')
    if given.get('robot'):
        assert up['skill_executor']['parameters']['adapter'] == 'nav2'
    assert up['vision']['parameters']['use_sim_time'] is (given.get('use_sim_time') == 'true')
    assert launched['env'] == AgentGraph(given).environment()
    profile = [v for k, v in launched['env'].items() if k.endswith('_DEFAULT_PROFILES_FILE')]
    if given.get('shm_profile') == 'false':
        assert profile == []
    else:
        assert profile == [str(ROOT / 'config' / 'fastdds_shm.xml')]


def test_replay_launch_runs_the_agent_launch_with_sim_time_and_plays_the_bag(monkeypatch):
    if _real_launch():
        pytest.skip('reads recorded stand-ins; with launch installed: ros2 launch --show-args')
    entities = _launch_description(monkeypatch, ROOT / 'launch' / 'replay.launch.py').args[0]
    declared = _declared(entities)
    assert 'bag' in declared and all(kw['description'] for kw in declared.values())
    (include,) = _of(entities, 'IncludeLaunchDescription')
    source = include.args[0].args[0]
    assert _resolve(source, {}) == str(LAUNCH_FILE)
    forwarded = dict(include.kwargs['launch_arguments'])
    assert forwarded['use_sim_time'] == 'true'
    assert set(forwarded) - {'use_sim_time'} <= {a.name for a in graph.ARGUMENTS}
    (play,) = _of(entities, 'ExecuteProcess')
    args = {name: 'x' for name in declared} | {'bag': '/bags/b', 'rate': '2', 'namespace': 'r1'}
    cmd = [_resolve(part, args) if type(part).__name__ != 'FindExecutable' else 'edge-agent'
           for part in play.kwargs['cmd']]
    assert cmd == ['edge-agent', 'bag', 'play', '/bags/b', '--rate', '2', '--namespace', 'r1',
                   '--wait-for-subscribers', '60']
    from edge_agent.cli import build_parser
    parsed = build_parser().parse_args(cmd[1:])     # the command line the CLI accepts
    assert (parsed.bag, parsed.rate, parsed.namespace, parsed.wait_for_subscribers) == (
        '/bags/b', 2.0, 'r1', 60.0)


def test_up_refuses_unknown_nodes_arguments_and_files_with_a_reason():
    with pytest.raises(ConfigError,
                       match='unknown node.*nope.*graph has supervisor, sim, thermal_governor'):
        AgentGraph(nodes=['speech', 'nope'])
    with pytest.raises(ConfigError, match='unknown launch argument.*robots'):
        resolve_arguments({'robots': 'nav2'})
    with pytest.raises(ConfigError, match='does not exist'):
        AgentGraph({'params_file': '/no/such.yaml'})
    with pytest.raises(ConfigError, match='log_level'):
        AgentGraph({'log_level': 'loud'})


def test_up_brings_the_graph_up_over_dds_with_the_yaml_and_argument_parameters(
        tmp_path, ros_context, executor):
    """The nodes come up active in one process; a probe in another context on the same domain
    sees them and reads parameters that came from the YAML file and from launch arguments."""
    from rcl_interfaces.srv import GetParameters
    from rclpy.node import Node
    from ros_helpers import wait_future

    params = tmp_path / 'params.yaml'
    params.write_text((ROOT / 'config' / 'agent.yaml').read_text().replace(
        'max_requests: 3 ', 'max_requests: 2 '))
    agent = AgentGraph({'params_file': str(params), 'robot': 'dry_run', 'namespace': 'r1'},
                       nodes=['skill_executor', 'agent'])
    probe = executor.add(Node('probe', context=ros_context))
    try:
        agent.start()
        wait_for(lambda: {('/r1', 'agent'), ('/r1', 'skill_executor')} <= {
            (ns, n) for n, ns in probe.get_node_names_and_namespaces()}, timeout=30,
            message='the nodes on the graph')
        client = probe.create_client(GetParameters, '/r1/agent/get_parameters')
        assert client.wait_for_service(timeout_sec=30)
        values = wait_future(client.call_async(
            GetParameters.Request(names=['max_requests', 'use_sim_time']))).values
        assert values[0].integer_value == 2 and values[1].bool_value is False
        assert agent.nodes['skill_executor'].get_parameter('adapter').value == 'dry_run'
        assert agent.nodes['agent']._state_machine.current_state[1] == 'active'
    finally:
        agent.stop()
    assert agent.nodes == {} and agent.context is None


def test_edge_agent_up_stops_cleanly_on_ctrl_c():
    """`edge-agent up` as a user runs it: SIGINT once all nodes are active ends it with status
    0, every node stopped in order."""
    env = {**os.environ, 'PYTHONUNBUFFERED': '1'}
    shm = pathlib.Path('/dev/shm')
    before = set(shm.iterdir()) if shm.is_dir() else set()
    proc = subprocess.Popen(
        [sys.executable, '-m', 'edge_agent.cli', 'up', '--nodes', 'speech,vision,agent'],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines = []
    try:
        for line in proc.stdout:
            lines.append(line)
            if 'all nodes active' in line:
                break
        assert any('all nodes active' in x for x in lines), ''.join(lines)
        if shm.is_dir():  # the SHM profile took: Fast DDS made a 10 MB segment, not 512 KiB
            sizes = [p.stat().st_size for p in set(shm.iterdir()) - before
                     if p.name.startswith(('fastdds_', 'fastrtps_')) and p.is_file()]
            assert any(size >= 10_000_000 for size in sizes), sizes
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    lines.append(out)
    assert proc.returncode == 0, ''.join(lines)
    assert 'edge-agent up: stopped' in out and 'Traceback' not in out


def test_sim_launch_starts_gazebo_the_bridge_and_the_agent_on_the_sim_robot(monkeypatch):
    if _real_launch():
        pytest.skip('reads recorded stand-ins; with launch installed: ros2 launch --show-args')
    entities = _launch_description(monkeypatch, ROOT / 'launch' / 'sim.launch.py').args[0]
    declared = _declared(entities)
    assert all(kw['description'] for kw in declared.values())
    assert _resolve(declared['world']['default_value'], {}) == str(
        ROOT / 'config' / 'gazebo' / 'world.sdf')
    assert (ROOT / 'config' / 'gazebo' / 'world.sdf').is_file()
    gz = _of(entities, 'ExecuteProcess')
    args = {name: 'x' for name in declared} | {'world': '/w.sdf'}
    assert sorted(tuple(_resolve(p, args) for p in e.kwargs['cmd']) for e in gz) == [
        ('gz', 'sim', '-r', '-s', '/w.sdf'), ('gz', 'sim', '-r', '/w.sdf')]
    spawn, bridge = _of(entities, 'Node')
    assert (spawn.kwargs['package'], spawn.kwargs['executable']) == ('ros_gz_sim', 'create')
    spawned = [_resolve(a, {'robot_sdf': '/r.sdf'}) for a in spawn.kwargs['arguments']]
    assert spawned == ['-world', 'edge_agent_home', '-file', '/r.sdf', '-name',
                       'edge_agent_robot']
    assert _resolve(declared['robot_sdf']['default_value'], {}) == str(
        ROOT / 'config' / 'gazebo' / 'robot.sdf')
    assert (bridge.kwargs['package'], bridge.kwargs['executable']) == (
        'ros_gz_bridge', 'parameter_bridge')
    config = bridge.kwargs['parameters'][0]['config_file']
    assert _resolve(config, {'bridge_config': _resolve(
        declared['bridge_config']['default_value'], {})}) == str(
        ROOT / 'config' / 'gazebo' / 'bridge.yaml')
    (include,) = _of(entities, 'IncludeLaunchDescription')
    assert _resolve(include.args[0].args[0], {}) == str(LAUNCH_FILE)
    forwarded = dict(include.kwargs['launch_arguments'])
    assert (forwarded['use_sim_time'], forwarded['robot']) == ('true', 'sim')
    assert set(forwarded) <= {a.name for a in graph.ARGUMENTS}
    assert 'sim' not in forwarded   # Gazebo is the simulator: the MuJoCo node stays off

