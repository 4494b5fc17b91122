"""Oversized inputs over real DDS: RSS of the vision and speech nodes' process before and after
repeated huge images and audio chunks, and what the nodes counted.

One process holds the vision node (bundled detector) and the speech node (floor tier); a second
process publishes, as a real foreign participant would: ``--count`` images of WxH rgb8 on
``camera/image_raw`` and as many audio chunks of ``--chunk-mb`` MB on ``audio`` (both above the
nodes' limits), each followed by a valid input. RSS is read from /proc after a warm-up with
valid inputs, after the first oversized input, and after all of them.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import textwrap
import time

from edge_agent.bench.common import rss_mb

__all__ = ['main']

PUBLISHER = textwrap.dedent('''
    import sys, time, rclpy
    from rclpy.node import Node
    from rclpy.qos import qos_profile_sensor_data as SENSOR
    from sensor_msgs.msg import Image
    from edge_agent.msg import AudioChunk
    count, w, h, chunk = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    rclpy.init()
    node = Node('oversized_publisher')
    cam = node.create_publisher(Image, 'camera/image_raw', SENSOR)
    mic = node.create_publisher(AudioChunk, 'audio', SENSOR)
    while cam.get_subscription_count() < 1 or mic.get_subscription_count() < 1:
        time.sleep(0.05)
    big = Image(width=w, height=h, encoding='rgb8', step=w * 3, data=bytes(w * h * 3))
    small = Image(width=64, height=48, encoding='rgb8', step=192, data=bytes(64 * 48 * 3))
    loud = AudioChunk(encoding='s16le', channels=1, sample_rate=16000, data=bytes(chunk))
    quiet = AudioChunk(encoding='s16le', channels=1, sample_rate=16000, data=bytes(3200))
    print('ready', flush=True)
    sys.stdin.readline()
    for i in range(count):
        cam.publish(big); mic.publish(loud)
        time.sleep(0.05)
        cam.publish(small); mic.publish(quiet)
        print('sent', i + 1, flush=True)
        if i == 0:
            sys.stdin.readline()
        time.sleep(0.05)
''')


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--count', type=int, default=100)
    parser.add_argument('--size', default='4000x3000', help='image WxH (rgb8)')
    parser.add_argument('--chunk-mb', type=float, default=10.0)
    parser.add_argument('--shm-profile', choices=('true', 'false'), default='true',
                        help="the graph's Fast DDS profile (as `edge-agent up` loads it) or the "
                             "middleware's defaults, in both processes")
    args = parser.parse_args()
    w, h = (int(v) for v in args.size.split('x'))
    # before the first participant of either process (Fast DDS reads the profile once)
    from edge_agent.app.graph import DDS_PROFILE
    from edge_agent.app.runner import AgentGraph

    os.environ.update(AgentGraph({'shm_profile': args.shm_profile}).environment())

    from rclpy.parameter import Parameter

    from edge_agent.bench.common import running_graph
    from edge_agent.nodes.speech import SpeechNode
    from edge_agent.nodes.vision import VisionNode

    def make_nodes(context):
        return [VisionNode(context=context),
                SpeechNode(context=context, parameter_overrides=[Parameter('tier', value=2)])]

    with running_graph(make_nodes) as (nodes, _probe):
        vision, speech = nodes
        publisher = subprocess.Popen(
            [sys.executable, '-c', PUBLISHER, str(args.count), str(w), str(h),
             str(int(args.chunk_mb * 1e6))], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            text=True, env=dict(os.environ))
        try:
            assert publisher.stdout.readline().strip() == 'ready'
            before = rss_mb()
            publisher.stdin.write('\n')
            publisher.stdin.flush()
            publisher.stdout.readline()
            time.sleep(1.0)
            after_first = rss_mb()
            publisher.stdin.write('\n')
            publisher.stdin.flush()
            publisher.wait(timeout=600)
            time.sleep(2.0)
            after_all = rss_mb()
        finally:
            publisher.kill()
    v, s = vision._stats, speech._stats
    profile = DDS_PROFILE if args.shm_profile == 'true' else 'none'
    print(f'Fast DDS profile: {profile}')
    print(f'{args.count} images of {w}x{h} rgb8 ({w * h * 3 / 1e6:.0f} MB) and {args.count} '
          f'audio chunks of {args.chunk_mb:g} MB, each followed by a valid one')
    print(f'RSS before {before:.0f} MB, after the first {after_first:.0f} MB '
          f'(+{after_first - before:.0f}), after all {after_all:.0f} MB '
          f'(+{after_all - after_first:.0f} since the first)')
    print(f'vision: frames_oversized {v["frames_oversized"]}, lost in the middleware '
          f'{v.get("camera_image_raw_lost", 0)}, valid frames processed '
          f'{v["frames_processed"]}')
    print(f'speech: chunks_oversized {s["chunks_oversized"]}, lost in the middleware '
          f'{s.get("audio_lost", 0)}')
    return 0
