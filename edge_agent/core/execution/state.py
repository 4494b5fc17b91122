"""What the robot holds and where it is, as the executor's finished steps leave it.

The planner needs it to be right ("put the ball on the shelf" picks first unless the ball is
already held) and the executor checks every step against it before any adapter moves: a pick
with a full gripper or a place of something not held fails with the reason, on every adapter.
Thread-safe: goals run on one thread while the node publishes the state from another.
"""
from __future__ import annotations

import dataclasses
import threading

from edge_agent.core.planning.skills import Step

__all__ = ['RobotState', 'RobotStateTracker']


@dataclasses.dataclass(frozen=True)
class RobotState:
    """A snapshot: ``location`` is a catalog place ('' = unknown), ``held`` an object phrase
    ('' = nothing)."""

    location: str = ''
    held: str = ''


class RobotStateTracker:
    """The robot state, updated by the steps that succeed; see the module docstring."""

    def __init__(self, state: RobotState | None = None) -> None:
        self._state = state or RobotState()
        self._home = self._state.location   # where come_back returns ('' = not a place)
        self._lock = threading.Lock()

    def mark_home(self) -> None:
        """A plan that moves the base begins here: ``come_back`` returns to this place."""
        with self._lock:
            self._home = self._state.location

    def snapshot(self) -> RobotState:
        with self._lock:
            return self._state

    def reset(self, state: RobotState | None = None) -> None:
        with self._lock:
            self._state = state or RobotState()

    def precondition(self, step: Step) -> str | None:
        """Why ``step`` cannot run in the current state, or None."""
        state = self.snapshot()
        if step.skill == 'pick':
            if state.held and state.held != step.args.get('object'):
                return f'already holding the {state.held}; place it first'
        elif step.skill == 'place':
            if state.held != step.args.get('object'):
                held = f'the {state.held}' if state.held else 'nothing'
                return f'not holding the {step.args.get("object")} (holding {held})'
        return None

    def apply(self, step: Step) -> RobotState:
        """Record the effect of ``step``, which succeeded; returns the new state."""
        with self._lock:
            if step.skill == 'navigate_to':
                self._state = dataclasses.replace(self._state, location=step.args['location'])
            elif step.skill == 'pick':
                self._state = dataclasses.replace(self._state, held=step.args['object'])
            elif step.skill == 'drive':   # off the place, somewhere unnamed
                self._state = dataclasses.replace(self._state, location='')
            elif step.skill == 'come_back':
                self._state = dataclasses.replace(self._state, location=self._home)
            elif step.skill == 'place':
                self._state = dataclasses.replace(self._state, held='',
                                                  location=step.args['location'])
            return self._state
