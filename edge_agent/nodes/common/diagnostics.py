"""Every node's ``/diagnostics``: its inputs' health (``core/health.py``), its counters, its model.

``ReportsHealth`` (a mixin for the lifecycle nodes) owns the publisher and the 1 Hz timer,
restarts the stale clocks on activate and follows the ``stale_input_s`` parameter; plain nodes
call ``diagnostic_array``. ``subscription_events`` / ``publisher_events`` report what DDS says
before any callback runs: samples lost in the middleware and endpoints whose QoS cannot match
(logged and a WARN for ``QOS_HOLD_S``, with the policy at fault).
"""
from __future__ import annotations

from edge_agent.core.observability.health import HealthReport, InputHealth, NodeHealth
from edge_agent.nodes.common.heartbeat import start_heartbeat
from edge_agent.nodes.common.params import Param, after_set

__all__ = ['STALE_PARAM', 'ReportsHealth', 'diagnostic_array', 'publisher_events',
           'subscription_events']

STALE_PARAM = Param('stale_input_s', 5.0, 'A stream input (camera, microphone, detections) '
                    'silent this long makes /diagnostics WARN ("no camera/image_raw for 6.0 '
                    's"); the agent also tells a user who gives a command while its '
                    'detections are silent; 0 = never [s].', (0.0, 86400.0))



def diagnostic_array(node, name: str, hardware_id: str, report: HealthReport):
    """``report`` as a DiagnosticArray with one status, stamped now."""
    from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue

    status = DiagnosticStatus(name=name, hardware_id=hardware_id, message=report.message)
    status.level = bytes([report.level])
    status.values = [KeyValue(key=k, value=v) for k, v in sorted(report.values.items())]
    array = DiagnosticArray(status=[status])
    array.header.stamp = node.get_clock().now().to_msg()
    return array


def _policy(info) -> str:
    """The QoS policy at fault, readable ("reliability")."""
    from rclpy.qos import QoSPolicyKind

    kind = info.last_policy_kind
    try:
        return QoSPolicyKind(int(getattr(kind, 'value', kind))).name.lower().replace('_', ' ')
    except ValueError:
        return f'policy {kind}'


def subscription_events(node, health: NodeHealth, topic: str,
                        watched: InputHealth | None = None):
    """Event callbacks for a subscription to ``topic``: ``message_lost`` counted as
    ``<topic>_lost`` (and as drops of ``watched``), ``incompatible_qos`` as a warning."""
    try:   # Iron and newer
        from rclpy.event_handler import SubscriptionEventCallbacks
    except ImportError:   # pragma: no cover - Humble
        from rclpy.qos_event import SubscriptionEventCallbacks

    key = topic.strip('/').replace('/', '_')

    def lost(info) -> None:
        # Fast DDS sometimes reports an absurd total (2**64 - 2**31 measured): count the changes
        change = int(info.total_count_change)
        change = change if 0 < change < 1_000_000 else 1
        health.counters[f'{key}_lost'] += change
        if watched is not None:
            watched.dropped(change)
        health.problems.append(f'{topic}: {change} message(s) lost in the middleware (too '
                               'large, or arriving faster than taken)')

    def incompatible(info) -> None:
        message = (f'{topic}: a publisher with incompatible QoS ({_policy(info)}) cannot '
                   'connect')
        health.incompatible_qos(topic, message)
        node.get_logger().warning(message, throttle_duration_sec=10.0)

    return SubscriptionEventCallbacks(message_lost=lost, incompatible_qos=incompatible)


def publisher_events(node, health: NodeHealth, topic: str):
    """Event callbacks for a publisher on ``topic``: ``incompatible_qos`` as a warning."""
    try:   # Iron and newer
        from rclpy.event_handler import PublisherEventCallbacks
    except ImportError:   # pragma: no cover - Humble
        from rclpy.qos_event import PublisherEventCallbacks

    def incompatible(info) -> None:
        message = (f'{topic}: a subscriber with incompatible QoS ({_policy(info)}) cannot '
                   'connect')
        health.incompatible_qos(topic, message)
        node.get_logger().warning(message, throttle_duration_sec=10.0)

    return PublisherEventCallbacks(incompatible_qos=incompatible)


class ReportsHealth:
    """Mixin placed before ``OwnedEntities`` (or ``Node``): ``self.health`` on ``/diagnostics``
    every second.

    ``watch_health(name, hardware_id)`` in ``__init__`` (after the parameters are declared;
    it also starts the node's heartbeat), ``own_diagnostics()`` in ``on_configure`` (a plain
    node: in ``__init__``);
    ``health_report()`` may add the model and the node's own warnings."""

    health: NodeHealth                    # set by watch_health
    _send_heartbeat = None                # set by watch_health: sends the heartbeat now

    def watch_health(self, name: str, hardware_id: str) -> NodeHealth:
        stale = (self.get_parameter(STALE_PARAM.name).value
                 if self.has_parameter(STALE_PARAM.name) else 0.0)
        self.health = NodeHealth(stale)
        self._diagnostic_name, self._hardware_id = name, hardware_id
        # for the supervisor, from now until destroy_node
        self._send_heartbeat = start_heartbeat(self)

        def apply(params) -> None:
            for p in params:
                if p.name == STALE_PARAM.name:
                    self.health.stale_after_s = p.value

        after_set(self, apply)
        return self.health

    def own_diagnostics(self, period_s: float = 1.0) -> None:
        """``/diagnostics`` publisher and the timer that publishes ``health_report()``."""
        from diagnostic_msgs.msg import DiagnosticArray

        own = getattr(self, 'own', lambda entity: entity)   # lifecycle: destroyed at cleanup
        self._diag_pub = own(self.create_publisher(DiagnosticArray, '/diagnostics', 10))
        own(self.create_timer(period_s, self._publish_diagnostics))

    def health_report(self) -> HealthReport:
        return self.health.report()

    def _publish_diagnostics(self) -> None:
        self._diag_pub.publish(diagnostic_array(self, self._diagnostic_name, self._hardware_id,
                                                self.health_report()))

    def subscription_events(self, topic: str, watched: InputHealth | None = None):
        return subscription_events(self, self.health, topic, watched)

    def publisher_events(self, topic: str):
        return publisher_events(self, self.health, topic)

    def on_activate(self, state):
        self.health.restart()   # a stream counts as stale from activation on
        return super().on_activate(state)
