"""What a replay produced (``Outcome``), what it should have (an expectation file), and the diff.

An expectation file is YAML:

    description: what the scenario checks (free text)
    parameters: {skill_executor: {step_time_s: 4.0}}   # optional, over config/agent.yaml
    timeout_s: 90                                       # optional, the replay's deadline
    expect:                       # only the keys given are compared
      transcripts: [pick up the red cup]     # final transcripts, lower case, no punctuation
      policies: [act]                        # the agent's chosen policy per decision
      target: the red cup                    # most probable object of the last decision
      said: []                               # what the robot said, in order
      plans: [[pick(red cup)]]               # each plan's steps, skill(arguments)
      executed: [pick]                       # skills the executor started, in order
      held_object: red cup                   # the robot's state at the end
      location: ''

Users write one for their own recordings (``edge-agent replay BAG`` prints the outcome in this
form, ready to be saved and edited).
"""
from __future__ import annotations

import dataclasses
import difflib
import pathlib
import re

import yaml

from edge_agent.core.errors import ConfigError

__all__ = ['KEYS', 'Expectation', 'Outcome', 'compare', 'load_expectation', 'normalize']

KEYS = ('transcripts', 'policies', 'target', 'said', 'plans', 'executed', 'held_object',
        'location')


def normalize(text: str) -> str:
    """Lower case, punctuation dropped, spaces collapsed: how transcripts are compared."""
    return ' '.join(re.sub(r"[^\w\s']", ' ', text.lower()).split())


@dataclasses.dataclass
class Outcome:
    """Everything the graph did during a replay that an expectation can check."""

    transcripts: list[str] = dataclasses.field(default_factory=list)
    policies: list[str] = dataclasses.field(default_factory=list)
    target: str = ''
    said: list[str] = dataclasses.field(default_factory=list)
    plans: list[list[str]] = dataclasses.field(default_factory=list)
    executed: list[str] = dataclasses.field(default_factory=list)
    held_object: str = ''
    location: str = ''

    def as_dict(self) -> dict:
        return dataclasses.asdict(self)


@dataclasses.dataclass(frozen=True)
class Expectation:
    """An expectation file: description, graph parameters, deadline, expected outcome."""

    expect: dict
    description: str = ''
    parameters: dict = dataclasses.field(default_factory=dict)
    timeout_s: float = 90.0
    lines_end_s: float | None = None   # bag time after the last scripted words (scenarios)


def load_expectation(path: str | pathlib.Path) -> Expectation:
    """Read and check an expectation file; ConfigError names the file and the problem."""
    path = pathlib.Path(path)
    try:
        data = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f'cannot read the expectation {path}: {exc}') from None
    if not isinstance(data, dict) or not isinstance(data.get('expect'), dict):
        raise ConfigError(f'{path}: expected a mapping with an "expect:" mapping')
    unknown = sorted(set(data['expect']) - set(KEYS))
    if unknown:
        raise ConfigError(f'{path}: unknown expect key(s) {", ".join(unknown)}; known: '
                          f'{", ".join(KEYS)}')
    # scenario files also say how the bag was made (scenario, lines, render or photo, snr_db)
    extra = sorted(set(data) - {'expect', 'description', 'parameters', 'timeout_s',
                                'scenario', 'lines', 'render', 'photo', 'snr_db'})
    if extra:
        raise ConfigError(f'{path}: unknown key(s) {", ".join(extra)}')
    params = data.get('parameters') or {}
    if not isinstance(params, dict) or not all(isinstance(v, dict) for v in params.values()):
        raise ConfigError(f'{path}: parameters must map node names to parameter mappings')
    timeout = data.get('timeout_s', 90.0)
    if not isinstance(timeout, (int, float)) or not 0 < timeout < 3600:
        raise ConfigError(f'{path}: timeout_s must be a number of seconds in (0, 3600)')
    expect = dict(data['expect'])
    if 'transcripts' in expect:
        expect['transcripts'] = [normalize(str(t)) for t in expect['transcripts'] or []]
    lines = data.get('lines') or []
    try:
        lines_end = (max(float(line['at_s']) for line in lines) + 4.0) if lines else (
            8.0 if 'lines' in data else None)
    except (TypeError, KeyError, ValueError):
        raise ConfigError(f'{path}: lines must be a list of {{at_s, text}}') from None
    return Expectation(expect, str(data.get('description', '')), params, float(timeout),
                       lines_end)


def compare(outcome: Outcome, expect: dict) -> list[str]:
    """The differences as unified-diff lines, one block per key; empty when it matches."""
    got = outcome.as_dict()
    lines: list[str] = []
    for key in KEYS:
        if key not in expect or _canonical(expect[key]) == _canonical(got[key]):
            continue
        want = yaml.safe_dump({key: expect[key]}, sort_keys=False).splitlines()
        have = yaml.safe_dump({key: got[key]}, sort_keys=False).splitlines()
        lines += difflib.unified_diff(want, have, 'expected', 'replayed', lineterm='')
    return lines


def _canonical(value):
    if value is None:
        return ''
    if isinstance(value, (list, tuple)):
        return [_canonical(v) for v in value]
    return str(value)
