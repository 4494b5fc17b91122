"""Evaluation: word error rate, detector mAP, planner accuracy."""
from edge_agent.eval.detection import (  # noqa: F401
    mean_average_precision,
)
from edge_agent.eval.planner import (  # noqa: F401
    EvalCase,
    EvalReport,
    evaluate,
    load_cases,
    matches,
)
from edge_agent.eval.wer import (  # noqa: F401
    normalise_text,
    word_error_rate,
)

__all__ = [
    'EvalCase',
    'EvalReport',
    'evaluate',
    'load_cases',
    'matches',
    'mean_average_precision',
    'normalise_text',
    'word_error_rate',
]
