"""Controllers for a differential base on odometry: go to a pose, drive straight, turn by.

``GoToPose.command(x, y, yaw)`` takes the base's current pose (odometry) and returns the
``cmd_vel`` to send (forward m/s, turn rad/s) and whether the goal pose is reached. Far from
the goal it first turns towards it (driving only while roughly facing it), then drives with
a heading correction, then turns to the goal's heading. Speeds ramp down near the goal so the
base does not overshoot at the command rate. No obstacle avoidance: that is Nav2's job on a
real robot; in the simulator the paths between places are clear.

``DriveStraight`` drives a distance (negative: backward) along the heading the base had when
it began, holding that heading and line; ``TurnBy`` turns an angle in place, counting the turn
across the +-pi wrap (a full 360 degree turn ends where it began). Both slow down near the end
and report the distance or angle left.
"""
from __future__ import annotations

import dataclasses
import math

__all__ = ['DriveStraight', 'GoToPose', 'TurnBy', 'wrap']


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
        return _clamp(value, limit)


def _clamp(value: float, limit: float) -> float:
    return max(-limit, min(limit, value))


def _ramp(error: float, gain: float, top: float, floor: float) -> float:
    """``gain * error`` limited to ``top``, but at least ``floor`` (so it never stalls short)."""
    magnitude = min(top, max(floor, gain * abs(error)))
    return math.copysign(magnitude, error)


@dataclasses.dataclass
class DriveStraight:
    """Drive ``distance`` m from (x0, y0) along ``yaw0`` (negative: backward)."""

    x0: float
    y0: float
    yaw0: float
    distance: float
    max_linear: float = 0.3        # m/s
    max_angular: float = 1.0       # rad/s
    tolerance: float = 0.01        # m
    gain_linear: float = 1.5       # 1/s
    gain_heading: float = 2.5      # 1/s
    gain_line: float = 2.0         # rad/s per m off the line
    min_linear: float = 0.03       # m/s

    def remaining(self, x: float, y: float) -> float:
        """Distance still to go along the line [m] (negative once past the end)."""
        along = (x - self.x0) * math.cos(self.yaw0) + (y - self.y0) * math.sin(self.yaw0)
        return self.distance - along

    def command(self, x: float, y: float, yaw: float) -> tuple[float, float, bool]:
        """(forward, turn, done) for the base at (x, y, yaw)."""
        left = self.remaining(x, y)
        if abs(left) <= self.tolerance:
            return 0.0, 0.0, True
        forward = _ramp(left, self.gain_linear, self.max_linear, self.min_linear)
        across = -(x - self.x0) * math.sin(self.yaw0) + (y - self.y0) * math.cos(self.yaw0)
        # steer back onto the line (driving backward, the same offset needs the other turn)
        turn = (self.gain_heading * wrap(self.yaw0 - yaw)
                - math.copysign(self.gain_line * across, forward))
        return forward, _clamp(turn, self.max_angular), False


@dataclasses.dataclass
class TurnBy:
    """Turn ``angle`` rad in place (positive: left), from the yaw of the first ``command``."""

    angle: float
    max_angular: float = 1.0       # rad/s
    tolerance: float = 0.01        # rad
    gain: float = 2.5              # 1/s
    min_angular: float = 0.08      # rad/s
    turned: float = 0.0            # so far [rad]
    _last: float | None = None

    def remaining(self) -> float:
        return self.angle - self.turned

    def command(self, yaw: float) -> tuple[float, bool]:
        """(turn, done) for the base at ``yaw``."""
        if self._last is not None:
            self.turned += wrap(yaw - self._last)
        self._last = yaw
        left = self.remaining()
        if abs(left) <= self.tolerance:
            return 0.0, True
        return _ramp(left, self.gain, self.max_angular, self.min_angular), False
