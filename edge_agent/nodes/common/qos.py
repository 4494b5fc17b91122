"""The house QoS profiles (DESIGN.md, house style 5).
"""
from __future__ import annotations

from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy
from rclpy.qos_overriding_options import QoSOverridingOptions

__all__ = ['LATCHED', 'OVERRIDABLE', 'RELIABLE', 'SENSOR']


# Commands, plans and transcripts: reliable, depth 10.
RELIABLE = QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE)
# Camera and microphone streams: best effort, shallow (a late chunk is worth less than a new one).
SENSOR = QoSProfile(depth=5, reliability=ReliabilityPolicy.BEST_EFFORT)
# State such as the model tier: the last value, kept for late joiners.
LATCHED = QoSProfile(depth=1, reliability=ReliabilityPolicy.RELIABLE,
                     durability=DurabilityPolicy.TRANSIENT_LOCAL)
# Streams whose QoS a deployment may tune from YAML, e.g.
#   qos_overrides./audio.subscription: {depth: 50, reliability: reliable}
OVERRIDABLE = QoSOverridingOptions.with_default_policies()

