"""Make the shipped thermal traces (test/data/thermal/*.csv) from a first-order thermal model.

This build machine has no thermal sensors, so the traces are synthetic but shaped like a
Jetson under load: the hottest zone follows dT/dt = (T_ambient + R * P(t) - T) / tau with
sensor noise, and the other zones trail it. Record real ones on a robot with
`edge-agent thermal record`. Deterministic: the same seed gives the same files.
"""
import pathlib
import random
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))
from edge_agent.core.thermal import TracePoint, TripPoint, write_trace  # noqa: E402

OUT = pathlib.Path(__file__).resolve().parents[1] / 'test' / 'data' / 'thermal'
ZONES = ('cpu-thermal', 'gpu-thermal', 'tj-thermal')
TRIPS = {'cpu-thermal': [TripPoint('passive', 85.0), TripPoint('critical', 100.0)],
         'gpu-thermal': [TripPoint('passive', 85.0), TripPoint('critical', 100.0)],
         'tj-thermal': [TripPoint('passive', 85.0), TripPoint('critical', 100.0)]}


def simulate(power, seconds, start=40.0, ambient=30.0, r=0.6, tau=120.0, noise=0.3, seed=1):
    """Temperatures of the three zones, once a second, for power profile ``power(t)`` [W]."""
    rng = random.Random(seed)
    temp = start
    points = []
    for t in range(seconds):
        temp += (ambient + r * power(t) - temp) / tau
        base = temp + rng.gauss(0, noise)
        points.append(TracePoint(float(t), {'cpu-thermal': base, 'gpu-thermal': base - 2.0,
                                            'tj-thermal': base + 1.0}))
    return points


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    # steady: moderate load, settles near 54 C, far from any threshold
    write_trace(OUT / 'steady.csv', simulate(lambda t: 40.0, 600, start=50.0), TRIPS)
    # heat_up: full load from cold; passes both thresholds and ends near the critical trip
    write_trace(OUT / 'heat_up.csv', simulate(lambda t: 115.0, 900, start=45.0, tau=150.0), TRIPS)
    # oscillating: load toggles every 30 s so tj-thermal swings about 2 C around 70 C
    osc = simulate(lambda t: 73.0 if (t // 30) % 2 else 65.0, 900, start=68.0, tau=60.0,
                   noise=0.4, seed=2)
    write_trace(OUT / 'oscillating.csv', osc, TRIPS)
    # dropout: heating, cpu-thermal offline 200-260 s, every sensor offline 400-420 s
    drop = simulate(lambda t: 100.0, 600, start=50.0, seed=3)
    for p in drop:
        if 200 <= p.t < 260:
            p.temps['cpu-thermal'] = None
        if 400 <= p.t < 420:
            for zone in ZONES:
                p.temps[zone] = None
    write_trace(OUT / 'dropout.csv', drop, TRIPS)
    # cool_down: hot start, load removed: the tier must come back up one step at a time
    write_trace(OUT / 'cool_down.csv', simulate(lambda t: 20.0, 900, start=92.0), TRIPS)
    for path in sorted(OUT.glob('*.csv')):
        print(path.relative_to(OUT.parents[2]), path.stat().st_size, 'bytes')


if __name__ == '__main__':
    main()
