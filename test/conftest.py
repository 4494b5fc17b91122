"""Test harness: an isolated ROS 2 domain per test run, logs in a temp dir, private contexts.

The environment is set at import time, before any test imports rclpy, because the RMW reads
ROS_DOMAIN_ID and the discovery range when a context is initialised.
"""
import os
import pathlib
import sys
import tempfile

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]


def _isolate_ros_environment() -> None:
    # A domain id derived from the pid keeps concurrent runs on one machine apart; 1..100 stays
    # inside the range whose DDS ports are valid on Linux.
    domain = os.environ.get('EDGE_AGENT_TEST_DOMAIN_ID') or str(1 + os.getpid() % 100)
    os.environ['ROS_DOMAIN_ID'] = domain
    os.environ['ROS_AUTOMATIC_DISCOVERY_RANGE'] = 'LOCALHOST'
    if os.environ.get('ROS_DISTRO') == 'humble':  # Humble predates the discovery-range setting
        os.environ['ROS_LOCALHOST_ONLY'] = '1'
    os.environ['ROS_LOG_DIR'] = tempfile.mkdtemp(prefix='edge_agent_test_ros_log_')
    os.environ.setdefault('RCUTILS_LOGGING_BUFFERED_STREAM', '1')


_isolate_ros_environment()
sys.path.insert(0, str(pathlib.Path(__file__).parent))
pytest.register_assert_rewrite('ros_helpers')


@pytest.fixture
def ros_context():
    """A private, initialised rclpy context, shut down after the test."""
    import rclpy
    from rclpy.context import Context

    context = Context()
    rclpy.init(context=context)
    try:
        yield context
    finally:
        rclpy.try_shutdown(context=context)


@pytest.fixture
def executor(ros_context):
    """The nodes' NodeExecutor spinning in a background thread on ``ros_context``."""
    from ros_helpers import BackgroundExecutor

    with BackgroundExecutor(ros_context) as background:
        yield background
