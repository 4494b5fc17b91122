"""Bags over real DDS: record the graph's kinds of topics (a custom type, images, a latched
state) into MCAP and sqlite3 bags, read them back byte for byte, check the MCAP carries the
message definitions a reader without our package (Foxglove, mcap-ros2-support) decodes with,
and play bags back (order, /clock, topic filter, start offset, loop, QoS). Bad bags, bad
arguments and damaged files give a clear error."""
from __future__ import annotations

import pathlib
import threading

import pytest
from rclpy.node import Node
from rclpy.qos import qos_profile_sensor_data
from rclpy.serialization import deserialize_message
from ros_helpers import rgb_image, wait_for

from edge_agent.bags.bag import BagWriter, bag_info, read_bag
from edge_agent.bags.ros import BagPlayer, BagRecorder
from edge_agent.core.errors import ConfigError
from edge_agent.msg import AudioChunk, ModelTier
from edge_agent.nodes.common import LATCHED

SCENARIOS = pathlib.Path(__file__).resolve().parents[1] / 'data' / 'scenarios'


def _chunk(i: int) -> AudioChunk:
    msg = AudioChunk(encoding='s16le', channels=1, sample_rate=16000, data=bytes([i % 256]) * 320)
    msg.header.stamp.sec, msg.header.frame_id = i, 'mic'
    return msg


@pytest.mark.parametrize('storage', ['mcap', 'sqlite3'])
def test_record_writes_what_was_published_with_types_and_qos(ros_context, executor, tmp_path,
                                                             storage):
    import numpy as np
    from sensor_msgs.msg import Image

    talker = executor.add(Node('talker', context=ros_context))
    audio = talker.create_publisher(AudioChunk, 'audio', qos_profile_sensor_data)
    camera = talker.create_publisher(Image, 'camera/image_raw', 10)
    tier = talker.create_publisher(ModelTier, 'system/model_tier', LATCHED)
    # published before the recorder exists: latched, so it is recorded all the same
    tier.publish(ModelTier(tier_index=1, tier_name='reduced'))
    recorder_node = executor.add(Node('recorder', context=ros_context))
    frame = rgb_image(np.arange(24 * 32 * 3, dtype=np.uint8).reshape(24, 32, 3))
    bag = tmp_path / 'bag'
    recorder = BagRecorder(recorder_node, bag, ['audio', '/camera/image_raw',
                                                 'system/model_tier'], storage=storage)
    wait_for(lambda: len(recorder.counts) == 3, timeout=30, message='all topics found')
    wait_for(lambda: audio.get_subscription_count() and camera.get_subscription_count(),
             message='the recorder subscribed')
    sent = 0

    def both_recorded() -> bool:
        nonlocal sent
        audio.publish(_chunk(sent))
        camera.publish(frame)
        sent += 1
        return recorder.counts['/audio'] >= 20 and recorder.counts['/camera/image_raw'] >= 5
    wait_for(both_recorded, timeout=30, interval=0.05, message='messages recorded')
    wait_for(lambda: recorder.counts['/system/model_tier'] == 1, message='latched tier')
    recorder.close()
    assert recorder.dropped == 0
    duration, topics = bag_info(bag)
    by_name = {t.name: t for t in topics}
    assert by_name['/audio'].type == 'edge_agent/msg/AudioChunk'
    assert not by_name['/audio'].reliable                      # best effort, as offered
    assert by_name['/system/model_tier'].transient_local       # latched, as offered
    assert by_name['/camera/image_raw'].reliable and duration > 0
    messages = list(read_bag(bag))
    assert [m.time_ns for m in messages] == sorted(m.time_ns for m in messages)
    chunks = [deserialize_message(m.data, AudioChunk) for m in messages if m.topic == '/audio']
    assert len(chunks) == recorder.counts['/audio']
    assert all(c.data == _chunk(c.header.stamp.sec).data for c in chunks)
    images = [deserialize_message(m.data, Image) for m in messages
              if m.topic == '/camera/image_raw']
    assert all(bytes(i.data) == bytes(frame.data) and i.width == 32 for i in images)
    tiers = [deserialize_message(m.data, ModelTier) for m in messages
             if m.topic == '/system/model_tier']
    assert [(t.tier_index, t.tier_name) for t in tiers] == [(1, 'reduced')]


def test_scenario_bags_are_small_mcap_files_a_generic_reader_decodes():
    """What Foxglove needs: MCAP with zstd chunks, ros2msg schemas holding every nested
    definition, decodable by mcap-ros2-support without edge_agent's interfaces; and the
    rosbag2 metadata `ros2 bag info` reads."""
    from mcap.reader import make_reader
    from mcap_ros2.decoder import DecoderFactory
    import yaml

    bags = sorted(p for p in SCENARIOS.iterdir() if p.is_dir())
    assert len(bags) >= 8
    for bag in bags:
        size = sum(f.stat().st_size for f in bag.iterdir())
        assert size < 2_000_000, f'{bag.name}: {size} bytes'
        meta = yaml.safe_load((bag / 'metadata.yaml').read_text())['rosbag2_bagfile_information']
        assert meta['storage_identifier'] == 'mcap' and meta['version'] == 9
        (mcap_file,) = bag.glob('*.mcap')
        with mcap_file.open('rb') as f:
            reader = make_reader(f, decoder_factories=[DecoderFactory()])
            summary = reader.get_summary()
            assert {c.compression for c in summary.chunk_indexes} == {'zstd'}
            schemas = {s.name: s for s in summary.schemas.values()}
            assert schemas['edge_agent/msg/AudioChunk'].encoding == 'ros2msg'
            assert b'MSG: std_msgs/Header' in schemas['edge_agent/msg/AudioChunk'].data
            decoded = {'/audio': 0, '/camera/image_raw': 0}
            for _schema, channel, _message, msg in reader.iter_decoded_messages():
                decoded[channel.topic] += 1
                if channel.topic == '/audio':
                    assert msg.encoding == 's16le' and msg.sample_rate == 16000
                else:
                    assert msg.encoding == 'rgb8' and len(msg.data) == msg.step * msg.height
        counts = {t['topic_metadata']['name']: t['message_count']
                  for t in meta['topics_with_message_count']}
        assert decoded == counts and counts['/audio'] > 0 and counts['/camera/image_raw'] > 0
        assert (SCENARIOS / f'{bag.name}.expect.yaml').is_file()


def _small_bag(path, n: int = 30, step_ms: int = 20) -> pathlib.Path:
    with BagWriter(path) as writer:
        writer.topic('/audio', 'edge_agent/msg/AudioChunk', 'sensor')
        writer.topic('/system/model_tier', 'edge_agent/msg/ModelTier', 'latched')
        writer.write_message('/system/model_tier', 10**18,
                             ModelTier(tier_index=2, tier_name='floor'))
        for i in range(n):
            writer.write_message('/audio', 10**18 + i * step_ms * 10**6, _chunk(i))
    return path


def test_play_publishes_in_order_with_clock_and_latched_qos(ros_context, executor, tmp_path):
    from rosgraph_msgs.msg import Clock

    bag = _small_bag(tmp_path / 'bag')
    listener = executor.add(Node('listener', context=ros_context))
    got, clocks, tiers = [], [], []
    lock = threading.Lock()

    def on_audio(msg):
        with lock:
            got.append(msg.header.stamp.sec)
    listener.create_subscription(AudioChunk, 'audio', on_audio, 100)
    listener.create_subscription(Clock, '/clock', lambda m: clocks.append(
        m.clock.sec * 10**9 + m.clock.nanosec), 100)
    player_node = executor.add(Node('player', context=ros_context))
    player = BagPlayer(player_node, bag)
    wait_for(lambda: player_node.count_subscribers('/audio') >= 1, message='the listener')
    player.start()
    assert player.wait(30)
    # late joiner: the latched tier reaches a subscriber made after it was played
    listener.create_subscription(ModelTier, 'system/model_tier', tiers.append, LATCHED)
    wait_for(lambda: len(got) == 30 and tiers, timeout=30, message='every message')
    wait_for(lambda: len(clocks) > 3, message='/clock')
    player.stop()
    assert got == list(range(30)) and tiers[0].tier_name == 'floor'
    assert clocks == sorted(clocks) and clocks[0] >= 10**18
    assert player.published == 31


def test_play_filters_topics_skips_to_an_offset_and_loops(ros_context, executor, tmp_path):
    bag = _small_bag(tmp_path / 'bag', n=20, step_ms=100)
    listener = executor.add(Node('listener', context=ros_context))
    got = []
    listener.create_subscription(AudioChunk, 'audio', lambda m: got.append(m.header.stamp.sec),
                                 100)
    node = executor.add(Node('player', context=ros_context))
    player = BagPlayer(node, bag, topics=['audio'], start_offset_s=1.0, rate=4.0,
                       clock_hz=0)
    assert player.topics == ['/audio']
    wait_for(lambda: node.count_subscribers('/audio') >= 1, message='the listener')
    player.start()
    assert player.wait(30)
    wait_for(lambda: len(got) == 10, message='the last ten chunks')
    assert got == list(range(10, 20)) and player.published == 10
    looping = BagPlayer(node, bag, topics=['/audio'], loop=True, rate=10.0, clock_hz=0)
    looping.start()
    wait_for(lambda: looping.published > 45, timeout=30, message='more than two rounds')
    looping.stop()
    assert not looping.finished.is_set() or looping.error is None


def test_bad_bags_and_arguments_give_clear_errors(ros_context, tmp_path):
    node = Node('player', context=ros_context)
    try:
        with pytest.raises(ConfigError, match='not a rosbag2 bag'):
            bag_info(tmp_path)
        bag = _small_bag(tmp_path / 'bag')
        with pytest.raises(ConfigError, match='not in the bag'):
            BagPlayer(node, bag, topics=['/camera/image_raw'])
        for rate in (0.0, -1.0, float('inf'), float('nan')):
            with pytest.raises(ConfigError, match='rate'):
                BagPlayer(node, bag, rate=rate)
        with pytest.raises(ConfigError, match='exists already'):
            BagWriter(bag)
        with BagWriter(tmp_path / 'other') as writer:
            with pytest.raises(ConfigError, match='no definition'):
                writer.topic('/x', 'nope_msgs/msg/Nothing')
            with pytest.raises(ConfigError, match='qos'):
                writer.topic('/y', 'std_msgs/msg/String', 'fast')
        (mcap_file,) = bag.glob('*.mcap')
        data = mcap_file.read_bytes()
        mcap_file.write_bytes(data[:len(data) // 2])   # a copy cut off half way
        with pytest.raises(ConfigError, match='bag'):
            list(read_bag(bag))
    finally:
        node.destroy_node()
