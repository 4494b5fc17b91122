"""The Gazebo files as far as this machine can check them (no gz sim here): the world SDF is
generated from the same layout as the MuJoCo home and parses with the real SDFormat parser
(libsdformat 12, Debian's libsdformat-dev, through a small C++ check compiled here), and the
ros_gz_bridge config's ROS topics and types are exactly those of the MuJoCo node, read from
the ROS graph over DDS.
"""
from __future__ import annotations

import pathlib
import shutil
import subprocess

import pytest
from rclpy.node import Node
from rclpy.parameter import Parameter
from ros_helpers import wait_for
import yaml

from edge_agent.sim.node import SimulatorNode
from edge_agent.sim.sdf import ROBOT, WORLD, robot_sdf, world_sdf

ROOT = pathlib.Path(__file__).resolve().parents[2]
WORLD_FILE = ROOT / 'config' / 'gazebo' / 'world.sdf'
ROBOT_FILE = ROOT / 'config' / 'gazebo' / 'robot.sdf'
BRIDGE_FILE = ROOT / 'config' / 'gazebo' / 'bridge.yaml'

CHECK = r'''
#include <iostream>
#include <sdf/sdf.hh>
// Prints "world NAME" or "robot file", then one line per model: name, joints, sensor topics.
void print(const sdf::Model *m) {
  std::cout << "model " << m->Name();
  for (uint64_t j = 0; j < m->JointCount(); ++j) std::cout << " " << m->JointByIndex(j)->Name();
  for (uint64_t j = 0; j < m->LinkCount(); ++j)
    for (uint64_t k = 0; k < m->LinkByIndex(j)->SensorCount(); ++k)
      std::cout << " sensor:" << m->LinkByIndex(j)->SensorByIndex(k)->Topic();
  std::cout << "\n";
}
int main(int argc, char **argv) {
  sdf::Root root;
  sdf::Errors errors = root.Load(argv[1]);
  for (const auto &e : errors) std::cerr << e << "\n";
  if (!errors.empty()) return 1;
  if (root.WorldCount() == 1) {
    const sdf::World *world = root.WorldByIndex(0);
    std::cout << "world " << world->Name() << "\n";
    for (uint64_t i = 0; i < world->ModelCount(); ++i) print(world->ModelByIndex(i));
    return 0;
  }
  if (root.Model() == nullptr) return 1;
  std::cout << "robot file\n";
  print(root.Model());
  return 0;
}
'''


def test_world_and_robot_sdf_are_generated_from_the_layout():
    assert WORLD_FILE.read_text(encoding='utf-8') == world_sdf(), (
        'config/gazebo/world.sdf is stale: run python -m edge_agent.sim.sdf')
    assert ROBOT_FILE.read_text(encoding='utf-8') == robot_sdf(), (
        'config/gazebo/robot.sdf is stale: run python -m edge_agent.sim.sdf')


def test_world_sdf_parses_with_libsdformat(tmp_path):
    if shutil.which('g++') is None or subprocess.run(
            ['pkg-config', '--exists', 'sdformat12'], check=False).returncode != 0:
        pytest.skip('libsdformat 12 headers not installed (apt install libsdformat-dev '
                    'pkg-config; .ci/run installs them)')
    flags = subprocess.run(['pkg-config', '--cflags', '--libs', 'sdformat12'], check=True,
                           capture_output=True, text=True).stdout.split()
    source = tmp_path / 'check.cc'
    source.write_text(CHECK)
    subprocess.run(['g++', '-std=c++17', str(source), '-o', str(tmp_path / 'check'), *flags],
                   check=True, timeout=300)

    def parsed(path) -> tuple[str, dict]:
        done = subprocess.run([str(tmp_path / 'check'), str(path)], capture_output=True,
                              text=True, timeout=60)
        assert done.returncode == 0, done.stderr
        lines = done.stdout.splitlines()
        return lines[0], {line.split()[1]: line.split()[2:] for line in lines[1:]}

    head, models = parsed(WORLD_FILE)
    assert head == f'world {WORLD}'
    for name in ('red_cup', 'green_cup_l', 'green_cup_r', 'blue_box', 'kitchen table',
                 'wall +x'):
        assert any(m == name or m.startswith(name.split()[0]) for m in models), name
    head, models = parsed(ROBOT_FILE)
    assert head == 'robot file'
    robot = models[ROBOT]
    assert {'left_wheel_joint', 'right_wheel_joint', 'camera_pan'} <= set(robot)
    assert 'sensor:camera/image_raw' in robot
    # a broken file is refused: the check is not a formality
    broken = tmp_path / 'broken.sdf'
    broken.write_text(WORLD_FILE.read_text().replace('</model>', '', 1))
    assert subprocess.run([str(tmp_path / 'check'), str(broken)], capture_output=True,
                          timeout=60).returncode != 0


def test_bridge_topics_and_types_are_the_mujoco_nodes(ros_context, executor):
    namespace = '/gz_parity'
    executor.add(SimulatorNode(context=ros_context, namespace=namespace, parameter_overrides=[
        Parameter('width', value=64), Parameter('height', value=48)]))
    probe = executor.add(Node('probe', namespace=namespace, context=ros_context))
    # the MuJoCo node's own extras: ground truth, sim/run_skill (look_at, pick, place), the
    # usual node topics (every edge_agent node's heartbeat among them), and /tf where
    # tf2_msgs is installed (a distro; not on PyPI)
    own = {f'{namespace}/sim/ground_truth', f'{namespace}/supervision/heartbeat',
           '/diagnostics', '/rosout', '/parameter_events', '/tf'}

    def interface(getter) -> set:
        return {(topic, kinds[0]) for topic, kinds in getter('sim', namespace)
                if topic not in own and '/_action/' not in topic}

    wait_for(lambda: len(interface(probe.get_publisher_names_and_types_by_node)) >= 5,
             message="the simulator's publishers in the graph")
    published = interface(probe.get_publisher_names_and_types_by_node)
    subscribed = interface(probe.get_subscriber_names_and_types_by_node)
    bridge = yaml.safe_load(BRIDGE_FILE.read_text())

    def ros(entry) -> tuple[str, str]:
        name = entry['ros_topic_name']
        return (name if name.startswith('/') else f'{namespace}/{name}', entry['ros_type_name'])

    to_ros = {ros(e) for e in bridge if e['direction'] == 'GZ_TO_ROS'}
    to_gz = {ros(e) for e in bridge if e['direction'] == 'ROS_TO_GZ'}
    assert to_ros == published
    assert to_gz == subscribed
