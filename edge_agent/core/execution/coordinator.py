"""The skill executor's coordination, without ROS: plan order, preemption, stops, the motion lock.

Plans are numbered when the server accepts them (``accept``, in the order their requests
arrived), not when their thread starts: a stop accepted after a plan ends that plan even if its
thread has not started yet, and a plan accepted before a stop never runs after it. A newer plan
preempts the running one, which ends first: two plans never drive at once (the motion lock). A
stop plan, or an emergency stop, ends every running plan at once and sends a stop step to every
adapter; a latching emergency stop refuses plans until it is released. The node converts
messages and calls these methods; the outcome names are the constants of
``core.execution.executor``.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
import dataclasses
import threading
import time

from edge_agent.core.execution.executor import (
    CANCELED,
    FAILED,
    PREEMPTED,
    REJECTED,
    STOPPED,
    SUCCEEDED,
    Executor,
)
from edge_agent.core.execution.preemption import Preemption, Ticket
from edge_agent.core.planning.skills import Step, is_stop_plan

__all__ = ['PlanCoordinator', 'PlanEnd']


@dataclasses.dataclass(frozen=True)
class PlanEnd:
    """How one plan ended: ``outcome`` is one of the executor's outcome constants."""

    outcome: str
    message: str
    steps_done: int = 0
    answers: tuple[str, ...] = ()     # what the user answered to the plan's ask steps

    @property
    def success(self) -> bool:
        return self.outcome == SUCCEEDED


class PlanCoordinator:
    """Runs plans through one ``Executor``; see the module docstring."""

    def __init__(self, executor: Executor, motion_wait_s: float = 30.0) -> None:
        self.executor = executor
        self.motion_wait_s = motion_wait_s
        self.order = Preemption()
        self.estop = False              # a latched emergency stop holds
        self.running = ''               # the skill running now
        self.last_stop_s: float | None = None   # emergency stop -> every plan ended [s]
        self._motion = threading.Lock()   # held while a plan runs: one plan drives at a time

    def accept(self, steps: Sequence) -> Ticket:
        """Number a newly accepted plan; a stop ends every plan accepted before it."""
        return self.order.accept(stop=is_stop_plan(steps))

    def stop_everything(self) -> str:
        """End every running plan now and send a stop step to every adapter; their message."""
        self.order.stop_all()
        return self._stop_adapters()

    def _stop_adapters(self) -> str:
        _ok, message = self.executor.adapter.run(Step('stop', {}), lambda: False)
        return message

    def emergency_stop(self, latch: bool) -> str:
        """Stop everything; with ``latch`` refuse plans until ``release``. Waits (up to the
        motion wait) until the running plan has ended, and records how long that took."""
        began = time.monotonic()
        self.estop = latch
        message = self.stop_everything()
        if self._motion.acquire(timeout=self.motion_wait_s):
            self._motion.release()
            self.last_stop_s = time.monotonic() - began
        return message

    def release(self) -> bool:
        """Release a latched emergency stop; whether one held."""
        held, self.estop = self.estop, False
        return held

    def execute(self, ticket: Ticket, steps: list[Step], cancelled: Callable[[], bool],
                on_step: Callable[[int, Step], None] | None = None) -> PlanEnd:
        """Run the plan of ``ticket`` (its thread), unless refused, stopped or preempted first.
        ``cancelled()``: the client cancelled it."""
        try:
            refused = self.executor.check_plan(steps)
            if refused is not None:
                return PlanEnd(REJECTED, refused)
            if ticket.stop:   # older plans ended when it was accepted; motion halts now
                self._stop_adapters()
            elif self.estop:
                return PlanEnd(REJECTED, 'emergency stop engaged: publish false on '
                               'emergency_stop to release it')
            elif ticket.stopped:
                return PlanEnd(STOPPED, 'stopped before it began')
            if not self._motion.acquire(timeout=self.motion_wait_s):
                return PlanEnd(FAILED, f'the previous plan did not end within '
                               f'{self.motion_wait_s:g} s')
            try:
                if ticket.preempted and not ticket.stop:
                    return PlanEnd(PREEMPTED, 'preempted by a newer plan')
                return self._run(ticket, steps, cancelled, on_step)
            finally:
                self.running = ''
                self._motion.release()
        finally:
            self.order.release(ticket)

    def _run(self, ticket: Ticket, steps: list[Step], cancelled, on_step) -> PlanEnd:
        def started(index: int, step: Step) -> None:
            self.running = step.skill
            if on_step is not None:
                on_step(index, step)

        result = self.executor.run(
            steps, cancelled=lambda: cancelled() or ticket.stopped,
            preempted=lambda: ticket.preempted, on_step=started)
        done = sum(1 for o in result.steps if o.success)
        answers = tuple(o.answer for o in result.steps if o.answer)
        if result.outcome == CANCELED and not cancelled():
            return PlanEnd(STOPPED, 'stopped', done, answers)
        return PlanEnd(result.outcome, result.message, done, answers)
