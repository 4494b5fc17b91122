"""Benchmark the planner tiers: time to plan (p50, p95), decode speed against llama-cpp-python
called directly on the same prompts in the same run, the gain of keeping the static prompt
prefix in the KV cache, and peak memory. Commands are ones the rule parser cannot handle, so
every one reaches the model. Usage: python -m edge_agent.bench planner [--repeats N]
"""
import argparse
import json
import statistics
import sys
import time

from edge_agent.bench.common import peak_rss_mb, percentile
from edge_agent.core.models import ModelCatalog
from edge_agent.core.planning import Planner, system_prompt, world_prompt
from edge_agent.core.planning.backends import LlamaBackend
from edge_agent.core.planning.skills import SkillCatalog

COMMANDS = ['I need you in the bedroom', 'fetch me that green ball', 'hang on for two seconds',
            'have a look at the counter', 'make me a cup of coffee', 'open the front door',
            'could you head over to the kitchen', 'what is the weather tomorrow']


def bench_model(name, catalog, world, repeats):
    path = str(ModelCatalog().path(name))
    rows = {}
    for reuse in (True, False):
        tier = LlamaBackend(name, catalog, path, reuse_prefix=reuse)
        planner = Planner(catalog, [tier])
        planner.plan(COMMANDS[0], world)  # warm-up: loads the prefix into the KV cache
        times, decode_rates = [], []
        for _ in range(repeats):
            for command in COMMANDS:
                result = planner.plan(command, world)
                times.append(result.plan.planning_time)
                stats = tier.last_stats
                if stats.get('decode_s'):
                    decode_rates.append(stats['tokens'] / stats['decode_s'])
        rows[reuse] = (times, decode_rates)
        if reuse:  # direct llama-cpp-python on the same prompts, same model object
            from llama_cpp import LlamaGrammar

            from edge_agent.core.planning.grammar import plan_gbnf

            grammar = LlamaGrammar.from_string(plan_gbnf(catalog, world), verbose=False)
            direct = []
            for command in COMMANDS:
                messages = [{'role': 'system',
                             'content': system_prompt(catalog) + world_prompt(world)},
                            {'role': 'user', 'content': command}]
                first = None
                tokens = 0
                for _chunk in tier.llm.create_chat_completion(
                        messages=messages, grammar=grammar, max_tokens=256, temperature=0.0,
                        stream=True):
                    first = first or time.monotonic()
                    tokens += 1
                direct.append(tokens / (time.monotonic() - first))
            rows['direct'] = direct
        tier.close()
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--repeats', type=int, default=2)
    parser.add_argument('--models', default='qwen2.5-coder-0.5b-q4km,smollm2-135m-q4_1')
    parser.add_argument('--json', help='also write the results to this file')
    args = parser.parse_args()
    results = []
    catalog = SkillCatalog()
    world = catalog.world(['red cup', 'blue cup', 'green ball', 'yellow box'],
                          labels=['cup', 'ball', 'box'])
    print(f'{len(COMMANDS)} commands x {args.repeats}, all reaching the model')
    header = (f'{"tier":<26}{"plan p50 s":>11}{"p95 s":>8}{"no-reuse p50":>13}'
              f'{"reuse gain":>11}{"tok/s":>7}{"direct tok/s":>13}{"ratio":>7}')
    print(header)
    for name in args.models.split(','):
        rows = bench_model(name, catalog, world, args.repeats)
        reuse_t, reuse_rate = rows[True]
        cold_t, _ = rows[False]
        rate = statistics.median(reuse_rate)
        direct = statistics.median(rows['direct'])
        print(f'{name:<26}{statistics.median(reuse_t):>11.2f}{percentile(reuse_t, 18):>8.2f}'
              f'{statistics.median(cold_t):>13.2f}'
              f'{statistics.median(cold_t) / statistics.median(reuse_t):>10.2f}x'
              f'{rate:>7.0f}{direct:>13.0f}{rate / direct:>7.2f}')
        results.append({'model': name, 'plan_p50_s': statistics.median(reuse_t),
                        'plan_p95_s': percentile(reuse_t, 18),
                        'no_reuse_p50_s': statistics.median(cold_t), 'tok_s': rate,
                        'direct_tok_s': direct, 'ratio': rate / direct})
    rules = Planner(catalog, [])
    times = []
    for _ in range(200):
        times.append(rules.plan('go to the kitchen and pick up the red cup', world).plan
                     .planning_time)
    print(f'{"rules (simple command)":<26}{statistics.median(times) * 1e3:>9.2f}ms'
          f'{percentile(times, 18) * 1e3:>6.2f}ms')
    print(f'peak RSS {peak_rss_mb():.0f} MB')
    if args.json:
        with open(args.json, 'w') as f:
            json.dump({'rows': results, 'rules_p50_ms': statistics.median(times) * 1e3,
                       'peak_rss_mb': peak_rss_mb()}, f, indent=1)
    return 0


if __name__ == '__main__':
    sys.exit(main())
