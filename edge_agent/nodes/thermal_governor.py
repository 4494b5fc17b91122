"""Thermal governor node: reads thermal zones, publishes the model tier every model node follows.

Publishes ``system/model_tier`` (edge_agent/ModelTier, transient local, so late joiners get the
current tier) whenever the tier changes, ``/diagnostics`` every period, and serves
``system/set_model_tier`` for a manual override with expiry. The policy lives in
``edge_agent.core.thermal``; this node only holds parameters and converts messages.
"""
from __future__ import annotations

import time

from diagnostic_msgs.msg import DiagnosticArray
from rclpy.node import Node

from edge_agent.core.config.tiers import TierCatalog
from edge_agent.core.errors import ConfigError, EdgeAgentError
from edge_agent.core.thermal import (
    JtopThermalReader,
    PolicyConfig,
    SysfsThermalReader,
    ThermalReading,
    TierDecision,
    TierPolicy,
)
from edge_agent.msg import ModelTier
from edge_agent.nodes.common import (
    LATCHED,
    Param,
    ReportsHealth,
    config_check,
    declare,
    diagnostic_array,
    run,
)
from edge_agent.srv import SetModelTier

__all__ = ['PARAMETERS', 'ThermalGovernor', 'main']

_POLICY = [  # the PolicyConfig fields a user may tune while it runs
    Param('hysteresis_c', 3.0, 'Cool this far below a threshold before stepping back up [degC].',
          (0.0, 50.0)),
    Param('min_dwell_s', 10.0, 'Hold a tier at least this long; emergencies excepted [s].',
          (0.0, 3600.0)),
    Param('emergency_margin_c', 5.0, 'Jump to the floor tier within this of the critical trip '
          'point [degC].', (0.0, 50.0)),
    Param('trend_window_s', 20.0, 'Window of the temperature slope estimate [s].',
          (0.5, 3600.0)),
    Param('lookahead_s', 10.0, 'Act on the temperature expected this far ahead [s].',
          (0.0, 600.0)),
    Param('throttle_ratio', 0.95, 'A CPU capped below this share of its maximum clock counts '
          'as throttling [ratio].', (0.01, 1.0)),
    Param('threshold_span_c', 15.0, 'With use_trip_points, thresholds spread over this range '
          'below the passive trip point [degC].', (0.5, 100.0)),
    Param('default_passive_c', 85.0, 'Passive trip point assumed when no zone reports one '
          '[degC].', (20.0, 150.0)),
]
PARAMETERS = [
    Param('sysfs_root', '/sys', 'Root of the sysfs tree to read; a fake tree replays a recorded '
          'trace.', read_only=True),
    Param('zones', '', 'Comma-separated thermal zone types to watch (Jetson: '
          '"cpu-thermal,gpu-thermal,tj-thermal"); empty = all zones.', read_only=True),
    Param('period_s', 1.0, 'Sampling and diagnostics period [s].', (0.05, 3600.0),
          read_only=True),
    Param('use_jtop', False, 'On a Jetson, read temperatures and the power mode through jtop '
          '(jetson-stats) instead of sysfs.', read_only=True),
    Param('tier_catalog', '', "Model tier catalog YAML; empty = the package's "
          'config/model_tiers.yaml.', read_only=True),
    Param('use_trip_points', True, "Derive thresholds from the zones' passive trip point "
          '(true) or use thresholds_c (false).'),
    Param('thresholds_c', [70.0, 85.0], 'Temperatures at which tiers 1, 2, ... begin, strictly '
          'increasing, one fewer than the tiers [degC].'),
    *_POLICY,
]


class ThermalGovernor(ReportsHealth, Node):
    """Publish the model tier from thermal readings; see the module docstring."""

    def __init__(self, **kwargs) -> None:
        super().__init__('thermal_governor', **kwargs)
        declare(self, PARAMETERS, config_check(self._config_from), apply=self._apply)
        value = self.get_parameter
        self._root = value('sysfs_root').value
        zones = value('zones').value
        try:
            self._tiers = TierCatalog(value('tier_catalog').value or None)
        except EdgeAgentError as exc:
            raise ConfigError(f'thermal_governor: {exc}') from exc
        self._reader = SysfsThermalReader(
            self._root, [z.strip() for z in zones.split(',') if z.strip()])
        if value('use_jtop').value:
            try:
                self._reader = JtopThermalReader(trip_source=self._reader)
            except Exception as exc:  # noqa: BLE001 - jtop raises its own errors when its
                # service is down; sysfs still works
                self.get_logger().error(f'jtop unavailable ({exc}); reading sysfs instead')
        self._policy = TierPolicy(self._config_from({}))
        self._last: TierDecision | None = None
        self._t0 = time.monotonic()
        self.watch_health('edge_agent: thermal governor', str(self._root))
        # readings; latency: one step (read every zone and trip point, decide); dropped:
        # readings that failed (jtop down, a broken tree)
        self._readings = self.health.input('thermal_zones')

        self._tier_pub = self.create_publisher(ModelTier, 'system/model_tier', LATCHED)
        self._diag_pub = self.create_publisher(DiagnosticArray, '/diagnostics', 10)  # per step
        self.create_service(SetModelTier, 'system/set_model_tier', self._on_set_tier)
        self._timer = self.create_timer(value('period_s').value, self._tick)
        self._tick()

    # -- parameters ---------------------------------------------------------------------------
    def _config_from(self, overrides: dict) -> PolicyConfig:
        def value(name):
            return overrides[name] if name in overrides else self.get_parameter(name).value

        use_trips = value('use_trip_points')
        return PolicyConfig(
            num_tiers=len(self._tiers),
            thresholds_c=() if use_trips else tuple(float(v) for v in value('thresholds_c')),
            **{p.name: float(value(p.name)) for p in _POLICY})

    def _apply(self, params) -> None:
        self._policy.config = self._config_from({})

    # -- work ---------------------------------------------------------------------------------
    def _now(self) -> float:
        return time.monotonic() - self._t0

    def _tick(self) -> None:
        began = time.monotonic()
        self._readings.received()
        try:
            reading = self._reader.read(self._now())
        except Exception as exc:  # noqa: BLE001 - jtop or a broken tree: keep the governor up
            self.get_logger().error(f'thermal reading failed: {type(exc).__name__}: {exc}',
                                    throttle_duration_sec=10.0)
            self._readings.dropped()
            self.health.problems.append(f'thermal reading failed: {exc}')
            reading = ThermalReading(self._now(), ())
        decision = self._policy.update(reading)
        self._readings.processed(time.monotonic() - began)
        # The latched message must stay true: also when only the override ended or began.
        if decision.changed or self._last is None or (
                decision.override_active != self._last.override_active):
            self._publish_tier(decision, reading)
            self.get_logger().info(
                f'model tier {decision.tier} ({self._tiers[decision.tier].name}): '
                f'{decision.reason}')
        self._last = decision
        self._publish_diagnostics(decision, reading)

    def _publish_tier(self, decision, reading) -> None:
        msg = ModelTier()
        msg.header.stamp = self.get_clock().now().to_msg()
        msg.tier_index = decision.tier
        msg.tier_name = self._tiers[decision.tier].name
        msg.reason = decision.reason
        msg.override_active = decision.override_active
        msg.throttling = decision.throttling
        msg.zone_names = [z.name for z in reading.valid_zones]
        msg.zone_temperatures = [float(z.temp_c) for z in reading.valid_zones]
        msg.max_temperature = float(decision.max_temp_c or 0.0)
        msg.temperature_trend = float(decision.trend_c_per_s)
        self._tier_pub.publish(msg)

    def _publish_diagnostics(self, decision, reading) -> None:
        warnings = []
        if not reading.valid_zones:
            warnings.append('no readable thermal zone')
        elif decision.tier == len(self._tiers) - 1 and decision.tier > 0:
            warnings.append(f'floor tier: {decision.reason}')
        values = {
            'tier': decision.tier, 'tier_name': self._tiers[decision.tier].name,
            'reason': decision.reason, 'max_temperature_c': decision.max_temp_c,
            'trend_c_per_s': f'{decision.trend_c_per_s:.3f}',
            'thresholds_c': ','.join(f'{t:.1f}' for t in decision.thresholds_c),
            'throttling': decision.throttling, 'override_active': decision.override_active,
            'power_mode': reading.power_mode}
        values.update({f'zone {z.name}': f'{z.temp_c:.1f}' for z in reading.valid_zones})
        values.update({f'zone {z.name}': f'offline: {z.error}' for z in reading.zones
                       if z.temp_c is None})
        report = self.health.report(
            ok_message=f'tier {decision.tier} ({self._tiers[decision.tier].name})',
            extra=values, warnings=warnings)
        self._diag_pub.publish(diagnostic_array(self, 'edge_agent: thermal governor',
                                                str(self._root), report))

    def destroy_node(self):
        close = getattr(self._reader, 'close', None)
        if close is not None:
            close()
        return super().destroy_node()

    def _on_set_tier(self, request, response):
        try:
            if request.tier_index == SetModelTier.Request.CLEAR_OVERRIDE:
                self._policy.clear_override()
            else:
                self._policy.set_override(request.tier_index, request.duration, self._now())
        except ValueError as exc:
            response.success = False
            response.message = str(exc)
            response.active_tier = self._policy.tier
            return response
        self._tick()
        response.success = True
        response.active_tier = self._policy.tier
        response.message = (f'tier {self._policy.tier} ({self._tiers[self._policy.tier].name})'
                            + (f': {request.reason}' if request.reason else ''))
        self.get_logger().info(f'set_model_tier: {response.message}')
        return response


def main(args=None) -> int:
    """Run the governor until interrupted."""
    return run(ThermalGovernor, args)
