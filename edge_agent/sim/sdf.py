"""The Gazebo (gz sim, Harmonic) world of the simulated home: the same layout as the MuJoCo
node (config/sim/world.yaml), written as SDFormat 1.9 for users who run Gazebo.

``world_sdf(layout)`` returns the world's SDF text (rooms, walls, furniture, objects);
``robot_sdf(layout)`` the robot's, which launch/sim.launch.py spawns at the start place: a
differential base with gz's DiffDrive system (``cmd_vel`` in, ``odom`` out), a camera
on a pan joint (``camera/image_raw`` and ``camera/camera_info``), a joint position controller
for the pan joint and a joint state publisher. config/gazebo/bridge.yaml maps those gz topics
to the ROS topics and types the MuJoCo node uses. ``python -m edge_agent.sim.sdf`` rewrites
config/gazebo/world.sdf and robot.sdf; a test checks both are current and parse with
libsdformat.
"""
from __future__ import annotations

import math
import pathlib
import sys
from xml.sax.saxutils import escape

from edge_agent.sim.scene import COLOURS, SHAPES
from edge_agent.sim.world import (
    CAMERA_FOVY,
    CAMERA_PITCH,
    MAST_HEIGHT,
    Layout,
    load_layout,
)

__all__ = ['robot_sdf', 'world_sdf']

WORLD = 'edge_agent_home'
ROBOT = 'edge_agent_robot'


def _rgba(values) -> str:
    return ' '.join(f'{float(v):.3f}' for v in values)


def _material(rgba) -> str:
    colour = _rgba(rgba)
    return (f'<material><ambient>{colour}</ambient><diffuse>{colour}</diffuse>'
            '</material>')


def _box(name: str, pose, size, rgba, collide: bool = True) -> str:
    geometry = f'<geometry><box><size>{_rgba(size)}</size></box></geometry>'
    collision = f'<collision name="collision">{geometry}</collision>' if collide else ''
    return (f'<model name="{escape(name)}"><static>true</static><pose>{_rgba(pose)} 0 0 0'
            f'</pose><link name="link">{collision}<visual name="visual">{geometry}'
            f'{_material(rgba)}</visual></link></model>')


def _object_geometry(label: str) -> str:
    kind, size, _ = SHAPES[label]
    if kind == 'cylinder':
        return (f'<cylinder><radius>{size[0]}</radius><length>{2 * size[1]}</length>'
                '</cylinder>')
    if kind == 'capsule':
        return (f'<capsule><radius>{size[0]}</radius><length>{2 * size[1]}</length>'
                '</capsule>')
    if kind == 'box':
        return f'<box><size>{2 * size[0]} {2 * size[1]} {2 * size[2]}</size></box>'
    return f'<sphere><radius>{size[0]}</radius></sphere>'


def _inertial(mass: float, radius: float) -> str:
    moment = 0.4 * mass * radius * radius
    return (f'<inertial><mass>{mass}</mass><inertia><ixx>{moment:.6f}</ixx><iyy>{moment:.6f}'
            f'</iyy><izz>{moment:.6f}</izz></inertia></inertial>')


def _robot(layout: Layout) -> str:
    start = layout.places[layout.start]
    pitch = CAMERA_PITCH
    hfov = 2 * math.atan(math.tan(math.radians(CAMERA_FOVY) / 2) * 640 / 480)
    wheel = '<geometry><cylinder><radius>0.06</radius><length>0.04</length></cylinder></geometry>'
    wheels = ''.join(
        f'<link name="{side}_wheel"><pose>0 {y} 0.06 {-math.pi / 2:.4f} 0 0</pose>'
        f'{_inertial(1.0, 0.06)}<collision name="collision">{wheel}</collision>'
        f'<visual name="visual">{wheel}{_material((0.05, 0.05, 0.05, 1))}</visual></link>'
        f'<joint name="{side}_wheel_joint" type="revolute"><parent>base_link</parent>'
        f'<child>{side}_wheel</child><axis><xyz>0 0 1</xyz></axis></joint>'
        for side, y in (('left', 0.24), ('right', -0.24)))
    base = ('<geometry><cylinder><radius>0.22</radius><length>0.16</length></cylinder>'
            '</geometry>')
    caster = '<geometry><sphere><radius>0.04</radius></sphere></geometry>'
    mast = ('<geometry><cylinder><radius>0.025</radius>'
            f'<length>{MAST_HEIGHT - 0.2:.3f}</length></cylinder></geometry>')
    return f'''<model name="{ROBOT}">
  <pose>{start.x:.3f} {start.y:.3f} 0 0 0 {start.yaw:.4f}</pose>
  <link name="base_link">
   <pose>0 0 0.1 0 0 0</pose>
   {_inertial(20.0, 0.22)}
   <collision name="collision">{base}</collision>
   <visual name="visual">{base}{_material((0.15, 0.15, 0.18, 1))}</visual>
   <collision name="caster_front"><pose>0.16 0 -0.06 0 0 0</pose>{caster}</collision>
   <collision name="caster_back"><pose>-0.16 0 -0.06 0 0 0</pose>{caster}</collision>
   <visual name="mast"><pose>0.08 0 {MAST_HEIGHT / 2 - 0.1:.3f} 0 0 0</pose>{mast}
    {_material((0.3, 0.3, 0.32, 1))}</visual>
  </link>
  {wheels}
  <link name="head">
   <pose>0.08 0 {MAST_HEIGHT:.3f} 0 0 0</pose>
   {_inertial(0.3, 0.05)}
   <visual name="visual"><geometry><box><size>0.06 0.12 0.06</size></box></geometry>
    {_material((0.2, 0.2, 0.25, 1))}</visual>
   <sensor name="head_camera" type="camera">
    <pose>0.035 0 0 0 {pitch:.4f} 0</pose>
    <topic>camera/image_raw</topic>
    <update_rate>5</update_rate>
    <always_on>true</always_on>
    <camera>
     <camera_info_topic>camera/camera_info</camera_info_topic>
     <horizontal_fov>{hfov:.4f}</horizontal_fov>
     <image><width>640</width><height>480</height><format>R8G8B8</format></image>
     <clip><near>0.05</near><far>20</far></clip>
    </camera>
   </sensor>
  </link>
  <joint name="camera_pan" type="revolute">
   <parent>base_link</parent><child>head</child>
   <axis><xyz>0 0 1</xyz><limit><lower>-2.6</lower><upper>2.6</upper></limit></axis>
  </joint>
  <plugin filename="gz-sim-diff-drive-system" name="gz::sim::systems::DiffDrive">
   <left_joint>left_wheel_joint</left_joint>
   <right_joint>right_wheel_joint</right_joint>
   <wheel_separation>0.48</wheel_separation>
   <wheel_radius>0.06</wheel_radius>
   <topic>cmd_vel</topic>
   <odom_topic>odom</odom_topic>
   <frame_id>odom</frame_id>
   <child_frame_id>base_link</child_frame_id>
   <odom_publish_frequency>30</odom_publish_frequency>
  </plugin>
  <plugin filename="gz-sim-joint-position-controller-system"
          name="gz::sim::systems::JointPositionController">
   <joint_name>camera_pan</joint_name>
   <topic>camera_pan/command</topic>
  </plugin>
  <plugin filename="gz-sim-joint-state-publisher-system"
          name="gz::sim::systems::JointStatePublisher">
   <topic>joint_states</topic>
  </plugin>
 </model>'''


def world_sdf(layout: Layout | None = None) -> str:
    """The SDF text of the home in ``layout`` (default: config/sim/world.yaml)."""
    layout = layout or load_layout()
    x0, x1, y0, y1 = layout.extent
    parts = [_box('floor', ((x0 + x1) / 2, (y0 + y1) / 2, -0.005),
                  (x1 - x0 + 2, y1 - y0 + 2, 0.01), (0.5, 0.5, 0.5, 1))]
    parts += [_box(b.name, b.centre, [2 * h for h in b.half], b.rgba, collide=b.collide)
              for b in layout.boxes()]
    for obj in layout.objects:
        geometry = f'<geometry>{_object_geometry(obj.label)}</geometry>'
        parts.append(
            f'<model name="{obj.name}"><pose>{_rgba(obj.position)} 0 0 0</pose>'
            f'<link name="link">{_inertial(0.2, 0.05)}<collision name="collision">{geometry}'
            f'</collision><visual name="visual">{geometry}'
            f'{_material((*COLOURS[obj.colour], 1.0))}</visual></link></model>')
    body = '\n '.join(parts)
    return f'''<?xml version="1.0"?>
<!-- Generated by `python -m edge_agent.sim.sdf` from {pathlib.Path(layout.source).name}; edit the
     layout there, not here. The same home as the MuJoCo simulator node. -->
<sdf version="1.9">
<world name="{WORLD}">
 <physics name="5ms" type="ignored"><max_step_size>0.005</max_step_size>
  <real_time_factor>1.0</real_time_factor></physics>
 <plugin filename="gz-sim-physics-system" name="gz::sim::systems::Physics"/>
 <plugin filename="gz-sim-user-commands-system" name="gz::sim::systems::UserCommands"/>
 <plugin filename="gz-sim-scene-broadcaster-system" name="gz::sim::systems::SceneBroadcaster"/>
 <plugin filename="gz-sim-sensors-system" name="gz::sim::systems::Sensors">
  <render_engine>ogre2</render_engine></plugin>
 <light type="directional" name="sun"><cast_shadows>true</cast_shadows>
  <pose>0 0 5 0 0 0</pose><diffuse>0.8 0.8 0.8 1</diffuse><direction>-0.3 0.2 -0.9</direction>
 </light>
 {body}
</world>
</sdf>
'''


def robot_sdf(layout: Layout | None = None) -> str:
    """The SDF text of the robot, posed at the layout's start place."""
    layout = layout or load_layout()
    return f'''<?xml version="1.0"?>
<!-- Generated by `python -m edge_agent.sim.sdf`: the robot of the MuJoCo simulator node, spawned
     into config/gazebo/world.sdf by launch/sim.launch.py. -->
<sdf version="1.9">
{_robot(layout)}
</sdf>
'''


def main(argv: list[str] | None = None) -> int:
    import argparse

    from edge_agent.core.config.paths import _SOURCE_ROOT

    parser = argparse.ArgumentParser(description='Write the Gazebo world and robot.')
    parser.add_argument('--world', help='world layout YAML (default: config/sim/world.yaml)')
    parser.add_argument('--out', default=str(_SOURCE_ROOT / 'config' / 'gazebo'),
                        help='folder for world.sdf and robot.sdf')
    args = parser.parse_args(argv)
    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    layout = load_layout(args.world)
    for name, text in (('world.sdf', world_sdf(layout)), ('robot.sdf', robot_sdf(layout))):
        (out / name).write_text(text, encoding='utf-8')
        print(f'wrote {out / name}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
