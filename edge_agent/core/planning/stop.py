"""Is this utterance a stop? A lexicon of intents, not a list of exact sentences.

An utterance is a stop when any of its clauses (split at commas, "and", "then", full stops)
asks to stop, halt, freeze or not move, after the politeness and fillers around it are
removed: "hold it, don't move", "cease all movement", "that's enough, stop what you're doing",
"freeze!", "robot, stay where you are". Ordinary commands that contain a stop word are not
stops: "stop by the kitchen" and "stop at the table" are navigation, "don't stop" is not a
stop, and a number makes "pause for 5 seconds" a wait. A deployment adds its own phrases
(``extra``: whole clauses such as "red light"). ``SkillCatalog.stops`` is the one lexicon
the whole graph asks: the built-in intents plus the catalog's ``stop_phrases``. The check
runs before any model and takes microseconds, so every tier and temperature gets the same answer.
"""
from __future__ import annotations

from collections.abc import Iterable
import re

__all__ = ['StopLexicon']

_FILLER = re.compile(
    r"^(?:(?:please|plz|robot|hey|hey robot|ok|okay|now|just|right now|oh|wait|whoa|"
    r"woah|hey hey|i said|i told you to|you (?:need|have) to|you must|can you|could you|"
    r"would you|will you)[,\s]+)+|(?:[,\s]+(?:please|now|right now|immediately|at once|"
    r"this instant|already|then))+$")
_STOP_VERB = r'(?:stop|halt|freeze|abort|cease|quit|cancel)'
_STOP_OBJECT = (r"(?:it|that|this|now|everything|all|moving|movement|all movement|motion|all "
                r"motion|driving|going|the robot|the motors?|what you(?:'re| are) doing|"
                r"whatever you(?:'re| are) doing|right there|right now|there|where you are|"
                r"the (?:task|plan|command|action)|all (?:tasks|actions|commands)|"
                r"immediately|at once|for now)")
_PATTERNS = [
    # a stop verb alone, or with what to stop ("stop moving", "cease all movement")
    rf'(?:emergency )?{_STOP_VERB}(?: {_STOP_VERB})*(?: {_STOP_OBJECT})*',
    r'emergency(?: stop)?|e-?stop|estop|kill (?:it|the motors?)|shut (?:it )?down',
    # don't move
    r"(?:don'?t|do not|never|no) (?:move|moving|go|drive|budge|take (?:another|a) step|"
    r"do (?:that|it|anything)|touch (?:that|it|anything))(?: an inch| at all| any ?more| "
    r"further| there| anywhere| that way)*",
    r'no more (?:moving|movement|motion|driving)',
    # stay put
    r'(?:hold|stay|stand|keep) (?:it|still|put|there|where you are|right there|in place)',
    r"(?:that's|that is|this is)? ?enough",
    r'pause|freeze up|stop stop|wait stop|cut it out|knock it off|hands off',
]
_STOP_CLAUSE = re.compile(r'^(?:' + '|'.join(_PATTERNS) + r')$')
_SPLIT = re.compile(r'\s*(?:[,;:!?]|\.\s|\s-\s|\band then\b|\bthen\b|\band\b|\bbut\b)\s*')


def _clean(text: str) -> str:
    text = text.lower().replace('\u2019', "'")
    text = re.sub(r"[^a-z0-9'\-,;:!?.\s]", ' ', text)
    return re.sub(r'\s+', ' ', text).strip()


class StopLexicon:
    """``is_stop(text)`` with the built-in intents plus ``extra`` whole-clause phrases."""

    def __init__(self, extra: Iterable[str] = ()) -> None:
        self.extra = frozenset(_clean(p).strip(' .!') for p in extra if p and p.strip())

    def clauses(self, text: str) -> list[str]:
        """The utterance's clauses, fillers removed."""
        out = []
        for clause in _SPLIT.split(_clean(text) + ' '):
            clause = clause.strip(' .')
            previous = None
            while clause and clause != previous:   # fillers may nest ("ok robot, now")
                previous, clause = clause, _FILLER.sub('', clause).strip(' .')
            if clause:
                out.append(clause)
        return out

    def is_stop_clause(self, clause: str) -> bool:
        return clause in self.extra or bool(_STOP_CLAUSE.match(clause))

    def is_stop(self, text: str) -> bool:
        """Whether any clause of ``text`` asks the robot to stop; see the module docstring."""
        return any(self.is_stop_clause(c) for c in self.clauses(text))

