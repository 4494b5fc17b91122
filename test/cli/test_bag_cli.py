"""`edge-agent bag record|play|info` as a user runs them (subprocesses over real DDS): Ctrl-C
ends a recording with every message written and the bag readable; play publishes a bag into
a listener; info describes it; bad input is one error line."""
from __future__ import annotations

import os
import pathlib
import signal
import subprocess
import sys
import time

from rclpy.node import Node
from rclpy.qos import qos_profile_sensor_data
from ros_helpers import wait_for

from edge_agent.bags.bag import bag_info
from edge_agent.msg import AudioChunk

ROOT = pathlib.Path(__file__).resolve().parents[2]
SCENARIO = ROOT / 'test' / 'data' / 'scenarios' / 'clear_command'


def _cli(*args: str, **kwargs):
    return subprocess.Popen([sys.executable, '-m', 'edge_agent.cli', *args], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env={**os.environ, 'PYTHONUNBUFFERED': '1'}, **kwargs)


def test_record_stops_on_ctrl_c_with_a_complete_bag(ros_context, executor, tmp_path):
    talker = executor.add(Node('talker', context=ros_context))
    audio = talker.create_publisher(AudioChunk, 'audio', qos_profile_sensor_data)
    bag = tmp_path / 'rec'
    proc = _cli('bag', 'record', '/audio', '-o', str(bag))
    try:
        wait_for(lambda: audio.get_subscription_count() >= 1, timeout=30,
                 message='the recorder subscribed')
        for _ in range(100):   # a microphone's pace, 50 chunks a second
            audio.publish(AudioChunk(encoding='s16le', channels=1, sample_rate=16000,
                                     data=b'\1\0' * 160))
            time.sleep(0.02)
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, out
    _duration, topics = bag_info(bag)
    (info,) = topics
    assert info.name == '/audio' and info.type == 'edge_agent/msg/AudioChunk'
    # best effort: the first chunks may go before the recorder's reader has matched
    assert 50 <= info.count <= 100 and f'recorded /audio: {info.count}' in out


def test_play_publishes_a_bag_and_info_describes_it(ros_context, executor):
    listener = executor.add(Node('listener', context=ros_context))
    got = []
    listener.create_subscription(AudioChunk, 'robot1/audio', got.append, 500)
    proc = _cli('bag', 'play', str(SCENARIO), '--rate', '20', '--topics', '/audio',
                '--namespace', 'robot1', '--wait-for-subscribers', '30')
    out, _ = proc.communicate(timeout=120)
    assert proc.returncode == 0, out
    _duration, topics = bag_info(SCENARIO)
    count = {t.name: t.count for t in topics}['/audio']
    assert f'published {count} messages' in out
    wait_for(lambda: len(got) == count, timeout=30, message='every audio chunk')
    info = _cli('bag', 'info', str(SCENARIO))
    text, _ = info.communicate(timeout=60)
    assert info.returncode == 0 and '/camera/image_raw' in text and 'best effort' in text


def test_bad_bag_paths_are_one_error_line(tmp_path):
    for args in (('bag', 'info', str(tmp_path)), ('bag', 'play', str(tmp_path / 'none')),
                 ('bag', 'record', '/audio', '-o', str(SCENARIO))):
        proc = _cli(*args)
        out, _ = proc.communicate(timeout=60)
        assert proc.returncode == 2, out
        assert out.startswith('edge-agent: error:') and 'Traceback' not in out, out
