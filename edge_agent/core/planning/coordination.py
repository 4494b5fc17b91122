"""The planner's coordination, without ROS: goal order, interruption, speculation, follow-ups.

``CommandCoordinator`` is what the planner node calls between its messages:

- ``accept`` numbers each accepted command (``core.execution.preemption``: a newer command
  interrupts every older one that is not a stop; a speculative one interrupts nothing, and only
  a command with other words interrupts it).
- ``plan`` plans a command: at once when no model is needed (the guard, simple commands the
  rules parse), else on the one model thread, which a queued command that was interrupted
  meanwhile never reaches and a running one leaves at its next token.
- ``speculate`` plans words still being spoken and keeps the plan (``SPECULATION_KEEP_S``) for
  the command that says them; ``plan`` takes it when it is still valid in the world of then.
- ``follow_up``: a plan that asked the user (an ``ask`` step) continues with the answer: a
  clarifying question's answer picks one of its options and the command is planned again
  without the others in view; the answer to any other question is planned as the command.
"""
from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
import dataclasses
import re
import threading
import time

from edge_agent.core.execution.coordinator import PlanEnd
from edge_agent.core.execution.executor import CANCELED, PREEMPTED
from edge_agent.core.execution.preemption import Preemption, Ticket
from edge_agent.core.hotswap import HotSwap
from edge_agent.core.planning.backends import PlanningCancelled
from edge_agent.core.planning.planner import Planner, PlanResult
from edge_agent.core.planning.skills import Plan, SkillCatalog, WorldState

__all__ = ['CommandCoordinator', 'FollowUp', 'MAX_FOLLOW_UPS', 'SPECULATION_KEEP_S', 'Served',
           'command_key']

SPECULATION_KEEP_S = 30.0   # a speculative plan nobody asked for by then is dropped
MAX_FOLLOW_UPS = 2          # plans after a plan that asked, per command (one per answer)
POLL_S = 0.01               # how often a command waiting for the model checks for interrupts


def command_key(text: str) -> str:
    """Words of a command as speculation matches them (case, spaces, punctuation aside)."""
    return ' '.join(re.findall(r"[a-z0-9']+", text.lower()))


@dataclasses.dataclass(frozen=True)
class FollowUp:
    """What a plan that asked does with the answer: plan ``command`` with ``hidden`` out of
    view (the options the answer did not pick)."""

    command: str
    hidden: frozenset[str] = frozenset()


@dataclasses.dataclass(frozen=True)
class Served:
    """How a command ended: its last plan and run (None when it ended before planning or
    running: interrupted, or no planner), ``ended``: cancelled or preempted."""

    result: PlanResult | None
    run: PlanEnd | None
    ended: bool = False


@dataclasses.dataclass
class _Speculation:
    made: float
    done: threading.Event = dataclasses.field(default_factory=threading.Event)
    result: PlanResult | None = None


class CommandCoordinator:
    """See the module docstring. ``engines`` holds the tier's ``Planner`` (hot-swapped);
    ``world()`` is the world state of the moment; ``counters`` receives the statistics."""

    def __init__(self, engines: HotSwap, catalog: SkillCatalog, world: Callable[[], WorldState],
                 counters: Counter | None = None) -> None:
        self.engines, self.catalog, self.world = engines, catalog, world
        self.counters = counters if counters is not None else Counter()
        self.order = Preemption()
        self._speculations: dict[str, _Speculation] = {}
        self._lock = threading.Lock()
        self._model_thread = ThreadPoolExecutor(1, thread_name_prefix='planner_model')

    def close(self) -> None:
        self._model_thread.shutdown(wait=False)

    # -- order ----------------------------------------------------------------------------
    def is_stop(self, text: str) -> bool:
        return self.catalog.stops.is_stop(text)

    def accept(self, text: str, speculative: bool = False) -> Ticket:
        return self.order.accept(self.is_stop(text), command_key(text), speculative)

    # -- planning -------------------------------------------------------------------------
    def plan(self, text: str, interrupted: Callable[[], bool],
             hidden: frozenset[str] = frozenset()) -> PlanResult | None:
        """The plan for ``text`` (a kept speculation, the rules, or the model); None when no
        planner is loaded or ``interrupted()`` came first."""
        if not hidden:
            kept = self._speculated(text, interrupted)
            if kept is not None:
                return kept
        return self._plan(text, interrupted, hidden)

    def _world(self, hidden: frozenset[str] = frozenset()) -> WorldState:
        world = self.world()
        if hidden:
            world = world.with_objects(o for o in world.objects if o not in hidden)
        return world

    def _plan(self, text: str, interrupted, hidden=frozenset()) -> PlanResult | None:
        planner: Planner | None = self.engines.engine
        if planner is None:
            return None
        quick = planner.quick(text, self._world(hidden))   # safe beside a running model
        if quick is not None:
            return quick

        def with_model():
            if interrupted():
                return None   # a queued command that a newer one replaced never runs
            with self.engines.use() as current:
                if current is None:
                    return None
                try:
                    return current.plan(text, self._world(hidden), interrupted=interrupted)
                except PlanningCancelled:
                    self.counters['planning_interrupted'] += 1
                    return None

        try:
            job = self._model_thread.submit(with_model)
        except RuntimeError:   # closed
            return None
        while True:
            try:
                return job.result(timeout=POLL_S)
            except FutureTimeout:
                if interrupted():   # the model stops at its next token, on its own thread
                    return None

    def serve(self, text: str, ticket: Ticket, interrupted: Callable[[], bool],
              execute: Callable[[PlanResult], PlanEnd],
              on_follow_up: Callable[[str, FollowUp], None] = lambda _a, _f: None) -> Served:
        """Plan ``text`` and ``execute`` the plan; a plan that asked the user continues with
        the answer (``follow_up``), up to ``MAX_FOLLOW_UPS`` times. A stop's ticket plans and
        runs even when interrupted (a stop always wins)."""
        hidden: frozenset[str] = frozenset()
        result = run = None
        for _round in range(1 + MAX_FOLLOW_UPS):
            result = self.plan(text, interrupted, hidden)
            if result is None or (interrupted() and not ticket.stop):
                return Served(None, None, ended=interrupted())
            run = execute(result)
            if run.outcome in (CANCELED, PREEMPTED):
                return Served(result, run, ended=True)
            follow = self.follow_up(result.plan, run.answers[-1]) if (
                run.success and run.answers) else None
            if follow is None:
                break
            on_follow_up(run.answers[-1], follow)
            text, hidden = follow.command, follow.hidden
        return Served(result, run)

    # -- speculation ----------------------------------------------------------------------
    def speculate(self, text: str, interrupted: Callable[[], bool]) -> tuple[bool, PlanResult |
                                                                             None]:
        """Plan words still being spoken and keep the plan: (already kept, the plan or None
        when the rules plan them at once or it was interrupted)."""
        key, now = command_key(text), time.monotonic()
        with self._lock:
            for old in [k for k, v in self._speculations.items()
                        if now - v.made > SPECULATION_KEEP_S]:
                del self._speculations[old]
            if key in self._speculations:
                return True, None
            speculation = self._speculations[key] = _Speculation(now)
        planner = self.engines.engine
        result = None
        if planner is not None and planner.quick(text, self.world()) is None:
            result = self._plan(text, interrupted)
            self.counters['speculative_plans'] += 1
        speculation.result = result
        speculation.done.set()
        if result is None:
            with self._lock:
                self._speculations.pop(key, None)
        return False, result

    def _speculated(self, text: str, interrupted) -> PlanResult | None:
        with self._lock:
            speculation = self._speculations.pop(command_key(text), None)
        if speculation is None:
            return None
        while not speculation.done.wait(POLL_S):
            if interrupted():
                return None
        result = speculation.result
        if result is None:
            return None
        try:
            self.catalog.validate(result.plan, self.world())
        except ValueError:   # the world changed under it: plan again
            self.counters['speculation_discarded'] += 1
            return None
        self.counters['speculation_used'] += 1
        result.plan.notes.append('planned while the command was being spoken')
        return result

    # -- answers to a plan's questions ----------------------------------------------------
    @staticmethod
    def follow_up(plan: Plan, answer: str) -> FollowUp | None:
        """What to plan after ``plan`` asked and heard ``answer`` (see the module docstring);
        None when there is nothing to continue with (no answer, "neither", an answer that
        names none of the options)."""
        words = set(re.findall(r"[a-z0-9']+", answer.lower()))
        if not words or not plan.steps or plan.steps[-1].skill != 'ask':
            return None
        options = plan.clarify_options
        if not options:
            return FollowUp(answer.strip())
        if words & {'neither', 'none', 'nothing'}:
            return None
        shared = set.intersection(*(set(o.split()) for o in options))
        scores = [len((set(o.split()) - shared) & words) for o in options]
        best = max(scores)
        if best == 0 or scores.count(best) > 1:
            return None
        chosen = options[scores.index(best)]
        return FollowUp(plan.command, frozenset(o for o in options if o != chosen))
