"""Benchmark camera images over DDS between two processes: 640x480 rgb8 sensor_msgs/Image at
30 Hz, from publishing to the subscriber's callback (p50, p95) and how many arrive, best effort
(as the camera publishes) and reliable, with Fast DDS's default transports and with the graph's
shared-memory profile (config/fastdds_shm.xml) in the same run; the ratios default / shared
memory.
Usage: python -m edge_agent.bench transport [--images 150] [--rate 30] [--json FILE]
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

WIDTH, HEIGHT = 640, 480


def _qos(reliable: bool):
    from rclpy.qos import QoSProfile, ReliabilityPolicy

    from edge_agent.nodes.common import SENSOR

    return QoSProfile(depth=5, reliability=ReliabilityPolicy.RELIABLE) if reliable else SENSOR


def _publisher(count: int, rate: float, reliable: bool) -> int:
    """The camera process: ``count`` images at ``rate``, each stamped as it is published."""
    import numpy as np
    import rclpy
    from rclpy.node import Node
    from sensor_msgs.msg import Image

    rclpy.init()
    node = Node('bench_camera')
    pub = node.create_publisher(Image, 'camera/image_raw', _qos(reliable))
    frame = np.random.default_rng(0).integers(0, 255, (HEIGHT, WIDTH, 3), np.uint8).tobytes()
    deadline = time.monotonic() + 30
    while pub.get_subscription_count() == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(1.0)   # discovery settles (the subscriber's side of the match)
    msg = Image(width=WIDTH, height=HEIGHT, encoding='rgb8', step=WIDTH * 3, data=frame)
    for i in range(count):
        msg.header.frame_id = str(i)
        msg.header.stamp = node.get_clock().now().to_msg()
        pub.publish(msg)
        time.sleep(1.0 / rate)
    time.sleep(1.0)
    node.destroy_node()
    rclpy.try_shutdown()
    return 0


def measure(profile: bool, count: int, rate: float, reliable: bool) -> dict:
    """Latency of ``count`` images from a publisher process to this one, with or without the
    graph's shared-memory profile (both processes)."""
    import rclpy
    from rclpy.node import Node
    from rclpy.time import Time
    from sensor_msgs.msg import Image

    from edge_agent.app.graph import DDS_PROFILE, dds_profile_env, ros_distro
    from edge_agent.core.config.paths import data_file

    env = dict(os.environ)
    for name in ('FASTRTPS_DEFAULT_PROFILES_FILE', 'FASTDDS_DEFAULT_PROFILES_FILE'):
        env.pop(name, None)
    if profile:
        env.update(dds_profile_env(str(data_file(DDS_PROFILE)), ros_distro()))
    code = (f'from edge_agent.bench.transport import _publisher; '
            f'raise SystemExit(_publisher({count}, {rate}, {reliable}))')
    received: list[float] = []
    # this process's participant must use the same transports: a child measures
    child = subprocess.Popen([sys.executable, '-c', code], env=env)
    try:
        os.environ.update({k: v for k, v in env.items() if 'PROFILES_FILE' in k})
        rclpy.init()
        node = Node('bench_transport')

        def take(msg) -> None:
            now = node.get_clock().now()
            received.append((now - Time.from_msg(msg.header.stamp)).nanoseconds / 1e9)

        node.create_subscription(Image, 'camera/image_raw', take, _qos(reliable))
        deadline = time.monotonic() + 60 + count / rate
        while child.poll() is None and time.monotonic() < deadline:
            rclpy.spin_once(node, timeout_sec=0.05)
        node.destroy_node()
        rclpy.try_shutdown()
    finally:
        if child.poll() is None:
            child.kill()
        child.wait()
    values = sorted(received)
    return {'profile': 'shared memory' if profile else 'default',
            'qos': 'reliable' if reliable else 'best effort', 'images': count,
            'received': len(values),
            'p50_ms': statistics.median(values) * 1e3 if values else None,
            'p95_ms': (statistics.quantiles(values, n=20)[18] * 1e3 if len(values) > 1
                       else None)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--images', type=int, default=150)
    parser.add_argument('--rate', type=float, default=30.0)
    parser.add_argument('--one', nargs=2, help=argparse.SUPPRESS)
    parser.add_argument('--json', help='also write the results to this file')
    args = parser.parse_args()
    if args.one:
        print(json.dumps(measure(args.one[0] == 'shm', args.images, args.rate,
                                 args.one[1] == 'reliable')))
        return 0
    rows = []
    # each in fresh processes: Fast DDS reads its profile once
    for qos in ('best_effort', 'reliable'):
        for which in ('default', 'shm'):
            out = subprocess.run([sys.executable, '-m', 'edge_agent.bench.transport', '--one',
                                  which, qos, '--images', str(args.images), '--rate',
                                  str(args.rate)], capture_output=True, text=True, timeout=600)
            if out.returncode:
                print(out.stderr[-2000:], file=sys.stderr)
                return 1
            rows.append(json.loads(out.stdout.strip().splitlines()[-1]))
    print(f'{WIDTH}x{HEIGHT} rgb8 images at {args.rate:g} Hz between two processes:')
    print(f'{"transport":<15}{"QoS":<13}{"received":>10}{"p50 ms":>9}{"p95 ms":>9}')
    for r in rows:
        print(f'{r["profile"]:<15}{r["qos"]:<13}{r["received"]:>6}/{r["images"]:<3}'
              f'{r["p50_ms"] or float("nan"):>9.2f}{r["p95_ms"] or float("nan"):>9.2f}')
    best_default, best_shm, reliable_default, reliable_shm = rows
    ratio = (reliable_default['p50_ms'] / reliable_shm['p50_ms']
             if reliable_default['p50_ms'] and reliable_shm['p50_ms'] else None)
    delivered = best_shm['received'] / max(best_default['received'], 1)
    print(f'reliable: latency default / shared memory (p50): {ratio:.2f}x' if ratio
          else 'reliable: no ratio')
    print(f'best effort (as the camera publishes): images delivered, shared memory / default: '
          f'{delivered:.1f}x (a 900 KiB image over UDP is ~14 fragments; one lost loses it)')
    if args.json:
        with open(args.json, 'w') as f:
            json.dump({'rows': rows, 'latency_ratio': ratio, 'delivered_ratio': delivered},
                      f, indent=1)
    return 0


if __name__ == '__main__':
    sys.exit(main())
