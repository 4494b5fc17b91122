"""What the graph says about itself: each node's input health (/diagnostics), each command's
end-to-end trace, and which nodes serve (supervision). No rclpy."""
from edge_agent.core.observability.health import (  # noqa: F401
    ERROR,
    OK,
    WARN,
    HealthReport,
    InputHealth,
    NodeHealth,
)
from edge_agent.core.observability.supervision import (  # noqa: F401
    Member,
    Supervision,
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
    'Member',
    'NodeHealth',
    'Supervision',
    'stage_latencies',
]
