"""The planner's memory of what the camera saw (object phrases with the time each was last seen),
and plans made consistent with what the robot holds.

Detections arrive on one thread (the subscription) while commands are planned on another, so
every access holds a lock; reads return copies. The memory is bounded: a stream of detections
with ever new labels (a broken detector, hostile input) cannot grow it without limit.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable
import dataclasses
import threading
import time

from edge_agent.core.planning.skills import Plan, SkillCatalog, Step, WorldState

__all__ = ['SeenObject', 'WorldMemory', 'respect_held']


@dataclasses.dataclass(frozen=True)
class SeenObject:
    """One detection as the memory takes it (from any detector message)."""

    label: str
    score: float
    colour: str = ''


class WorldMemory:
    """Recent detections -> the WorldState a plan is grounded in; thread-safe."""

    def __init__(self, min_score: float = 0.4, max_age_s: float = 5.0,
                 max_entries: int = 256, clock: Callable[[], float] = time.monotonic) -> None:
        self.min_score = min_score
        self.max_age_s = max_age_s
        self.max_entries = max_entries
        self._clock = clock
        self._lock = threading.Lock()
        self._seen: dict[str, float] = {}     # "colour label" -> last seen [clock s]
        self._labels: dict[str, float] = {}   # every label the detector named -> last seen
        self.vocabulary: frozenset[str] = frozenset()   # every label the detector knows
        self.held = ''          # the robot's gripper and place (the skill executor's word)
        self.location = ''
        self.wanted_min_score = min_score
        self.calibrated_score: float | None = None   # a calibrated detector's threshold

    def set_min_score(self, wanted: float | None = None,
                      calibrated: float | None | type(...) = ...) -> None:
        """``min_score``: the wanted one, but never above a calibrated detector's own threshold
        (its detections at that score are what it was calibrated to report)."""
        if wanted is not None:
            self.wanted_min_score = wanted
        if calibrated is not ...:
            self.calibrated_score = calibrated
        self.min_score = (self.wanted_min_score if self.calibrated_score is None
                          else min(self.wanted_min_score, self.calibrated_score))

    def observe(self, detections: Iterable[SeenObject], now: float | None = None) -> None:
        """Remember one frame's detections (labels always; objects above ``min_score``)."""
        now = self._clock() if now is None else now
        with self._lock:
            for det in detections:
                label = det.label.strip().lower()
                if not label:
                    continue
                self._labels[label] = now
                if det.score >= self.min_score:
                    self._seen[f'{det.colour.strip().lower()} {label}'.strip()] = now
            self._trim(self._seen)
            self._trim(self._labels)

    def _trim(self, table: dict[str, float]) -> None:
        if len(table) > self.max_entries:
            for key, _ in sorted(table.items(), key=lambda kv: kv[1])[:len(table)
                                                                       - self.max_entries]:
                del table[key]

    def visible(self, now: float | None = None) -> list[str]:
        """Object phrases seen within ``max_age_s``, sorted (a stable order keeps the prompt,
        and so the model's KV cache and the grammar cache, the same while the scene is)."""
        horizon = (self._clock() if now is None else now) - self.max_age_s
        with self._lock:
            return sorted(phrase for phrase, seen in self._seen.items() if seen >= horizon)

    def labels(self) -> list[str]:
        """The labels the detector knows (its class names) or has named."""
        with self._lock:
            return sorted(set(self._labels) | self.vocabulary)

    def world(self, catalog: SkillCatalog, now: float | None = None) -> WorldState:
        """The world state for planning: the catalog's places, the visible objects, what the
        robot holds and where it is."""
        return dataclasses.replace(catalog.world(self.visible(now), labels=self.labels()),
                                   held=self.held.strip().lower(),
                                   location=self.location.strip().lower())

    def clear(self) -> None:
        with self._lock:
            self._seen.clear()
            self._labels.clear()


def respect_held(plan: Plan, world: WorldState) -> Plan:
    """``plan`` with a ``pick`` before every ``place`` of an object not held at that point, and
    without picks of the object already held ("put the ball on the shelf" picks first unless
    the ball is in the gripper). Only visible objects are picked; a place of something neither
    held nor visible is left for the executor to refuse with the reason."""
    held, steps, notes = world.held, [], []
    for step in plan.steps:
        obj = step.args.get('object')
        if step.skill == 'pick':
            if obj == held:
                notes.append(f'already holding the {obj}: pick dropped')
                continue
            held = obj
        elif step.skill == 'place':
            if obj != held and obj in world.objects:
                steps.append(Step('pick', {'object': obj}))
                notes.append(f'not holding the {obj}: pick added')
            held = ''
        steps.append(step)
    if not notes:
        return plan
    return Plan(plan.command, steps, plan.backend, plan.planning_time, [*plan.notes, *notes])
