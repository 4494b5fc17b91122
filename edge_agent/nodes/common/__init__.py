"""What every node shares: QoS, executor, main(), lifecycle, parameters, tiers, diagnostics."""
from edge_agent.nodes.common.diagnostics import (  # noqa: F401
    STALE_PARAM,
    ReportsHealth,
    diagnostic_array,
)
from edge_agent.nodes.common.executor import (  # noqa: F401
    NodeExecutor,
)
from edge_agent.nodes.common.lifecycle import (  # noqa: F401
    AUTOSTART_PARAM,
    OwnedEntities,
)
from edge_agent.nodes.common.model_node import (  # noqa: F401
    ModelNode,
)
from edge_agent.nodes.common.params import (  # noqa: F401
    Param,
    after_set,
    check,
    config_check,
    declare,
    rejected,
)
from edge_agent.nodes.common.qos import (  # noqa: F401
    LATCHED,
    OVERRIDABLE,
    RELIABLE,
    SENSOR,
)
from edge_agent.nodes.common.run import (  # noqa: F401
    TransitionFailed,
    bring_up,
    run,
)
from edge_agent.nodes.common.tiers import (  # noqa: F401
    MAX_TIERS,
    TierFollower,
    tier_parameters,
)

__all__ = [
    'AUTOSTART_PARAM',
    'LATCHED',
    'MAX_TIERS',
    'ModelNode',
    'NodeExecutor',
    'OVERRIDABLE',
    'OwnedEntities',
    'Param',
    'RELIABLE',
    'SENSOR',
    'STALE_PARAM',
    'ReportsHealth',
    'TierFollower',
    'TransitionFailed',
    'after_set',
    'bring_up',
    'check',
    'config_check',
    'declare',
    'diagnostic_array',
    'rejected',
    'run',
    'tier_parameters',
]
