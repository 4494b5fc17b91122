"""What the simulator node runs, without ROS: the physics thread's pacing and the skills the
simulator performs itself (``look_at``, ``pick``, ``place``, ``stop``).

``PhysicsLoop.run`` steps the ``Simulator`` at ``real_time_factor`` (0: as fast as it can),
calls ``publish(kind, sim_time)`` whenever a stream (clock, odom, camera, state) is due at its
rate, stops the base when no ``cmd_vel`` came for ``cmd_vel_timeout_s`` (``commanded``), and
keeps the step and real-time-factor statistics. ``run_skill`` performs one plan step in
simulated time, ending early when ``interrupted()``.
"""
from __future__ import annotations

from collections.abc import Callable
import math
import time

from edge_agent.sim.engine import Simulator

__all__ = ['PhysicsLoop', 'run_skill', 'wait_sim']

STREAMS = ('clock', 'odom', 'camera', 'state')


def wait_sim(sim: Simulator, seconds: float, interrupted: Callable[[], bool]) -> bool:
    """Wait ``seconds`` of simulated time; False when interrupted first."""
    until = sim.time + seconds
    while sim.time < until:
        if interrupted():
            return False
        time.sleep(0.01)
    return True


def run_skill(sim: Simulator, step, interrupted: Callable[[], bool],
              feedback: Callable[[str], None], manipulation_time_s: float) -> tuple[bool, str]:
    """Perform ``step`` on the simulated robot: (success, message). SimError (out of reach,
    nothing held, ...) is the caller's to report."""
    if step.skill == 'look_at':
        target = str(step.args.get('target', ''))
        angle = sim.bearing_to(target)
        sim.set_pan(angle)
        feedback(f'sim: turning the camera to {math.degrees(angle):.0f} deg')
        until = sim.time + 5.0
        while abs(sim.pan() - angle) > 0.05:
            if interrupted():
                return False, 'sim: look_at interrupted'
            if sim.time > until:
                return False, f'sim: the camera did not reach {target} in 5 s'
            time.sleep(0.01)
        return True, f'sim: looking at the {target}'
    if step.skill in ('pick', 'place'):
        phrase = str(step.args.get('object', ''))
        if not wait_sim(sim, manipulation_time_s, interrupted):
            return False, f'sim: {step.skill} interrupted'
        if step.skill == 'pick':
            return True, f'sim: holding the {phrase} ({sim.pick(phrase)})'
        return True, f'sim: put the {phrase} on {sim.place(phrase)}'
    if step.skill == 'stop':
        sim.set_velocity(0.0, 0.0)
        return True, 'sim: stopped'
    return False, f'sim: the simulator does not run {step.skill!r} itself'


class PhysicsLoop:
    """The physics thread; see the module docstring. ``param`` is read at every step (the
    node updates it when a parameter set succeeds); ``stats`` receives step_ms and rtf."""

    def __init__(self, sim: Simulator, param: dict, publish: Callable[[str, float], None],
                 stats: dict, on_error: Callable[[Exception], None]) -> None:
        self.sim, self.param, self.publish = sim, param, publish
        self.stats, self.on_error = stats, on_error
        self.running = True
        self.last_cmd = sim.time

    def commanded(self) -> None:
        """A velocity command came now."""
        self.last_cmd = self.sim.time

    def run(self) -> None:
        param, sim = self.param, self.sim
        due = dict.fromkeys(STREAMS, 0.0)
        wall0, sim0 = time.monotonic(), sim.time
        window = [(time.monotonic(), sim.time)]
        while self.running:
            try:
                factor = param['real_time_factor']
                now = sim.time
                for kind in STREAMS:
                    if now >= due[kind]:
                        due[kind] = max(due[kind] + 1 / param[f'{kind}_rate_hz'], now)
                        self.publish(kind, now)
                if now - self.last_cmd > param['cmd_vel_timeout_s']:
                    sim.set_velocity(0.0, 0.0)
                step = max(min(min(due.values()) - now, 0.02), sim.timestep)
                if factor > 0:
                    ahead = (sim.time + step - sim0) / factor - (time.monotonic() - wall0)
                    if ahead > 0:
                        time.sleep(ahead)
                    elif ahead < -0.5:   # cannot keep up: do not race to catch up later
                        wall0, sim0 = time.monotonic(), sim.time
                began = time.perf_counter()
                sim.step(step)
                self.stats['step_ms'] = 0.9 * self.stats['step_ms'] + 0.1 * (
                    (time.perf_counter() - began) * 1e3)
                window.append((time.monotonic(), sim.time))
                while len(window) > 2 and window[-1][0] - window[0][0] > 2.0:
                    window.pop(0)
                span = window[-1][0] - window[0][0]
                if span > 0.2:
                    self.stats['rtf'] = (window[-1][1] - window[0][1]) / span
            except Exception as exc:  # noqa: BLE001 - the physics thread must not die silently
                if not self.running:
                    return
                self.on_error(exc)
                time.sleep(0.1)
