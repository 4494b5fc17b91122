"""The house QoS profiles (DESIGN.md, house style 5).
"""
from __future__ import annotations

from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy
from rclpy.qos_overriding_options import QoSOverridingOptions

__all__ = ['LATCHED', 'OVERRIDABLE', 'RELIABLE', 'SENSOR', 'counted_events']


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


def counted_events(node, topic: str, stats, errors=None):
    """Subscription event callbacks that count what DDS drops before any callback sees it.

    ``message_lost``: samples the middleware lost (e.g. a best-effort image too large to
    reassemble; measured in docs/benchmarks.md) are counted as ``<topic>_lost``;
    ``incompatible_qos``: a publisher whose QoS cannot match is counted and logged with the
    policy at fault. Both reach ``/diagnostics`` through ``stats`` / ``errors``.
    """
    try:   # Iron and newer
        from rclpy.event_handler import SubscriptionEventCallbacks
    except ImportError:   # pragma: no cover - Humble
        from rclpy.qos_event import SubscriptionEventCallbacks

    key = topic.strip('/').replace('/', '_')

    def lost(info) -> None:
        # Fast DDS sometimes reports an absurd total (2**64 - 2**31 measured): count the changes
        change = int(info.total_count_change)
        change = change if 0 < change < 1_000_000 else 1
        stats[f'{key}_lost'] = stats.get(f'{key}_lost', 0) + change
        if errors is not None:
            errors.append(f'{topic}: {change} message(s) lost in the middleware (too large, '
                          'or arriving faster than taken)')

    def incompatible(info) -> None:
        stats[f'{key}_incompatible_qos'] = int(info.total_count)
        message = (f'{topic}: a publisher with incompatible QoS cannot connect (policy id '
                   f'{info.last_policy_kind})')
        node.get_logger().warning(message, throttle_duration_sec=10.0)
        if errors is not None:
            errors.append(message)

    return SubscriptionEventCallbacks(message_lost=lost, incompatible_qos=incompatible)
