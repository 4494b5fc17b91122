"""Benchmark the whole agent end to end: spoken commands (Piper's voice in a continuous
microphone stream with room noise) through every node in one process, as `edge-agent up` runs
them, with the real models; per command the end of speech -> goal accepted by the skill
executor -> first step started, from the command's trace (agent/trace), grouped by who planned
it (the rules, or the tier's model), per tier, with semantic end-pointing on and off; and the
process's resident memory while it works (peak of RSS sampled every 0.2 s).

Each tier and mode runs in its own process (clean memory). Usage:
  python -m edge_agent.bench e2e [--tiers 0,1,2] [--early-end on,off] [--json FILE] [-v]
"""
from __future__ import annotations

import argparse
import json
import os
import pathlib
import statistics
import subprocess
import sys
import tempfile
import threading
import time

from edge_agent.bench.common import rss_mb

# Simple commands the rules parse, and commands only a model plans (phrasings the rules do not
# know); every one ends in a first step (navigate_to, wait, look_at, say).
RULES = ['Go to the kitchen.', 'Drive to the office.', 'Go to the bedroom.',
         'Go to the living room.']
MODEL = ['I need you in the bedroom.', 'Could you make your way over to the office?',
         'Please head towards the hallway.', 'Get yourself over to the kitchen.']


def synthesize(directory: pathlib.Path) -> None:
    """Every command's speech, once, as .npy files (a process of its own: Piper's memory is
    not the agent's)."""
    import numpy as np

    from edge_agent.bags.scenarios import speech_samples
    from edge_agent.core.speech import PiperVoiceEngine

    voice = PiperVoiceEngine()
    try:
        for i, text in enumerate(RULES + MODEL):
            np.save(directory / f'{i}.npy', speech_samples(text, voice))
    finally:
        voice.close()


def measure(tier: int, early_end: bool, directory: pathlib.Path, repeats: int) -> dict:
    """Run the graph at ``tier`` and speak every command ``repeats`` times."""
    import numpy as np
    from rclpy.node import Node
    from rclpy.time import Time
    from std_msgs.msg import Bool

    from edge_agent.app.closed_loop import Microphone
    from edge_agent.app.runner import AgentGraph
    from edge_agent.msg import Plan, Trace, Transcript
    from edge_agent.nodes.common import LATCHED
    from edge_agent.nodes.common.trace import TRACE_TOPIC, latencies

    samples = [np.load(directory / f'{i}.npy') for i in range(len(RULES + MODEL))]
    overrides = {'speech': {'tier': tier, 'early_end': early_end},
                 'vision': {'tier': tier}, 'planner': {'tier': tier},
                 'skill_executor': {'step_time_s': 0.5}}
    peak = [0.0]
    sampling = threading.Event()

    def sample() -> None:
        while not sampling.wait(0.2):
            peak[0] = max(peak[0], rss_mb())

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    began = time.monotonic()
    graph = AgentGraph({'log_level': 'error'}, overrides=overrides)
    graph.start()
    up_s = time.monotonic() - began
    idle_mb = rss_mb()
    rows = []
    mic = None
    try:
        probe = graph.add(Node('bench_e2e', context=graph.context))
        traces: list = []
        plans: list = []
        finals: list = []
        speaking = [False]
        probe.create_subscription(Trace, TRACE_TOPIC, traces.append, 50)
        probe.create_subscription(Plan, 'agent/plan', plans.append, 50)
        probe.create_subscription(Transcript, 'speech/transcript',
                                  lambda m: m.is_final and finals.append(m), 50)
        probe.create_subscription(Bool, 'speech/speaking',
                                  lambda m: speaking.__setitem__(0, m.data), LATCHED)
        mic = Microphone(probe)
        deadline = time.monotonic() + 30
        while mic.subscribers == 0 and time.monotonic() < deadline:
            time.sleep(0.05)
        mic.start()
        time.sleep(1.0)
        order = [(i, text) for _ in range(repeats) for i, text in enumerate(RULES + MODEL)]
        for i, text in order:
            seen = len(traces)
            heard = len(finals)
            mic.say(samples[i])
            deadline = time.monotonic() + 40
            while len(traces) == seen and time.monotonic() < deadline:
                time.sleep(0.02)
            trace = traces[seen] if len(traces) > seen else None
            row = {'command': text, 'kind': 'rules' if i < len(RULES) else 'model',
                   'heard': ' | '.join(m.text for m in finals[heard:]),
                   'early_end': any(m.early_end for m in finals[heard:])}
            if trace is not None:
                end = Time.from_msg(trace.end_of_speech).nanoseconds
                row.update({'stages': list(trace.stages), 'latencies': dict(latencies(trace)),
                            'since_speech': {s: (Time.from_msg(t).nanoseconds - end) / 1e9
                                             for s, t in zip(trace.stages, trace.stamps,
                                                             strict=True)},
                            'planner': plans[-1].planner_backend if plans else ''})
            rows.append(row)
            # quiet until the robot has finished (a say step mutes the microphone)
            time.sleep(1.5)
            deadline = time.monotonic() + 20
            while (speaking[0] or mic.speaking) and time.monotonic() < deadline:
                time.sleep(0.05)
    finally:
        if mic is not None:
            mic.stop()
        sampling.set()
        graph.stop()
    return {'tier': tier, 'early_end': early_end, 'up_s': up_s, 'idle_rss_mb': idle_mb,
            'peak_rss_mb': peak[0], 'rows': rows}


def summarize(result: dict) -> dict:
    """p50 of end of speech -> goal accepted / first step per kind of planning."""
    out = {}
    for kind in ('rules', 'model'):
        rows = [r for r in result['rows'] if r['kind'] == kind and 'since_speech' in r]
        for key, stage in (('transcript', 'transcript'), ('accepted', 'goal accepted'),
                           ('first_step', 'first step')):
            values = [r['since_speech'][stage] for r in rows if stage in r['since_speech']]
            out[f'{kind}_{key}_p50_s'] = statistics.median(values) if values else None
        out[f'{kind}_n'] = len(rows)
        out[f'{kind}_planned_by_model'] = sum(
            1 for r in rows if r.get('planner') not in ('rules', 'guard', ''))
    out['missed'] = sum(1 for r in result['rows'] if 'since_speech' not in r)
    out['early_ends'] = sum(1 for r in result['rows'] if r['early_end'])
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--tiers', default='0,1,2')
    parser.add_argument('--early-end', default='on,off',
                        help='semantic end-pointing on, off, or both (default; off at tier 0 '
                        'only)')
    parser.add_argument('--repeats', type=int, default=1)
    parser.add_argument('--json', help='also write the results to this file')
    parser.add_argument('-v', '--verbose', action='store_true', help='every command')
    parser.add_argument('--one', nargs=3, help=argparse.SUPPRESS)
    parser.add_argument('--synthesize', help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.synthesize:
        synthesize(pathlib.Path(args.synthesize))
        return 0
    if args.one:
        tier, mode, directory = args.one
        print(json.dumps(measure(int(tier), mode == 'on', pathlib.Path(directory),
                                 args.repeats)))
        return 0
    env = dict(os.environ, ROS_AUTOMATIC_DISCOVERY_RANGE='LOCALHOST',
               ROS_DOMAIN_ID=os.environ.get('ROS_DOMAIN_ID', '58'))
    results = []
    with tempfile.TemporaryDirectory(prefix='edge_agent_e2e_') as directory:
        subprocess.run([sys.executable, '-m', 'edge_agent.bench.e2e', '--synthesize',
                        directory], check=True, env=env)
        modes = args.early_end.split(',')
        runs = [(int(t), m) for t in args.tiers.split(',') for m in modes
                if m == 'on' or (int(t) == 0 or len(modes) == 1)]
        print(f'{"tier":<5}{"early end":<10}{"rules: EoS->accepted":>21}{"->1st step":>11}'
              f'{"model: EoS->accepted":>21}{"->1st step":>11}{"by model":>9}{"missed":>7}'
              f'{"peak RSS MB":>12}')
        for tier, mode in runs:
            out = subprocess.run([sys.executable, '-m', 'edge_agent.bench.e2e', '--one',
                                  str(tier), mode, directory, '--repeats', str(args.repeats)],
                                 env=env, capture_output=True, text=True, timeout=1800)
            if out.returncode:
                print(out.stderr[-3000:], file=sys.stderr)
                return 1
            result = json.loads(out.stdout.strip().splitlines()[-1])
            result['summary'] = summary = summarize(result)
            results.append(result)

            def cell(key: str, summary=summary) -> str:
                value = summary[key]
                return '-' if value is None else f'{value:.2f} s'

            print(f'{tier:<5}{mode:<10}{cell("rules_accepted_p50_s"):>21}'
                  f'{cell("rules_first_step_p50_s"):>11}{cell("model_accepted_p50_s"):>21}'
                  f'{cell("model_first_step_p50_s"):>11}'
                  f'{summary["model_planned_by_model"]:>5}/{summary["model_n"]:<3}'
                  f'{summary["missed"]:>7}{result["peak_rss_mb"]:>12.0f}', flush=True)
            if args.verbose:
                for row in result['rows']:
                    since = row.get('since_speech', {})
                    print(f'     {row["command"]!r} heard {row["heard"]!r} '
                          f'({row.get("planner", "-")}'
                          f'{", early end" if row["early_end"] else ""}): '
                          + (', '.join(f'{k} {v:.2f}' for k, v in since.items()) or 'no trace'))
    print('EoS->accepted: end of speech (the VAD end point, in the audio clock) to the skill '
          'executor accepting the plan, from agent/trace; p50 per kind. "by model": commands '
          'of the model set that the tier\'s model planned (a rules tier answers them itself).')
    if args.json:
        with open(args.json, 'w') as f:
            json.dump(results, f, indent=1)
    return 0


if __name__ == '__main__':
    sys.exit(main())
