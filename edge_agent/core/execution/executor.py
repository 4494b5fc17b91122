"""Run a plan's steps through a skill adapter, one at a time, with cancel and preemption.

The executor checks before every step whether the plan was cancelled (the user or a stop) or
preempted (a newer command), and passes the adapter an ``interrupted`` callable so a running
skill ends early too. A plan that is itself a stop is never preempted: a stop always wins.
Adapters implement ``SkillAdapter``; ``DryRunAdapter`` only waits ``step_time_s`` per step.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
import dataclasses
import threading
import time
from typing import Protocol

from edge_agent.core.planning.skills import Step

__all__ = ['DryRunAdapter', 'ExecutionResult', 'Executor', 'SkillAdapter', 'StepOutcome']

SUCCEEDED, CANCELED, PREEMPTED, FAILED = 'succeeded', 'canceled', 'preempted', 'failed'


@dataclasses.dataclass(frozen=True)
class StepOutcome:
    """How one step ended."""

    index: int
    skill: str
    success: bool
    message: str
    duration_s: float = 0.0


@dataclasses.dataclass
class ExecutionResult:
    """How the whole plan ended: ``outcome`` is succeeded, canceled, preempted or failed."""

    outcome: str
    message: str
    steps: list[StepOutcome]

    @property
    def success(self) -> bool:
        return self.outcome == SUCCEEDED


class SkillAdapter(Protocol):
    """Runs one skill on a robot (or a simulator, or nothing)."""

    name: str

    def run(self, step: Step, interrupted: Callable[[], bool]) -> tuple[bool, str]:
        """Do ``step``; return (success, message). Return early when ``interrupted()``."""


class DryRunAdapter:
    """Performs nothing: each step takes ``step_time_s`` (ends early when interrupted); a stop
    is done at once."""

    name = 'dry_run'

    def __init__(self, step_time_s: float = 0.2, poll_s: float = 0.01) -> None:
        self.step_time_s = step_time_s
        self.poll_s = poll_s
        self._wake = threading.Event()

    def run(self, step: Step, interrupted: Callable[[], bool]) -> tuple[bool, str]:
        if step.skill == 'stop':
            return True, 'dry run: stopped'  # stopping takes no time
        deadline = time.monotonic() + self.step_time_s
        while not interrupted():
            left = deadline - time.monotonic()
            if left <= 0:
                return True, f'dry run: {step.describe()}'
            self._wake.wait(min(left, self.poll_s))
        return False, f'dry run: {step.describe()} interrupted'


class Executor:
    """Runs plans through one adapter; see the module docstring."""

    def __init__(self, adapter: SkillAdapter) -> None:
        self.adapter = adapter

    def run(self, steps: Sequence[Step], cancelled: Callable[[], bool] = lambda: False,
            preempted: Callable[[], bool] = lambda: False,
            on_step: Callable[[int, Step], None] | None = None) -> ExecutionResult:
        """Run ``steps`` in order; ``on_step(index, step)`` is called as each one starts."""
        is_stop = [s.skill for s in steps] == ['stop']
        done: list[StepOutcome] = []

        def preempted_now() -> bool:
            return not is_stop and preempted()

        def interrupted() -> bool:
            return cancelled() or preempted_now()

        for index, step in enumerate(steps):
            if cancelled():
                return ExecutionResult(CANCELED, 'canceled', done)
            if preempted_now():
                return ExecutionResult(PREEMPTED, 'preempted by a newer command', done)
            if on_step is not None:
                on_step(index, step)
            began = time.monotonic()
            try:
                ok, message = self.adapter.run(step, interrupted)
            except Exception as exc:  # noqa: BLE001 - a broken adapter fails the plan, no crash
                ok, message = False, f'{self.adapter.name} raised {type(exc).__name__}: {exc}'
            done.append(StepOutcome(index, step.skill, ok, message, time.monotonic() - began))
            if not ok:
                if cancelled():
                    return ExecutionResult(CANCELED, 'canceled', done)
                if preempted_now():
                    return ExecutionResult(PREEMPTED, 'preempted by a newer command', done)
                return ExecutionResult(FAILED, f'step {index} ({step.describe()}) failed: '
                                               f'{message}', done)
        return ExecutionResult(SUCCEEDED, f'{len(done)} step(s) done', done)
