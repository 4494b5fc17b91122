"""The simulator's skill adapter: ``navigate_to`` over ``cmd_vel`` and ``odom``, the rest as
``edge_agent/RunSkill`` goals to the simulator node.

``navigate_to`` drives the base with ``core.execution.drive.GoToPose`` (turn, drive, turn) at
``rate_hz``, reading the pose from ``odom`` and publishing ``cmd_vel``: the same topics the
MuJoCo node and the Gazebo bridge (config/gazebo/bridge.yaml) offer, so the adapter drives
either. Place poses come from the world layout (config/sim/world.yaml). ``look_at``, ``pick``
and ``place`` go to ``sim/run_skill``. An interruption (cancel, a newer plan, a stop, the
skill's timeout) stops the base at once and cancels the running skill goal.
"""
from __future__ import annotations

from collections.abc import Callable
import time

from edge_agent.core.execution.drive import GoToPose
from edge_agent.core.planning import Step
from edge_agent.nodes.common.futures import RunningGoals

__all__ = ['SimAdapter']


class SimAdapter:
    """Runs navigate_to, look_at, pick, place and stop on the simulated robot."""

    name = 'sim'
    skills = ('navigate_to', 'look_at', 'pick', 'place', 'stop')

    def __init__(self, places: dict, send_velocity: Callable[[float, float], None],
                 pose: Callable[[], tuple[float, float, float] | None], client, goal_type,
                 step_to_msg: Callable[[Step], object], server_timeout_s: float = 5.0,
                 rate_hz: float = 20.0, odom_timeout_s: float = 2.0,
                 on_status: Callable[[str], None] | None = None) -> None:
        self.places = {name.strip().lower(): p for name, p in places.items()}
        self.send_velocity = send_velocity
        self.pose = pose
        self.client = client
        self.goal_type = goal_type
        self.step_to_msg = step_to_msg
        self.server_timeout_s = server_timeout_s
        self.period_s = 1.0 / rate_hz
        self.odom_timeout_s = odom_timeout_s
        self.on_status = on_status or (lambda _text: None)
        self._goals = RunningGoals()   # running look_at / pick / place goals

    def run(self, step: Step, interrupted: Callable[[], bool]) -> tuple[bool, str]:
        if step.skill == 'stop':
            self.send_velocity(0.0, 0.0)
            return True, f'sim: base stopped, {self._goals.cancel_all()} skill goal(s) cancelled'
        if step.skill == 'navigate_to':
            return self._navigate(str(step.args.get('location', '')), interrupted)
        if step.skill in ('look_at', 'pick', 'place'):
            return self._remote(step, interrupted)
        return False, f'sim: cannot run {step.skill}'

    def _navigate(self, place: str, interrupted) -> tuple[bool, str]:
        goal = self.places.get(place.strip().lower())
        if goal is None:
            return False, f'sim: no pose for {place!r} in the world layout'
        control = GoToPose(goal.x, goal.y, goal.yaw)
        waited = time.monotonic()
        try:
            while not interrupted():
                pose = self.pose()
                if pose is None:
                    if time.monotonic() - waited > self.odom_timeout_s:
                        return False, (f'sim: no odom for {self.odom_timeout_s:g} s (is the '
                                       'simulator running?)')
                    time.sleep(self.period_s)
                    continue
                forward, turn, reached = control.command(*pose)
                if reached:
                    return True, f'sim: at {place}'
                self.send_velocity(forward, turn)
                self.on_status(f'sim: {control.distance(pose[0], pose[1]):.2f} m to {place}')
                time.sleep(self.period_s)
            return False, f'sim: navigation to {place} interrupted'
        finally:
            self.send_velocity(0.0, 0.0)

    def _remote(self, step: Step, interrupted) -> tuple[bool, str]:
        if not self.client.wait_for_server(timeout_sec=self.server_timeout_s):
            return False, (f'sim: no sim/run_skill server after {self.server_timeout_s:g} s '
                           '(is the simulator running?)')
        state, answer = self._goals.run(
            self.client, self.goal_type(step=self.step_to_msg(step)), self.server_timeout_s,
            interrupted, feedback_callback=lambda fb: self.on_status(fb.feedback.status))
        if state == 'unsent':
            return False, f'sim: {step.skill} not sent (interrupted or no answer)'
        if state == 'rejected':
            return False, f'sim: the {step.skill} goal was rejected'
        if state == 'cancelled':
            return False, f'sim: {step.skill} cancelled'
        return bool(answer.result.success), answer.result.message
