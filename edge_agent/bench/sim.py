"""Benchmark the simulator: physics step and camera render cost (no ROS), the real-time
factor the simulator node reaches at a camera rate (alone, over DDS), and the closed loop from
the end of the user's speech to the object held (the whole graph, real models).
Usage: python -m edge_agent.bench sim [--repeats N] [--rates 5,10,30] [--tasks fetch,ambiguous]
"""
import argparse
import statistics
import time

from edge_agent.sim.world import load_layout


def engine(width: int, height: int, frames: int = 40) -> tuple[float, float]:
    """ms per physics step (5 ms of simulated time) and per render at width x height."""
    from edge_agent.sim.engine import Simulator

    sim = Simulator(load_layout(), width, height)
    try:
        sim.render()                      # the GL context is made on the first frame
        sim.set_velocity(0.3, 0.2)
        began = time.perf_counter()
        sim.step(10.0)
        step_ms = (time.perf_counter() - began) * 1e3 / round(10.0 / sim.timestep)
        times = []
        for _ in range(frames):
            began = time.perf_counter()
            sim.render()
            times.append((time.perf_counter() - began) * 1e3)
        return step_ms, statistics.median(times)
    finally:
        sim.close()


def node_rtf(rate_hz: float, seconds: float = 8.0, width: int = 640, height: int = 480
             ) -> float:
    """Real-time factor of the simulator node alone at ``rate_hz`` camera frames (target 1)."""
    from rclpy.parameter import Parameter

    from edge_agent.nodes.common.executor import NodeSet
    from edge_agent.sim.node import SimulatorNode

    with NodeSet() as graph:
        node = graph.add(SimulatorNode(context=graph.context, parameter_overrides=[
            Parameter('camera_rate_hz', value=float(rate_hz)), Parameter('width', value=width),
            Parameter('height', value=height), Parameter('real_time_factor', value=0.0)]),
            lifecycle=False)
        began_wall, began_sim = time.monotonic(), node.sim.time
        graph.spin_until(lambda: False, seconds)
        return (node.sim.time - began_sim) / (time.monotonic() - began_wall)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--repeats', type=int, default=3, help='closed-loop runs per task')
    parser.add_argument('--rates', default='5,10,30', help='camera rates for the node [Hz]')
    parser.add_argument('--tasks', default='fetch,ambiguous', help='closed-loop tasks ("" = none)')
    parser.add_argument('--tier', type=int, help='pin speech, vision and planner to a tier')
    args = parser.parse_args()
    for width, height in ((320, 240), (640, 480)):
        step_ms, render_ms = engine(width, height)
        print(f'engine {width}x{height}: physics step {step_ms:.3f} ms per 5 ms simulated '
              f'(physics alone {5 / step_ms:.0f}x real time); render {render_ms:.1f} ms '
              f'a frame (p50)')
    for rate in [float(r) for r in args.rates.split(',') if r]:
        print(f'simulator node, 640x480 at {rate:g} Hz, as fast as it goes: real-time factor '
              f'{node_rtf(rate):.2f} (the default target is 1.0)')
    from edge_agent.app.closed_loop import find_task, run_task

    for name in [t for t in args.tasks.split(',') if t]:
        task = find_task(name)
        held, heard, rtf, passed = [], [], [], 0
        for _ in range(args.repeats):
            result = run_task(task, tier=args.tier, arguments={'log_level': 'error'})
            passed += result.passed
            if result.speech_end_to_held_s is not None:
                held.append(result.speech_end_to_held_s)
            heard.extend(result.latencies.get('end of speech -> transcript', []))
            rtf.append(result.real_time_factor)
            print(f'  {name}: passed={result.passed} end of speech -> held '
                  f'{result.speech_end_to_held_s if result.speech_end_to_held_s else "-"} s; '
                  f'stages {({k: [round(x, 2) for x in v] for k, v in result.latencies.items()})}',
                  flush=True)
        if held:
            print(f'closed loop {name}: {passed}/{args.repeats} passed; end of speech -> held '
                  f'p50 {statistics.median(held):.2f} s (min {min(held):.2f}, max '
                  f'{max(held):.2f}); end of speech -> transcript p50 '
                  f'{statistics.median(heard):.2f} s; real-time factor during the run '
                  f'{statistics.median(rtf):.2f}')
    return 0


if __name__ == '__main__':
    raise SystemExit(main())
