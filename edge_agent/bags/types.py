"""Message types of our bags: the ROS 2 standard ones (rosbags' Kilted store) plus the
package's own (msg/*.msg), so bags embed full definitions that `ros2 bag info`, Foxglove and
any MCAP reader can decode without our package installed."""
from __future__ import annotations

import functools
import importlib
import pathlib

from edge_agent.core.config import data_file
from edge_agent.core.errors import ConfigError

__all__ = ['message_class', 'typestore']


def _msg_dir() -> pathlib.Path:
    return data_file('msg/AudioChunk.msg').parent


@functools.lru_cache(maxsize=1)
def typestore():
    """rosbags typestore: ROS 2 Kilted's standard types and edge_agent's messages."""
    from rosbags.typesys import Stores, get_types_from_msg, get_typestore

    store = get_typestore(Stores.ROS2_KILTED)
    ours = {}
    for path in sorted(_msg_dir().glob('*.msg')):
        ours.update(get_types_from_msg(path.read_text(), f'edge_agent/msg/{path.stem}'))
    store.register(ours)
    return store


def message_class(type_name: str):
    """The rclpy message class of ``pkg/msg/Name``; ConfigError when it cannot be imported."""
    parts = type_name.split('/')
    if len(parts) != 3 or parts[1] != 'msg':
        raise ConfigError(f'{type_name!r} is not a message type (expected pkg/msg/Name)')
    try:
        return getattr(importlib.import_module(f'{parts[0]}.msg'), parts[2])
    except (ImportError, AttributeError) as exc:
        raise ConfigError(f'message type {type_name} is not installed here ({exc})') from None
