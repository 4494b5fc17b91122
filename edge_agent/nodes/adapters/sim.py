"""The simulator's skill adapter: the base's motion (``navigate_to``, ``drive``, ``turn``,
``come_back``) over ``cmd_vel`` and ``odom``, the rest as ``edge_agent/RunSkill`` goals to the
simulator node.

The base is driven closed loop at ``rate_hz`` from the pose on ``odom``, publishing
``cmd_vel``: the same topics the MuJoCo node and the Gazebo bridge (config/gazebo/bridge.yaml)
offer, so the adapter drives either. ``navigate_to`` goes to a place's pose from the world
layout (config/sim/world.yaml) with ``core.execution.drive.GoToPose``; ``drive`` and ``turn``
are ``DriveStraight`` and ``TurnBy`` at the catalog's speeds; ``come_back`` goes back to the
pose where the current or the last moving plan began (``mark_home``). ``look_at``, ``pick`` and
``place`` go to ``sim/run_skill``. An interruption (cancel, a newer plan, a stop, the skill's
timeout) stops the base at once and cancels the running skill goal.
"""
from __future__ import annotations

from collections.abc import Callable
import math
import time

from edge_agent.core.execution.drive import DriveStraight, GoToPose, TurnBy
from edge_agent.core.planning import Step
from edge_agent.nodes.common.futures import RunningGoals

__all__ = ['SimAdapter']

Pose = tuple[float, float, float]


class SimAdapter:
    """Runs the base's motion, look_at, pick, place and stop on the simulated robot."""

    name = 'sim'
    skills = ('navigate_to', 'drive', 'turn', 'come_back', 'look_at', 'pick', 'place', 'stop')

    def __init__(self, places: dict, send_velocity: Callable[[float, float], None],
                 pose: Callable[[], Pose | None], client, goal_type,
                 step_to_msg: Callable[[Step], object], server_timeout_s: float = 5.0,
                 rate_hz: float = 20.0, odom_timeout_s: float = 2.0,
                 on_status: Callable[[str], None] | None = None,
                 speeds: dict[str, float] | None = None) -> None:
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
        # the catalog's speed limits: drive [m/s], turn [deg/s]
        self.speeds = {'drive': 0.3, 'turn': 60.0, **(speeds or {})}
        self.home: Pose | None = None   # where come_back returns to
        self._goals = RunningGoals()   # running look_at / pick / place goals

    def mark_home(self) -> None:
        """A plan that moves the base begins: ``come_back`` returns here."""
        self.home = self.pose() or self.home

    def run(self, step: Step, interrupted: Callable[[], bool]) -> tuple[bool, str]:
        if step.skill == 'stop':
            self.send_velocity(0.0, 0.0)
            return True, f'sim: base stopped, {self._goals.cancel_all()} skill goal(s) cancelled'
        if step.skill == 'navigate_to':
            place = str(step.args.get('location', ''))
            goal = self.places.get(place.strip().lower())
            if goal is None:
                return False, f'sim: no pose for {place!r} in the world layout'
            return self._go_to(GoToPose(goal.x, goal.y, goal.yaw), f'to {place}',
                               f'at {place}', interrupted)
        if step.skill == 'come_back':
            if self.home is None:
                return False, 'sim: no start pose to come back to (nothing has moved yet)'
            return self._go_to(GoToPose(*self.home, max_linear=self.speeds['drive'],
                                        position_tolerance=0.02, yaw_tolerance=0.02),
                               'back to the start', 'back at the start', interrupted)
        if step.skill == 'drive':
            return self._drive(float(step.args['meters']), interrupted)
        if step.skill == 'turn':
            return self._turn(float(step.args['degrees']), interrupted)
        if step.skill in ('look_at', 'pick', 'place'):
            return self._remote(step, interrupted)
        return False, f'sim: cannot run {step.skill}'

    def _go_to(self, control: GoToPose, where: str, done: str,
               interrupted) -> tuple[bool, str]:
        def command(pose: Pose):
            forward, turn, reached = control.command(*pose)
            return forward, turn, reached, f'{control.distance(pose[0], pose[1]):.2f} m {where}'
        return self._follow(command, done, f'navigation {where}', interrupted)

    def _drive(self, meters: float, interrupted) -> tuple[bool, str]:
        control: list[DriveStraight] = []

        def command(pose: Pose):
            if not control:   # the line starts where the base is now
                control.append(DriveStraight(*pose, meters, max_linear=self.speeds['drive']))
            forward, turn, done = control[0].command(*pose)
            return forward, turn, done, f'{control[0].remaining(*pose[:2]):.2f} m to drive'
        return self._follow(command, f'drove {meters:g} m', f'drive {meters:g} m',
                            interrupted)

    def _turn(self, degrees: float, interrupted) -> tuple[bool, str]:
        control = TurnBy(math.radians(degrees),
                         max_angular=math.radians(self.speeds['turn']))

        def command(pose: Pose):
            turn, done = control.command(pose[2])
            return 0.0, turn, done, f'{math.degrees(control.remaining()):.0f} deg to turn'
        return self._follow(command, f'turned {degrees:g} deg', f'turn {degrees:g} deg',
                            interrupted)

    def _follow(self, command, done: str, what: str, interrupted) -> tuple[bool, str]:
        """Drive the base with ``command(pose) -> (forward, turn, done, status)`` until done."""
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
                forward, turn, finished, status = command(pose)
                if finished:
                    return True, f'sim: {done}'
                self.send_velocity(forward, turn)
                self.on_status(f'sim: {status}')
                time.sleep(self.period_s)
            return False, f'sim: {what} interrupted'
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
