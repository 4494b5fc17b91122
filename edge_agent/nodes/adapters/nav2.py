"""``navigate_to`` as a Nav2 ``nav2_msgs/action/NavigateToPose`` goal, poses from places YAML.

The goal pose of each catalog place comes from ``config/places.yaml`` (frame ``map`` by
default). Feedback (distance remaining) becomes the step's status; an interruption (cancel, a
newer command, a stop, the skill's timeout) cancels the Nav2 goal and waits briefly for Nav2
to confirm. A stop cancels whatever navigation runs. Only the goal's ``pose`` and
``behavior_tree``, the feedback's ``distance_remaining`` and the goal status are used, which
are the same from Humble to Kilted (the result's error fields are read when present).
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

__all__ = ['Nav2Adapter', 'load_places', 'navigate_to_pose_type']

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


class Nav2Adapter:
    """Runs ``navigate_to`` (and ``stop``) through a NavigateToPose action client."""

    name = 'nav2'

    def __init__(self, node, client, action_type, action_name: str, places: PlacesFile,
                 server_timeout_s: float = 5.0, behavior_tree: str = '',
                 on_status: Callable[[str], None] | None = None) -> None:
        self.node = node
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
            return True, f'nav2: at {place}'
        detail = getattr(answer.result, 'error_msg', '') or ''
        code = getattr(answer.result, 'error_code', None)
        why = f' (error {code}: {detail})' if code else ''
        return False, (f'nav2: navigation to {place} '
                       f'{_STATUS.get(answer.status, answer.status)}{why}')
