"""core.inference.command: the agent's decide -> act loop, without DDS (the agent node and the
agent benchmark both run this object; the node's DDS side is in test/e2e)."""
from __future__ import annotations

import time

from edge_agent.core.inference import Candidate, Deliberation, Heard
from edge_agent.core.inference.command import ACTED, ENDED, GAVE_UP, STOPPED, CommandLoop
from edge_agent.core.planning import StopLexicon

LABELS = ('cup', 'ball', 'box', 'bottle')


class Actions:
    """Records what the loop does; answers questions from a script."""

    def __init__(self, answers=(), seen=None) -> None:
        self.answers = list(answers)
        self.seen = seen
        self.log: list[tuple] = []

    def say(self, text):
        self.log.append(('say', text))

    def decided(self, decision, loop):
        self.log.append(('decided', decision.kind))

    def observe(self, frames):
        self.log.append(('observe', frames))
        return self.seen

    def ask(self, decision):
        self.log.append(('ask', decision.text))
        return Heard(self.answers.pop(0)) if self.answers else None

    def look_elsewhere(self):
        return None

    def act(self, command, confidence):
        self.log.append(('act', command, confidence))


def twins() -> list[Candidate]:
    return [Candidate('cup', 'green', 0.9, [0.95, 0.9, 0.93], x_centre=0.25),
            Candidate('cup', 'green', 0.9, [0.95, 0.92, 0.9], x_centre=0.75)]


def deliberation(text='pick up the green cup', candidates=None) -> Deliberation:
    words = tuple((w, 0.99) for w in text.split())
    return Deliberation(Heard(text, words, 0.01, 0.99),
                        twins() if candidates is None else candidates, LABELS,
                        can_look_elsewhere=False)


def test_a_question_gets_its_answer_and_the_loop_acts_on_the_object_it_names():
    actions = Actions(answers=['the one on the right'])
    outcome = CommandLoop(actions, StopLexicon().is_stop).run(deliberation())
    assert outcome.kind == ACTED
    assert actions.log[0] == ('decided', 'clarify')
    assert actions.log[1][0] == 'ask' and 'left or the green cup on the right' in actions.log[1][1]
    assert actions.log[-1][:2] == ('act', 'pick up the green cup on the right')
    assert outcome.target.x_centre == 0.75 and outcome.requests == 1


def test_a_stop_goes_straight_to_act_with_no_decision():
    actions = Actions()
    outcome = CommandLoop(actions, StopLexicon().is_stop).run(deliberation('stop right now'))
    assert outcome.kind == STOPPED and actions.log == [('act', 'stop right now', 1.0)]
    assert outcome.decisions == []


def test_a_catalog_stop_phrase_is_a_stop_to_the_loop_and_an_ordinary_command_without_it():
    """The predicate is the catalog's: a deployment's own phrase stops like "stop"."""
    catalog_stops = StopLexicon(['red light'])
    actions = Actions()
    assert CommandLoop(actions, catalog_stops.is_stop).run(
        deliberation('red light')).kind == STOPPED
    assert actions.log == [('act', 'red light', 1.0)]
    actions = Actions()
    outcome = CommandLoop(actions, StopLexicon().is_stop).run(deliberation('red light'))
    assert outcome.kind != STOPPED and actions.log[0] == ('decided', outcome.decisions[0].kind)


def test_a_stop_given_as_the_answer_to_a_question_stops():
    actions = Actions(answers=['no, freeze!'])
    outcome = CommandLoop(actions, StopLexicon().is_stop).run(deliberation())
    assert outcome.kind == STOPPED and actions.log[-1] == ('act', 'no, freeze!', 1.0)


def test_no_answer_ends_the_command_without_acting():
    actions = Actions(answers=[])
    outcome = CommandLoop(actions, StopLexicon().is_stop).run(deliberation())
    assert outcome.kind == ENDED and not any(e[0] == 'act' for e in actions.log)


def test_a_replaced_command_ends_before_deciding():
    actions = Actions()
    outcome = CommandLoop(actions, StopLexicon().is_stop).run(deliberation(),
                                                              current=lambda: False)
    assert outcome.kind == ENDED and actions.log == []


def test_nothing_seen_after_observing_ends_in_a_spoken_give_up():
    """No cup in view: the loop asks for frames (nothing there either), then gives up aloud."""
    actions = Actions(seen=([], 10))
    outcome = CommandLoop(actions, StopLexicon().is_stop).run(deliberation(candidates=[]),
                                                              warning='camera is slow')
    assert actions.log[0] == ('say', 'camera is slow')
    assert outcome.kind == GAVE_UP and actions.log[-1][0] == 'say'
    assert not any(e[0] == 'act' for e in actions.log)


def test_a_final_transcript_is_a_command_unless_a_question_awaits_its_answer():
    from edge_agent.core.inference.command import ANSWER, COMMAND, IGNORE, SPECULATE, route

    stops = StopLexicon(['red light']).is_stop
    assert route('pick up the cup', True, False, False, stops) == COMMAND
    assert route('the red one', True, False, True, stops) == ANSWER   # a plan's ask step waits
    assert route('red light', True, False, True, stops) == COMMAND    # a stop always is one
    assert route('pick up the', False, True, False, stops) == SPECULATE
    assert route('pick up the', False, True, True, stops) == IGNORE
    assert route('stop', False, True, False, stops) == IGNORE
    assert route('  ', True, False, False, stops) == IGNORE


def test_the_newest_command_wins_and_one_replaced_before_it_started_is_dropped():
    import threading

    from edge_agent.core.inference.command import LatestCommand

    commands = LatestCommand()
    seen, dropped, started, release = [], [], threading.Event(), threading.Event()
    still_current = []

    def handle(item, current):
        seen.append(item)
        if item == 'first':
            started.set()
            release.wait(30)
            still_current.append(current())

    commands.start(handle, on_dropped=dropped.append)
    commands.submit('first')
    assert started.wait(30)
    commands.submit('second')   # replaced before it starts by the third
    commands.submit('third')
    release.set()
    deadline = time.monotonic() + 30
    while 'third' not in seen and time.monotonic() < deadline:
        time.sleep(0.01)
    commands.stop()
    assert seen == ['first', 'third'] and dropped == ['second']
    assert still_current == [False]   # the first learnt it was replaced


def test_a_question_names_look_alikes_left_to_right_and_the_first_one_is_the_first_named():
    """Whatever order the detector reports two look-alikes in (it flips when they score the
    same), the question names them left to right, and "the first one" is the one named first."""
    right, left = twins()[1], twins()[0]
    actions = Actions(answers=['the first one'])
    outcome = CommandLoop(actions, StopLexicon().is_stop).run(
        deliberation(candidates=[right, left]))
    assert actions.log[1] == ('ask', 'Do you mean the green cup on the left or the green cup '
                                     'on the right?')
    assert outcome.kind == ACTED and outcome.target.x_centre == 0.25
