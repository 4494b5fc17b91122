"""core.inference: beliefs, observation models, expected free energy and the loop per command.

The scenario kinds of the agent-loop issue are checked here without ROS: a clear command acts
at once; a weak detection is observed first; two matching objects lead to a question and the
answer resolves it; a low-confidence transcript leads to a request to repeat; an exhausted
budget ends in a spoken failure without a physical step.
"""
from __future__ import annotations

import math

import numpy as np
import pytest

from edge_agent.core.inference import (
    NONE,
    Budget,
    Candidate,
    Deliberation,
    DetectorModel,
    Heard,
    JointBelief,
    Policy,
    Preferences,
    SensorModels,
    entropy,
    evaluate_act,
    evaluate_gather,
    find_reference,
    kl_divergence,
    likelihoods,
    transcript_confidence,
)

LABELS = ('cup', 'ball', 'box', 'bottle')


def words(text: str, p: float = 0.97) -> tuple[tuple[str, float], ...]:
    return tuple((w, p) for w in text.split())


def heard(text: str = 'pick up the red cup', p: float = 0.97) -> Heard:
    return Heard(text, words(text, p))


def red_cup(score: float = 0.9, x: float | None = None) -> Candidate:
    return Candidate('cup', 'red', 0.8, [score], x_centre=x)


# -- measures and the belief -------------------------------------------------------------------
def test_entropy_and_kl_by_hand():
    assert entropy([0.5, 0.5]) == pytest.approx(math.log(2))
    assert entropy([1.0, 0.0]) == 0.0
    assert kl_divergence([0.5, 0.5], [0.5, 0.5]) == pytest.approx(0.0)
    assert kl_divergence([1.0, 0.0], [0.25, 0.75]) == pytest.approx(math.log(4))


def test_joint_belief_marginals_follow_the_evidence_and_update_exactly():
    belief = JointBelief(0.9, existence=[0.8, 0.5], match=[1.0, 1.0], p_elsewhere=0.1)
    assert belief.q.sum() == pytest.approx(1.0) and len(belief.states) == 2 * (3 + 2 + 2 + 1)
    assert belief.p_intent() == pytest.approx(0.9)
    assert belief.p_exists() == pytest.approx([0.8, 0.5])
    p = belief.p_target()
    assert p.sum() == pytest.approx(1.0) and p[0] > p[1] > p[2]
    # evidence that only candidate 1 is real, as likelihood over states: exact Bayes
    lik = np.array([0.9 if s.exists[1] else 0.1 for s in belief.states])
    after = belief.updated(lik)
    prior_odds = 0.5 / 0.5
    assert after.p_exists()[1] == pytest.approx(prior_odds * 9 / (prior_odds * 9 + 1))
    assert after.p_intent() == pytest.approx(0.9)  # independent factor untouched


def test_transcript_confidence_from_whisper_word_probabilities():
    # whisper tiny.en on the test clip "Pick up the red cup." (a right reading)
    right = [(' Pick', 0.54), (' up', 0.99), (' the', 0.99), (' red', 0.98), (' cup.', 0.95)]
    assert transcript_confidence(right, no_speech_prob=0.09) > 0.9
    misheard = [(' Pick', 0.97), (' the', 0.98), (' rent', 0.3), (' cup.', 0.95)]
    assert transcript_confidence(misheard) < 0.5   # the weakest content word dominates
    assert transcript_confidence([('the', 0.1), ('cup', 0.99)]) > 0.99  # fillers do not count
    assert transcript_confidence(right, no_speech_prob=0.9) < 0.1       # probably no speech
    assert transcript_confidence([], overall=0.2) < transcript_confidence([], overall=0.9)


def test_detector_evidence_high_scores_and_agreement_raise_existence_misses_lower_it():
    det = DetectorModel()
    assert det.existence([0.9]) > 0.9
    assert 0.3 < det.existence([0.35]) < 0.7
    assert det.existence([0.35] * 8) > det.existence([0.35])       # agreement across frames
    assert det.existence([0.35], missed=8) < 0.05                   # it never came back
    assert det.seen_in_most(10, True) > 0.99 > 0.1 > det.seen_in_most(10, False) * 0.3


def test_find_reference_reads_label_colour_plural_and_synonyms():
    assert find_reference('pick up the red cup', LABELS).colour == 'red'
    assert find_reference('grab the balls', LABELS).label == 'ball'
    assert find_reference('take the mug', LABELS, {'mug': 'cup'}).label == 'cup'
    assert find_reference('go to the kitchen', LABELS) is None


# -- expected free energy: the worked example of docs/active_inference.md ---------------------
def test_worked_example_numbers():
    """One red cup seen once at 0.35; the command heard with the weakest word at 0.97."""
    belief = JointBelief(0.97, existence=[DetectorModel().existence([0.35])], match=[0.92],
                         p_elsewhere=0.05)
    prefs = Preferences()
    act = evaluate_act(belief, True, prefs)
    q = np.asarray(act.outcomes)
    log_c = prefs.log_p()
    assert act.g == pytest.approx(float((q[q > 0] * (np.log(q[q > 0]) - log_c[q > 0])).sum()))
    observe = Policy('observe', frames=10, duration_s=2.0)
    gather = evaluate_gather('observe_10', belief,
                             likelihoods(observe, belief, SensorModels()), True, prefs, 1, 2.0)
    assert gather.cost == pytest.approx(0.25 + 0.04)
    assert gather.g == pytest.approx(gather.risk + gather.ambiguity)
    assert gather.info_gain > 0.3                      # observing removes real uncertainty
    assert gather.g < act.g                            # so the agent looks again first
    assert q[0] == pytest.approx(belief.p_intent() * belief.p_target()[0])


# -- the scenario kinds ---------------------------------------------------------------------------
def test_clear_command_with_a_clear_detection_acts_without_asking():
    decision = Deliberation(heard(), [red_cup(0.9)], LABELS).decide()
    assert decision.kind == 'act' and decision.target == 0 and decision.text == ''
    nav = Deliberation(heard('go to the kitchen'), [], LABELS).decide()
    assert nav.kind == 'act' and nav.target == NONE


def test_weak_detection_is_observed_then_acted_on_once_evidence_suffices():
    loop = Deliberation(heard(), [red_cup(0.35)], LABELS)
    first = loop.decide()
    assert first.kind == 'observe' and first.policy.frames == 10
    loop.spend(first.policy)
    loop.observed([Candidate('cup', 'red', 0.8, [0.4, 0.5, 0.45, 0.38, 0.5, 0.42, 0.47, 0.4])],
                  frames=10)
    second = loop.decide()
    assert second.kind == 'act' and second.p_target[0] > 0.9


def test_a_weak_detection_that_does_not_come_back_is_not_acted_on():
    loop = Deliberation(heard(), [red_cup(0.35)], LABELS)
    loop.spend(loop.decide().policy)
    loop.observed([], frames=10)
    decision = loop.decide()
    assert decision.kind in ('look_elsewhere', 'give_up') and decision.p_target[-1] > 0.9


@pytest.mark.parametrize('candidates,question', [
    ([red_cup(0.9, 0.2), red_cup(0.85, 0.8)],
     'Do you mean the red cup on the left or the red cup on the right?'),
    ([red_cup(0.9), Candidate('cup', 'blue', 0.8, [0.85])],
     'Do you mean the red cup or the blue cup?'),
])
def test_two_matching_objects_lead_to_a_question_and_the_answer_resolves_it(candidates,
                                                                           question):
    text = 'pick up the red cup' if candidates[1].colour == 'red' else 'pick up the cup'
    loop = Deliberation(heard(text), candidates, LABELS)
    first = loop.decide()
    assert first.kind == 'clarify' and first.text == question
    loop.spend(first.policy)
    answer = 'the one on the right' if candidates[1].colour == 'red' else 'the blue one'
    assert loop.answered(answer) == 1
    assert Deliberation(heard(text), candidates, LABELS).answered('neither of them') == NONE
    second = loop.decide()
    assert second.kind == 'act' and second.target == 1


def test_low_confidence_transcript_leads_to_a_request_to_repeat():
    loop = Deliberation(heard(p=0.3), [red_cup(0.9)], LABELS)
    first = loop.decide()
    assert first.kind == 'repeat' and 'say it again' in first.text
    loop.spend(first.policy)
    assert loop.repeated(heard(p=0.95))
    assert loop.decide().kind == 'act'


def test_a_different_repetition_replaces_the_reading():
    loop = Deliberation(heard('pick up the rent cup', 0.4), [red_cup(0.9)], LABELS)
    loop.spend(loop.decide().policy)
    assert not loop.repeated(heard('pick up the red cup', 0.95))
    decision = loop.decide()
    assert decision.kind == 'act' and loop.reference.colour == 'red'


def test_exhausted_budget_ends_in_a_spoken_failure_and_nothing_physical():
    loop = Deliberation(heard(), [red_cup(0.9, 0.2), red_cup(0.85, 0.8)], LABELS,
                        budget=Budget(max_requests=1))
    first = loop.decide()
    loop.spend(first.policy)
    assert loop.answered('hmm I do not know') is None  # says nothing about which
    decision = loop.decide()
    assert {p.kind for p in loop.policies()} <= {'act', 'give_up'}
    assert decision.kind == 'give_up'
    assert decision.text == 'I am not sure which cup you mean, so I did nothing.'


def test_an_object_not_in_view_is_looked_for_and_its_absence_said():
    loop = Deliberation(heard(), [Candidate('ball', 'green', 0.9, [0.9])], LABELS,
                        budget=Budget(max_requests=1))
    first = loop.decide()
    assert first.kind == 'look_elsewhere'
    loop.spend(first.policy)
    loop.looked_elsewhere([])
    last = loop.decide()
    assert last.kind == 'give_up' and last.text == 'I do not see a red cup here, so I did ' \
                                                   'nothing.'


def test_every_decision_reports_each_policy_and_the_belief():
    decision = Deliberation(heard(), [red_cup(0.35)], LABELS).decide()
    names = {e.name for e in decision.evaluations}
    assert {'act', 'give_up', 'observe_10', 'repeat', 'look_elsewhere'} <= names
    assert all(math.isfinite(e.g) and e.ambiguity >= 0 for e in decision.evaluations)
    assert sum(decision.p_target) == pytest.approx(1.0) and decision.entropy > 0
    assert decision.candidates == ('the red cup',)


def test_without_looking_elsewhere_the_other_requests_stay():
    loop = Deliberation(heard(), [red_cup(0.9, 0.2), red_cup(0.85, 0.8)], LABELS,
                        can_look_elsewhere=False)
    assert {p.kind for p in loop.policies()} == {'act', 'give_up', 'repeat', 'observe',
                                                 'clarify'}
    assert loop.decide().kind == 'clarify'


def test_the_chosen_object_is_named_to_the_planner_by_its_colour():
    from edge_agent.core.inference import Deliberation as D

    loop = D(heard('pick up the cup'), [Candidate('cup', 'blue', 0.9, [0.95])], LABELS)
    decision = loop.decide()
    assert decision.kind == 'act' and loop.grounded_command(decision) == 'pick up the blue cup'
    said = D(heard(), [red_cup(0.95)], LABELS)
    assert said.grounded_command(said.decide()) == 'pick up the red cup'


def test_recent_detections_become_candidates_with_scores_and_misses():
    from edge_agent.core.inference import FrameDetection, RecentDetections

    recent = RecentDetections(window_s=2.0, clock=lambda: 10.0)
    cup_left = FrameDetection('cup', 'red', 0.9, 0.8, 0.2)
    cup_right = FrameDetection('cup', 'red', 0.9, 0.6, 0.8)
    recent.add([cup_left, cup_right], now=7.0)           # too old: outside the window
    for t in (8.5, 9.0, 9.5, 10.0):
        recent.add([cup_left] + ([cup_right] if t < 9.4 else []), now=t)
    candidates = recent.candidates(now=10.0)
    assert [(c.x_centre, len(c.scores), c.missed) for c in candidates] == [(0.2, 4, 0),
                                                                           (0.8, 2, 2)]
    assert recent.labels == {'cup'}
