"""Whether the DDS library this environment loads has its security plugins: Fast DDS is built
with or without them (-DSECURITY=ON); the ROS 2 wheels on PyPI are built without, so there
ROS_SECURITY_ENABLE=true makes rcl find and check the enclave while the participant stays
unprotected. No rclpy."""
from __future__ import annotations

import mmap
import os
import pathlib
import sys

__all__ = ['fastdds_library', 'has_security_plugins']

# the name Fast DDS registers its built-in authentication plugin under: only in a library
# built with security
_MARKER = b'builtin.PKI-DH'
_NAMES = ('libfastdds.so', 'libfastrtps.so')


def fastdds_library() -> pathlib.Path | None:
    """The Fast DDS shared library: in this Python's prefix (PyPI wheels), else a sourced
    workspace or distro (AMENT_PREFIX_PATH), else None."""
    prefixes = [pathlib.Path(sys.prefix)]
    prefixes += [pathlib.Path(p) for p in os.environ.get('AMENT_PREFIX_PATH', '').split(':') if p]
    for prefix in prefixes:
        for name in _NAMES:
            found = sorted((prefix / 'lib').glob(f'{name}*'))
            if found:
                return found[0].resolve()
    return None


def has_security_plugins(library: str | pathlib.Path | None = None) -> bool | None:
    """True when the Fast DDS library has the DDS-Security plugins, False when it has not,
    None when no Fast DDS library is found."""
    path = pathlib.Path(library) if library else fastdds_library()
    if path is None or not path.is_file():
        return None
    with open(path, 'rb') as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as data:
        return data.find(_MARKER) >= 0
