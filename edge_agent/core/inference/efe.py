"""Expected free energy of the agent's policies: G = risk + ambiguity (docs/active_inference.md).

Outcomes of a command: ``success`` (the meant action on the meant object), ``not_found`` (the
robot goes for an object that is not there), ``wrong_object``, ``wrong_action`` (it acts on a
misheard command) and ``nothing`` (it gives up and says why). Preferences are log-probabilities
over these (softmax-normalised), plus a price in nats for each request and each second.

- act now: risk = KL(Q(outcome) || P_C), no ambiguity (the state fixes the outcome);
- gather, then act (observe, look elsewhere, ask to repeat, ask which): for each possible
  observation, the posterior and the better follow-up (act or give up) give the final outcome
  distribution; risk = KL(mixture || P_C) + the price of the request and its time; ambiguity =
  E_Q(s)[H[P(o | s)]], the expected entropy of the observation;
- give up: the outcome is ``nothing``.
"""
from __future__ import annotations

from collections.abc import Sequence
import dataclasses

import numpy as np

from edge_agent.core.inference.belief import NONE, JointBelief, entropy, kl_divergence

__all__ = ['OUTCOMES', 'Evaluation', 'Preferences', 'act_outcomes', 'evaluate_act',
           'evaluate_gather', 'evaluate_give_up']

OUTCOMES = ('success', 'not_found', 'wrong_object', 'wrong_action', 'nothing')
_INDEX = {name: i for i, name in enumerate(OUTCOMES)}


@dataclasses.dataclass(frozen=True)
class Preferences:
    """Log-preferences over outcomes (relative; softmax-normalised) and the price of asking."""

    success: float = 0.0
    not_found: float = -8.0
    wrong_object: float = -12.0
    wrong_action: float = -12.0
    nothing: float = -3.0
    per_request: float = 0.25      # nats per request (the user is asked or waits)
    per_second: float = 0.02       # nats per second of delay

    def log_p(self) -> np.ndarray:
        c = np.array([getattr(self, name) for name in OUTCOMES], dtype=np.float64)
        return c - np.log(np.exp(c - c.max()).sum()) - c.max()


@dataclasses.dataclass(frozen=True)
class Evaluation:
    """One policy's expected free energy and its parts [nats]."""

    name: str
    g: float
    risk: float
    ambiguity: float
    cost: float
    outcomes: tuple[float, ...]     # the predicted final outcome distribution (OUTCOMES order)
    info_gain: float = 0.0          # expected reduction of the belief's entropy


def act_outcomes(belief: JointBelief, target: int, needs_object: bool) -> np.ndarray:
    """Q(outcome | act on ``target``) under ``belief``."""
    out = np.zeros(len(OUTCOMES))
    for state, q in zip(belief.states, belief.q, strict=True):
        if not state.intent_right:
            out[_INDEX['wrong_action']] += q
        elif needs_object and target == NONE:
            out[_INDEX['not_found']] += q     # nothing in view to act on
        elif not needs_object or state.target == target:
            out[_INDEX['success']] += q
        elif target != NONE and state.exists[target]:
            out[_INDEX['wrong_object']] += q
        else:
            out[_INDEX['not_found']] += q
    return out


def _nothing() -> np.ndarray:
    out = np.zeros(len(OUTCOMES))
    out[_INDEX['nothing']] = 1.0
    return out


def best_target(belief: JointBelief) -> int:
    """The candidate most probably meant (NONE when none is)."""
    p = belief.p_target()
    index = int(np.argmax(p[:-1])) if belief.count else NONE
    return index if belief.count and p[index] > 0 else NONE


def evaluate_act(belief: JointBelief, needs_object: bool, prefs: Preferences,
                 target: int | None = None) -> Evaluation:
    target = best_target(belief) if target is None else target
    q = act_outcomes(belief, target, needs_object)
    risk = kl_divergence(q, np.exp(prefs.log_p()))
    return Evaluation('act', risk, risk, 0.0, 0.0, tuple(q))


def evaluate_give_up(prefs: Preferences) -> Evaluation:
    q = _nothing()
    risk = kl_divergence(q, np.exp(prefs.log_p()))
    return Evaluation('give_up', risk, risk, 0.0, 0.0, tuple(q))


def _follow_up(belief: JointBelief, needs_object: bool, prefs: Preferences) -> np.ndarray:
    """The final outcome distribution of the better of acting and giving up."""
    act = evaluate_act(belief, needs_object, prefs)
    give_up = evaluate_give_up(prefs)
    return np.asarray(act.outcomes if act.g <= give_up.g else give_up.outcomes)


def evaluate_gather(name: str, belief: JointBelief, likelihoods: Sequence[np.ndarray],
                    needs_object: bool, prefs: Preferences, requests: int,
                    seconds: float, replaced: dict[int, JointBelief] | None = None
                    ) -> Evaluation:
    """G of "gather an observation, then act or give up"; ``likelihoods[o][s]`` = P(o | s).
    ``replaced[o]`` is the belief after observation o when that observation brings new state
    rather than evidence about the current one (a new reading of the command, an object found
    at another place)."""
    lik = np.asarray(likelihoods, dtype=np.float64)           # [observations, states]
    p_obs = lik @ belief.q                                    # predicted observations
    final = np.zeros(len(OUTCOMES))
    expected_posterior_entropy = 0.0
    for o, p in enumerate(p_obs):
        if p <= 1e-12:
            continue
        posterior = (replaced or {}).get(o) or belief.updated(lik[o])
        final += p * _follow_up(posterior, needs_object, prefs)
        expected_posterior_entropy += p * posterior.entropy()
    cost = prefs.per_request * requests + prefs.per_second * seconds
    risk = kl_divergence(final, np.exp(prefs.log_p())) + cost
    ambiguity = float(sum(q * entropy(lik[:, s]) for s, q in enumerate(belief.q)))
    return Evaluation(name, risk + ambiguity, risk, ambiguity, cost, tuple(final),
                      belief.entropy() - expected_posterior_entropy)
