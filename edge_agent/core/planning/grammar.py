"""Decoding constraints generated from the skill catalog and the current world state.

``plan_gbnf`` gives a llama.cpp GBNF grammar and ``plan_json_schema`` the equivalent JSON
schema (for OpenAI-compatible servers). Both admit exactly the JSON plans
``{"steps": [{"skill": ..., "args": {...}}, ...]}`` whose skills exist and whose locations and
objects are the known ones: a model cannot name a place or object that is not there. Skills
that need an object disappear from the grammar while nothing is detected.
"""
from __future__ import annotations

import json

from edge_agent.core.planning.skills import ArgSpec, SkillCatalog, SkillSpec, WorldState

__all__ = ['plan_gbnf', 'plan_json_schema', 'usable_skills']

# Characters allowed in say/ask text: enough for speech, nothing that breaks out of JSON.
_TEXT_CHARS = r"[a-zA-Z0-9 ,.?!'()-]"


def _literal(value: str) -> str:
    """A GBNF string literal matching the JSON string ``value``."""
    encoded = json.dumps(value)
    return '"' + encoded.replace('\\', '\\\\').replace('"', '\\"') + '"'


def usable_skills(catalog: SkillCatalog, world: WorldState) -> list[SkillSpec]:
    """Skills whose closed-set arguments have at least one allowed value now."""
    out = []
    for spec in catalog.skills.values():
        if all(catalog.allowed_values(a, world) != () for a in spec.args):
            out.append(spec)
    return out


def plan_gbnf(catalog: SkillCatalog, world: WorldState) -> str:
    """GBNF grammar of every valid plan for ``world``."""
    skills = usable_skills(catalog, world)
    rules = {
        'root': (f'"{{" ws "\\"steps\\":" ws "[" ws step (ws "," ws step)'
                 f'{{0,{catalog.max_steps - 1}}} ws "]" ws "}}"'),
        'step': ' | '.join(f'skill-{s.name.replace("_", "-")}' for s in skills),
        'ws': '[ ]?',
        'text': f'"\\"" {_TEXT_CHARS}{{1,{catalog.max_text_length}}} "\\""',
        'number': '[0-9]{1,3} ("." [0-9]{1,2})?',
    }
    used_types = set()
    for spec in skills:
        parts = []
        for arg in spec.args:
            used_types.add(arg.type)
            parts.append(f'{_literal(arg.name)} ws ":" ws {arg.type}')
        args = ' ws "," ws '.join(parts)
        body = f'"{{" ws {args} ws "}}"' if parts else '"{" ws "}"'
        rules[f'skill-{spec.name.replace("_", "-")}'] = (
            f'"{{" ws "\\"skill\\":" ws {_literal(spec.name)} ws "," ws "\\"args\\":" ws '
            f'{body} ws "}}"')
    for kind in ('location', 'object', 'target'):
        if kind in used_types:
            values = catalog.allowed_values(ArgSpec('x', kind), world)
            rules[kind] = ' | '.join(_literal(v) for v in values)
    return '\n'.join(f'{name} ::= {body}' for name, body in rules.items()) + '\n'


def plan_json_schema(catalog: SkillCatalog, world: WorldState) -> dict:
    """JSON schema equivalent to ``plan_gbnf`` (for servers that take a response format)."""
    variants = []
    for spec in usable_skills(catalog, world):
        props = {}
        for arg in spec.args:
            allowed = catalog.allowed_values(arg, world)
            if allowed is not None:
                props[arg.name] = {'type': 'string', 'enum': list(allowed)}
            elif arg.type == 'text':
                props[arg.name] = {'type': 'string', 'minLength': 1,
                                   'maxLength': catalog.max_text_length}
            else:
                prop = {'type': 'number'}
                if arg.min is not None:
                    prop['minimum'] = arg.min
                if arg.max is not None:
                    prop['maximum'] = arg.max
                props[arg.name] = prop
        variants.append({
            'type': 'object',
            'properties': {
                'skill': {'const': spec.name},
                'args': {'type': 'object', 'properties': props, 'required': list(props),
                         'additionalProperties': False},
            },
            'required': ['skill', 'args'], 'additionalProperties': False,
        })
    return {
        'type': 'object',
        'properties': {'steps': {'type': 'array', 'minItems': 1,
                                 'maxItems': catalog.max_steps, 'items': {'anyOf': variants}}},
        'required': ['steps'], 'additionalProperties': False,
    }
