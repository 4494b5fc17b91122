"""One command, from heard to acted (or given up): the agent's loop without ROS.

``Deliberation`` holds the belief about one command (is the heard reading right, which
candidate object is meant, which candidates are real), picks the policy of least expected free
energy within the budget, and takes the observations the chosen policies bring back:
``observed`` (fused detections from vision/observe), ``answered`` (the reply to a clarifying
question), ``repeated`` (the command said again), ``looked_elsewhere``. The agent node only
converts messages and runs what ``decide()`` returns.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
import dataclasses
import re

import numpy as np

from edge_agent.core.inference.belief import NONE, JointBelief
from edge_agent.core.inference.efe import (
    Evaluation,
    Preferences,
    best_target,
    evaluate_act,
    evaluate_gather,
    evaluate_give_up,
)
from edge_agent.core.inference.observation import (
    SensorModels,
    colour_match,
    transcript_confidence,
)
from edge_agent.core.inference.policies import Budget, Policy, likelihoods
from edge_agent.core.vision.colour import COLOUR_NAMES

__all__ = ['Candidate', 'Decision', 'Deliberation', 'Heard', 'Reference', 'find_reference']

MAX_CANDIDATES = 3


@dataclasses.dataclass(frozen=True)
class Heard:
    """A final transcript as the agent uses it (Whisper's own probabilities)."""

    text: str
    words: tuple[tuple[str, float], ...] = ()
    no_speech_prob: float = 0.0
    confidence: float = 1.0

    @property
    def p_right(self) -> float:
        return transcript_confidence(self.words, self.no_speech_prob, self.confidence)


@dataclasses.dataclass
class Candidate:
    """A detected object that may be the one meant, with its evidence so far."""

    label: str
    colour: str = ''
    colour_fraction: float = 1.0
    scores: list[float] = dataclasses.field(default_factory=list)
    missed: int = 0
    x_centre: float | None = None    # [0..1] across the image, to tell twins apart

    @property
    def phrase(self) -> str:
        return f'{self.colour} {self.label}'.strip()


@dataclasses.dataclass(frozen=True)
class Reference:
    """The object a command names: label and, if said, colour."""

    label: str
    colour: str = ''


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z]+", text.lower())


def find_reference(text: str, labels: Iterable[str],
                   synonyms: dict[str, str] | None = None) -> Reference | None:
    """The first known label (or synonym, or plural) the text names, with a colour word just
    before it; None when the command names no object. Labels may be two words ("cell phone",
    "teddy bear": the pair is tried before its last word); a synonym counts only when its
    label is one the detector knows ("ball" -> "sports ball" for a COCO detector, "ball"
    itself for the simulated world's)."""
    labels = set(labels)
    synonyms = synonyms or {}
    words = _words(text)

    def known(word: str) -> str | None:
        for label in (synonyms.get(word), word):
            if label is None:
                continue
            if label in labels:
                return label
            if label.endswith('s') and label[:-1] in labels:
                return label[:-1]
        return None

    for i, word in enumerate(words):
        pair = f'{word} {words[i + 1]}' if i + 1 < len(words) else ''
        label, start = (known(pair), i) if pair and known(pair) else (known(word), i)
        if label is not None:
            colour = words[start - 1] if start and words[start - 1] in COLOUR_NAMES else ''
            return Reference(label, colour)
    return None


@dataclasses.dataclass(frozen=True)
class Decision:
    """What to do next, and why: every policy's evaluation, the belief it came from."""

    policy: Policy
    evaluations: tuple[Evaluation, ...]
    p_intent: float
    p_target: tuple[float, ...]       # per candidate, then "none of these"
    candidates: tuple[str, ...]       # descriptions, same order
    target: int                       # the candidate an act would use (NONE: no object)
    entropy: float
    text: str                         # what to say: the question, or why it gives up

    @property
    def kind(self) -> str:
        return self.policy.kind


class Deliberation:
    """The active-inference loop for one command; see the module docstring."""

    def __init__(self, heard: Heard, candidates: Sequence[Candidate], labels: Iterable[str],
                 models: SensorModels | None = None, prefs: Preferences | None = None,
                 budget: Budget | None = None, observe_frames: int = 10,
                 frame_rate_hz: float = 5.0, ask_s: float = 6.0, look_s: float = 5.0,
                 p_elsewhere: float = 0.05, synonyms: dict[str, str] | None = None,
                 can_look_elsewhere: bool = True) -> None:
        self.models = models or SensorModels()
        self.prefs = prefs or Preferences()
        self.budget = budget or Budget()
        self.labels = tuple(labels)
        self.synonyms = synonyms or {}
        self.observe_frames, self.frame_rate_hz = observe_frames, frame_rate_hz
        self.ask_s, self.look_s = ask_s, look_s
        self.p_elsewhere = p_elsewhere
        self.can_look_elsewhere = can_look_elsewhere
        self.history: list[Decision] = []
        self._all_candidates = list(candidates)
        self._set_heard(heard)

    # -- state ----------------------------------------------------------------------------
    def _set_heard(self, heard: Heard, p_right: float | None = None) -> None:
        self.heard = heard
        self.p_intent = heard.p_right if p_right is None else p_right
        self.reference = find_reference(heard.text, self.labels, self.synonyms)
        self.candidates = self._matching(self._all_candidates)
        self._answer_weights = np.ones(len(self.candidates) + 1)  # per candidate, then NONE
        self._elsewhere_weight = 1.0

    def _matching(self, candidates: Iterable[Candidate]) -> list[Candidate]:
        if self.reference is None:
            return []
        same = [c for c in candidates if c.label == self.reference.label]
        same.sort(key=lambda c: -self._fit(c) * self._existence(c))
        return same[:MAX_CANDIDATES]

    def _fit(self, candidate: Candidate) -> float:
        colour = self.reference.colour if self.reference else ''
        return colour_match(colour, candidate.colour, candidate.colour_fraction)

    def _existence(self, candidate: Candidate) -> float:
        return self.models.detector.existence(candidate.scores, candidate.missed)

    @property
    def needs_object(self) -> bool:
        return self.reference is not None

    def belief(self) -> JointBelief:
        match = [self._fit(c) * self._answer_weights[i] for i, c in enumerate(self.candidates)]
        elsewhere = self.p_elsewhere * self._answer_weights[-1] * self._elsewhere_weight
        return JointBelief(self.p_intent, [self._existence(c) for c in self.candidates],
                           match, elsewhere)

    # -- deciding -------------------------------------------------------------------------
    def policies(self) -> list[Policy]:
        """The options now: act, give up, and what the budget still allows."""
        options = [Policy('give_up')]
        if not self.needs_object or self.candidates:
            options.append(Policy('act'))
        gathers = [Policy('repeat', duration_s=self.ask_s)]
        if self.needs_object:
            if self.can_look_elsewhere:
                gathers.append(Policy('look_elsewhere', duration_s=self.look_s))
            if self.candidates:
                gathers.append(Policy('observe', frames=self.observe_frames,
                                      duration_s=self.observe_frames / self.frame_rate_hz))
            if len(self.candidates) >= 2:
                gathers.append(Policy('clarify', duration_s=self.ask_s))
        return options + [p for p in gathers if self.budget.allows(p)]

    def evaluate(self, policy: Policy, belief: JointBelief) -> Evaluation:
        if policy.kind == 'act':
            return evaluate_act(belief, self.needs_object, self.prefs)
        if policy.kind == 'give_up':
            return evaluate_give_up(self.prefs)
        return evaluate_gather(policy.name, belief, likelihoods(policy, belief, self.models),
                               self.needs_object, self.prefs, policy.requests,
                               policy.duration_s, self._new_state(policy, belief))

    def _new_state(self, policy: Policy, belief: JointBelief) -> dict[int, JointBelief]:
        """Beliefs that an observation brings anew (see efe.evaluate_gather): a repetition
        heard differently is a fresh reading, as sure as a clear command usually is; an object
        found at another place is a fresh candidate, as sure as a confirmed detection."""
        if policy.kind == 'repeat':  # observation 1: heard differently
            # A corrected reading is expected to name one of the objects of that label in view,
            # whatever its colour (the best-evidenced one stands for it), or none if none is.
            fresh = self.models.listen.p_same_if_right
            label = self.reference.label if self.reference else None
            seen = sorted((self._existence(c) for c in self._all_candidates
                           if c.label == label), reverse=True)[:1]
            return {1: JointBelief(fresh, seen, [1.0] * len(seen), self.p_elsewhere)}
        if policy.kind == 'look_elsewhere':  # observation 0: found at another place
            confirmed = self.models.detector.seen_in_most(self.observe_frames, True)
            return {0: JointBelief(belief.p_intent(), [confirmed], [1.0], self.p_elsewhere)}
        return {}

    def decide(self) -> Decision:
        """The policy of least expected free energy (ties: the cheaper, listed first)."""
        belief = self.belief()
        options = self.policies()
        evaluations = [self.evaluate(p, belief) for p in options]
        chosen = options[int(np.argmin([e.g for e in evaluations]))]
        target = best_target(belief) if self.needs_object else NONE
        decision = Decision(chosen, tuple(evaluations), belief.p_intent(),
                            tuple(float(p) for p in belief.p_target()),
                            tuple(self.describe(i) for i in range(len(self.candidates))),
                            target, belief.entropy(), self._text(chosen, belief))
        self.history.append(decision)
        return decision

    def grounded_command(self, decision: Decision) -> str:
        """The command to plan: the heard text, with the chosen object named by its colour
        when the user did not say it ("pick up the cup" -> "pick up the blue cup"), and by its
        side when it has a look-alike ("... the green cup on the right"), so the robot picks
        the one the user meant."""
        text = self.heard.text
        if decision.target == NONE or self.reference is None:
            return text
        chosen = self.candidates[decision.target]
        named = self.describe(decision.target).removeprefix('the ')
        if not chosen.colour or (self.reference.colour and named == chosen.phrase):
            return text
        said = re.escape(self.reference.label)
        if self.reference.colour:
            said = rf'{re.escape(self.reference.colour)}\s+{said}'
        return re.sub(rf'\b{said}\b', named, text, count=1, flags=re.IGNORECASE)

    def describe(self, index: int) -> str:
        """How to name candidate ``index`` to the user ("the red cup on the left")."""
        candidate = self.candidates[index]
        text = f'the {candidate.phrase}'
        twins = [c for c in self.candidates if c.phrase == candidate.phrase]
        if len(twins) > 1 and candidate.x_centre is not None:
            text += ' on the left' if candidate.x_centre < 0.5 else ' on the right'
        return text

    def _asked_about(self) -> list[int]:
        """The candidates a clarifying question names, in the order it names them. Not those
        of another colour than the one said ("the green cup" is never the red one), unless
        fewer than two would be left; left to right as the user sees them (not the detector's
        score order, which flips between frames when two look-alikes score the same), those
        without a position last."""
        fitting = [i for i, c in enumerate(self.candidates) if self._fit(c) >= 0.1]
        shown = fitting if len(fitting) >= 2 else range(len(self.candidates))
        return sorted(shown, key=lambda i: (self.candidates[i].x_centre is None,
                                            self.candidates[i].x_centre or 0.0))

    def _text(self, policy: Policy, belief: JointBelief) -> str:
        if policy.kind == 'clarify':
            names = [self.describe(i) for i in self._asked_about()]
            return f'Do you mean {", ".join(names[:-1])} or {names[-1]}?'
        if policy.kind == 'repeat':
            return 'Sorry, I did not catch that. Could you say it again?'
        if policy.kind != 'give_up':
            return ''
        if self.needs_object and not self.candidates:
            return f'I do not see {self._named()} here, so I did nothing.'
        p_target = belief.p_target()
        sure_of_object = max(p_target[:-1], default=1.0) if self.needs_object else 1.0
        if not self.needs_object or belief.p_intent() < sure_of_object:
            return 'Sorry, I could not understand the command, so I did nothing.'
        if self.needs_object and p_target[-1] >= max(p_target[:-1], default=0.0):
            return f'I could not make sure there is {self._named()}, so I did nothing.'
        return f'I am not sure which {self.reference.label} you mean, so I did nothing.'

    def _named(self) -> str:
        ref = self.reference
        return f'a {ref.colour} {ref.label}' if ref.colour else f'a {ref.label}'

    # -- observations -------------------------------------------------------------------
    def spend(self, policy: Policy, seconds: float | None = None) -> None:
        self.budget.spend(policy, seconds)

    def observed(self, seen: Sequence[Candidate], frames: int) -> None:
        """Fused detections of ``frames`` new frames (vision/observe): each seen object adds
        its scores, each known candidate not seen adds ``frames`` misses."""
        remaining = list(seen)
        for candidate in self._all_candidates:
            match = self._pop_match(candidate, remaining)
            if match is None:
                candidate.missed += frames
            else:
                candidate.scores.extend(match.scores)
                candidate.missed += max(frames - len(match.scores), 0)
                candidate.x_centre = match.x_centre if match.x_centre is not None \
                    else candidate.x_centre
        for new in remaining:  # first seen now: the frames it was not in count as misses
            new.missed += max(frames - len(new.scores), 0)
        self._all_candidates.extend(remaining)
        self._refresh()

    def _refresh(self) -> None:
        # answers given so far stay attached to the candidates they named
        weights = dict(zip([id(c) for c in self.candidates], self._answer_weights[:-1],
                           strict=True))
        self.candidates = self._matching(self._all_candidates)
        self._answer_weights = np.array([weights.get(id(c), 1.0) for c in self.candidates]
                                        + [self._answer_weights[-1]])

    @staticmethod
    def _pop_match(candidate: Candidate, seen: list[Candidate]) -> Candidate | None:
        same = [c for c in seen if c.label == candidate.label and c.colour == candidate.colour]
        if not same:
            return None
        if candidate.x_centre is not None:
            same.sort(key=lambda c: abs((c.x_centre if c.x_centre is not None else 0.5)
                                        - candidate.x_centre))
        seen.remove(same[0])
        return same[0]

    def answered(self, text: str) -> int | None:
        """The reply to a clarifying question: returns the candidate it names, NONE for "none
        of these", None when it says neither (then the belief is unchanged)."""
        words = set(_words(text))
        spoken = self._asked_about() or [-1]   # "the first one": the first the question named
        scores = []
        for i, candidate in enumerate(self.candidates):
            score = 2 * (candidate.colour in words) if candidate.colour else 0
            side = self.describe(i).rsplit(' ', 1)[-1]   # a side only names a look-alike
            if side in ('left', 'right'):
                score += 2 * (side in words)
            score += candidate.label in words
            score += ('first' in words and i == spoken[0]) + (
                'second' in words and len(spoken) > 1 and i == spoken[1])
            scores.append(score)
        if scores and max(scores) > 0 and scores.count(max(scores)) == 1:
            named = int(np.argmax(scores))
        elif words & {'neither', 'none', 'nothing', 'another', 'other'}:
            named = NONE
        else:
            return None
        right = self.models.listen.p_answer_right
        wrong = (1.0 - right) / max(len(self.candidates), 1)
        weights = np.full(len(self.candidates) + 1, wrong)
        weights[named] = right
        self._answer_weights = self._answer_weights * weights
        return named

    def repeated(self, heard: Heard) -> bool:
        """The command said again: the same reading strengthens the belief in it, another
        reading replaces it. Returns whether it was the same."""
        listen = self.models.listen
        if _words(heard.text) == _words(self.heard.text):
            p = self.p_intent
            like_right = listen.p_same_if_right
            like_wrong = listen.p_same_if_wrong
            posterior = p * like_right / (p * like_right + (1 - p) * like_wrong)
            # the new decode's own confidence is independent evidence about the same words
            q = heard.p_right
            combined = posterior * q / (posterior * q + (1 - posterior) * (1 - q) + 1e-12)
            self.p_intent = max(posterior, combined)
            return True
        self._set_heard(heard)
        return False

    def looked_elsewhere(self, found: Sequence[Candidate], frames: int = 1) -> None:
        """What the camera saw at another place; the objects found become candidates."""
        hit = any(self.reference and c.label == self.reference.label for c in found)
        if hit:  # what was found is a candidate now, weighed by its own evidence
            self._add(found)
        else:
            p_found, p_false = self.models.p_found_elsewhere, self.models.p_false_elsewhere
            self._elsewhere_weight *= (1 - p_found) / (1 - p_false)

    def _add(self, found: Sequence[Candidate]) -> None:
        """New candidates from another view (no misses charged to those here)."""
        self._all_candidates.extend(found)
        self._refresh()
