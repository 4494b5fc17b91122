"""A simple go-to-pose controller for a differential base: turn, drive, turn.

``GoToPose.command(x, y, yaw)`` takes the base's current pose (odometry) and returns the
``cmd_vel`` to send (forward m/s, turn rad/s) and whether the goal pose is reached. Far from
the goal it first turns towards it (driving only while roughly facing it), then drives with
a heading correction, then turns to the goal's heading. Speeds ramp down near the goal so the
base does not overshoot at the command rate. No obstacle avoidance: that is Nav2's job on a
real robot; in the simulator the paths between places are clear.
"""
from __future__ import annotations

import dataclasses
import math

__all__ = ['GoToPose', 'wrap']


def wrap(angle: float) -> float:
    """``angle`` in [-pi, pi)."""
    return (angle + math.pi) % (2 * math.pi) - math.pi


@dataclasses.dataclass
class GoToPose:
    """Turn-drive-turn controller towards (x, y, yaw); see the module docstring."""

    x: float
    y: float
    yaw: float
    max_linear: float = 0.5        # m/s
    max_angular: float = 1.2       # rad/s
    position_tolerance: float = 0.05   # m
    yaw_tolerance: float = 0.05    # rad
    gain_linear: float = 1.2       # 1/s
    gain_angular: float = 2.5      # 1/s

    def distance(self, x: float, y: float) -> float:
        return math.hypot(self.x - x, self.y - y)

    def command(self, x: float, y: float, yaw: float) -> tuple[float, float, bool]:
        """(forward, turn, reached) for the base at (x, y, yaw)."""
        distance = self.distance(x, y)
        if distance > self.position_tolerance:
            heading_error = wrap(math.atan2(self.y - y, self.x - x) - yaw)
            turn = self._clamp(self.gain_angular * heading_error, self.max_angular)
            if abs(heading_error) > 0.35:   # face the goal first
                return 0.0, turn, False
            forward = min(self.max_linear, self.gain_linear * distance) * math.cos(heading_error)
            return max(forward, 0.0), turn, False
        yaw_error = wrap(self.yaw - yaw)
        if abs(yaw_error) > self.yaw_tolerance:
            return 0.0, self._clamp(self.gain_angular * yaw_error, self.max_angular), False
        return 0.0, 0.0, True

    @staticmethod
    def _clamp(value: float, limit: float) -> float:
        return max(-limit, min(limit, value))
