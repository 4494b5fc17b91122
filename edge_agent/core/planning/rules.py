"""Rule-based command parsing: the planner tier that needs no model, and the safety layer that
runs before every model tier (stop words, injection attempts, objects that are not there).

It covers the simple forms of every skill ("go to the kitchen", "pick up the red cup", "put
the cup on the table", "look at the ball", "say hello", "wait 5 seconds", "go forward two
meters", "turn left", "come back", "stop") and their combinations with "and", "then" and
commas; questions about the robot's state ("what do you see?") are answered by its guard.
"""
from __future__ import annotations

import re

from edge_agent.core.planning.motion import MOTION_CLAUSE, fold_numbers, motion_step
from edge_agent.core.planning.questions import QUESTION, answer
from edge_agent.core.planning.skills import Plan, SkillCatalog, Step, WorldState, split_side

__all__ = ['COLOURS', 'RuleParser']

COLOURS = ('red', 'green', 'blue', 'yellow', 'orange', 'purple', 'pink', 'white', 'black',
           'grey', 'gray', 'brown')
_NUMBERS = {'zero': 0, 'one': 1, 'two': 2, 'three': 3, 'four': 4, 'five': 5, 'six': 6,
            'seven': 7, 'eight': 8, 'nine': 9, 'ten': 10, 'fifteen': 15, 'twenty': 20,
            'thirty': 30, 'a': 1, 'an': 1, 'a couple of': 2, 'a few': 3}
_INJECTION = re.compile(
    r'\b(?:ignore|disregard|forget|override)\b.{0,30}\b(?:rules|instructions|prompt|'
    r'safety|limits|previous)\b|\bsystem prompt\b|\bdeveloper mode\b|\bjailbreak\b')
# Actions a user may ask for that no skill does; refused before any model, which might map
# "climb onto the table" to navigate_to(table).
_CANNOT = re.compile(r'^(?:jump|climb|fly|throw|toss|smash|kick|hit|punch|break|cook|bake|'
                     r'call|phone|dance|swim|eat|drink|open|unlock|wash|clean)\b')
_SPLIT = re.compile(r'\s*(?:,\s*(?:and\s+)?(?:then\s+)?|;\s*|\.\s+|\s+and\s+then\s+|'
                    r'\s+then\s+|\s+and\s+|\s+after that\s+)\s*')
_ARTICLE = r'(?:(?:the|a|an|my|that|this)\s+)?'
_PATTERNS = [
    ('carry', re.compile(rf'^(?:take|bring|carry|move)\s+{_ARTICLE}(?P<object>.+?)\s+(?:to|into)'
                         rf'\s+{_ARTICLE}(?P<location>.+)$')),
    ('place', re.compile(rf'^(?:put|place|set|drop|leave)\s+(?:down\s+)?{_ARTICLE}(?P<object>.+?)'
                         rf'(?:\s+down)?\s+(?:on|in|onto|into|at|on top of)\s+{_ARTICLE}'
                         r'(?P<location>.+)$')),
    ('navigate_to', re.compile(rf'^(?:(?:go|drive|move|navigate|head|return|come)\s+(?:back\s+)?'
                               rf'(?:over\s+)?(?:to|into|towards?)|(?:stop|swing|pop)\s+by)\s+'
                               rf'{_ARTICLE}(?P<location>.+)$')),
    ('pick', re.compile(rf'^(?:pick\s+up|pick|grab|take|(?:get|fetch|bring|hand)(?:\s+me)?|'
                        rf'lift)\s+{_ARTICLE}'
                        r'(?P<object>.+?)(?:\s+up)?$')),
    ('look_at', re.compile(rf'^(?:look\s+at|look\s+towards?|face|turn\s+to(?:wards)?|'
                           rf'check(?:\s+out)?)\s+{_ARTICLE}(?P<target>.+)$')),
    ('say', re.compile(r'^(?:say|tell me|announce)\s+(?P<text>.+)$')),
    ('ask', re.compile(r'^ask\s+(?:me\s+)?(?P<question>.+)$')),
    ('wait', re.compile(r'^(?:wait|pause|hold on|sleep)(?:\s+for)?\s+(?P<seconds>[\w.\s]+?)\s*'
                        r'(?:seconds?|secs?|s)$')),
    ('stop', re.compile(r'^(?:stop|halt|freeze)(?:\s+(?:now|moving|everything))?$')),
]
# A command cut off mid-sentence ("go to the kitchen and", "pick up the")
_DANGLING = re.compile(r'(?:^|\s)(?:and|then|or|but|the|a|an|to|on|in|into|onto|at|of|with|'
                       r'up|my|this|that|after|before|about|for|from|by|over|under|near|'
                       r'next|behind|towards?|is|are|,)$')
# Requests wrapped in politeness ("could you possibly ...", "I'd like you to ...", "would you
# mind ...ing") and fillers around them; removed before the clause patterns.
_POLITE = re.compile(
    r"^(?:(?:please|kindly|just|robot|hey robot|hey|okay|ok|so|well|now|go ahead and|"
    r"(?:i'?d|i would) like you to|i (?:want|need) you to|would you (?:mind|be so kind as to|"
    r"be able to)|do you mind|(?:can|could|would|will) you(?: please| possibly| kindly| maybe)?"
    r")[,\s]+)+|(?:\s*,\s*(?:please|thanks|thank you|for me)|\s+(?:please|for me))+$")
_FILLER_WORDS = re.compile(r'\b(?:um+|uh+|erm+|er|hmm+|uhm)\b[,\s]*')
_REPEATED = re.compile(r'\b(\w+)(?:[,\s]+\1\b)+')
# "would you mind going to ..." -> "go to ..."
_GERUNDS = {'going': 'go', 'driving': 'drive', 'heading': 'head', 'moving': 'move',
            'navigating': 'navigate', 'picking': 'pick', 'grabbing': 'grab', 'taking': 'take',
            'getting': 'get', 'fetching': 'fetch', 'bringing': 'bring', 'carrying': 'carry',
            'putting': 'put', 'placing': 'place', 'looking': 'look', 'facing': 'face',
            'turning': 'turn', 'saying': 'say', 'waiting': 'wait', 'coming': 'come',
            'returning': 'return'}
# Clauses that carry no action: courtesy and "carry on" ("thank you", "don't stop").
_EMPTY_CLAUSE = re.compile(r"^(?:thanks?(?: you)?(?: very much)?|cheers|robot|please|ok(?:ay)?|"
                           r"(?:don'?t|do not) stop|keep going|carry on)$")


def normalise(text: str) -> str:
    """Lower-case, single spaces, no fillers, repeated words, trailing punctuation or
    politeness; "!" and "?" inside a command separate clauses like commas."""
    text = re.sub(r'\s+', ' ', text.strip().lower().replace('\u2019', "'"))
    text = re.sub(r'[?!.]+$', '', text).strip()
    text = re.sub(r'\s*[!?]+\s*', ', ', text)
    text = _FILLER_WORDS.sub('', text)
    text = _REPEATED.sub(r'\1', text).strip(' ,')
    return _polite(fold_numbers(text))


def _clauses(text: str) -> list[str]:
    """The clauses of a normalised command, each without its own politeness."""
    return [c for c in (_polite(c) for c in _SPLIT.split(text) if c) if c]


def _polite(clause: str) -> str:
    previous = None
    while clause != previous:
        previous, clause = clause, _POLITE.sub('', clause).strip(' ,')
    first, _, rest = clause.partition(' ')
    return f'{_GERUNDS[first]} {rest}'.strip() if first in _GERUNDS else clause


# The skill a clause asks for, by its first words (after politeness): a model's plan must
# have a step of that skill for every such clause, so no action the user named is dropped.
_CLAUSE_SKILL = [
    *MOTION_CLAUSE,   # "go forward", "turn left", "come back" before "go to", "turn to"
    # "take X to P" ends in a place ("move to the hallway" is not a carry)
    ('place', re.compile(r'^(?:take|bring|carry|move) (?!to\b|into\b|over\b).*\b(?:to|into)\b')),
    ('navigate_to', re.compile(r'^(?:go|drive|navigate|head|return|come)\b|'
                               r'^(?:stop|swing|pop) by\b')),
    ('look_at', re.compile(r'^(?:look|face|turn|check)\b|^(?:take|have) a look\b')),
    ('pick', re.compile(r'^(?:pick|grab|take|get|fetch|lift|bring)\b')),
    ('place', re.compile(r'^(?:put|place|set|drop|leave)\b')),
    ('say', re.compile(r'^(?:say|tell|announce)\b')),
    ('wait', re.compile(r'^(?:wait|pause|sleep|hold on)\b')),
]


class RuleParser:
    """Parse simple commands into plans; ``None`` when a command is beyond the rules."""

    def __init__(self, catalog: SkillCatalog) -> None:
        self.catalog = catalog
        self.stops = catalog.stops

    # -- safety layer (runs before any model) -------------------------------------------------
    def guard(self, command: str, world: WorldState) -> Plan | None:
        """A plan that must win over any planner, or None to let the tier plan."""
        text = normalise(command)
        if not text:
            return Plan(command, [Step('ask', {'question': "Sorry, I didn't catch that. "
                                                           'What should I do?'})],
                        notes=['empty command'])
        if len(command) > 500:
            return Plan(command, [Step('say', {'text': 'That command is too long for me. '
                                                       'Please say it in a shorter way.'})],
                        notes=['command too long'])
        if self.stops.is_stop(command):
            return Plan(command, [Step('stop', {})], notes=['stop wins'])
        said = answer(text, world, self.catalog)   # a question about the robot's state
        if said is not None:
            return Plan(command, said[:self.catalog.max_steps], notes=['answered from state'])
        if _INJECTION.search(text):
            return Plan(command, [Step('say', {'text': "I can't change my rules. "
                                                       'Tell me a task instead.'})],
                        notes=['instruction injection refused'])
        cannot = next((c for c in _clauses(text) if _CANNOT.match(c)), None)
        if cannot:
            verb = cannot.split()[0]
            return Plan(command, [Step('say', {'text': f"I can't {verb}. I can go to places, pick "
                                                       'things up, put them down, look, wait '
                                                       'and talk.'})],
                        notes=[f'no skill can {verb}'])
        missing = self.unknown_objects(text, world)
        if missing:
            names = ' or '.join(f'a {m}' for m in missing)
            return Plan(command, [Step('say', {'text': f"I don't see {names} here."[:160]})],
                        notes=[f'not visible: {", ".join(missing)}'])
        return None

    def unknown_objects(self, text: str, world: WorldState) -> list[str]:
        """Object phrases in ``text`` ("yellow cup", "banana") that are not in the world."""
        missing = []
        words = re.findall(r"[a-z]+", text)
        objects = world.known_objects   # the held object is there even when out of view
        labels = set(world.labels) | {o.split()[-1] for o in objects}
        for i, word in enumerate(words):
            noun = word[:-1] if word.endswith('s') and word[:-1] in labels else word
            colour = words[i - 1] if i and words[i - 1] in COLOURS else ''
            following = words[i + 1] if i + 1 < len(words) else ''
            if word in COLOURS and (following in labels or following in _KNOWN_THINGS):
                continue   # "the orange cup": a colour here, though COCO has an orange too
            if noun in labels:
                phrase = f'{colour} {noun}'.strip()
                if not any(o == phrase or (not colour and o.endswith(' ' + noun))
                           or o == noun for o in objects):
                    missing.append(phrase)
            elif word in _KNOWN_THINGS and word not in labels and not self._is_place(word):
                missing.append(f'{colour} {word}'.strip())
        return list(dict.fromkeys(missing))

    def _is_place(self, word: str) -> bool:
        return any(word in p.split() for p in self.catalog.places)

    def grounded(self, plan: Plan) -> str | None:
        """Why ``plan`` names a place or object the command never mentioned, or None.

        A model constrained to valid values can still pick a wrong one ("fly to the moon" ->
        navigate_to shelf); every place and object in a model's plan must be named in the
        command (or referred to by "it" after being named).
        """
        text = normalise(plan.command)
        words = set(re.findall(r'[a-z]+', text))
        words |= {w[:-1] for w in words if w.endswith('s')}
        named: list[str] = []
        for step in plan.steps:
            for value in step.args.values():
                if not isinstance(value, str) or step.skill in ('say', 'ask'):
                    continue
                if value in self.catalog.places or value.split()[-1] in words or value in named:
                    head = value.split()[-1] if value not in self.catalog.places else value
                    if value in named or all(w in words for w in head.split()):
                        named.append(value)
                        continue
                return f'{step.describe()} names {value!r}, which the command does not mention'
        return None

    def dropped(self, plan: Plan) -> str | None:
        """Why ``plan`` leaves out an action its command names ("go to the office, wait, then
        go to the kitchen" planned as two steps), or None. A plan of only say/ask steps (a
        refusal or a question back) drops nothing."""
        if all(step.skill in ('say', 'ask') for step in plan.steps):
            return None
        needed: dict[str, int] = {}
        for clause in _clauses(normalise(plan.command)):
            skill = next((k for k, pattern in _CLAUSE_SKILL if pattern.match(clause)), None)
            if skill:
                needed[skill] = needed.get(skill, 0) + 1
        for skill, count in needed.items():
            have = sum(step.skill == skill for step in plan.steps)
            if have < count:
                return (f'the command names {count} {skill} action(s), the plan has {have}: '
                        'a clause was dropped')
        return None

    # -- semantic end-pointing ------------------------------------------------------------------
    def complete(self, text: str) -> bool:
        """Whether ``text`` is a whole command the rules parse (a stop; or every clause a skill
        with all its arguments, no clause left hanging: "go to the kitchen and" is not).
        Objects are taken as named, not checked against what is seen: the speech node ends an
        utterance on this before any detection is consulted."""
        if self.stops.is_stop(text):
            return True
        command = self.catalog.canonical(text)
        norm = normalise(command)
        if not norm or _DANGLING.search(norm) or QUESTION.match(norm):
            return False
        words = re.findall(r"[a-z]+", norm)
        nouns = set(_KNOWN_THINGS) | {w.split()[-1] for w in self.catalog.synonyms.values()}
        named = [f'{words[i - 1]} {w}' if i and words[i - 1] in COLOURS else w
                 for i, w in enumerate(words) if w in nouns]
        try:
            plan = self.parse(command, self.catalog.world(named))
        except ValueError:   # the catalog refused a value: not a command the rules can run
            return False
        return plan is not None and not any(step.skill == 'ask' for step in plan.steps)

    # -- the rule-based tier ------------------------------------------------------------------
    def parse(self, command: str, world: WorldState) -> Plan | None:
        """A validated plan, a clarifying ``ask``/``say`` plan, or None when not understood."""
        text = normalise(command)
        steps: list[Step] = []
        for clause in _clauses(text):
            if _EMPTY_CLAUSE.match(clause):
                continue
            clause_steps = self._clause(clause, world, steps)
            if clause_steps is None:
                return None
            if clause_steps[0].args.pop('_refuse', False):   # over a limit: nothing moves
                return Plan(command, clause_steps[:1], notes=['over a catalog limit'])
            if clause_steps[0].args.get('_clarify'):
                clause_steps[0].args.pop('_clarify')
                options = tuple(clause_steps[0].args.pop('_options', ()))
                return Plan(command, clause_steps[:1], notes=['clarification needed'],
                            clarify_options=options)
            steps.extend(clause_steps)
        if not steps:
            return None
        plan = Plan(command, steps)
        self.catalog.validate(plan, world)
        return plan

    def _clause(self, clause: str, world: WorldState, previous: list[Step]) -> list[Step] | None:
        moved = motion_step(clause, self.catalog)   # "go forward 2 m", "turn left", "come back"
        if moved is not None:
            return [moved]
        for skill, pattern in _PATTERNS:
            match = pattern.match(clause)
            if not match:
                continue
            args = {}
            for name, raw in match.groupdict().items():
                value = self._resolve(skill, name, raw.strip(), world, previous)
                if isinstance(value, Step):
                    return [value]
                if value is None:
                    return None
                args[name] = value
            if skill == 'carry':  # "take X to Y" = pick, go, put down
                return [Step('pick', {'object': args['object']}),
                        Step('navigate_to', {'location': args['location']}),
                        Step('place', dict(args))]
            return [Step(skill, args)]
        return None

    def _resolve(self, skill, name, raw, world, previous):
        if name == 'location':
            return self._place(raw)
        if name == 'object':
            return self._object(raw, world, previous)
        if name == 'target':
            return self._place(raw) or self._object(raw, world, previous)
        if name == 'seconds':
            return _number(raw)
        text = raw.strip(' "\'')
        return text[:1].upper() + text[1:] if text else None

    def _place(self, raw: str) -> str | None:
        raw = re.sub(r'^(?:the|a)\s+', '', raw)
        for place in self.catalog.places:
            if raw == place or raw == place.replace(' room', '') or raw == place + ' area':
                return place
        return None

    def _object(self, raw: str, world: WorldState, previous: list[Step]):
        raw = re.sub(r'^(?:the|a|an)\s+', '', raw)
        base, side = split_side(raw)
        if side:   # one of two look-alikes, told apart by the agent: keep the side
            found = self._object(base, world, previous)
            return f'{found} on the {side}' if isinstance(found, str) else found
        if raw in ('it', 'that', 'this', 'them'):
            named = [s.args.get('object') or s.args.get('target') for s in previous]
            named = [n for n in named if n in world.known_objects]
            return named[-1] if named else (world.held or None)
        if raw in world.known_objects:
            return raw
        if world.held and world.held.split()[-1] == raw.split()[-1] and all(
                w in world.held.split() for w in raw.split()):
            return world.held   # "put the cup down" names the cup in the gripper
        words = raw.split()
        # "the water bottle", "the plastic cup": a word that is not a colour narrows nothing
        # the detector can tell; a colour must still match ("the green cup" is not the red one)
        words = [w for w in words[:-1] if w in COLOURS] + words[-1:]
        candidates = [o for o in world.objects if o.split()[-1] == words[-1]
                      and all(w in o.split() for w in words)]
        if len(candidates) == 1:
            return candidates[0]
        if len(candidates) > 1:
            options = ' or the '.join(candidates)
            return Step('ask', {'question': f'Which one do you mean, the {options}?'[:160],
                                '_clarify': True, '_options': candidates})
        return None


def _number(raw: str) -> float | None:
    raw = raw.strip()
    if re.fullmatch(r'\d+(?:\.\d+)?', raw):
        value = float(raw)
        return int(value) if value.is_integer() else value
    return _NUMBERS.get(raw)


# Household things a user may name that a detector might know; used to tell "not visible".
_KNOWN_THINGS = frozenset('''apple banana bottle cup mug glass plate bowl ball box book phone
remote keys key bag shoe shoes sock toy jar spoon fork knife pen laptop towel pillow'''.split())
