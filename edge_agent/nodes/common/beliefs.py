"""The agent's messages and the core's inference types, both ways: a final transcript as
``Heard``, vision/observe's fused objects and vision/detections as evidence, a ``Decision`` as
edge_agent/BeliefSummary."""
from __future__ import annotations

import time

from edge_agent.core.inference import Candidate, Decision, Deliberation, FrameDetection, Heard
from edge_agent.msg import BeliefSummary, Hypothesis, PolicyEvaluation

__all__ = ['belief_msg', 'candidates_from', 'frame_detections', 'heard_from']


def heard_from(msg) -> Heard:
    """The core's view of a final edge_agent/Transcript."""
    return Heard(msg.text, tuple((w.word, float(w.probability)) for w in msg.words),
                 float(msg.no_speech_prob), float(msg.confidence))


def candidates_from(objects, width: int) -> list[Candidate]:
    """Candidates from vision/observe's fused objects (their evidence across the frames)."""
    out = []
    for obj in objects:
        det = obj.detection
        x = (det.x_min + det.x_max) / 2 / width if width else None
        seen = max(int(obj.frames_seen), 1)
        out.append(Candidate(det.label, det.color_name, float(det.color_fraction),
                             [float(obj.mean_score)] * seen, 0, x))
    return out


def frame_detections(msg) -> list[FrameDetection]:
    """One edge_agent/DetectionArray as the evidence of one frame."""
    width = int(msg.image_width) or 1
    return [FrameDetection(d.label.strip().lower(), d.color_name.strip().lower(),
                           float(d.color_fraction), float(d.score),
                           (d.x_min + d.x_max) / 2 / width) for d in msg.detections]


def belief_msg(decision: Decision, loop: Deliberation, began: float, trace) -> BeliefSummary:
    """agent/belief for one decision of ``loop`` (begun at monotonic ``began``)."""
    msg = BeliefSummary(entropy=float(decision.entropy), chosen_policy=decision.policy.name,
                        requests_used=loop.budget.requests,
                        requests_budget=loop.budget.max_requests, trace=trace)
    msg.header.stamp = trace.stamps[-1]
    msg.time_left = float(max(loop.budget.max_time_s - (time.monotonic() - began), 0.0))
    msg.hypotheses = [Hypothesis(factor='intent', value=loop.heard.text,
                                 probability=float(decision.p_intent)),
                      Hypothesis(factor='intent', value='(something else was said)',
                                 probability=float(1.0 - decision.p_intent))]
    names = [*decision.candidates, '(none of these)']
    msg.hypotheses += [Hypothesis(factor='object', value=name, probability=float(p))
                       for name, p in zip(names, decision.p_target, strict=True)]
    msg.policies = [PolicyEvaluation(policy=e.name, expected_free_energy=float(e.g),
                                     risk=float(e.risk), ambiguity=float(e.ambiguity))
                    for e in decision.evaluations]
    msg.chosen_expected_free_energy = float(
        next(e.g for e in decision.evaluations if e.name == decision.policy.name))
    return msg
