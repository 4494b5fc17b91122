"""Thermal sensing, the governor's tier policy and thermal traces (no ROS)."""
from edge_agent.core.thermal.policy import (  # noqa: F401
    PolicyConfig,
    TierDecision,
    TierPolicy,
)
from edge_agent.core.thermal.sensors import (  # noqa: F401
    CpuFreq,
    JtopThermalReader,
    SysfsThermalReader,
    ThermalReading,
    TripPoint,
    ZoneReading,
)
from edge_agent.core.thermal.traces import (  # noqa: F401
    FakeSysfs,
    TracePoint,
    load_trace,
    reading_from_trace,
    record_trace,
    write_trace,
)

__all__ = [
    'CpuFreq',
    'FakeSysfs',
    'JtopThermalReader',
    'PolicyConfig',
    'SysfsThermalReader',
    'ThermalReading',
    'TierDecision',
    'TierPolicy',
    'TracePoint',
    'TripPoint',
    'ZoneReading',
    'load_trace',
    'reading_from_trace',
    'record_trace',
    'write_trace',
]
