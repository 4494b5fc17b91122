"""The whole graph in one process: what `edge-agent up`, `demo` and `replay` run.

The same nodes as `launch/agent.launch.py` (``graph.NODES``), with the same parameters: the YAML
file given to each node as ``--params-file`` (rcl applies its ``/**/name`` keys as it does for
launch), then the values that come from launch arguments. Lifecycle transitions are driven in
bring-up order and each one is checked; ``stop()`` ends every node's work before the executor,
then destroys them, so Ctrl-C leaves no thread or DDS participant behind.
"""
from __future__ import annotations

import os

import yaml

from edge_agent.app import graph
from edge_agent.core.config import data_file
from edge_agent.core.errors import ConfigError

__all__ = ['AgentGraph', 'launch_value', 'resolve_arguments']

_LOG_LEVELS = {'debug': 10, 'info': 20, 'warn': 30, 'error': 40, 'fatal': 50}


def resolve_arguments(given: dict[str, str] | None = None) -> dict[str, str]:
    """Every launch argument's value: ``given`` over the declared defaults; an empty
    ``params_file`` becomes the package's config/agent.yaml; with sim true and no
    ``vision_world`` given, it is synthetic (the simulated scene). Unknown names raise
    ConfigError."""
    values = {a.name: a.default for a in graph.ARGUMENTS}
    unknown = sorted(set(given or {}) - set(values))
    if unknown:
        raise ConfigError(f'unknown launch argument(s) {", ".join(unknown)}; known: '
                          f'{", ".join(values)}')
    values.update({k: str(v) for k, v in (given or {}).items()})
    if 'vision_world' not in (given or {}) and graph.is_true(values['sim']):
        values['vision_world'] = 'synthetic'   # the simulator renders the project's scene
    if not values['params_file']:
        values['params_file'] = str(data_file('config/agent.yaml'))
    return values


def launch_value(text: str):
    """A launch argument's text as launch_ros types a parameter value: YAML scalars
    ('false' -> False, '2' -> 2), anything else (and '') as the text itself."""
    if text == '':
        return ''
    try:
        value = yaml.safe_load(text)
    except yaml.YAMLError:
        return text
    return value if isinstance(value, (bool, int, float, str)) else text


class AgentGraph:
    """The graph's nodes on one ``NodeExecutor`` in a private context.

    ``arguments``: launch argument values (see ``graph.ARGUMENTS``); ``nodes``: names to start
    (None = the launch file's set); ``overrides``: per node name, parameters set over the YAML
    file (tests and the demo use them, e.g. a faster dry-run step).
    """

    def __init__(self, arguments: dict[str, str] | None = None,
                 nodes: list[str] | None = None,
                 overrides: dict[str, dict[str, object]] | None = None,
                 num_threads: int | None = None) -> None:
        self.arguments = resolve_arguments(arguments)
        if self.arguments['log_level'].lower() not in _LOG_LEVELS:
            raise ConfigError(f"log_level {self.arguments['log_level']!r}: expected one of "
                              f"{', '.join(_LOG_LEVELS)}")
        try:
            self.specs = graph.select(nodes, self.arguments)
        except ValueError as exc:
            raise ConfigError(str(exc)) from None
        if not os.path.isfile(self.arguments['params_file']):
            raise ConfigError(f"params_file {self.arguments['params_file']} does not exist")
        unknown = sorted(set(overrides or {}) - {s.name for s in graph.NODES})
        if unknown:
            raise ConfigError(f'overrides for unknown node(s) {", ".join(unknown)}')
        self.overrides = overrides or {}
        self.num_threads = num_threads
        self.nodes: dict[str, object] = {}
        self._set = None   # the NodeSet: context, executor, bring-up order, teardown

    def parameters(self, spec: graph.NodeSpec) -> dict[str, object]:
        """What ``spec`` gets over the YAML file (launch arguments, then ``overrides``)."""
        values = graph.node_parameters(spec, lambda arg: launch_value(self.arguments[arg]))
        return {**values, **self.overrides.get(spec.name, {})}

    def environment(self) -> dict[str, str]:
        """The variables the graph sets (unless already set) before its first participant: the
        Fast DDS profile's, as the launch file sets them; none with shm_profile false."""
        if not graph.is_true(self.arguments['shm_profile']):
            return {}
        return graph.dds_profile_env(str(data_file(graph.DDS_PROFILE)),
                                     graph.ros_distro())

    def start(self, on_node=None) -> None:
        """Build, configure and activate every node in order, then spin; ``on_node(name)`` is
        called as each one comes up. Raises TransitionFailed (and stops what was started) when
        a node does not come up."""
        from rclpy.parameter import Parameter

        self._open()
        try:
            for spec in self.specs:
                values = self.parameters(spec)
                if spec.name == 'supervisor':   # the nodes here are brought up just below
                    values['managed_nodes'] = ''
                params = [Parameter(k, value=v) for k, v in values.items()]
                node = spec.load()(
                    context=self.context, namespace=self.arguments['namespace'],
                    cli_args=['--ros-args', '--params-file', self.arguments['params_file']],
                    parameter_overrides=params)
                self.nodes[spec.name] = node
                node.get_logger().set_level(_LOG_LEVELS[self.arguments['log_level'].lower()])
                self._set.add(node, lifecycle=spec.lifecycle)
                if on_node is not None:
                    on_node(spec.name)
                self._spin()
        except BaseException:
            self.stop()
            raise

    def _open(self) -> None:
        """The DDS profile's variables, then the NodeSet (a private context, the executor)."""
        from edge_agent.nodes.common.executor import NodeSet

        # Fast DDS reads its default profile file once per process, when the first
        # participant is made: `edge-agent up`, `demo` and `replay` make the first one.
        for variable, value in self.environment().items():
            os.environ.setdefault(variable, value)
        # The caller owns SIGINT/SIGTERM (edge-agent up turns them into KeyboardInterrupt and
        # stops the graph in order); rclpy's handlers would shut the context down under it.
        # the enclave matters only with ROS_SECURITY_ENABLE=true (edge-agent security keystore)
        self._set = NodeSet(num_threads=self.num_threads, signals=False,
                            args=['--ros-args', '--enclave', graph.GRAPH_ENCLAVE])

    def _spin(self) -> None:
        """Spin the nodes in a thread, once."""
        self._set.spin('edge_agent_graph')

    @property
    def context(self):
        return self._set.context if self._set is not None else None

    @property
    def executor(self):
        return self._set.executor if self._set is not None else None

    def add(self, node):
        """Spin a further node (a probe, a bag player) with the graph; destroyed by stop()."""
        return self._set.add(node, lifecycle=False)

    @property
    def running(self) -> bool:
        """Whether the executor still spins the nodes."""
        return self._set is not None and self._set.spinning

    def stop(self) -> None:
        """End every node's work, stop spinning, shut the lifecycle nodes down (frees the
        models), destroy everything, shut the context down."""
        if self._set is not None:
            self._set.close(shutdown_transition=True)
            self._set = None
        self.nodes = {}

    def __enter__(self) -> AgentGraph:
        self.start()
        return self

    def __exit__(self, *exc) -> bool:
        self.stop()
        return False
