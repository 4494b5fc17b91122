"""``navigate_to`` as a Nav2 ``nav2_msgs/action/NavigateToPose`` goal, poses from places YAML;
``drive`` and ``turn`` as Nav2's behaviours ``DriveOnHeading`` (forward), ``BackUp`` (backward)
and ``Spin``; ``come_back`` as the relative moves since the command began, undone in reverse.

The goal pose of each catalog place comes from ``config/places.yaml`` (frame ``map`` by
default). Feedback (distance remaining) becomes the step's status; an interruption (cancel, a
newer command, a stop, the skill's timeout) cancels the Nav2 goal and waits briefly for Nav2
to confirm. A stop cancels whatever navigation runs. Only the goal's ``pose`` and
``behavior_tree``, the feedback's ``distance_remaining`` and the goal status are used, which
are the same from Humble to Kilted (the result's error fields are read when present). The
behaviours get ``target``/``speed``/``time_allowance`` (``target_yaw`` for Spin), which Humble
has too; their speed is the catalog's (``limits.speed``). ``come_back`` after a ``navigate_to``
in the same command is refused (returning would need the start pose in the map frame, which
this adapter does not track); after drives and turns it drives and turns them back.
"""
from __future__ import annotations

from collections.abc import Callable
import math
import os

from action_msgs.msg import GoalStatus

from edge_agent.core.config.paths import data_file
from edge_agent.core.config.schema import PlacesFile, load_yaml
from edge_agent.core.errors import MissingDependency
from edge_agent.core.planning import Step
from edge_agent.nodes.common.futures import RunningGoals

__all__ = ['Nav2Adapter', 'Nav2Behaviours', 'behaviour_types', 'load_places',
           'navigate_to_pose_type']

# action_msgs/GoalStatus values, named for messages
_STATUS = {GoalStatus.STATUS_UNKNOWN: 'unknown', GoalStatus.STATUS_ACCEPTED: 'accepted',
           GoalStatus.STATUS_EXECUTING: 'executing', GoalStatus.STATUS_CANCELING: 'canceling',
           GoalStatus.STATUS_SUCCEEDED: 'succeeded', GoalStatus.STATUS_CANCELED: 'canceled',
           GoalStatus.STATUS_ABORTED: 'aborted'}


def load_places(path: str | os.PathLike | None = None) -> PlacesFile:
    """The place poses (``config/places.yaml`` when ``path`` is empty); ConfigError if bad."""
    return load_yaml(path or data_file('config/places.yaml'), PlacesFile, 'places file')


def navigate_to_pose_type():
    """nav2_msgs' NavigateToPose action, or MissingDependency saying how to install it."""
    try:
        from nav2_msgs.action import NavigateToPose
    except ImportError as exc:
        raise MissingDependency(
            'the nav2 adapter needs nav2_msgs (on a ROS 2 distro: apt install '
            'ros-$ROS_DISTRO-nav2-msgs)') from exc
    return NavigateToPose


def behaviour_types():
    """nav2_msgs' DriveOnHeading, BackUp and Spin actions, or MissingDependency."""
    try:
        from nav2_msgs.action import BackUp, DriveOnHeading, Spin
    except ImportError as exc:
        raise MissingDependency(
            'the nav2 adapter needs nav2_msgs with DriveOnHeading, BackUp and Spin (on a ROS 2 '
            'distro: apt install ros-$ROS_DISTRO-nav2-msgs)') from exc
    return DriveOnHeading, BackUp, Spin


class Nav2Behaviours:
    """Runs ``drive``, ``turn`` and ``come_back`` (and ``stop``) through Nav2's behaviour
    servers: ``clients`` maps 'drive_on_heading', 'backup' and 'spin' to (client, type, name)."""

    name = 'nav2'

    def __init__(self, clients: dict, speeds: dict[str, float], server_timeout_s: float = 5.0,
                 on_status: Callable[[str], None] | None = None) -> None:
        self.clients = clients
        self.speeds = {'drive': 0.3, 'turn': 60.0, **speeds}
        self.server_timeout_s = server_timeout_s
        self.on_status = on_status or (lambda _text: None)
        self._goals = RunningGoals()
        self._since_home: list[Step] = []   # relative moves done since the command began
        self._navigated = False             # a navigate_to since then (come_back cannot undo)

    def mark_home(self) -> None:
        self._since_home, self._navigated = [], False

    def navigated(self) -> None:
        self._navigated = True

    def run(self, step: Step, interrupted: Callable[[], bool]) -> tuple[bool, str]:
        if step.skill == 'stop':
            return True, f'nav2: {self._goals.cancel_all()} behaviour goal(s) cancelled'
        if step.skill == 'come_back':
            if self._navigated:
                return False, ('nav2: cannot come back across a navigate_to (the start pose '
                               'is not tracked); name the place to go to instead')
            for done in reversed(list(self._since_home)):
                arg, value = next(iter(done.args.items()))
                ok, message = self._move(Step(done.skill, {arg: -value}), interrupted)
                if not ok:
                    return False, f'nav2: coming back: {message}'
                self._since_home.pop()
            return True, 'nav2: back where the command began'
        if step.skill not in ('drive', 'turn'):
            return False, f'nav2: cannot run {step.skill}'
        ok, message = self._move(step, interrupted)
        if ok:
            self._since_home.append(step)
        return ok, message

    def _move(self, step: Step, interrupted) -> tuple[bool, str]:
        if step.skill == 'drive':
            meters = float(step.args['meters'])
            key = 'drive_on_heading' if meters >= 0 else 'backup'
            client, action_type, name = self.clients[key]
            goal = action_type.Goal()
            goal.target.x = abs(meters)
            goal.speed = float(self.speeds['drive'])
            seconds = abs(meters) / goal.speed
            what = f'{"drive" if meters >= 0 else "back up"} {abs(meters):g} m'
        else:
            degrees = float(step.args['degrees'])
            client, action_type, name = self.clients['spin']
            goal = action_type.Goal(target_yaw=math.radians(degrees))
            seconds = abs(degrees) / float(self.speeds['turn'])
            what = f'spin {degrees:g} deg'
        goal.time_allowance.sec = int(math.ceil(2 * seconds + 10))   # Nav2 aborts after it
        if not client.wait_for_server(timeout_sec=self.server_timeout_s):
            return False, (f'nav2: no {action_type.__name__} server on {name!r} after '
                           f'{self.server_timeout_s:g} s (are the Nav2 behaviours running?)')
        state, answer = self._goals.run(client, goal, self.server_timeout_s, interrupted)
        if state != 'done':
            return False, f'nav2: {what} {state}'
        if answer.status == GoalStatus.STATUS_SUCCEEDED:
            return True, f'nav2: {what} done'
        return False, f'nav2: {what} {_STATUS.get(answer.status, answer.status)}' + _why(
            answer.result)


def _why(result) -> str:
    detail = getattr(result, 'error_msg', '') or ''
    code = getattr(result, 'error_code', None)
    return f' (error {code}: {detail})' if code else ''


class Nav2Adapter:
    """Runs ``navigate_to`` (and ``stop``) through a NavigateToPose action client."""

    name = 'nav2'

    def __init__(self, node, client, action_type, action_name: str, places: PlacesFile,
                 server_timeout_s: float = 5.0, behavior_tree: str = '',
                 on_status: Callable[[str], None] | None = None,
                 on_navigated: Callable[[], None] = lambda: None) -> None:
        self.node = node
        self.on_navigated = on_navigated   # a navigation succeeded (come_back cannot undo it)
        self.client = client
        self.action_type = action_type
        self.action_name = action_name
        self.places = {name.strip().lower(): pose for name, pose in places.places.items()}
        self.frame_id = places.frame_id
        self.server_timeout_s = server_timeout_s
        self.behavior_tree = behavior_tree
        self.on_status = on_status or (lambda _text: None)
        self._goals = RunningGoals()   # running navigations

    def goal_for(self, place: str):
        """The NavigateToPose goal for catalog ``place`` (KeyError when it has no pose)."""
        pose = self.places[place]
        goal = self.action_type.Goal(behavior_tree=self.behavior_tree)
        goal.pose.header.frame_id = self.frame_id
        goal.pose.header.stamp = self.node.get_clock().now().to_msg()
        goal.pose.pose.position.x, goal.pose.pose.position.y = float(pose.x), float(pose.y)
        goal.pose.pose.orientation.z = math.sin(pose.yaw / 2)
        goal.pose.pose.orientation.w = math.cos(pose.yaw / 2)
        return goal

    def run(self, step: Step, interrupted: Callable[[], bool]) -> tuple[bool, str]:
        if step.skill == 'stop':
            return True, f'nav2: {self._goals.cancel_all()} navigation goal(s) cancelled'
        if step.skill != 'navigate_to':
            return False, f'nav2: cannot run {step.skill}'
        place = step.args.get('location', '')
        if place not in self.places:
            return False, f'nav2: no pose for {place!r} in the places file'
        if not self.client.wait_for_server(timeout_sec=self.server_timeout_s):
            return False, (f'nav2: no NavigateToPose server on {self.action_name!r} '
                           f'after {self.server_timeout_s:g} s (is Nav2 running?)')
        state, answer = self._goals.run(
            self.client, self.goal_for(place), self.server_timeout_s, interrupted,
            feedback_callback=lambda fb: self.on_status(
                f'nav2: {fb.feedback.distance_remaining:.2f} m to {place}'))
        if state == 'unsent':
            return False, f'nav2: goal to {place} not sent (interrupted or no answer)'
        if state == 'rejected':
            return False, f'nav2: the goal to {place} was rejected'
        if state == 'cancelled':
            return False, f'nav2: navigation to {place} cancelled'
        if answer.status == GoalStatus.STATUS_SUCCEEDED:
            self.on_navigated()
            return True, f'nav2: at {place}'
        self.on_navigated()   # it may have moved part of the way
        return False, (f'nav2: navigation to {place} '
                       f'{_STATUS.get(answer.status, answer.status)}{_why(answer.result)}')
