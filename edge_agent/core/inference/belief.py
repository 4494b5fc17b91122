"""Categorical beliefs and the information measures the agent decides with (natural log, nats).

The agent's hidden state for one command is a small discrete joint: whether the heard text is
what was said (intent), which candidate object is meant (target, or none of those in view), and
whether each candidate really exists. ``JointBelief`` enumerates it explicitly (a handful of
candidates keeps it to at most a few hundred states), so every update is exact Bayes.
"""
from __future__ import annotations

from collections.abc import Sequence
import dataclasses
import itertools

import numpy as np

__all__ = ['NONE', 'JointBelief', 'State', 'entropy', 'kl_divergence', 'normalise']

NONE = -1          # target index meaning "none of the candidates in view"
_EPS = 1e-12


def normalise(p) -> np.ndarray:
    """``p`` scaled to sum to 1 (uniform when it sums to 0)."""
    p = np.clip(np.asarray(p, dtype=np.float64), 0.0, None)
    total = p.sum()
    return p / total if total > 0 else np.full(p.shape, 1.0 / max(p.size, 1))


def entropy(p) -> float:
    """Shannon entropy of a categorical distribution [nats]."""
    p = np.asarray(p, dtype=np.float64)
    p = p[p > _EPS]
    return float(-(p * np.log(p)).sum())


def kl_divergence(q, p) -> float:
    """KL(q || p) [nats]; q's zeros contribute nothing."""
    q, p = np.asarray(q, dtype=np.float64), np.asarray(p, dtype=np.float64)
    mask = q > _EPS
    return float((q[mask] * (np.log(q[mask]) - np.log(np.maximum(p[mask], _EPS)))).sum())


@dataclasses.dataclass(frozen=True)
class State:
    """One joint hidden state: heard reading right, the meant target, existence per candidate."""

    intent_right: bool
    target: int                    # candidate index, or NONE
    exists: tuple[bool, ...]


class JointBelief:
    """Q(s) over every consistent state (the target, when not NONE, exists)."""

    def __init__(self, p_intent: float, existence: Sequence[float], match: Sequence[float],
                 p_elsewhere: float = 0.3) -> None:
        """``p_intent``: P(heard reading is right); ``existence[i]``: P(candidate i is real);
        ``match[i]``: how well candidate i fits the words (label, colour); ``p_elsewhere``: the
        weight of "the meant object is none of these" before the candidates' evidence."""
        self.count = len(existence)
        states, weights = [], []
        for intent_right in (True, False):
            p_i = p_intent if intent_right else 1.0 - p_intent
            for exists in itertools.product((True, False), repeat=self.count):
                p_e = float(np.prod([e if x else 1.0 - e for e, x in zip(existence, exists,
                                                                           strict=True)]))
                # who is meant, given which candidates are real: a real, matching one, or none
                options = [(i, match[i]) for i in range(self.count) if exists[i]]
                options.append((NONE, p_elsewhere))
                total = sum(w for _, w in options)
                for target, w in options:
                    states.append(State(intent_right, target, exists))
                    weights.append(p_i * p_e * w / total)
        self.states: list[State] = states
        self.q = normalise(weights)

    # -- marginals ---------------------------------------------------------------------------
    def p_intent(self) -> float:
        return float(sum(q for s, q in zip(self.states, self.q, strict=True) if s.intent_right))

    def p_target(self) -> np.ndarray:
        """[P(T = candidate 0), ..., P(T = NONE)] (last entry)."""
        out = np.zeros(self.count + 1)
        for s, q in zip(self.states, self.q, strict=True):
            out[s.target] += q  # NONE == -1 lands in the last slot
        return out

    def p_exists(self) -> np.ndarray:
        out = np.zeros(self.count)
        for s, q in zip(self.states, self.q, strict=True):
            out += q * np.asarray(s.exists, dtype=np.float64)
        return out

    def entropy(self) -> float:
        return entropy(self.q)

    # -- updates -----------------------------------------------------------------------------
    def updated(self, likelihood: np.ndarray) -> JointBelief:
        """A copy with Q(s) ∝ Q(s)·likelihood(s) (exact Bayes over the enumerated states)."""
        new = object.__new__(JointBelief)
        new.count, new.states = self.count, self.states
        new.q = normalise(self.q * np.asarray(likelihood, dtype=np.float64))
        return new
