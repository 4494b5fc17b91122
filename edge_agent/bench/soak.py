"""Soak: the whole agent for minutes, sampling every node's resident memory and CPU.

Every node in its own process (``edge-agent up --processes``, real models) with the MuJoCo
simulator's camera at 30 Hz, a continuous microphone stream (quiet-room noise; the
microphone is the only stand-in) carrying a spoken command every ``--command-every`` seconds,
and a model tier change through the governor's ``system/set_model_tier`` every
``--tier-every`` seconds (0, 1, 2, 1, 0, ...). Each node's RSS and CPU are read from /proc
every ``--sample-every`` seconds. Reported per node: the RSS slope [MB/min] over the samples
after ``--warmup`` (least squares), its RSS at each visit of a tier (growth after tier
changes: the same tier later against its first visit), and its mean CPU.

``soak(...)`` returns the numbers for a caller (the CI test runs 60 s and fails on a clear
leak); ``main()`` prints them.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import os
import time

import numpy as np

from edge_agent.bench.common import rss_mb

__all__ = ['COMMANDS', 'SoakResult', 'main', 'soak']

COMMANDS = ('Go to the kitchen.', 'Look at the red cup.', 'Go to the living room.',
            'Go to the office.')
TIER_CYCLE = (0, 1, 2, 1)
_TICK_S = 1.0 / os.sysconf('SC_CLK_TCK')


def _sample(pid: int) -> tuple[float, float] | None:
    """(RSS [MB], CPU time used [s]) of ``pid``; None when it is gone."""
    try:
        with open(f'/proc/{pid}/stat') as fh:
            fields = fh.read().rsplit(')', 1)[1].split()
    except (OSError, IndexError):
        return None
    rss = rss_mb(pid)
    return None if rss is None else (rss, (int(fields[11]) + int(fields[12])) * _TICK_S)


@dataclasses.dataclass
class SoakResult:
    """What a soak measured; see the module docstring."""

    duration_s: float
    samples: dict[str, list[tuple[float, float, float]]]   # node -> (t [s], RSS MB, CPU s)
    tiers: list[tuple[float, int]]                         # (t [s], tier set)
    commands: int = 0
    finals: int = 0
    plans: int = 0
    restarts: dict[str, str] = dataclasses.field(default_factory=dict)

    def slope_mb_per_min(self, node: str, after_s: float,
                         before_s: float = float('inf')) -> float:
        """Least-squares RSS slope of ``node`` over the samples in [after_s, before_s)."""
        rows = [(t, rss) for t, rss, _ in self.samples[node] if after_s <= t < before_s]
        if len(rows) < 3:
            return float('nan')
        t, rss = np.array(rows).T
        return float(np.polyfit(t / 60.0, rss, 1)[0])

    def cpu_percent(self, node: str) -> float:
        rows = self.samples[node]
        if len(rows) < 2 or rows[-1][0] <= rows[0][0]:
            return float('nan')
        return 100.0 * (rows[-1][2] - rows[0][2]) / (rows[-1][0] - rows[0][0])

    def rss_at_tiers(self, node: str, settle_s: float) -> list[tuple[int, float]]:
        """(tier, RSS MB) of ``node`` at the end of each tier period (``settle_s`` after a
        change, or the last sample before the next)."""
        out = []
        bounds = [t for t, _ in self.tiers[1:]] + [self.duration_s + 1]
        for (start, tier), end in zip(self.tiers, bounds, strict=True):
            rows = [rss for t, rss, _ in self.samples[node] if start + settle_s <= t < end]
            if rows:
                out.append((tier, rows[-1]))
        return out

    def as_dict(self, warmup_s: float, settle_s: float) -> dict:
        return {'duration_s': self.duration_s, 'commands': self.commands,
                'finals': self.finals, 'plans': self.plans, 'restarts': self.restarts,
                'tiers': self.tiers, 'nodes': {
                    n: {'slope_mb_per_min': round(self.slope_mb_per_min(n, warmup_s), 2),
                        'cpu_percent': round(self.cpu_percent(n), 1),
                        'rss_first_mb': round(s[0][1], 1), 'rss_last_mb': round(s[-1][1], 1),
                        'rss_at_tiers': [(k, round(v, 1)) for k, v in
                                         self.rss_at_tiers(n, settle_s)]}
                    for n, s in self.samples.items() if s}}


def soak(duration_s: float = 600.0, command_every_s: float = 10.0,
         tier_every_s: float = 120.0, sample_every_s: float = 2.0,
         camera_hz: float = 30.0, progress=lambda text: None) -> SoakResult:
    """Run the soak; see the module docstring."""
    from rclpy.node import Node

    from edge_agent.app.closed_loop import Microphone
    from edge_agent.app.processes import ProcessGraph
    from edge_agent.bags.scenarios import speech_samples
    from edge_agent.core.speech import PiperVoiceEngine
    from edge_agent.msg import Plan, Transcript
    from edge_agent.nodes.common.futures import wait_future
    from edge_agent.srv import SetModelTier

    voice = PiperVoiceEngine()
    try:
        clips = [speech_samples(text, voice) for text in COMMANDS]
    finally:
        voice.close()
    graph = ProcessGraph({'sim': 'true', 'robot': 'sim', 'use_sim_time': 'true'},
                         overrides={'sim': {'camera_rate_hz': float(camera_hz)}})
    progress('bringing the graph up ...')
    graph.start(on_node=lambda name: progress(f'  {name} serving'))
    feeder = Node('soak_feeder', context=graph.context, namespace=graph.arguments['namespace'])
    counts = {'finals': 0, 'plans': 0}

    def on_transcript(msg) -> None:
        counts['finals'] += bool(msg.is_final)

    def on_plan(_msg) -> None:
        counts['plans'] += 1

    feeder.create_subscription(Transcript, 'speech/transcript', on_transcript, 10)
    feeder.create_subscription(Plan, 'agent/plan', on_plan, 10)
    tier_client = feeder.create_client(SetModelTier, 'system/set_model_tier')
    mic = Microphone(feeder)
    graph.add(feeder)
    mic.start()
    result = SoakResult(duration_s, {'parent': []}, [])
    result.samples.update({name: [] for name in graph.pids()})
    began = time.monotonic()
    next_sample = next_command = 0.0
    next_tier, tier_index, said = 0.0, 0, 0
    try:
        while (now := time.monotonic() - began) < duration_s:
            if now >= next_tier:
                tier = TIER_CYCLE[tier_index % len(TIER_CYCLE)]
                tier_index += 1
                if tier_client.wait_for_service(timeout_sec=10.0):
                    wait_future(tier_client.call_async(SetModelTier.Request(
                        tier_index=tier, duration=0.0, reason='soak')), 30.0)
                result.tiers.append((round(now, 1), tier))
                progress(f'{now:6.0f} s: tier {tier}')
                next_tier += tier_every_s
            if now >= next_command:
                mic.say(clips[said % len(clips)])
                said += 1
                next_command += command_every_s
            if now >= next_sample:
                pids = {'parent': os.getpid(), **graph.pids()}
                for name, pid in pids.items():
                    got = _sample(pid)
                    if got is not None:
                        result.samples.setdefault(name, []).append((now, *got))
                next_sample += sample_every_s
            time.sleep(0.05)
        result.commands, result.finals, result.plans = said, counts['finals'], counts['plans']
        result.restarts = {k: v for k, v in graph.supervisor.report().values.items()
                           if k.endswith('.restarts')}
    finally:
        mic.stop()
        graph.stop()
    return result


def main() -> int:
    parser = argparse.ArgumentParser(prog='python -m edge_agent.bench soak',
                                     description=__doc__.split('\n\n')[0])
    parser.add_argument('--duration', type=float, default=600.0, help='[s]')
    parser.add_argument('--command-every', type=float, default=10.0, help='[s]')
    parser.add_argument('--tier-every', type=float, default=120.0, help='[s]')
    parser.add_argument('--sample-every', type=float, default=2.0, help='[s]')
    parser.add_argument('--warmup', type=float, default=60.0,
                        help='samples before this are left out of the slope [s]')
    parser.add_argument('--json', help='write the results here')
    args = parser.parse_args()
    result = soak(args.duration, args.command_every, args.tier_every, args.sample_every,
                  progress=print)
    settle = min(30.0, args.tier_every / 2)
    report = result.as_dict(args.warmup, settle)
    print(f'{args.duration:.0f} s, {result.commands} commands spoken, {result.finals} final '
          f'transcripts, {result.plans} plans, tiers {[t for _, t in result.tiers]}')
    print(f'{"node":18} {"RSS first MB":>12} {"last MB":>8} {"slope MB/min":>13} {"CPU %":>6}'
          '  RSS at each tier period (tier: MB)')
    for name, row in report['nodes'].items():
        visits = ', '.join(f'{k}: {v:.0f}' for k, v in row['rss_at_tiers'])
        print(f'{name:18} {row["rss_first_mb"]:12.0f} {row["rss_last_mb"]:8.0f} '
              f'{row["slope_mb_per_min"]:13.2f} {row["cpu_percent"]:6.1f}  {visits}')
    print(f'slope: least squares over the samples after {args.warmup:.0f} s; restarts: '
          f'{result.restarts}')
    if args.json:
        with open(args.json, 'w') as fh:
            json.dump(report, fh, indent=1)
    return 0


if __name__ == '__main__':
    raise SystemExit(main())
