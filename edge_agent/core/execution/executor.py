"""Run a plan's steps through a skill adapter, one at a time, with cancel, preemption, limits.

The executor checks before every step whether the plan was cancelled (the user or a stop) or
preempted (a newer command), and passes the adapter an ``interrupted`` callable so a running
skill ends early too. A plan that is itself a stop is never preempted: a stop always wins.
Every step is checked against the skill catalog's limits (allowed places; the timeout ends a
step that runs too long) and the robot state (no pick with a full gripper, no place of
something not held) before the adapter moves, whatever made the plan. Adapters implement
``SkillAdapter``; ``DryRunAdapter`` only waits ``step_time_s`` per step; ``RoutedAdapter``
sends each skill to the adapter that can do it.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
import dataclasses
import threading
import time
from typing import Protocol

from edge_agent.core.execution.state import RobotStateTracker
from edge_agent.core.planning.skills import (
    Plan,
    PlanError,
    SkillCatalog,
    Step,
    is_stop_plan,
    moves_from_here,
)

__all__ = ['CANCELED', 'DryRunAdapter', 'ExecutionResult', 'Executor', 'FAILED', 'OUTCOMES',
           'PREEMPTED', 'REJECTED', 'RoutedAdapter', 'STOPPED', 'SUCCEEDED', 'SkillAdapter',
           'StepOutcome', 'answer_message']

# How a plan ends: the one list (edge_agent/ExecutePlan's ``outcome``, the planner's result).
SUCCEEDED, CANCELED, PREEMPTED, FAILED = 'succeeded', 'canceled', 'preempted', 'failed'
STOPPED, REJECTED = 'stopped', 'rejected'   # ended by a stop; refused before it began
OUTCOMES = (SUCCEEDED, CANCELED, PREEMPTED, FAILED, STOPPED, REJECTED)
_ANSWER = 'answer: '


def answer_message(text: str) -> str:
    """The message of an ``ask`` step that heard ``text``; the executor keeps the answer."""
    return f'{_ANSWER}{text}'


@dataclasses.dataclass(frozen=True)
class StepOutcome:
    """How one step ended."""

    index: int
    skill: str
    success: bool
    message: str
    duration_s: float = 0.0
    answer: str = ''          # an ask step's answer (the plan that asked gets it)


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
        """Do ``step``; return (success, message). Return early when ``interrupted()``.

        An adapter that moves the base may also have ``mark_home()``: the executor calls it
        when a plan that moves the base begins, and ``come_back`` returns there."""


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
        seconds = step.args.get('seconds') if step.skill == 'wait' else None
        deadline = time.monotonic() + (float(seconds) if seconds is not None
                                       else self.step_time_s)
        while not interrupted():
            left = deadline - time.monotonic()
            if left <= 0:
                return True, f'dry run: {step.describe()}'
            self._wake.wait(min(left, self.poll_s))
        return False, f'dry run: {step.describe()} interrupted'


class RoutedAdapter:
    """Each skill to the adapter named for it, the rest to ``default``; a stop goes to all."""

    def __init__(self, default: SkillAdapter, routes: dict[str, SkillAdapter]) -> None:
        self.default = default
        self.routes = dict(routes)
        names = dict.fromkeys([default.name, *(a.name for a in self.routes.values())])
        self.name = '+'.join(names)

    def run(self, step: Step, interrupted: Callable[[], bool]) -> tuple[bool, str]:
        if step.skill == 'stop':
            results = [a.run(step, interrupted)
                       for a in dict.fromkeys([self.default, *self.routes.values()])]
            return all(ok for ok, _ in results), '; '.join(m for _, m in results)
        return self.routes.get(step.skill, self.default).run(step, interrupted)

    def mark_home(self) -> None:
        for adapter in dict.fromkeys([self.default, *self.routes.values()]):
            mark = getattr(adapter, 'mark_home', None)
            if mark is not None:
                mark()


class Executor:
    """Runs plans through one adapter; see the module docstring."""

    def __init__(self, adapter: SkillAdapter, catalog: SkillCatalog | None = None,
                 state: RobotStateTracker | None = None) -> None:
        self.adapter = adapter
        self.catalog = catalog
        self.state = state or RobotStateTracker()

    def check_plan(self, steps: Sequence[Step]) -> str | None:
        """Why a plan may not run at all (its shape against the catalog), or None. The planner
        validated it against the world; this guards the executor against any other sender."""
        if not steps:
            return 'the plan has no steps'
        if self.catalog is None:
            return None
        try:
            self.catalog.validate(Plan('', list(steps)), None)
        except PlanError as exc:
            return str(exc)
        return None

    def check(self, step: Step) -> str | None:
        """Why ``step`` may not run now (a limit or the robot state), or None."""
        spec = self.catalog.skills.get(step.skill) if self.catalog is not None else None
        if spec is not None and spec.allowed_places is not None:
            for place in (step.args.get('location'), step.args.get('target')):
                if place in self.catalog.places and place not in spec.allowed_places:
                    return (f'{step.skill} may not go to {place!r} (allowed: '
                            f'{", ".join(spec.allowed_places) or "none"})')
        return self.state.precondition(step)

    def timeout_s(self, step: Step) -> float | None:
        spec = self.catalog.skills.get(step.skill) if self.catalog is not None else None
        return spec.timeout_s if spec is not None else None

    def run(self, steps: Sequence[Step], cancelled: Callable[[], bool] = lambda: False,
            preempted: Callable[[], bool] = lambda: False,
            on_step: Callable[[int, Step], None] | None = None) -> ExecutionResult:
        """Run ``steps`` in order; ``on_step(index, step)`` is called as each one starts."""
        is_stop = is_stop_plan(steps)
        done: list[StepOutcome] = []
        if moves_from_here(steps) and not cancelled() and not preempted():
            self.state.mark_home()   # come_back returns to where this command began
            mark = getattr(self.adapter, 'mark_home', None)
            if mark is not None:
                mark()

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
            refused = self.check(step)
            limit = self.timeout_s(step)
            deadline = began + limit if limit is not None else float('inf')

            def interrupted_or_late(deadline=deadline) -> bool:
                return interrupted() or time.monotonic() > deadline

            if refused is not None:
                ok, message = False, refused
            else:
                try:
                    ok, message = self.adapter.run(step, interrupted_or_late)
                except Exception as exc:  # noqa: BLE001 - a broken adapter fails the plan
                    ok, message = False, f'{self.adapter.name} raised {type(exc).__name__}: {exc}'
                if not ok and time.monotonic() > deadline and not interrupted():
                    message = f'timed out after the {limit:g} s limit ({message})'
            if ok:
                self.state.apply(step)
            answer = (message[len(_ANSWER):] if ok and step.skill == 'ask'
                      and message.startswith(_ANSWER) else '')
            done.append(StepOutcome(index, step.skill, ok, message, time.monotonic() - began,
                                    answer))
            if not ok:
                if cancelled():
                    return ExecutionResult(CANCELED, 'canceled', done)
                if preempted_now():
                    return ExecutionResult(PREEMPTED, 'preempted by a newer command', done)
                return ExecutionResult(FAILED, f'step {index} ({step.describe()}) failed: '
                                               f'{message}', done)
        return ExecutionResult(SUCCEEDED, f'{len(done)} step(s) done', done)
