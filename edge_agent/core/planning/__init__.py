"""Planning (no ROS): skills and plans, world state, rules, grammar, prompt, planner, backends."""
from edge_agent.core.planning.grammar import (  # noqa: F401
    plan_gbnf,
    plan_json_schema,
    usable_skills,
)
from edge_agent.core.planning.planner import (  # noqa: F401
    Planner,
    PlanResult,
    build_backend,
)
from edge_agent.core.planning.prompt import (  # noqa: F401
    system_prompt,
    world_prompt,
)
from edge_agent.core.planning.rules import (  # noqa: F401
    COLOURS,
    RuleParser,
)
from edge_agent.core.planning.skills import (  # noqa: F401
    ArgSpec,
    Plan,
    PlanError,
    SkillCatalog,
    SkillSpec,
    Step,
    WorldState,
    is_stop_plan,
    split_side,
)
from edge_agent.core.planning.stop import (  # noqa: F401
    StopLexicon,
)
from edge_agent.core.planning.world import (  # noqa: F401
    SeenObject,
    WorldMemory,
    respect_held,
)

__all__ = [
    'ArgSpec',
    'COLOURS',
    'Plan',
    'PlanError',
    'PlanResult',
    'Planner',
    'RuleParser',
    'SeenObject',
    'SkillCatalog',
    'SkillSpec',
    'Step',
    'StopLexicon',
    'WorldMemory',
    'WorldState',
    'build_backend',
    'is_stop_plan',
    'split_side',
    'plan_gbnf',
    'plan_json_schema',
    'system_prompt',
    'respect_held',
    'usable_skills',
    'world_prompt',
]
