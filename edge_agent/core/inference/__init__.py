"""Active inference (no ROS): belief, observation models, expected free energy, policies,
budget, evidence from recent detections, and the deliberation loop for one command
(docs/active_inference.md)."""
from edge_agent.core.inference.belief import (  # noqa: F401
    NONE,
    JointBelief,
    State,
    entropy,
    kl_divergence,
    normalise,
)
from edge_agent.core.inference.deliberation import (  # noqa: F401
    Candidate,
    Decision,
    Deliberation,
    Heard,
    Reference,
    find_reference,
)
from edge_agent.core.inference.efe import (  # noqa: F401
    OUTCOMES,
    Evaluation,
    Preferences,
    act_outcomes,
    evaluate_act,
    evaluate_gather,
    evaluate_give_up,
)
from edge_agent.core.inference.evidence import (  # noqa: F401
    FrameDetection,
    RecentDetections,
    associate,
)
from edge_agent.core.inference.observation import (  # noqa: F401
    DetectorModel,
    ListenModel,
    SensorModels,
    colour_match,
    transcript_confidence,
)
from edge_agent.core.inference.policies import (  # noqa: F401
    Budget,
    Policy,
    likelihoods,
)

__all__ = [
    'Budget',
    'Candidate',
    'Decision',
    'Deliberation',
    'DetectorModel',
    'Evaluation',
    'FrameDetection',
    'Heard',
    'JointBelief',
    'ListenModel',
    'NONE',
    'OUTCOMES',
    'Policy',
    'Preferences',
    'RecentDetections',
    'Reference',
    'SensorModels',
    'State',
    'act_outcomes',
    'associate',
    'colour_match',
    'entropy',
    'evaluate_act',
    'evaluate_gather',
    'evaluate_give_up',
    'find_reference',
    'kl_divergence',
    'likelihoods',
    'normalise',
    'transcript_confidence',
]
