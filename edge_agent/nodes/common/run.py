"""main() of every node: init, build, drive the lifecycle, spin, shut down cleanly.

Works on Humble through Rolling (no ``with rclpy.init()``). A lifecycle node is configured and
activated here (unless its ``autostart`` parameter is false: under ``ros2 launch`` and
``edge-agent up --processes`` the supervisor node drives its transitions over DDS instead, in
bring-up order) and each transition's result is checked: a failure (a missing model file, a bad
catalog) ends the process with status 1 and the reason on one line, never a traceback; so do
edge_agent's own errors, a parameter value that its range refuses, and the ``fatal`` ones.
"""
from __future__ import annotations

import os
import sys

import rclpy
from rclpy.exceptions import ParameterException
from rclpy.executors import ExternalShutdownException

from edge_agent.core.errors import EdgeAgentError
from edge_agent.nodes.common.executor import NodeExecutor
from edge_agent.nodes.common.lifecycle import AUTOSTART_PARAM

__all__ = ['TransitionFailed', 'bring_up', 'run']


class TransitionFailed(RuntimeError):
    """A lifecycle transition of a node did not succeed; the message says which and why."""


def bring_up(node) -> None:
    """Configure and activate a lifecycle node; TransitionFailed with the reason otherwise."""
    from rclpy.lifecycle import TransitionCallbackReturn

    for transition in ('configure', 'activate'):
        result = getattr(node, f'trigger_{transition}')()
        if result != TransitionCallbackReturn.SUCCESS:
            reason = getattr(node, 'failure_reason', '') or 'see the log above'
            raise TransitionFailed(f'{node.get_name()}: {transition} failed: {reason}')


def run(factory, args=None, lifecycle: bool = False, fatal: tuple = ()) -> int:
    """rclpy.init, build the node, (configure and activate it), spin until shutdown."""
    rclpy.init(args=args)
    node = None
    try:
        node = factory()
        autostart = AUTOSTART_PARAM.name
        if lifecycle and (not node.has_parameter(autostart)
                          or node.get_parameter(autostart).value):
            bring_up(node)
        elif lifecycle:
            node.get_logger().info('autostart false: unconfigured until the supervisor (or '
                                   'another lifecycle manager) configures it')
        executor = NodeExecutor()
        executor.add_node(node)
        executor.spin()
    except (TransitionFailed, EdgeAgentError, ParameterException, *fatal) as exc:
        name = os.path.basename(sys.argv[0]) if sys.argv and sys.argv[0] else 'edge_agent'
        print(f'{name}: error: {exc}', file=sys.stderr)
        return 1
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    except Exception:
        if rclpy.ok():
            raise
        # SIGINT arrived while the node was still being built (its first publish then finds
        # the context shut down): a clean stop, not a crash.
    finally:
        if node is not None:
            node.destroy_node()
        rclpy.try_shutdown()
    return 0
