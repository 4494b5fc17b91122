"""Questions about the robot answered from its state, never by moving and never by a model.

"What do you see?" (the objects in view, with their colours), "what are you holding?",
"where are you?" (the last place reached) and "what can you do?" (the catalog's skills) become
``say`` steps. The rule layer's guard asks ``answer`` before any tier plans, so every tier,
the rules floor included, answers them the same way.
"""
from __future__ import annotations

import re

from edge_agent.core.planning.skills import SkillCatalog, Step, WorldState

__all__ = ['QUESTION', 'answer']

_SEE = (r'what (?:do|can) you see(?: .+)?|what (?:is|\'s) (?:there|around(?: you)?|in front of '
        r'you|in view)|what are you looking at|what objects? (?:do|can) you see(?: .+)?|'
        r'what is visible|do you see anything|what do you have in (?:view|sight)')
_HOLD = (r'what (?:are|do) you (?:holding|carrying|have in your (?:hand|gripper|hands))|'
         r'(?:are|is) (?:you|your gripper) (?:holding|carrying) (?:anything|something)|'
         r'what(?: i|\')s in your (?:hand|gripper|hands)|do you have anything')
_WHERE = (r'where are you(?: now| right now)?|where (?:is|\'s) the robot|which (?:room|place) '
          r'are you in|where did you go|what (?:room|place) are you in')
_ABLE = (r'what can you do|what are you able to do|what do you know how to do|what are your '
         r'skills|what skills do you have|help|what commands do you (?:know|understand)|'
         r'what can i (?:ask|tell) you(?: to do)?')
QUESTION = re.compile(rf'^(?:(?P<see>{_SEE})|(?P<hold>{_HOLD})|(?P<where>{_WHERE})|'
                      rf'(?P<able>{_ABLE}))$')
# skills a user asks about in "what can you do" (say, ask and wait go without saying)
_UNSAID = ('say', 'ask', 'wait', 'stop')


def answer(text: str, world: WorldState, catalog: SkillCatalog) -> list[Step] | None:
    """``say`` steps answering the normalised question ``text``, or None when it is not one."""
    match = QUESTION.match(text)
    if match is None:
        return None
    if match['see']:
        seen = ', '.join(f'a {o}' for o in world.objects) or 'nothing I recognise'
        lines = [f'I see {seen}.']
        if world.held:
            lines.append(f'I am holding the {world.held}.')
    elif match['hold']:
        lines = [f'I am holding the {world.held}.' if world.held
                 else 'I am not holding anything.']
    elif match['where']:
        lines = [f'I am at the {world.location}.' if world.location
                 else 'I have not reached a known place since I last moved.']
    else:
        said = [re.sub(r'\s*\([^)]*\)', '', s.description)   # "(meters)" is for the model
                for name, s in catalog.skills.items() if name not in _UNSAID and s.description]
        lines = ['I can ' + _listed(said) + '.']
        lines.append('Say stop at any time to stop me.')
    return [Step('say', {'text': piece}) for line in lines
            for piece in _pieces(line, catalog.max_text_length)]


def _listed(items: list[str]) -> str:
    if len(items) <= 1:
        return ''.join(items)
    return ', '.join(items[:-1]) + ' and ' + items[-1]


def _pieces(text: str, limit: int) -> list[str]:
    """``text`` cut at commas or spaces into pieces of at most ``limit`` characters."""
    pieces: list[str] = []
    while len(text) > limit:
        cut = max(text.rfind(', ', 0, limit), text.rfind(' ', 0, limit))
        cut = cut if cut > 0 else limit
        pieces.append(text[:cut + (1 if text[cut:cut + 1] == ',' else 0)].strip())
        text = text[cut + 1:].strip()
    return [*pieces, text] if text else pieces
