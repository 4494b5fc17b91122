"""What the graph says about itself: each node's input health (/diagnostics) and each command's
end-to-end trace. No rclpy."""
from edge_agent.core.observability.health import (  # noqa: F401
    ERROR,
    OK,
    WARN,
    HealthReport,
    InputHealth,
    NodeHealth,
)
from edge_agent.core.observability.trace import (  # noqa: F401
    STAGES,
    stage_latencies,
)

__all__ = [
    'ERROR',
    'OK',
    'STAGES',
    'WARN',
    'HealthReport',
    'InputHealth',
    'NodeHealth',
    'stage_latencies',
]
