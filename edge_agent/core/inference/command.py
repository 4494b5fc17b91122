"""The decide -> act loop for one command, shared by the agent node and the agent benchmark.

``CommandLoop.run`` takes a ``Deliberation`` and carries out what it decides through an
``AgentActions`` implementation: the node's goes over DDS (vision/observe, agent/say and
speech/listen, the planner's agent/execute_command), the benchmark's to a simulated world.
A stop, as the command or as the answer to a question, goes to ``act`` at once, with no
deliberation: the planner's guard makes it win. The loop ends when it acts, gives up, or when
``current()`` turns false (a newer command replaced this one) or a request returns nothing
(cancelled, timed out).
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
import dataclasses
import queue
import threading
import time
from typing import Protocol

from edge_agent.core.inference.deliberation import Candidate, Decision, Deliberation, Heard

__all__ = ['ACTED', 'ANSWER', 'AgentActions', 'COMMAND', 'CommandLoop', 'CommandOutcome', 'ENDED',
           'GAVE_UP', 'IGNORE', 'LatestCommand', 'SPECULATE', 'STOPPED', 'route']

ACTED, GAVE_UP, STOPPED, ENDED = 'acted', 'gave_up', 'stopped', 'ended'


class AgentActions(Protocol):
    """What the loop can do in the world; a request returns None when it was cancelled or
    got nothing (the loop then ends)."""

    def say(self, text: str) -> None:
        """Speak ``text`` (a warning, or why the agent gives up)."""

    def observe(self, frames: int) -> tuple[Sequence[Candidate], int] | None:
        """Gather ``frames`` more frames: the objects seen and the frames processed."""

    def ask(self, decision: Decision) -> Heard | None:
        """Say ``decision.text`` (repeat or clarify) and listen for the answer."""

    def look_elsewhere(self) -> Sequence[Candidate] | None:
        """Look at another place: what was found there."""

    def act(self, command: str, confidence: float) -> None:
        """Hand the grounded command (or a stop) to the planner."""

    def decided(self, decision: Decision, loop: Deliberation) -> None:
        """Each decision as it is made (belief, logs)."""


@dataclasses.dataclass
class CommandOutcome:
    """How one command ended: ``kind`` is acted, gave_up, stopped or ended (replaced,
    cancelled or a request got nothing)."""

    kind: str
    decisions: list[Decision]
    command: str = ''                    # what went to the planner (acted, stopped)
    target: Candidate | None = None      # the object acted on, when the command names one
    elapsed_s: float = 0.0               # from the start until it acted or ended [s]
    requests: int = 0


class CommandLoop:
    """Runs one command's decide -> act loop; see the module docstring."""

    def __init__(self, actions: AgentActions, is_stop: Callable[[str], bool],
                 clock: Callable[[], float] = time.monotonic, max_decisions: int = 64) -> None:
        self.actions = actions
        self.is_stop = is_stop
        self.clock = clock
        self.max_decisions = max_decisions

    def run(self, loop: Deliberation, current: Callable[[], bool] = lambda: True,
            warning: str | None = None) -> CommandOutcome:
        began = self.clock()
        decisions: list[Decision] = []

        def outcome(kind: str, command: str = '', target: Candidate | None = None):
            return CommandOutcome(kind, decisions, command, target, self.clock() - began,
                                  loop.budget.requests)

        if self.is_stop(loop.heard.text):
            self.actions.act(loop.heard.text, 1.0)
            return outcome(STOPPED, loop.heard.text)
        if warning:
            self.actions.say(warning)
        while current() and len(decisions) < self.max_decisions:
            decision = loop.decide()
            decisions.append(decision)
            self.actions.decided(decision, loop)
            kind = decision.kind
            if kind == 'act':
                command = loop.grounded_command(decision)
                target = loop.candidates[decision.target] if 0 <= decision.target < len(
                    loop.candidates) else None
                result = outcome(ACTED, command, target)   # time to act: before the act
                self.actions.act(command, decision.p_intent)
                return result
            if kind == 'give_up':
                self.actions.say(decision.text)
                return outcome(GAVE_UP)
            started = self.clock()
            if kind == 'observe':
                seen = self.actions.observe(decision.policy.frames)
                loop.spend(decision.policy, self.clock() - started)
                if seen is None:
                    break
                loop.observed(*seen)
            elif kind == 'look_elsewhere':
                found = self.actions.look_elsewhere()
                loop.spend(decision.policy, self.clock() - started)
                if found is None:
                    break
                loop.looked_elsewhere(found)
            else:   # repeat or clarify: ask, then the answer
                answer = self.actions.ask(decision)
                loop.spend(decision.policy, self.clock() - started)
                if answer is None:
                    break
                if answer.text.strip() and self.is_stop(answer.text):
                    self.actions.act(answer.text, 1.0)
                    return outcome(STOPPED, answer.text)
                if kind == 'repeat' and answer.text.strip():
                    loop.repeated(answer)
                elif kind == 'clarify':
                    loop.answered(answer.text)
        return outcome(ENDED)


# What a transcript is to the agent (``route``).
COMMAND, ANSWER, SPECULATE, IGNORE = 'command', 'answer', 'speculate', 'ignore'


def route(text: str, final: bool, at_pause: bool, awaiting_answer: bool,
          is_stop: Callable[[str], bool]) -> str:
    """What the agent does with a transcript: a final one is a new COMMAND (it replaces the
    one in progress), unless a question (the agent's own, or a plan's ask step) awaits its
    ANSWER, which speech/listen brings to the asker; a stop is always a command. Words at a
    pause may be planned ahead (SPECULATE) unless they are a stop or an answer; the rest is
    IGNOREd."""
    if not text.strip():
        return IGNORE
    stop = is_stop(text)
    if final:
        return ANSWER if awaiting_answer and not stop else COMMAND
    return SPECULATE if at_pause and not stop and not awaiting_answer else IGNORE


class LatestCommand:
    """Commands run one at a time on one worker, the newest wins: ``submit`` ends whatever
    runs (its ``current()`` turns false at once) and queues the new one; a command replaced
    before it started is dropped (``on_dropped``). ``serve`` is the worker's loop."""

    def __init__(self) -> None:
        self._generation = 0
        self._jobs: queue.Queue = queue.Queue()
        self._worker: threading.Thread | None = None

    @property
    def running(self) -> bool:
        return self._worker is not None

    def start(self, handle, on_dropped=lambda _item: None,
              on_error=lambda _item, _exc: None) -> None:
        """``serve`` on a worker thread of its own."""
        self._jobs = queue.Queue()
        self._worker = threading.Thread(target=self.serve, args=(handle, on_dropped, on_error),
                                        daemon=True, name='agent_commands')
        self._worker.start()

    def stop(self, timeout_s: float = 30.0) -> None:
        """``close`` and wait for the worker."""
        if self._worker is not None:
            self.close()
            self._worker.join(timeout_s)
            self._worker = None

    def submit(self, item) -> None:
        self._generation += 1
        self._jobs.put((self._generation, item))

    def end_current(self) -> None:
        """The running command ends (its ``current()`` turns false); nothing new starts."""
        self._generation += 1

    def close(self) -> None:
        """End the running command and the worker's loop."""
        self.end_current()
        self._jobs.put(None)

    def serve(self, handle: Callable[[object, Callable[[], bool]], None],
              on_dropped: Callable[[object], None] = lambda _item: None,
              on_error: Callable[[object, Exception], None] = lambda _item, _exc: None) -> None:
        """Run ``handle(item, current)`` for each command until ``close``; an exception in
        one goes to ``on_error`` and the loop goes on."""
        while True:
            job = self._jobs.get()
            if job is None:
                return
            generation, item = job
            if generation != self._generation:
                on_dropped(item)
                continue
            try:
                handle(item, lambda generation=generation: generation == self._generation)
            except Exception as exc:  # noqa: BLE001 - reported, the worker goes on
                on_error(item, exc)
