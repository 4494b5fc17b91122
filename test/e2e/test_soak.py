"""Soak: the leak measure (least-squares RSS slope over a window), and the 60 s soak CI runs.

The 60 s run is `python -m edge_agent.bench soak` cut short: every node in its own process with
its real models, the MuJoCo simulator's camera at 30 Hz, a continuous microphone stream (the
microphone is the one stand-in: a publisher of quiet-room noise with Piper-spoken commands in
it) carrying a command every 10 s. It holds tier 0 (a tier change loads other models, a step in
RSS that a one-minute slope cannot tell from a leak; the 10-minute benchmark changes tiers and
reports the growth per tier visit). It fails on a clear leak: a node growing faster than
LEAK_MB_PER_MIN after the warm-up, which the nodes stay far below (docs/benchmarks.md)."""
from __future__ import annotations

import math

import pytest

from edge_agent.bench.soak import SoakResult, soak

LEAK_MB_PER_MIN = 150.0   # e.g. keeping every 640x480 camera frame grows ~1,600 MB/min
WARMUP_S = 20.0


def test_slope_finds_a_leak_and_not_a_plateau():
    t = [float(i) for i in range(0, 60, 2)]
    leaking = SoakResult(60.0, {'n': [(x, 100 + 2.0 * x, 0.0) for x in t]}, [(0.0, 0)])
    steady = SoakResult(60.0, {'n': [(x, 300 + (5 if x > 20 else 0), 0.0) for x in t]},
                        [(0.0, 0)])
    assert round(leaking.slope_mb_per_min('n', 10.0), 6) == 120.0
    assert abs(steady.slope_mb_per_min('n', 30.0)) < 1e-9
    assert steady.slope_mb_per_min('n', 30.0, 32.0) != steady.slope_mb_per_min('n', 30.0)


@pytest.mark.slow
def test_the_whole_agent_for_a_minute_works_and_no_node_leaks():
    result = soak(duration_s=60.0, command_every_s=10.0, tier_every_s=math.inf,
                  sample_every_s=1.0)
    assert result.commands == 6 and result.tiers == [(0.0, 0)]
    # the agent worked all along: commands heard and planned, no node restarted
    assert result.finals >= 3 and result.plans >= 1, result
    assert all(v == '0' for v in result.restarts.values()), result.restarts
    nodes = {'speech', 'vision', 'planner', 'agent', 'skill_executor', 'sim'}
    assert nodes <= set(result.samples), sorted(result.samples)
    slopes = {n: result.slope_mb_per_min(n, WARMUP_S) for n in result.samples}
    print('RSS slopes [MB/min]:', {n: round(v, 1) for n, v in slopes.items()})
    assert all(math.isfinite(v) for v in slopes.values()), slopes
    leaking = {n: round(v, 1) for n, v in slopes.items() if v > LEAK_MB_PER_MIN}
    assert not leaking, f'RSS grows faster than {LEAK_MB_PER_MIN} MB/min: {leaking}'
