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

__all__ = ['DetectorModel', 'ListenModel', 'SensorModels', 'WordModel', 'colour_match',
           'transcript_confidence']

# Words that carry no content for a command: their misrecognition rarely changes the plan.
_FILLER = frozenset('''a an the to and then please could you would can i me my it its up on in
at of for now there here this that some just go'''.split())


@dataclasses.dataclass(frozen=True)
class WordModel:
    """How Whisper's per-word probability p depends on whether the word was heard right:
    Beta(right_a, 1) when right (mass near 1), Beta(1, wrong_b) when wrong (mass low), with a
    prior ``prior_right`` that a command is heard right. Measured on the speech test set (all
    transcripts right): content words score 0.54-1.0 and the first word as low as 0.34 in a
    streamed decode (its casing is uncertain), hence a flatter Beta(first_right_a, 1) for it; a
    mishearing such as "rent cup" scores well below 0.5. So a word at 0.5 says little, and a
    reading is as doubtful as its weakest word (a plan changes if any word is wrong)."""

    right_a: float = 5.0
    first_right_a: float = 1.5   # the first word: casing and the utterance's start (0.34 seen)
    wrong_b: float = 2.0
    prior_right: float = 0.9

    def likelihood_ratio(self, p: float, first: bool = False) -> float:
        """P(p | word right) / P(p | word wrong)."""
        p = min(max(p, 1e-4), 1 - 1e-4)
        a = self.first_right_a if first else self.right_a
        return (a * p ** (a - 1)) / (self.wrong_b * (1 - p) ** (self.wrong_b - 1))


def transcript_confidence(words: Sequence[tuple[str, float]], no_speech_prob: float = 0.0,
                          overall: float | None = None,
                          model: WordModel = WordModel()) -> float:
    """P(the heard reading is what was said), from Whisper's own per-word probabilities.

    "Right" means every content word is right; "wrong" means one of them (which one unknown)
    is not, so the likelihood ratio of the reading is n / sum(1 / LR_i) over the n content
    words, dominated by the weakest. Without per-word probabilities, the overall confidence
    (exp(avg_logprob)) stands in as one word. Above Whisper's own no-speech threshold (0.5),
    the reading is discounted by the probability that there was no speech at all."""
    content = [(p, i == 0) for i, (w, p) in enumerate(words)
               if re.sub(r'[^a-z]', '', w.lower()) not in _FILLER]
    if not content:
        content = [(1.0 if overall is None else overall, False)]
    ratio = len(content) / sum(1.0 / model.likelihood_ratio(p, first) for p, first in content)
    odds = model.prior_right / (1 - model.prior_right) * ratio
    p_right = odds / (1 + odds)
    no_speech = min(max(no_speech_prob, 0.0), 1.0)
    return p_right * (1.0 - no_speech) if no_speech > 0.5 else p_right


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
