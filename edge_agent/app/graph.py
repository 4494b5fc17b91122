"""The agent's node set: one description that `launch/agent.launch.py` and `edge-agent up`
both read, so the two cannot start different nodes or give them different parameters.

No rclpy and no ``launch`` import here: a launch file evaluates ``node_parameters`` with its own
``LaunchConfiguration`` substitutions; ``edge-agent up`` with the values of its options.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable
import dataclasses

from edge_agent.core.security.policy import DEFAULT_ROOT

__all__ = ['ARGUMENTS', 'DDS_PROFILE', 'GRAPH_ENCLAVE', 'NODES', 'RESPAWN_DELAY_S', 'Argument',
           'NodeSpec', 'dds_profile_env', 'is_true', 'managed_nodes', 'node_parameters',
           'ros_distro', 'select']


@dataclasses.dataclass(frozen=True)
class Argument:
    """A launch argument (``ros2 launch ... name:=value``), also an ``edge-agent up`` option."""

    name: str
    default: str
    description: str


@dataclasses.dataclass(frozen=True)
class NodeSpec:
    """One node of the graph: executable and node name, the class ``up`` builds, whether it is
    a lifecycle node, the launch argument that must be true to start it, and the node
    parameters that come from launch arguments (parameter name -> argument name)."""

    name: str
    module: str
    cls: str
    lifecycle: bool = True
    condition: str | None = None
    from_arguments: tuple[tuple[str, str], ...] = ()

    @property
    def enclave(self) -> str:
        """The SROS2 enclave the node runs in (``--enclave``); it matters only with
        ROS_SECURITY_ENABLE=true and a keystore from `edge-agent security keystore`."""
        return f'{DEFAULT_ROOT}/{self.name}'

    def load(self) -> type:
        """The node class (imports rclpy)."""
        import importlib

        return getattr(importlib.import_module(self.module), self.cls)


ARGUMENTS: tuple[Argument, ...] = (
    Argument('namespace', '', 'Namespace of every node (e.g. the robot name).'),
    Argument('use_sim_time', 'false', 'Use /clock from a simulator or a bag replay.'),
    Argument('params_file', '', 'Parameter YAML for all edge_agent nodes; empty = the '
             "package's config/agent.yaml."),
    Argument('log_level', 'info', 'Logging level: debug, info, warn, error.'),
    Argument('mic', 'false', 'Start the microphone capture node (sounddevice).'),
    Argument('robot', 'dry_run', 'Skill adapter of the skill executor: dry_run (nothing moves), '
             'nav2 (navigate_to, drive, turn via Nav2 NavigateToPose, DriveOnHeading, BackUp, '
             'Spin) or sim (the simulated robot: cmd_vel, odom, sim/run_skill).'),
    Argument('bindings', '', "Skill bindings YAML: skills sent to the robot's own actions and "
             'services (config/bindings.example.yaml); empty = none.'),
    Argument('sim', 'false', 'Start the MuJoCo simulator node (camera, odom, /clock, cmd_vel, '
             'sim/run_skill); use with robot:=sim use_sim_time:=true.'),
    Argument('vision_world', 'real', 'What the camera shows: real (a robot; the COCO detector '
             'of each tier) or synthetic (the MuJoCo simulation and the bundled rendered '
             "scenarios: the project's detector of their four shapes). With sim:=true, "
             'edge-agent up defaults to synthetic; ros2 launch needs vision_world:=synthetic.'),
    Argument('vision_model', '', "Your own detector (ONNX: YOLO, end-to-end or TensorFlow "
             "detection outputs, docs/vision_models.md; or a TensorRT .engine) for the vision "
             "node; empty = the tier catalog's detectors."),
    Argument('vision_model_sha256', '', 'Expected SHA-256 of vision_model; a file that differs '
             'is refused, named; empty = not checked.'),
    Argument('vision_backend', 'auto', 'Vision backend: auto (TensorRT when available, else ONNX '
             'Runtime; LiteRT for a .tflite model), tensorrt, onnxruntime, opencv or litert.'),
    Argument('shm_profile', 'true', 'Use the Fast DDS profile with a 10 MB shared-memory segment '
             '(config/fastdds_shm.xml), so camera images pass through shared memory; false = '
             'the middleware default.'),
)

# The enclave of `edge-agent up`/`demo`/`replay`'s own process (the nodes it runs in-process)
GRAPH_ENCLAVE = f'{DEFAULT_ROOT}/graph'

# Seconds launch waits before it starts a node that ended again (respawn).
RESPAWN_DELAY_S = 1.0

# The Fast DDS profile of the graph, relative to the package's share folder.
DDS_PROFILE = 'config/fastdds_shm.xml'


# rclpy's major version in each distro, for an environment without ROS_DISTRO (PyPI wheels)
_RCLPY_MAJOR = {3: 'humble', 7: 'jazzy', 9: 'kilted'}


def ros_distro() -> str:
    """The ROS 2 distro: $ROS_DISTRO (a sourced distro), else the one the installed rclpy
    wheel belongs to ('' when neither says)."""
    import os

    if os.environ.get('ROS_DISTRO'):
        return os.environ['ROS_DISTRO']
    try:
        from importlib.metadata import PackageNotFoundError, version

        return _RCLPY_MAJOR.get(int(version('ros-rclpy').split('.')[0]), '')
    except (ImportError, PackageNotFoundError, ValueError):
        return ''


def dds_profile_env(profile, distro: str | None) -> dict:
    """Environment that makes Fast DDS load ``profile`` (a path, or a launch substitution of
    one; set before a process makes its first participant: Fast DDS reads the file once).
    Fast DDS 2 (Humble, Jazzy) reads the FASTRTPS_ name, 3 (Kilted on) the FASTDDS_ one and
    warns about the other."""
    variable = ('FASTRTPS_DEFAULT_PROFILES_FILE' if distro in ('humble', 'jazzy')
                else 'FASTDDS_DEFAULT_PROFILES_FILE')
    return {variable: profile}


# Bring-up order: the supervisor (it watches the others come up), the simulator when asked for
# (its /clock drives sim time), the governor (its tier is latched), then the sensors'
# consumers, the executor before the planner that sends it plans, the agent that drives them
# last.
NODES: tuple[NodeSpec, ...] = (
    NodeSpec('supervisor', 'edge_agent.nodes.supervisor', 'SupervisorNode', lifecycle=False),
    NodeSpec('sim', 'edge_agent.sim.node', 'SimulatorNode', lifecycle=False, condition='sim'),
    NodeSpec('thermal_governor', 'edge_agent.nodes.thermal_governor', 'ThermalGovernor',
             lifecycle=False),
    NodeSpec('audio_capture', 'edge_agent.nodes.audio_capture', 'AudioCapture',
             lifecycle=False, condition='mic'),
    NodeSpec('speech', 'edge_agent.nodes.speech', 'SpeechNode'),
    NodeSpec('vision', 'edge_agent.nodes.vision', 'VisionNode',
             from_arguments=(('model_path', 'vision_model'), ('world', 'vision_world'),
                             ('model_sha256', 'vision_model_sha256'),
                             ('backend', 'vision_backend'))),
    NodeSpec('skill_executor', 'edge_agent.nodes.skill_executor', 'SkillExecutorNode',
             from_arguments=(('adapter', 'robot'), ('bindings_file', 'bindings'))),
    NodeSpec('planner', 'edge_agent.nodes.planner', 'PlannerNode'),
    NodeSpec('agent', 'edge_agent.nodes.agent', 'AgentNode'),
    NodeSpec('speaker', 'edge_agent.nodes.speaker', 'SpeakerNode'),
)


def node_parameters(spec: NodeSpec, value: Callable[[str], object]) -> dict:
    """The parameters ``spec`` gets from launch arguments (besides the YAML file), with
    ``value(argument_name)`` giving an argument's value or substitution; and the lifecycle
    nodes' ``autostart`` false with the supervisor's ``managed_nodes`` naming them in bring-up
    order: the supervisor drives their transitions. (Every lifecycle node is unconditional;
    a conditional one would need its condition in ``managed_nodes``.)"""
    values = {'use_sim_time': value('use_sim_time'),
              **{param: value(arg) for param, arg in spec.from_arguments}}
    if spec.lifecycle:   # the supervisor brings it up, in order (nodes/supervisor.py)
        values['autostart'] = False
    if spec.name == 'supervisor':
        values['managed_nodes'] = managed_nodes(NODES)
    return values


def managed_nodes(specs: Iterable[NodeSpec]) -> str:
    """The supervisor's ``managed_nodes`` for ``specs``: their lifecycle nodes, in order."""
    return ','.join(s.name for s in specs if s.lifecycle)


def select(names: Iterable[str] | None, arguments: dict[str, str]) -> list[NodeSpec]:
    """The nodes to start: ``names`` (None = all whose condition holds), in bring-up order.
    An unknown name raises ValueError listing the known ones."""
    known = {spec.name for spec in NODES}
    if names is None:
        return [s for s in NODES if s.condition is None or is_true(arguments[s.condition])]
    wanted = set(names)
    unknown = sorted(wanted - known)
    if unknown:
        raise ValueError(f'unknown node(s) {", ".join(unknown)}; the graph has '
                         f'{", ".join(s.name for s in NODES)}')
    return [s for s in NODES if s.name in wanted]


def is_true(text: str) -> bool:
    """A launch argument's text as a condition: true for true, 1, yes, on (any case)."""
    return str(text).strip().lower() in ('true', '1', 'yes', 'on')
