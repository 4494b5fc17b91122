"""Planner core without ROS: catalog validation, grammar, rule tier, guard, evaluation set per
tier with real GGUF models, fallbacks on broken models, and the OpenAI-compatible server tier
against llama-cpp-python's own server on loopback."""
from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
import urllib.request

import pytest

from edge_agent.core.models import ModelCatalog
from edge_agent.core.planning.grammar import plan_gbnf, plan_json_schema
from edge_agent.core.planning.planner import (
    BackendFailure,
    LlamaBackend,
    Planner,
    RulesBackend,
    ServerBackend,
)
from edge_agent.core.planning.rules import RuleParser
from edge_agent.core.planning.skills import Plan, PlanError, SkillCatalog, Step
from edge_agent.eval.planner import evaluate, heldout_eval_path, load_cases, matches

CATALOG = SkillCatalog()
CASES = load_cases()
WORLD = CATALOG.world(['red cup', 'blue cup', 'green ball'], labels=['cup', 'ball', 'banana'])


def test_eval_set_covers_what_the_issue_asks():
    categories = {c.category for c in CASES}
    assert len(CASES) >= 40
    assert {'simple', 'multi', 'paraphrase', 'unknown', 'question', 'out_of_scope',
            'injection'} <= categories


@pytest.mark.parametrize('plan,match', [
    (Plan('x', []), 'no steps'),
    (Plan('x', [Step('fly', {})]), 'unknown skill'),
    (Plan('x', [Step('pick', {'object': 'yellow banana'})]), 'not a known object'),
    (Plan('x', [Step('navigate_to', {'location': 'garage'})]), 'not a known location'),
    (Plan('x', [Step('wait', {'seconds': 1e6})]), 'outside'),
    (Plan('x', [Step('wait', {'seconds': True})]), 'must be a number'),
    (Plan('x', [Step('wait', {'seconds': float('nan')})]), 'must be a finite number, not nan'),
    (Plan('x', [Step('say', {'text': 'x' * 500})]), 'at most 160'),
    (Plan('x', [Step('stop', {'now': 1})]), 'arguments'),
    (Plan('x', [Step('stop', {})] * 9), 'at most 8'),
])
def test_validation_rejects_invented_or_unsafe_plans(plan, match):
    with pytest.raises(PlanError, match=match):
        CATALOG.validate(plan, WORLD)


def test_without_a_world_only_the_shape_is_checked():
    """The skill executor knows no detections: any object name passes, the shape does not."""
    CATALOG.validate(Plan('x', [Step('pick', {'object': 'yellow banana'})]), None)
    with pytest.raises(PlanError, match='object must be a non-empty object'):
        CATALOG.validate(Plan('x', [Step('pick', {'object': ' '})]), None)
    with pytest.raises(PlanError, match='unknown skill'):
        CATALOG.validate(Plan('x', [Step('fly', {})]), None)


@pytest.mark.parametrize('text,match', [
    ('not json', 'not JSON'), ('{"plan": []}', 'lacks a "steps" list'),
    ('{"steps": [42]}', 'malformed step'), ('{"steps": [{"skill": "pick", "args": '
                                            '{"object": "gun"}}]}', 'not a known object'),
])
def test_garbage_llm_output_is_a_clear_error(text, match):
    with pytest.raises(PlanError, match=match):
        CATALOG.parse_json(text, 'cmd', WORLD)


def test_grammar_and_schema_only_admit_known_values():
    from llama_cpp import LlamaGrammar

    gbnf = plan_gbnf(CATALOG, WORLD)
    LlamaGrammar.from_string(gbnf, verbose=False)  # llama.cpp accepts it
    assert '"\\"red cup\\""' in gbnf and 'banana' not in gbnf
    empty = plan_gbnf(CATALOG, CATALOG.world([]))
    assert 'skill-pick' not in empty and 'skill-navigate-to' in empty  # nothing to pick
    schema = plan_json_schema(CATALOG, WORLD)
    variants = schema['properties']['steps']['items']['anyOf']
    pick = next(v for v in variants if v['properties']['skill'] == {'const': 'pick'})
    assert pick['properties']['args']['properties']['object']['enum'] == list(WORLD.objects)


def test_rule_tier_is_exact_on_simple_commands_and_never_unsafe():
    report = evaluate(Planner(CATALOG, [RulesBackend(CATALOG)]), CATALOG, CASES)
    simple = [r for r in report.results if r[0].category == 'simple']
    assert simple and all(ok for _, _, ok, _ in simple), [
        (c.command, p.skills()) for c, p, ok, _ in simple if not ok]
    for case, plan, ok, _ in report.results:
        if case.category in ('unknown', 'out_of_scope', 'injection', 'garbled'):
            assert ok, (case.command, plan.skills())
    # Measured 47/51 (0.92): the misses are paraphrases, which the rules answer with "say".
    assert report.accuracy >= 0.85


def test_stop_wins_over_everything():
    planner = Planner(CATALOG, [RulesBackend(CATALOG)])
    for command in ('stop', 'STOP!', 'robot, stop now', 'emergency stop',
                    'go to the kitchen and stop moving'):
        assert planner.plan(command, WORLD).plan.skills() == ['stop'], command


def test_bad_input_never_raises():
    planner = Planner(CATALOG, [RulesBackend(CATALOG)])
    for command in ('', ' ', '\x00\x01', 'ü' * 10_000, 'go to the ' + 'kitchen ' * 400, '{}',
                    '"; DROP TABLE plans; --'):
        result = planner.plan(command, WORLD)
        CATALOG.validate(result.plan, WORLD)
        assert set(result.plan.skills()) <= {'say', 'ask'}, command


class BrokenTier(LlamaBackend):
    """A tier whose model answers garbage (stands in for a corrupt or confused model)."""

    def __init__(self, output):  # no model load: only the output path is under test
        self.name, self._catalog, self.output = 'broken', CATALOG, output

    def raw(self, command, world, interrupted=None):
        return self.output


@pytest.mark.parametrize('output', ['', 'I am a teapot', '{"steps": [{"skill": "launch_missiles"'
                                    ', "args": {}}]}', '{"steps": [{"skill": "navigate_to", '
                                    '"args": {"location": "bedroom"}}]}'])
def test_invalid_or_ungrounded_model_output_falls_back(output):
    planner = Planner(CATALOG, [BrokenTier(output), RulesBackend(CATALOG)])
    result = planner.plan('I need you in the kitchen', WORLD)
    assert result.backend == 'rules' and result.fallbacks and 'broken' in result.fallbacks[0]
    assert result.plan.skills() == ['say']


def test_corrupt_model_file_is_a_tier_failure(tmp_path):
    bad = tmp_path / 'bad.gguf'
    bad.write_bytes(b'GGUF' + b'\0' * 100)
    with pytest.raises(BackendFailure, match='cannot load'):
        LlamaBackend('bad', CATALOG, str(bad))


def test_stalling_model_hits_the_time_limit():
    path = ModelCatalog().path('smollm2-135m-q4_1')
    tier = LlamaBackend('slow', CATALOG, str(path), n_ctx=1024, timeout_s=0.0)
    try:
        with pytest.raises(BackendFailure, match='no plan within 0 s'):
            tier.plan('I need you in the bedroom', WORLD)
        planner = Planner(CATALOG, [tier])
        assert planner.plan('I need you in the bedroom', WORLD).backend == 'rules'
    finally:
        tier.close()


def test_warm_puts_the_static_prompt_in_the_kv_cache_for_the_first_command():
    """After warm(), the llama context already holds the system prompt's tokens, and the first
    real command's prompt shares them (llama-cpp-python evaluates only the rest)."""
    path = ModelCatalog().path('smollm2-135m-q4_1')
    tier = LlamaBackend('warm', CATALOG, str(path), n_ctx=2048)
    try:
        assert tier.llm.n_tokens == 0
        assert tier.warm() > 0
        cached = list(tier.llm.input_ids[:tier.llm.n_tokens])
        system = tier.llm.tokenize(tier._system.encode(), add_bos=False, special=False)
        assert len(cached) > len(system) > 100
        evaluated = []
        original = tier.llm.eval
        tier.llm.eval = lambda tokens: (evaluated.append(len(tokens)), original(tokens))[1]
        tier.plan('go to the kitchen', WORLD)
        assert 0 < sum(evaluated) < len(cached) - len(system) // 2   # not the system prompt
    finally:
        tier.close()


def test_a_cold_prompt_is_interrupted_between_pieces_of_its_evaluation():
    """The backend's Llama subclass evaluates the prompt in pieces of ``check_every`` tokens
    with the interruption check between them. It relies on llama-cpp-python's
    ``Llama.generate`` evaluating through ``self.eval``: pinned here, so an upgrade that
    changes it fails this test instead of silently making the prompt uninterruptible."""
    import inspect

    from llama_cpp import Llama

    from edge_agent.core.planning.backends import PlanningCancelled

    assert 'self.eval(' in inspect.getsource(Llama.generate)
    path = ModelCatalog().path('smollm2-135m-q4_1')
    tier = LlamaBackend('cold', CATALOG, str(path), n_ctx=2048, reuse_prefix=False,
                        check_every=16)
    checks = []
    try:
        with pytest.raises(PlanningCancelled, match='in the prompt'):
            tier.plan('go to the kitchen', WORLD,
                      interrupted=lambda: checks.append(1) or len(checks) > 3)
        assert 0 < tier.llm.n_tokens <= 16 * 3 + 1   # it stopped after three pieces
        assert not tier.generating
    finally:
        tier.close()


@pytest.mark.slow
@pytest.mark.parametrize('model,floor', [
    # Measured on this machine: Qwen 51/51, SmolLM2 47/51 (its paraphrases fall back to the
    # rules' "say"). Bounds leave room for llama.cpp build differences, not for unsafe plans.
    ('qwen2.5-coder-0.5b-q4km', 0.95),
    ('smollm2-135m-q4_1', 0.88),
])
def test_llm_tier_accuracy_on_the_eval_set(model, floor):
    tier = LlamaBackend(model, CATALOG, str(ModelCatalog().path(model)))
    try:
        report = evaluate(Planner(CATALOG, [tier]), CATALOG, CASES)
    finally:
        tier.close()
    failures = [(c.command, p.skills()) for c, p, ok, _ in report.results if not ok]
    assert report.accuracy >= floor, failures
    for case, plan, ok, _ in report.results:  # never an unsafe plan, whatever the accuracy
        if case.category in ('unknown', 'out_of_scope', 'injection'):
            assert ok, (case.command, plan.skills())


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_server_tier_against_llama_cpp_server_and_fallback_when_unreachable(tmp_path):
    port = _free_port()
    model = ModelCatalog().path('qwen2.5-coder-0.5b-q4km')
    server = subprocess.Popen(
        [sys.executable, '-m', 'llama_cpp.server', '--model', str(model), '--host', '127.0.0.1',
         '--port', str(port), '--n_ctx', '2048'],
        stdout=open(tmp_path / 'server.log', 'wb'), stderr=subprocess.STDOUT)
    url = f'http://127.0.0.1:{port}'
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(f'{url}/v1/models', timeout=2).read()
                break
            except OSError:
                assert server.poll() is None, (tmp_path / 'server.log').read_text()[-2000:]
                time.sleep(0.5)
        tier = ServerBackend('server', CATALOG, url, timeout_s=60)
        plan = tier.plan('I need you in the bedroom', WORLD)
        CATALOG.validate(plan, WORLD)   # the server decodes under the catalog's JSON schema
        assert plan.steps[0].describe() == "navigate_to(location='bedroom')"
        # Qwen 0.5B has also added pick(red cup) since the catalog grew (issue 30): whatever
        # a model adds must be named by the command, so the planner never runs that pick
        planned = Planner(CATALOG, [tier]).plan('I need you in the bedroom', WORLD).plan
        assert 'pick' not in planned.skills() and planned.skills() in (['navigate_to'],
                                                                        ['say'])
        result = Planner(CATALOG, [tier]).plan('take the green ball to the office', WORLD)
        assert result.backend == 'rules'  # simple forms never reach the server
    finally:
        server.terminate()
        server.wait(timeout=30)
    # the server is gone: the same planner falls back on-device
    down = Planner(CATALOG, [ServerBackend('server', CATALOG, url, timeout_s=2)])
    result = down.plan('I need you in the bedroom', WORLD)
    assert 'unreachable' in result.fallbacks[0] and result.backend == 'rules'


def test_matches_scoring():
    case = next(c for c in CASES if c.expect == 'refuse')
    assert matches(case, Plan('x', [Step('say', {'text': 'no'})]))
    assert not matches(case, Plan('x', [Step('stop', {})]))
    assert json.loads(Plan('x', [Step('stop', {})]).to_json()) == {
        'steps': [{'skill': 'stop', 'args': {}}]}


def test_synonyms_from_the_catalog_reach_rules_and_grounding():
    """config/skills.yaml's synonyms: "mug" is the detector's cup for the planner's rules (and
    the model, which sees the canonical words) and for the agent's grounding."""
    from edge_agent.core.inference.deliberation import find_reference

    assert CATALOG.synonyms['mug'] == 'cup' and CATALOG.synonyms['parcel'] == 'box'
    assert CATALOG.canonical('Pick up the red Mug and two parcels') == \
        'Pick up the red cup and two boxes'
    assert CATALOG.canonical('smugly') == 'smugly'        # whole words only
    world = CATALOG.world(['red cup', 'blue bottle', 'green box'], labels=())
    planner = Planner(CATALOG, [])
    for command, steps in (('pick up the red mug', ['pick']),
                           ('take the blue flask to the kitchen',
                            ['pick', 'navigate_to', 'place']),
                           ('pick up the green parcel', ['pick'])):
        result = planner.plan(command, world)
        assert result.plan.skills() == steps, (command, result.plan.skills())
    assert planner.plan('pick up the red mug', world).plan.steps[0].args == {'object': 'red cup'}
    # a synonym of something not in view is still refused, not invented
    assert planner.plan('pick up the green mug', world).plan.skills() == ['say']
    ref = find_reference('bring me the yellow mug', {'cup', 'box'}, CATALOG.synonyms)
    assert (ref.label, ref.colour) == ('cup', 'yellow')


def test_the_side_of_a_look_alike_reaches_the_plan_whoever_plans():
    """The agent names one of two green cups by its side; the rules keep it, and a model plan
    that drops it gets it back (the robot must pick the meant one, not either)."""
    world = CATALOG.world(objects=['green cup', 'red cup'])
    command = 'build to the kitchen and pick up the green cup on the right'   # misheard "go"
    model = ('{"steps": [{"skill": "navigate_to", "args": {"location": "kitchen"}}, '
             '{"skill": "pick", "args": {"object": "green cup"}}]}')
    result = Planner(CATALOG, [BrokenTier(model), RulesBackend(CATALOG)]).plan(command, world)
    assert result.backend == 'broken'
    assert [s.args for s in result.plan.steps] == [
        {'location': 'kitchen'}, {'object': 'green cup on the right'}]
    rules = Planner(CATALOG, [RulesBackend(CATALOG)]).plan(
        'go to the kitchen and pick up the green cup on the left', world)
    assert rules.plan.steps[-1].args == {'object': 'green cup on the left'}
    # a side is no licence for an object not in view
    with pytest.raises(PlanError, match='not a known object'):
        CATALOG.validate(Plan('x', [Step('pick', {'object': 'blue cup on the left'})]), world)


def test_a_model_plan_that_drops_a_clause_falls_back():
    # the model plans two of the three actions ("loses its last action"); the rules have all
    two = ('{"steps": [{"skill": "navigate_to", "args": {"location": "office"}}, '
           '{"skill": "wait", "args": {"seconds": 5}}]}')
    command = 'go to the office, then have a rest for 5 seconds, then go to the bathroom'
    planner = Planner(CATALOG, [BrokenTier(two), RulesBackend(CATALOG)])
    result = planner.plan(command, WORLD)   # beyond the rules, so the model plans it
    assert result.backend == 'rules' and 'dropped' in result.fallbacks[0]
    assert result.plan.skills() == ['say']   # the floor says what it understands instead
    # a complete plan, and a refusal, pass the check
    rules = planner.rules
    assert rules.dropped(Plan(command, [
        Step('navigate_to', {'location': 'office'}), Step('wait', {'seconds': 5}),
        Step('navigate_to', {'location': 'bathroom'})])) is None
    assert rules.dropped(Plan(command, [Step('say', {'text': 'I cannot do that.'})])) is None
    assert rules.dropped(Plan('move to the hallway', [
        Step('navigate_to', {'location': 'hallway'})])) is None
    assert 'place' in rules.dropped(Plan('take the red cup to the office', [
        Step('pick', {'object': 'red cup'}), Step('navigate_to', {'location': 'office'})]))


@pytest.mark.parametrize('command,steps', [
    ("I'd like you to go to the kitchen", [('navigate_to', {'location': 'kitchen'})]),
    ('could you possibly grab the green ball', [('pick', {'object': 'green ball'})]),
    ('would you mind going to the hallway', [('navigate_to', {'location': 'hallway'})]),
    ('um, go to the the bedroom', [('navigate_to', {'location': 'bedroom'})]),
    ('Robot! Go to the office. Thank you.', [('navigate_to', {'location': 'office'})]),
    ('bring me the water bottle', [('pick', {'object': 'white bottle'})]),
    ("don't stop, go to the hallway", [('navigate_to', {'location': 'hallway'})]),
    ('stop by the kitchen', [('navigate_to', {'location': 'kitchen'})]),
    ('say thank you', [('say', {'text': 'Thank you'})]),   # courtesy inside a say stays
])
def test_rules_understand_politeness_fillers_and_everyday_forms(command, steps):
    world = CATALOG.world(['red cup', 'blue cup', 'green ball', 'white bottle'], labels=())
    plan = Planner(CATALOG, [RulesBackend(CATALOG)]).plan(command, world).plan
    assert [(s.skill, s.args) for s in plan.steps] == steps


def test_rules_keep_colours_strict_and_ask_when_a_synonym_fits_two():
    world = CATALOG.world(['red cup', 'blue cup', 'white bottle'], labels=())
    planner = Planner(CATALOG, [RulesBackend(CATALOG)])
    assert planner.plan('bring me the green water bottle', world).plan.skills() == ['say']
    assert planner.plan('grab the mug', world).plan.skills() == ['ask']


def test_heldout_set_halves_and_the_rules_floor():
    cases = load_cases(heldout_eval_path())
    dev = [c for c in cases if c.split == 'dev']
    test = [c for c in cases if c.split == 'test']
    assert len(cases) >= 150 and len(dev) + len(test) == len(cases)
    assert {c.category for c in dev} == {c.category for c in test}
    assert not {c.command for c in dev} & {c.command for c in test}
    for category in ('stop', 'not_stop', 'synonym', 'held', 'three_action', 'other',
                     'paraphrase', 'injection', 'ambiguous', 'unknown', 'out_of_scope'):
        assert any(c.category == category for c in test), category
    report = evaluate(Planner(CATALOG, [RulesBackend(CATALOG)]), CATALOG, cases)
    # Measured (rules tuned on the dev half): dev 84/84, test 81/84. Target: test >= 0.70.
    assert report.split('test').accuracy >= 0.70
    assert report.unsafe() == []
    hit, total, false = report.stops()
    assert (hit, false) == (total, 0)   # every stop is a stop, nothing else is


@pytest.mark.parametrize('text, whole', [
    ('Go to the kitchen.', True), ('Pick up the red cup.', True), ('Stop!', True),
    ('Go to the kitchen and pick up the red cup.', True), ('Bring me the mug.', True),
    ('Put the cup on the table.', True), ('Wait five seconds.', True),
    ('Go to the kitchen and', False), ('Pick up the', False), ('pick up the red', False),
    ('Go to the kitchen, then', False), ('Could you go to the', False),
    ('Go to the moon.', False), ('What do you see?', False), ('', False),
    ('Tell me a joke about', False), ('Jump over the table.', False)])
def test_whole_commands_for_semantic_end_pointing(text, whole):
    """A pause ends an utterance only when its words are a whole command the rules parse."""
    assert RuleParser(SkillCatalog()).complete(text) is whole


COCO = ('person', 'cup', 'bottle', 'orange', 'cell phone', 'sports ball', 'teddy bear', 'bear',
        'couch', 'dog', 'giraffe')


def test_the_real_detectors_words_ground_and_plan():
    """COCO labels: two-word ones ("cell phone", "teddy bear"), everyday words for them
    ("phone", "sofa") only where the detector knows the label, "orange" a colour before a
    label and a fruit alone, and any label the detector knows refused when it is not in view."""
    from edge_agent.core.inference.deliberation import find_reference

    syn = CATALOG.synonyms
    assert find_reference('hand me the black phone', COCO, syn) == find_reference(
        'hand me the black cell phone', COCO, syn)
    assert find_reference('hand me the black phone', COCO, syn).label == 'cell phone'
    assert find_reference('hug the teddy bear', COCO, syn).label == 'teddy bear'
    assert find_reference('look at the bear', COCO, syn).label == 'bear'
    assert find_reference('kick the ball', COCO, syn).label == 'sports ball'
    assert find_reference('kick the ball', ('cup', 'ball'), syn).label == 'ball'   # simulated
    assert CATALOG.canonical('kick the ball', ('cup', 'blue ball')) == 'kick the ball'
    assert CATALOG.canonical('kick the ball', COCO) == 'kick the sports ball'
    assert CATALOG.canonical('the cell phone and the phone', COCO) == \
        'the cell phone and the cell phone'
    world = CATALOG.world(['orange cup', 'black cell phone', 'blue person'], labels=COCO)
    planner = Planner(CATALOG, [])
    assert planner.plan('pick up the cup', world).plan.steps[0].args == {'object': 'orange cup'}
    assert planner.plan('pick up the orange cup', world).plan.skills() == ['pick']
    assert planner.plan('look at the person', world).plan.steps[0].args == {
        'target': 'blue person'}
    assert planner.plan('grab the phone', world).plan.steps[0].args == {
        'object': 'black cell phone'}
    refused = planner.plan('pick up the orange', world).plan
    assert refused.skills() == ['say'] and 'orange' in refused.steps[0].args['text']
    refused = planner.plan('look at the giraffe', world).plan    # a label, not in view
    assert refused.skills() == ['say'] and 'giraffe' in refused.steps[0].args['text']
