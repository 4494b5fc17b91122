"""One error family for the whole package, so callers (the CLI, nodes) catch one base class.

Every error's message says what was wrong and where (file, key, model), in a form a user can act
on without a traceback.
"""
from __future__ import annotations

__all__ = ['ConfigError', 'EdgeAgentError', 'MissingDependency']


class EdgeAgentError(Exception):
    """Base class of every error edge_agent raises on purpose."""


class ConfigError(EdgeAgentError, ValueError):
    """A configuration file or value is unusable; the message names the file, key and what was
    expected."""


class MissingDependency(EdgeAgentError, ImportError):
    """An optional library a feature needs is not installed; the message says what to install."""
