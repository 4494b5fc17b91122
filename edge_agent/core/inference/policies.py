"""The agent's policies, what each would observe, and the budget that bounds them.

For planning, each information-gathering policy has a small observation space and a likelihood
P(o | s) per joint state (observation.py gives the sensor models):

- ``observe``: for each candidate, seen in most of N frames or not;
- ``look_elsewhere``: the meant object found at another place, or not;
- ``repeat``: the repeated command heard the same way, or differently;
- ``clarify``: the user's answer names candidate j (or none of them).
"""
from __future__ import annotations

import dataclasses
import itertools

import numpy as np

from edge_agent.core.inference.belief import NONE, JointBelief
from edge_agent.core.inference.observation import SensorModels

__all__ = ['Budget', 'Policy', 'likelihoods']

KINDS = ('act', 'observe', 'look_elsewhere', 'repeat', 'clarify', 'give_up')


@dataclasses.dataclass(frozen=True)
class Policy:
    """One option: ``kind`` of KINDS; ``frames`` for observe; its expected time [s]."""

    kind: str
    frames: int = 0
    duration_s: float = 0.0

    @property
    def requests(self) -> int:
        return 0 if self.kind in ('act', 'give_up') else 1

    @property
    def name(self) -> str:
        return f'observe_{self.frames}' if self.kind == 'observe' else self.kind


@dataclasses.dataclass
class Budget:
    """Caps on requests and time for one command; ``spend`` as they happen."""

    max_requests: int = 3
    max_time_s: float = 30.0
    requests: int = 0
    elapsed_s: float = 0.0

    def allows(self, policy: Policy) -> bool:
        return (self.requests + policy.requests <= self.max_requests
                and self.elapsed_s + policy.duration_s <= self.max_time_s)

    def spend(self, policy: Policy, seconds: float | None = None) -> None:
        self.requests += policy.requests
        self.elapsed_s += policy.duration_s if seconds is None else seconds

    @property
    def exhausted(self) -> bool:
        return self.requests >= self.max_requests or self.elapsed_s >= self.max_time_s


def likelihoods(policy: Policy, belief: JointBelief, models: SensorModels) -> list[np.ndarray]:
    """P(o | s) for every observation o of ``policy`` (rows) and state s (columns)."""
    states = belief.states
    if policy.kind == 'observe':
        det = models.detector
        hit, recur = det.seen_in_most(policy.frames, True), det.seen_in_most(policy.frames, False)
        rows = []
        for pattern in itertools.product((True, False), repeat=belief.count):
            row = np.ones(len(states))
            for s, state in enumerate(states):
                for seen, real in zip(pattern, state.exists, strict=True):
                    p = hit if real else recur
                    row[s] *= p if seen else 1.0 - p
            rows.append(row)
        return rows
    if policy.kind == 'look_elsewhere':
        found = np.array([models.p_found_elsewhere if s.target == NONE
                          else models.p_false_elsewhere for s in states])
        return [found, 1.0 - found]
    if policy.kind == 'repeat':
        listen = models.listen
        same = np.array([listen.p_same_if_right if s.intent_right else listen.p_same_if_wrong
                         for s in states])
        return [same, 1.0 - same]
    if policy.kind == 'clarify':
        right = models.listen.p_answer_right
        answers = belief.count + 1                        # each candidate, or "none of these"
        rows = []
        for answer in [*range(belief.count), NONE]:
            rows.append(np.array([right if s.target == answer
                                  else (1.0 - right) / (answers - 1) for s in states]))
        return rows
    raise ValueError(f'{policy.kind} gathers nothing')
