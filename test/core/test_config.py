"""Typed loading of the YAML catalogs: the shipped files load, and a bad file is one ConfigError
naming the file, the key and what was expected."""
from __future__ import annotations

import pytest

from edge_agent.core.config import TierCatalog
from edge_agent.core.config.schema import EvalFile, load_yaml
from edge_agent.core.errors import ConfigError, EdgeAgentError
from edge_agent.core.planning import PlanError, SkillCatalog
from edge_agent.eval.planner import default_eval_path, load_cases

SKILLS = '''
places: [kitchen]
skills:
  say: {args: [{name: text, type: text}]}
  ask: {args: [{name: question, type: text}]}
  stop: {}
'''


def test_shipped_catalogs_load_with_their_defaults_filled_in():
    tiers = TierCatalog()
    assert tiers[0].entry('llm').timeout_s == 20.0  # default from the schema, typed
    assert tiers[len(tiers) - 1].model('llm') is None
    skills = SkillCatalog()
    assert {'navigate_to', 'pick', 'say', 'ask', 'stop'} <= set(skills.skills)
    cases = load_cases()
    assert len(cases) >= 50 and default_eval_path().parts[-3:] == (
        'data', 'eval', 'planner_eval.yaml')


@pytest.mark.parametrize('text,match', [
    ('tiers: []', r'tiers: List should have at least 1 item'),
    ('tiers: [{name: a, llm: {model: m, n_ctx: lots}}]',
     r"tiers.0.llm.n_ctx: Input should be a valid integer.*\(got 'lots'\)"),
    ('tiers: [{name: a, vision: {model: d, rate_hz: 0}}]',
     r'tiers.0.vision.rate_hz: Input should be greater than 0'),
    ('tiers: [{name: a, stt: {model: w, beam: 5}}]', r'tiers.0.stt.beam: Extra inputs'),
    ('schema_version: 2\ntiers: [{name: a}]', r'schema_version: Input should be 1'),
])
def test_bad_tier_catalog_names_file_key_and_expectation(tmp_path, text, match):
    path = tmp_path / 'tiers.yaml'
    path.write_text(text)
    with pytest.raises(ConfigError, match=r'tiers.yaml: ' + match):
        TierCatalog(path)


@pytest.mark.parametrize('edit,match', [
    (lambda t: t.replace('type: text}]}\n  ask', 'type: colour}]}\n  ask'),
     r"skills.say.args.0.type: Input should be 'location', 'object'"),
    (lambda t: t.replace('  stop: {}\n', ''), r'the catalog needs the skills say, ask and stop; '
                                               r'missing: stop'),
    (lambda t: t.replace('places: [kitchen]', 'places: []'), r'places: List should have at '
                                                              r'least 1 item'),
    (lambda t: t + 'max_steps: 0\n', r'max_steps: Input should be greater than or equal to 1'),
])
def test_bad_skill_catalog_names_file_and_key(tmp_path, edit, match):
    path = tmp_path / 'skills.yaml'
    path.write_text(edit(SKILLS))
    with pytest.raises(ConfigError, match=match):
        SkillCatalog(path)


def test_good_minimal_skill_catalog_loads(tmp_path):
    path = tmp_path / 'skills.yaml'
    path.write_text(SKILLS)
    catalog = SkillCatalog(path)
    assert catalog.places == ('kitchen',) and catalog.max_steps == 8


def test_bad_evaluation_set_names_the_case(tmp_path):
    path = tmp_path / 'eval.yaml'
    path.write_text('world: {objects: [red cup]}\ncommands:\n'
                    '  - {command: go, category: simple, expect: maybe}\n')
    with pytest.raises(ConfigError, match=r"commands.0.expect"):
        load_yaml(path, EvalFile)


def test_unreadable_and_missing_files_are_config_errors(tmp_path):
    with pytest.raises(ConfigError, match='cannot read tier catalog .*nowhere.yaml'):
        TierCatalog(tmp_path / 'nowhere.yaml')
    (tmp_path / 'latin1.yaml').write_bytes(b'tiers: [{name: caf\xe9}]')
    with pytest.raises(ConfigError, match='cannot read'):
        TierCatalog(tmp_path / 'latin1.yaml')


def test_every_error_is_an_edge_agent_error():
    """The CLI and the nodes catch one base class."""
    from edge_agent.core.models import ModelError
    from edge_agent.core.planning.backends import BackendFailure
    from edge_agent.core.speech import AudioFormatError
    from edge_agent.core.vision import DetectorError, ImageFormatError

    for error in (ConfigError, ModelError, PlanError, DetectorError, AudioFormatError,
                  ImageFormatError, BackendFailure):
        assert issubclass(error, EdgeAgentError), error
