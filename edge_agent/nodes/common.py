"""What every edge_agent node shares: the house QoS profiles and the main() runner."""
from __future__ import annotations

import os
import sys

import rclpy
from rclpy.executors import ExternalShutdownException
from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy
from rclpy.qos_overriding_options import QoSOverridingOptions

from edge_agent.nodes.executor import NodeExecutor

__all__ = ['LATCHED', 'OVERRIDABLE', 'RELIABLE', 'SENSOR', 'TierFollower', 'model_diagnostics',
           'run']

# Commands, plans and transcripts: reliable, depth 10.
RELIABLE = QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE)
# Camera and microphone streams: best effort, shallow (a late chunk is worth less than a new one).
SENSOR = QoSProfile(depth=5, reliability=ReliabilityPolicy.BEST_EFFORT)
# State such as the model tier: the last value, kept for late joiners.
LATCHED = QoSProfile(depth=1, reliability=ReliabilityPolicy.RELIABLE,
                     durability=DurabilityPolicy.TRANSIENT_LOCAL)
# Streams whose QoS a deployment may tune from YAML, e.g.
#   qos_overrides./audio.subscription: {depth: 50, reliability: reliable}
OVERRIDABLE = QoSOverridingOptions.with_default_policies()


def model_diagnostics(node, name: str, hardware_id: str, stats, errors, model: dict | None,
                      ok_message: str):
    """A model node's /diagnostics: WARN without a model or after errors since the last call
    (the newest one is the message), else OK; the counters and model facts as values.
    ``errors`` is emptied."""
    from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue

    status = DiagnosticStatus(name=name, hardware_id=hardware_id)
    if model is None:
        status.level, status.message = DiagnosticStatus.WARN, 'no model loaded'
    elif errors:
        status.level, status.message = DiagnosticStatus.WARN, errors[-1]
    else:
        status.level, status.message = DiagnosticStatus.OK, ok_message
    values = {k: str(v) for k, v in stats.items()}
    values.update(model or {})
    status.values = [KeyValue(key=k, value=str(v)) for k, v in sorted(values.items())]
    errors.clear()
    array = DiagnosticArray(status=[status])
    array.header.stamp = node.get_clock().now().to_msg()
    return array


class TierFollower:
    """Mixin for model nodes: the ``tier``/``initial_tier`` parameters and following the
    governor's latched ``system/model_tier``. The node implements ``_switch_tier(index,
    force=False)`` (load new, switch, free old) and ``_serving()`` (a model is loaded).
    """

    _governor_tier: int | None = None

    def declare_tier_parameters(self, initial: int = 0) -> None:
        from rcl_interfaces.msg import ParameterDescriptor

        self.declare_parameter('tier', -1, ParameterDescriptor(
            description='Tier index of config/model_tiers.yaml; -1 follows system/model_tier '
                        'from the governor.'))
        self.declare_parameter('initial_tier', initial, ParameterDescriptor(
            description='Tier used before the governor has published one.', read_only=True))

    def follow_tiers(self) -> None:
        """Subscribe to the governor's tier (call in on_configure)."""
        from rclpy.callback_groups import MutuallyExclusiveCallbackGroup

        from edge_agent.msg import ModelTier

        self.create_subscription(ModelTier, 'system/model_tier', self._on_governor_tier,
                                 LATCHED, callback_group=MutuallyExclusiveCallbackGroup())

    def wanted_tier(self, requested: int | None = None) -> int | None:
        """The tier to use for a ``tier`` value (default: the parameter's)."""
        tier = self.get_parameter('tier').value if requested is None else requested
        if tier >= 0:
            return tier
        if self._governor_tier is not None:
            return self._governor_tier
        return self.get_parameter('initial_tier').value

    def _on_governor_tier(self, msg) -> None:
        self._governor_tier = int(msg.tier_index)
        if self.get_parameter('tier').value < 0 and self._serving():
            self._switch_tier(self._governor_tier)

    def _serving(self) -> bool:
        raise NotImplementedError

    def _switch_tier(self, index, force: bool = False):
        raise NotImplementedError


def run(factory, args=None, lifecycle: bool = False, fatal: tuple = ()) -> int:
    """rclpy.init, build the node, (configure and activate it), spin until shutdown.

    Exceptions in ``fatal`` (e.g. no microphone) end the process with status 1 and their
    message instead of a traceback. Works on Humble through Rolling.
    """
    rclpy.init(args=args)
    node = None
    try:
        node = factory()
        if lifecycle:
            node.trigger_configure()
            node.trigger_activate()
        executor = NodeExecutor()
        executor.add_node(node)
        executor.spin()
    except fatal as exc:
        name = os.path.basename(sys.argv[0]) if sys.argv and sys.argv[0] else 'edge_agent'
        print(f'{name}: error: {exc}', file=sys.stderr)
        return 1
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    finally:
        if node is not None:
            node.destroy_node()
        rclpy.try_shutdown()
    return 0
