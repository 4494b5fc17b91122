"""Observation models: how transcripts, detections and answers depend on the hidden state.

The numbers the agent starts from are the models' own probabilities: Whisper's per-word
probabilities and no-speech probability, the detector's per-frame scores and colour fractions.
The sensor models below say how likely each *future* observation is under each hidden state;
their defaults are documented in docs/active_inference.md and are parameters of the agent.
"""
from __future__ import annotations

from collections.abc import Sequence
import dataclasses
import math
import re

__all__ = ['DetectorModel', 'ListenModel', 'SensorModels', 'colour_match',
           'transcript_confidence']

# Words that carry no content for a command: their misrecognition rarely changes the plan.
_FILLER = frozenset('''a an the to and then please could you would can i me my it its up on in
at of for now there here this that some just go'''.split())


def transcript_confidence(words: Sequence[tuple[str, float]], no_speech_prob: float = 0.0,
                          overall: float | None = None) -> float:
    """P(the heard reading is what was said), from Whisper's own probabilities: the weakest
    content word's probability (one misheard object or place word changes the plan), times the
    probability that there was speech at all. Without per-word probabilities, the overall
    confidence (exp(avg_logprob)) stands in."""
    content = [p for w, p in words if re.sub(r'[^a-z]', '', w.lower()) not in _FILLER]
    if content:
        p = min(min(max(p, 0.0), 1.0) for p in content)
    else:
        p = 1.0 if overall is None else overall
    return max(0.0, min(1.0, p * (1.0 - min(max(no_speech_prob, 0.0), 1.0))))


def colour_match(requested: str, colour: str, fraction: float) -> float:
    """How well a detection's dominant colour fits the requested one (no colour asked: 1)."""
    if not requested:
        return 1.0
    fraction = min(max(fraction, 0.0), 1.0)
    if requested == colour:
        return 0.6 + 0.4 * fraction
    return 0.01 * (1.0 - fraction)  # the detector saw another colour: nearly never meant


def _beta_pdf(x: float, a: float, b: float) -> float:
    x = min(max(x, 1e-6), 1 - 1e-6)
    return math.exp((a - 1) * math.log(x) + (b - 1) * math.log(1 - x)
                    + math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b))


@dataclasses.dataclass(frozen=True)
class DetectorModel:
    """Per frame: a real object is detected with probability ``p_hit`` and its score follows
    Beta(real_a, real_b); a spurious detection recurs with ``p_recur`` and scores follow
    Beta(false_a, false_b). So high scores and agreement across frames are evidence of a real
    object, low scores and misses evidence against."""

    p_hit: float = 0.9
    p_recur: float = 0.3
    real_a: float = 3.0
    real_b: float = 2.0
    false_a: float = 2.0
    false_b: float = 3.0

    def frame_log_odds(self, score: float | None) -> float:
        """log P(frame | real) / P(frame | spurious); ``score`` None = not detected."""
        if score is None:
            return math.log((1 - self.p_hit) / (1 - self.p_recur))
        return math.log(self.p_hit * _beta_pdf(score, self.real_a, self.real_b)
                        / (self.p_recur * _beta_pdf(score, self.false_a, self.false_b)))

    def existence(self, scores: Sequence[float], missed: int = 0,
                  prior: float = 0.5) -> float:
        """P(real) after frames with these scores and ``missed`` frames without it."""
        prior = min(max(prior, 1e-6), 1 - 1e-6)
        log_odds = math.log(prior / (1 - prior)) + sum(self.frame_log_odds(s) for s in scores)
        log_odds += missed * self.frame_log_odds(None)
        return 1.0 / (1.0 + math.exp(-max(min(log_odds, 50.0), -50.0)))

    def seen_in_most(self, frames: int, real: bool) -> float:
        """P(seen in at least half of ``frames`` frames): the coarse outcome of an observe
        the agent plans with."""
        p = self.p_hit if real else self.p_recur
        need = (frames + 1) // 2
        return sum(math.comb(frames, k) * p ** k * (1 - p) ** (frames - k)
                   for k in range(need, frames + 1))


@dataclasses.dataclass(frozen=True)
class ListenModel:
    """A repeated command is heard as the same reading with ``p_same_if_right`` when the first
    reading was right, and with ``p_same_if_wrong`` when it was a mishearing; a clarifying
    answer names the meant candidate with ``p_answer_right``."""

    p_same_if_right: float = 0.85
    p_same_if_wrong: float = 0.2
    p_answer_right: float = 0.9


@dataclasses.dataclass(frozen=True)
class SensorModels:
    detector: DetectorModel = DetectorModel()
    listen: ListenModel = ListenModel()
    p_found_elsewhere: float = 0.6   # looking at another place finds an object not in view
    p_false_elsewhere: float = 0.05  # ... or seems to, when it is not there either
