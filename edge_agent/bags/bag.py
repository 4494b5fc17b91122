"""rosbag2 bags with `rosbags` (pure Python): MCAP by default (zstd chunks, message definitions
embedded, so Foxglove and `ros2 bag info` open them), sqlite3 on request; both are read.

``BagWriter`` writes serialized (CDR) messages; ``read_bag`` yields them back in time order
with their topic, type and QoS; ``QOS`` names the three QoS kinds the graph uses.
"""
from __future__ import annotations

from collections.abc import Iterator
import dataclasses
import pathlib

from edge_agent.bags.types import typestore
from edge_agent.core.errors import ConfigError

__all__ = ['QOS', 'BagMessage', 'BagWriter', 'TopicInfo', 'bag_info', 'read_bag']


def _qos(reliable: bool, transient: bool, depth: int):
    from rosbags.interfaces import (
        Qos,
        QosDurability,
        QosHistory,
        QosLiveliness,
        QosReliability,
        QosTime,
    )

    zero = QosTime(0, 0)
    return Qos(QosHistory.KEEP_LAST, depth,
               QosReliability.RELIABLE if reliable else QosReliability.BEST_EFFORT,
               QosDurability.TRANSIENT_LOCAL if transient else QosDurability.VOLATILE,
               zero, zero, QosLiveliness.AUTOMATIC, zero, False)


# The graph's QoS kinds (DESIGN: sensor streams best effort, commands reliable, state latched).
QOS = {'sensor': (False, False, 5), 'reliable': (True, False, 10), 'latched': (True, True, 1)}


@dataclasses.dataclass(frozen=True)
class TopicInfo:
    """A topic of a bag: type, message count, and whether it was offered reliable / latched."""

    name: str
    type: str
    count: int
    reliable: bool = True
    transient_local: bool = False


@dataclasses.dataclass(frozen=True)
class BagMessage:
    """One message of a bag: receive time [ns], topic, type and its CDR bytes."""

    time_ns: int
    topic: str
    type: str
    data: bytes


class BagWriter:
    """A new rosbag2 bag at ``path`` (a folder; refuses an existing one). Use as a context
    manager; ``topic()`` before ``write()``."""

    def __init__(self, path: str | pathlib.Path, storage: str = 'mcap') -> None:
        from rosbags.rosbag2 import StoragePlugin, Writer
        from rosbags.rosbag2.enums import CompressionFormat, CompressionMode

        if storage not in ('mcap', 'sqlite3'):
            raise ConfigError(f"storage {storage!r}: expected 'mcap' or 'sqlite3'")
        self.path = pathlib.Path(path)
        if self.path.exists():
            raise ConfigError(f'{self.path} exists already; a bag is never overwritten')
        plugin = StoragePlugin.MCAP if storage == 'mcap' else StoragePlugin.SQLITE3
        self._writer = Writer(self.path, version=9, storage_plugin=plugin)
        if storage == 'mcap':  # zstd chunks inside the MCAP file: Foxglove reads them
            self._writer.set_compression(CompressionMode.STORAGE, CompressionFormat.ZSTD)
        self._connections: dict[str, object] = {}

    def __enter__(self) -> BagWriter:
        self._writer.open()
        return self

    def __exit__(self, *exc) -> bool:
        self._writer.close()
        return False

    def topic(self, name: str, type_name: str, qos: str = 'reliable') -> None:
        """Add topic ``name`` of ``type_name`` (pkg/msg/Name), offered with QoS kind ``qos``."""
        if qos not in QOS:
            raise ConfigError(f'qos {qos!r}: expected one of {", ".join(QOS)}')
        store = typestore()
        if type_name not in store.fielddefs:
            raise ConfigError(f'{name}: type {type_name} has no definition here, so it cannot '
                              'be recorded with its schema')
        self._connections[name] = self._writer.add_connection(
            name, type_name, typestore=store, offered_qos_profiles=[_qos(*QOS[qos])])

    def write(self, topic: str, time_ns: int, data: bytes) -> None:
        """Append the CDR bytes of one message on ``topic`` received at ``time_ns``."""
        self._writer.write(self._connections[topic], int(time_ns), bytes(data))

    def write_message(self, topic: str, time_ns: int, msg) -> None:
        """Append an rclpy message (serialized here)."""
        from rclpy.serialization import serialize_message

        self.write(topic, time_ns, serialize_message(msg))


def _open(path: str | pathlib.Path):
    from rosbags.rosbag2 import Reader
    from rosbags.rosbag2.errors import ReaderError

    path = pathlib.Path(path)
    if not (path / 'metadata.yaml').is_file():
        raise ConfigError(f'{path} is not a rosbag2 bag (a folder with metadata.yaml)')
    try:
        reader = Reader(path)
        reader.open()
    except ReaderError as exc:
        raise ConfigError(f'cannot read the bag {path}: {exc}') from None
    return reader


def bag_info(path: str | pathlib.Path) -> tuple[float, list[TopicInfo]]:
    """Duration [s] and topics of the bag at ``path``."""
    from rosbags.interfaces import QosDurability, QosReliability

    reader = _open(path)
    try:
        topics = []
        for name, info in sorted(reader.topics.items()):
            qos = [q for c in info.connections for q in c.ext.offered_qos_profiles]
            topics.append(TopicInfo(
                name, info.msgtype or '', info.msgcount,
                reliable=not qos or all(q.reliability == QosReliability.RELIABLE for q in qos),
                transient_local=bool(qos) and all(
                    q.durability == QosDurability.TRANSIENT_LOCAL for q in qos)))
        return reader.duration / 1e9, topics
    finally:
        reader.close()


def read_bag(path: str | pathlib.Path, topics: list[str] | None = None,
             start_offset_s: float = 0.0) -> Iterator[BagMessage]:
    """The bag's messages in time order (only ``topics`` when given), from ``start_offset_s``
    after its start."""
    from rosbags.rosbag2.errors import ReaderError

    reader = _open(path)
    try:
        connections = [c for c in reader.connections if topics is None or c.topic in topics]
        start = reader.start_time + int(start_offset_s * 1e9)
        try:
            for connection, time_ns, data in reader.messages(connections=connections,
                                                             start=start):
                yield BagMessage(time_ns, connection.topic, connection.msgtype, bytes(data))
        except ReaderError as exc:
            raise ConfigError(f'the bag {path} is damaged: {exc}') from None
    finally:
        reader.close()
