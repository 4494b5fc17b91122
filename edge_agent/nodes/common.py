"""What every edge_agent node shares: the house QoS profiles and the main() runner."""
from __future__ import annotations

import os
import sys

import rclpy
from rclpy.executors import ExternalShutdownException, MultiThreadedExecutor
from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy
from rclpy.qos_overriding_options import QoSOverridingOptions

__all__ = ['LATCHED', 'OVERRIDABLE', 'RELIABLE', 'SENSOR', 'run']

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
        executor = MultiThreadedExecutor()
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
