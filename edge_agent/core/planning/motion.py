"""Relative motion as people say it: "go forward two meters", "back up a bit", "turn left",
"turn around", "rotate 45 degrees to the right", "come back".

``motion_step(clause, catalog)`` turns one normalised clause into a ``drive`` (meters, forward
positive), ``turn`` (degrees, left positive) or ``come_back`` step, or a ``say`` step that
refuses a distance or angle over the catalog's limit (naming it; nothing moves); None when the
clause is not relative motion. Numbers come as digits or words ("10", "ten", "twenty five",
"one and a half", "half a", "a meter"); units as meters, centimetres, feet, inches, yards or
degrees. With no number the skill argument's ``default`` applies ("turn left" = 90 degrees),
"a bit" is its ``small`` value, "turn around" is 180 degrees.
"""
from __future__ import annotations

import re

from edge_agent.core.planning.skills import SkillCatalog, Step

__all__ = ['MOTION_CLAUSE', 'fold_numbers', 'motion_step', 'spoken_number']

_UNITS = {'one': 1, 'two': 2, 'three': 3, 'four': 4, 'five': 5, 'six': 6, 'seven': 7,
          'eight': 8, 'nine': 9, 'ten': 10, 'eleven': 11, 'twelve': 12, 'thirteen': 13,
          'fourteen': 14, 'fifteen': 15, 'sixteen': 16, 'seventeen': 17, 'eighteen': 18,
          'nineteen': 19, 'zero': 0, 'a': 1, 'an': 1}
_TENS = {'twenty': 20, 'thirty': 30, 'forty': 40, 'fifty': 50, 'sixty': 60, 'seventy': 70,
         'eighty': 80, 'ninety': 90}
_FRACTIONS = {'half': 0.5, 'a half': 0.5, 'one half': 0.5, 'a quarter': 0.25,
              'three quarters': 0.75, 'one quarter': 0.25, 'quarter': 0.25}


def spoken_number(raw: str) -> float | None:
    """A number said in digits or words: "10", "1.5", "ten", "twenty five", "a hundred and
    eighty", "one and a half", "one point five", "half", "a couple of"; None when it is not
    one."""
    raw = re.sub(r'[\s-]+', ' ', raw.strip().lower()).removesuffix(' of')
    if re.fullmatch(r'\d+(?:\.\d+)?|\.\d+', raw):
        return float(raw)
    if raw in _FRACTIONS:
        return _FRACTIONS[raw]
    if raw in ('a couple', 'couple'):
        return 2.0
    if raw in ('a few', 'few'):
        return 3.0
    whole, sep, fraction = raw.partition(' and ')
    if sep and fraction in _FRACTIONS:       # "one and a half"
        base = spoken_number(whole)
        return None if base is None else base + _FRACTIONS[fraction]
    whole, sep, decimals = raw.partition(' point ')
    if sep:                                  # "one point five"
        base = spoken_number(whole)
        digits = [_UNITS.get(w) for w in decimals.split()]
        if base is None or not digits or any(d is None or d > 9 for d in digits):
            return None
        return base + float('0.' + ''.join(str(d) for d in digits))
    total, current = 0.0, None
    for word in raw.replace(' and ', ' ').split():
        if word == 'hundred':
            current = (current or 1) * 100
        elif word in _TENS:
            current = (current or 0) + _TENS[word]
        elif word in _UNITS and (current is None or current % 10 == 0):
            current = (current or 0) + _UNITS[word]
        else:
            return None
    return None if current is None else total + current


def fold_numbers(text: str) -> str:
    """``text`` with the "and" inside spoken numbers folded away, so that splitting a command
    at "and" leaves them whole: "one and a half meters" -> "1.5 meters", "a meter and a half"
    -> "1.5 meters", "a hundred and eighty degrees" -> "a hundred eighty degrees"."""
    text = re.sub(r'\bhundred and (?=[a-z])', 'hundred ', text)

    def half(match) -> str:
        value = spoken_number(match['number'])
        if value is None:
            return match[0]
        unit = f' {match["unit"]}' if match['unit'] else ''
        return f'{value + 0.5:g}{unit}'
    text = re.sub(r'\b(?P<number>[a-z]+|\d+) (?P<unit>[a-z]+) and a half\b', lambda m: half(m)
                  if m['unit'] in _LENGTH or m['unit'] in _ANGLE else m[0], text)
    return re.sub(r'\b(?P<number>[a-z]+|\d+)(?P<unit>) and a half\b', half, text)


_LENGTH = {'m': 1.0, 'meter': 1.0, 'meters': 1.0, 'metre': 1.0, 'metres': 1.0,
           'cm': 0.01, 'centimeter': 0.01, 'centimeters': 0.01, 'centimetre': 0.01,
           'centimetres': 0.01, 'mm': 0.001, 'millimeters': 0.001, 'millimetres': 0.001,
           'ft': 0.3048, 'foot': 0.3048, 'feet': 0.3048, 'in': 0.0254, 'inch': 0.0254,
           'inches': 0.0254, 'yard': 0.9144, 'yards': 0.9144, 'step': 0.5, 'steps': 0.5}
_ANGLE = {'degree': 1.0, 'degrees': 1.0, 'deg': 1.0, '°': 1.0}
_A_BIT = re.compile(r'^(?:a (?:little )?bit|a little|slightly|a tad|a touch|a smidge)'
                    r'(?: more)?$')
_WHOLE = {'all the way': 360.0, 'a full circle': 360.0, 'full circle': 360.0,
          'a full turn': 360.0, 'a half turn': 180.0, 'half way': 180.0, 'halfway': 180.0,
          'a quarter turn': 90.0, 'a quarter': 90.0, 'around': 180.0}


def _amount(raw: str, units: dict[str, float]) -> float | str | None:
    """The amount in ``raw`` in the base unit (meters or degrees), 'small' for "a bit",
    'default' when nothing is said, None when it is not an amount."""
    raw = raw.strip()
    if not raw:
        return 'default'
    if _A_BIT.match(raw):
        return 'small'
    if units is _ANGLE and raw in _WHOLE:
        return _WHOLE[raw]
    raw = re.sub(r'(\d)(m|cm|mm|ft)\b', r'\1 \2', raw).replace('°', ' degrees')
    # "a meter and a half", "two and a half feet", "half a meter"
    match = re.fullmatch(r'(?P<number>.+?)\s+(?P<unit>[a-z°]+)(?P<half> and a half)?', raw)
    if match is None or match['unit'] not in units:
        if units is _ANGLE:   # "turn left 45": degrees go without saying
            value = spoken_number(raw)
            return value
        return None
    number = match['number']
    if number.startswith('half a') or number == 'half an':
        value = 0.5 * (spoken_number(number[len('half '):]) or 0.0)
    else:
        value = spoken_number(number)
    if value is None:
        return None
    if match['half']:
        value += 0.5
    return value * units[match['unit']]


_FORWARD = r'(?:forwards?|ahead|straight(?: ahead| on)?|onwards?)'
_BACKWARD = r'(?:backwards?|back|in reverse|reverse)'
_MOVE = r'(?:go|drive|move|roll|head|walk|step|come|inch)'
_BY = r'(?:\s+(?:by|for|about|around|roughly|approximately|just))*'
_DRIVE = [
    (1, re.compile(rf'^{_MOVE}\s+{_FORWARD}{_BY}(?:\s+(?P<amount>.+?))?$')),
    (1, re.compile(rf'^{_MOVE}\s+(?P<amount>.+?)\s+{_FORWARD}$')),
    (1, re.compile(rf'^(?:forwards?|ahead){_BY}(?:\s+(?P<amount>.+?))?$')),
    # "drive for two meters" (and Whisper's "go for 3 meters" for "go forward 3 meters"); the
    # amount must be a length ("go for a walk" is not motion)
    (1, re.compile(rf'^{_MOVE}\s+for\s+(?P<amount>\S.*)$')),
    # "go back two meters" (with an amount: "go back" alone is come back)
    (-1, re.compile(rf'^{_MOVE}\s+{_BACKWARD}{_BY}\s+(?P<amount>.+)$')),
    (-1, re.compile(rf'^{_MOVE}\s+(?:backwards?|in reverse)$')),
    (-1, re.compile(rf'^{_MOVE}\s+(?P<amount>.+?)\s+(?:backwards?|back|in reverse)$')),
    (-1, re.compile(rf'^(?:back up|back off|reverse|backwards?){_BY}(?:\s+(?P<amount>.+?))?$')),
]
_SIDE = r'(?:to\s+(?:the|your)\s+)?(?P<side>left|right)'
_TURN_VERB = r'(?:turn|rotate|spin|pivot|swivel)'
_TURN = [
    re.compile(rf'^{_TURN_VERB}\s+{_SIDE}{_BY}(?:\s+(?P<amount>.+?))?$'),
    re.compile(rf'^{_TURN_VERB}{_BY}\s+(?P<amount>.+?)\s+{_SIDE}$'),
    re.compile(rf'^(?:{_TURN_VERB}|go|hang|take a|make a)\s+(?:a\s+)?{_SIDE}$'),
    # "turn 180 degrees": no side said, to the left (positive)
    re.compile(rf'^{_TURN_VERB}{_BY}\s+(?P<amount>.+?\s+(?:degrees?|deg))(?P<side>)$'),
]
_AROUND = re.compile(rf'^(?:{_TURN_VERB}\s+(?:yourself\s+)?(?P<amount>around|round|back|'
                     r'all the way(?: around)?|a full circle|a half turn|a quarter turn)|'
                     r'(?:do|make) an? (?:u turn|u-turn|about turn|one eighty|180)|about face|'
                     r'face the other way)$')
_COME_BACK = re.compile(r'^(?:(?:come|go|head|drive|get|move) back(?: (?:here|again|home|'
                        r'to (?:me|where (?:you|we) (?:started|were|began)|the start(?:ing '
                        r'(?:point|position))?|your start(?:ing (?:point|position))?)))?|'
                        r'return(?: (?:here|back|to (?:me|where you (?:started|were|began)|'
                        r'the start(?:ing (?:point|position))?)))?|come back to me)$')
# What starts a relative-motion clause, for the check that a model's plan keeps every action
MOTION_CLAUSE = [
    ('come_back', _COME_BACK),
    ('turn', re.compile(rf'^{_TURN_VERB}\s+(?:{_SIDE}|around|round|back|\S+ degrees)|'
                        r'^(?:do|make) an? (?:u turn|u-turn)')),
    ('drive', re.compile(rf'^{_MOVE}\s+(?:{_FORWARD}|backwards?|in reverse)\b|'
                         r'^(?:back up|reverse)\b')),
]


def motion_step(clause: str, catalog: SkillCatalog) -> Step | None:
    """The relative-motion step ``clause`` asks for (see the module docstring), or None."""
    if _COME_BACK.match(clause) and 'come_back' in catalog.skills:
        return Step('come_back', {})
    if 'turn' in catalog.skills:
        around = _AROUND.match(clause)
        if around:
            amount = around['amount'] or 'around'
            value = _WHOLE.get(amount, 180.0)
            return _bounded(catalog, 'turn', 'degrees', value, 1)
        for pattern in _TURN:
            match = pattern.match(clause)
            if match:
                amount = _amount(match.groupdict().get('amount') or '', _ANGLE)
                if amount is None:
                    return None
                return _bounded(catalog, 'turn', 'degrees', amount,
                                -1 if match['side'] == 'right' else 1)
    if 'drive' in catalog.skills:
        for sign, pattern in _DRIVE:
            match = pattern.match(clause)
            if match:
                amount = _amount(match.groupdict().get('amount') or '', _LENGTH)
                if amount is None:
                    return None
                return _bounded(catalog, 'drive', 'meters', amount, sign)
    return None


def _bounded(catalog: SkillCatalog, skill: str, name: str, amount, sign: int) -> Step:
    """The step with ``amount`` (a number, 'default' or 'small') in the catalog's units and
    sign; over the catalog's limit, a ``say`` step that names the limit."""
    spec = catalog.skills[skill]
    arg = next(a for a in spec.args if a.name == name)
    if isinstance(amount, str):
        amount = getattr(arg, amount)
        if amount is None:   # the catalog gives no default: a number must be said
            what = 'how far' if skill == 'drive' else 'how far to turn'
            return Step('ask', {'question': f'Sorry, {what}?'})
    value = round(sign * abs(float(amount)), 3)
    value = int(value) if value.is_integer() else value
    low, high = arg.min, arg.max
    if (high is not None and value > high) or (low is not None and value < low):
        limit = high if value > 0 else -low if low is not None else high
        unit = 'meters' if skill == 'drive' else 'degrees'
        verb = 'drive' if skill == 'drive' else 'turn'
        return Step('say', {'text': f'I can {verb} at most {limit:g} {unit} at a time, so I '
                                    'did not move.', '_refuse': True})
    return Step(skill, {name: value})
