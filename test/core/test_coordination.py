"""The coordination that used to live in the planner and skill executor nodes, without DDS:
``core.execution.preemption`` (who interrupts whom, one rule for both), ``PlanCoordinator``
(plan order, stops, the motion lock) and ``CommandCoordinator`` (follow-ups to a plan's ask
step). Their DDS side is in test/nodes/test_skill_executor.py and test_planner_node.py."""
from __future__ import annotations

from edge_agent.core.execution import (
    PREEMPTED,
    REJECTED,
    STOPPED,
    SUCCEEDED,
    DryRunAdapter,
    Executor,
    PlanCoordinator,
    PlanEnd,
    answer_message,
)
from edge_agent.core.execution.preemption import Preemption
from edge_agent.core.hotswap import HotSwap
from edge_agent.core.planning import Plan, Planner, SkillCatalog, Step, WorldState
from edge_agent.core.planning.coordination import CommandCoordinator, FollowUp


def test_a_newer_request_preempts_older_ones_but_never_a_stop_and_a_stop_ends_them_all():
    order = Preemption()
    first, stop = order.accept(), order.accept(stop=True)
    assert first.stopped and not first.preempted and not stop.interrupted
    later = order.accept()
    assert later.sequence > stop.sequence and not stop.interrupted and not later.interrupted
    newest = order.accept()
    assert later.preempted and not later.stopped and not newest.interrupted
    assert order.stop_all() == 4 and stop.stopped and newest.stopped


def test_a_speculation_is_preempted_only_by_other_words():
    order = Preemption()
    guess = order.accept(key='go to the kitchen', speculative=True)
    order.accept(key='go to the kitchen')
    assert not guess.interrupted
    order.accept(key='stop dancing')
    assert guess.preempted
    assert order.accept(key='x', speculative=True).sequence == 4


class Voice:
    """An adapter that answers ask steps (the voice adapter's contract, no speech here)."""

    name = 'voice'

    def run(self, step, interrupted):
        if step.skill == 'ask':
            return True, answer_message('the green one')
        return True, 'ok'


def test_a_stop_accepted_after_a_plan_ends_it_before_its_thread_starts():
    plans = PlanCoordinator(Executor(DryRunAdapter(step_time_s=0.01)))
    carry = [Step('navigate_to', {'location': 'kitchen'})]
    first = plans.accept(carry)
    stop = plans.accept([Step('stop', {})])
    assert plans.execute(first, carry, lambda: False).outcome == STOPPED
    assert plans.execute(stop, [Step('stop', {})], lambda: False).outcome == SUCCEEDED
    older, newer = plans.accept(carry), plans.accept(carry)
    assert plans.execute(older, carry, lambda: False).outcome == PREEMPTED
    assert plans.execute(newer, carry, lambda: False).success
    assert len(plans.order) == 0   # every ticket released


def test_a_latched_emergency_stop_refuses_plans_until_released():
    plans = PlanCoordinator(Executor(DryRunAdapter(step_time_s=0.01)))
    plans.emergency_stop(latch=True)
    assert plans.last_stop_s is not None
    steps = [Step('navigate_to', {'location': 'kitchen'})]
    end = plans.execute(plans.accept(steps), steps, lambda: False)
    assert end.outcome == REJECTED and 'emergency stop' in end.message
    assert plans.release() and plans.execute(plans.accept(steps), steps, lambda: False).success


def test_an_ask_steps_answer_comes_back_with_the_plan():
    plans = PlanCoordinator(Executor(Voice()))
    steps = [Step('ask', {'question': 'Which one?'})]
    end = plans.execute(plans.accept(steps), steps, lambda: False)
    assert end.success and end.answers == ('the green one',)


def _coordinator(objects):
    catalog = SkillCatalog()
    engines = HotSwap()
    engines.swap(0, lambda: Planner(catalog, []))
    world = WorldState(catalog.places, tuple(objects), labels=('cup',))
    return CommandCoordinator(engines, catalog, lambda: world)


def test_a_clarifying_question_continues_with_the_object_the_answer_picks():
    commands = _coordinator(['red cup', 'green cup'])
    first = commands.plan('pick up the cup', lambda: False)
    assert first.plan.skills() == ['ask'] and set(first.plan.clarify_options) == {
        'red cup', 'green cup'}
    follow = CommandCoordinator.follow_up(first.plan, 'the green one, please')
    assert follow == FollowUp('pick up the cup', frozenset({'red cup'}))
    again = commands.plan(follow.command, lambda: False, follow.hidden)
    assert [(s.skill, s.args) for s in again.plan.steps] == [('pick', {'object': 'green cup'})]
    assert CommandCoordinator.follow_up(first.plan, 'neither') is None
    assert CommandCoordinator.follow_up(first.plan, 'hmm') is None   # names no option
    commands.close()


def test_the_answer_to_an_open_question_is_planned_as_the_command():
    """A model's plan for an unclear command is one ask step (its prompt says so)."""
    plan = Plan('do the thing', [Step('ask', {'question': 'What should I do?'})], 'qwen')
    assert CommandCoordinator.follow_up(plan, 'go to the kitchen') == FollowUp(
        'go to the kitchen')
    assert CommandCoordinator.follow_up(plan, '') is None


def test_serve_runs_the_follow_up_plan_in_the_same_command():
    """The planner node's loop without DDS: "pick up the cup" asks, the run's answer picks the
    green cup, and the same command plans and runs the pick."""
    commands = _coordinator(['red cup', 'green cup'])
    ran = []

    def execute(result):
        ran.append(result.plan.skills())
        answers = ('the green one',) if result.plan.skills() == ['ask'] else ()
        return PlanEnd(SUCCEEDED, 'done', 1, answers)

    ticket = commands.accept('pick up the cup')
    served = commands.serve('pick up the cup', ticket, lambda: ticket.interrupted, execute)
    assert ran == [['ask'], ['pick']] and not served.ended
    assert served.result.plan.steps[0].args == {'object': 'green cup'}
    commands.close()


def test_the_world_memory_holds_the_robot_state_and_a_calibrated_threshold():
    from edge_agent.core.planning import SeenObject, WorldMemory

    memory = WorldMemory(min_score=0.4, clock=lambda: 1.0)
    memory.set_min_score(calibrated=0.3)   # a real-photo detector calibrated at 0.3
    memory.observe([SeenObject('cup', 0.35, 'red')])
    memory.held, memory.location = 'Blue Ball', 'Kitchen'
    world = memory.world(SkillCatalog())
    assert world.objects == ('red cup',) and (world.held, world.location) == ('blue ball',
                                                                              'kitchen')
    memory.set_min_score(0.2)
    assert memory.min_score == 0.2
    memory.set_min_score(calibrated=None)
    assert memory.min_score == 0.2 and memory.wanted_min_score == 0.2
