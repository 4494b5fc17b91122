"""The skill executor's motion adapter, built from its parameters: ``dry_run``, ``nav2`` or
``sim`` (see ``nodes/skill_executor.py``). The place poses of nav2 (config/places.yaml) and sim
(the world layout) are checked against the skill catalog's places here, at configure: a place
without a pose is a ConfigError then, not a failed goal at run time."""
from __future__ import annotations

import math

from rclpy.callback_groups import MutuallyExclusiveCallbackGroup

from edge_agent.core.config.layout import check_places, load_layout
from edge_agent.core.execution import DryRunAdapter, RoutedAdapter
from edge_agent.core.planning import SkillCatalog
from edge_agent.nodes.adapters.bound import bound_adapters
from edge_agent.nodes.adapters.nav2 import (
    Nav2Adapter,
    Nav2Behaviours,
    behaviour_types,
    load_places,
    navigate_to_pose_type,
)
from edge_agent.nodes.adapters.sim import SimAdapter
from edge_agent.nodes.common.plans import step_to_msg
from edge_agent.nodes.common.qos import RELIABLE

__all__ = ['motion_adapter']


def motion_adapter(node, kind: str, catalog: SkillCatalog, dry: DryRunAdapter):
    """The adapter ``kind`` names, with the skills of the ``bindings_file`` (if any) sent to
    the robot's own interfaces; place poses are checked against the catalog's places here, at
    configure (a place without a pose is a ConfigError now, not a failed goal later)."""
    base = _base_adapter(node, kind, catalog, dry)
    path = node.get_parameter('bindings_file').value
    if not path:
        return base
    places_file = node.get_parameter('places_file').value or None
    bound = bound_adapters(node, path, catalog, load_places(places_file),
                           on_status=lambda text: node.get_logger().debug(text))
    return RoutedAdapter(base, bound)


def _base_adapter(node, kind: str, catalog: SkillCatalog, dry: DryRunAdapter):
    if kind == 'dry_run':
        return dry
    if kind == 'sim':
        return RoutedAdapter(dry, dict.fromkeys(SimAdapter.skills, _sim_adapter(node, catalog)))
    places_file = node.get_parameter('places_file').value or None
    places = load_places(places_file)
    check_places(catalog.places, places.places,
                 f'the places file {places_file or "config/places.yaml"}')
    action_type = navigate_to_pose_type()
    name = node.get_parameter('nav2_action').value
    timeout = node.get_parameter('nav2_server_timeout_s').value
    clients = {}
    for key, behaviour in zip(('drive_on_heading', 'backup', 'spin'), behaviour_types(),
                              strict=True):
        server = node.get_parameter(f'nav2_{key}_action').value
        clients[key] = (node.action_client(behaviour, server), behaviour, server)
    moves = Nav2Behaviours(clients, catalog.speeds(), timeout,
                           on_status=lambda text: node.get_logger().debug(text))
    nav2 = Nav2Adapter(node, node.action_client(action_type, name), action_type, name, places,
                       timeout, node.get_parameter('nav2_behavior_tree').value,
                       on_status=lambda text: node.get_logger().debug(text),
                       on_navigated=moves.navigated)
    return RoutedAdapter(dry, {'navigate_to': nav2, 'drive': moves, 'turn': moves,
                               'come_back': moves})


def _sim_adapter(node, catalog: SkillCatalog) -> SimAdapter:
    from geometry_msgs.msg import Twist
    from nav_msgs.msg import Odometry

    from edge_agent.action import RunSkill

    layout = load_layout(node.get_parameter('world_file').value or None)
    check_places(catalog.places, layout.places, f'the world layout {layout.source}')
    cmd_vel = node.own(node.create_lifecycle_publisher(Twist, 'cmd_vel', RELIABLE))
    pose: list = [None]

    def on_odom(msg) -> None:
        q = msg.pose.pose.orientation
        yaw = math.atan2(2 * (q.w * q.z + q.x * q.y), 1 - 2 * (q.y * q.y + q.z * q.z))
        pose[0] = (msg.pose.pose.position.x, msg.pose.pose.position.y, yaw)

    def send(forward: float, turn: float) -> None:
        if cmd_vel.is_activated:
            twist = Twist()
            twist.linear.x, twist.angular.z = float(forward), float(turn)
            cmd_vel.publish(twist)

    node.own(node.create_subscription(Odometry, 'odom', on_odom, RELIABLE,
                                      callback_group=MutuallyExclusiveCallbackGroup()))
    return SimAdapter(layout.places, send, lambda: pose[0],
                      node.action_client(RunSkill, 'sim/run_skill'), RunSkill.Goal,
                      step_to_msg, node.get_parameter('nav2_server_timeout_s').value,
                      node.get_parameter('sim_rate_hz').value,
                      on_status=lambda text: node.get_logger().debug(text),
                      speeds=catalog.speeds())
