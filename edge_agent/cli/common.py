"""What the command groups share: the error type and progress bars."""
from __future__ import annotations

import sys

from edge_agent.core.errors import EdgeAgentError

__all__ = ['CommandError', 'progress']


class CommandError(EdgeAgentError):
    """A command's input is unusable; printed as an error line, exit status 2."""


def progress():
    """tqdm bar factory, refreshed at most once a second so CI logs stay short."""
    from tqdm import tqdm

    def factory(**kwargs):
        return tqdm(mininterval=1.0, file=sys.stderr, **kwargs)

    return factory
