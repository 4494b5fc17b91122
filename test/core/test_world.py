"""core.planning.world: the planner's memory of detections, bounded and thread-safe; plans that
respect the held object."""
from __future__ import annotations

import dataclasses
import threading
import time

from edge_agent.core.planning import SeenObject, SkillCatalog, WorldMemory, world_prompt


def test_objects_above_the_score_within_the_age_are_visible():
    memory = WorldMemory(min_score=0.4, max_age_s=5.0, clock=lambda: 100.0)
    memory.observe([SeenObject('Cup', 0.9, 'Red'), SeenObject('ball', 0.2, 'blue'),
                    SeenObject(' ', 0.9, 'green')], now=100.0)
    memory.observe([SeenObject('box', 0.8, 'yellow')], now=90.0)
    assert memory.visible(now=100.0) == ['red cup']
    assert memory.labels() == ['ball', 'box', 'cup']  # known labels, even below the score
    world = memory.world(SkillCatalog(), now=100.0)
    assert world.objects == ('red cup',) and 'kitchen' in world.places


def test_memory_is_bounded():
    memory = WorldMemory(max_entries=10)
    for i in range(100):
        memory.observe([SeenObject(f'thing{i}', 0.9)], now=float(i))
    assert len(memory.visible(now=100.0)) <= 10 and len(memory.labels()) == 10
    assert 'thing99' in memory.visible(now=100.0)


def test_concurrent_detections_and_planning_reads_never_fail():
    """The planner node's old dict was changed by the detections callback while a command's
    thread iterated it ("dictionary changed size during iteration"); this hammers both."""
    memory = WorldMemory(max_entries=100_000)
    errors: list[BaseException] = []
    stop = threading.Event()

    def writer():
        i = 0
        while not stop.is_set():
            memory.observe([SeenObject(f'label{i}', 0.9, 'red'),
                            SeenObject(f'other{i}', 0.9)])
            i += 1

    def reader():
        try:
            while not stop.is_set():
                memory.visible()
                memory.labels()
        except BaseException as exc:  # noqa: BLE001 - recorded for the assertion
            errors.append(exc)

    threads = [threading.Thread(target=writer)] + [threading.Thread(target=reader)
                                                   for _ in range(2)]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + 2.0
    while time.monotonic() < deadline and not errors:
        time.sleep(0.05)
    stop.set()
    for thread in threads:
        thread.join(10)
    assert not errors, errors
    assert len(memory.labels()) > 1000  # the writer really grew the memory meanwhile


def test_plans_respect_what_the_robot_holds():
    """"put the ball on the shelf" picks first unless the ball is held; a held object needs no
    pick and may be named although it is out of view."""
    from edge_agent.core.planning import Planner
    from edge_agent.core.planning.backends import RulesBackend

    catalog = SkillCatalog()
    planner = Planner(catalog, [RulesBackend(catalog)])
    seen = catalog.world(['red ball', 'blue box'])
    plan = planner.plan('put the red ball on the shelf', seen).plan
    assert [s.describe() for s in plan.steps] == [
        "pick(object='red ball')", "place(object='red ball', location='shelf')"]
    held = dataclasses.replace(catalog.world(['blue box']), held='red ball', location='kitchen')
    plan = planner.plan('put the ball on the shelf', held).plan
    assert [s.describe() for s in plan.steps] == ["place(object='red ball', location='shelf')"]
    plan = planner.plan('put it on the table', held).plan
    assert [s.describe() for s in plan.steps] == ["place(object='red ball', location='table')"]
    assert 'Holding: red ball' in world_prompt(held) and 'at: kitchen' in world_prompt(held)
    # a "take X to Y" of the held object drops the pick
    plan = planner.plan('take the red ball to the office', held).plan
    assert plan.skills() == ['navigate_to', 'place']
    assert any('pick dropped' in n for n in plan.notes)
