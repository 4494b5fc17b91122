"""A clock that moves only when a test moves it (``clock.now += 2.0``), for the core classes
that take a ``clock`` callable (health, supervision). No rclpy."""
from __future__ import annotations


class ManualClock:
    def __init__(self, start: float = 0.0) -> None:
        self.now = float(start)

    def __call__(self) -> float:
        return self.now
