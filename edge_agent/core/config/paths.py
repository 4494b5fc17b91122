"""Where the package's data (config/, models/, interface definitions) lives at run time."""
from __future__ import annotations

import pathlib
import sys

__all__ = ['share_dir', 'data_file']

_SOURCE_ROOT = pathlib.Path(__file__).resolve().parents[3]  # edge_agent/core/config/ -> repo


def share_dir() -> pathlib.Path:
    """share/edge_agent of the install: from the ament index when sourced, else sys.prefix.

    A virtual environment built by scripts/setup.sh has no AMENT_PREFIX_PATH, so the ament
    index is unavailable there; the package is installed into the environment's own prefix.
    """
    try:
        from ament_index_python.packages import get_package_share_directory

        return pathlib.Path(get_package_share_directory('edge_agent'))
    except (ImportError, LookupError, OSError):
        return pathlib.Path(sys.prefix) / 'share' / 'edge_agent'


def data_file(relative: str) -> pathlib.Path:
    """A project data file: the source tree's copy when running from it, else the installed one."""
    source = _SOURCE_ROOT / relative
    if source.is_file() and (_SOURCE_ROOT / 'package.xml').is_file():
        return source
    return share_dir() / relative
