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
import time
from typing import Protocol

from edge_agent.core.inference.deliberation import Candidate, Decision, Deliberation, Heard

__all__ = ['ACTED', 'AgentActions', 'CommandLoop', 'CommandOutcome', 'ENDED', 'GAVE_UP',
           'STOPPED']

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
