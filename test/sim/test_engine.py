"""The simulator without ROS (real MuJoCo physics): the layout loader's errors, the base's
differential drive, pick by phrase and side with the reach check, place, the pan camera; and
the go-to-pose controller the sim adapter drives with."""
from __future__ import annotations

import math

import pytest

from edge_agent.core.errors import ConfigError
from edge_agent.core.execution.drive import GoToPose
from edge_agent.core.planning import split_side
from edge_agent.sim.engine import SimError, Simulator
from edge_agent.sim.world import Pose, load_layout


@pytest.fixture(scope='module')
def sim():
    simulator = Simulator(load_layout(), 64, 48)
    yield simulator
    simulator.close()


def test_layout_errors_name_the_field(tmp_path):
    bad = tmp_path / 'world.yaml'
    bad.write_text('places: {a: {x: 0, y: 0}}\nfurniture: {}\nobjects:\n'
                   '  o: {label: cup, colour: purple, surface: t}\n')
    with pytest.raises(ConfigError, match="colour 'purple'"):
        load_layout(bad)
    bad.write_text('places: {a: {x: .nan, y: 0}}\nfurniture: {}\nobjects: {}\n')
    with pytest.raises(ConfigError, match='places.a.x'):
        load_layout(bad)
    bad.write_text('places: {}\n')
    with pytest.raises(ConfigError, match='malformed'):
        load_layout(bad)
    with pytest.raises(ConfigError, match='cannot read'):
        load_layout(tmp_path / 'missing.yaml')


def test_split_side():
    assert split_side('Green cup on the right') == ('green cup', 'right')
    assert split_side('red cup') == ('red cup', '')


def test_go_to_pose_reaches_the_goal_on_a_differential_base():
    control = GoToPose(1.0, 1.0, math.pi / 2)
    x = y = yaw = 0.0
    for _ in range(2000):
        forward, turn, reached = control.command(x, y, yaw)
        if reached:
            break
        x += forward * math.cos(yaw) * 0.02
        y += forward * math.sin(yaw) * 0.02
        yaw += turn * 0.02
    assert reached and math.hypot(x - 1, y - 1) <= 0.05 and abs(yaw - math.pi / 2) <= 0.05


def test_base_drives_without_sliding_sideways_and_clamps_speeds(sim):
    sim.teleport(Pose(0.0, 0.0, math.pi / 2))
    sim.set_velocity(10.0, float('nan'))          # clamped to 0.6 m/s; NaN turn -> 0
    sim.step(1.0)
    pose = sim.pose()
    assert pose.x == pytest.approx(0.0, abs=1e-6) and pose.y == pytest.approx(0.6, abs=0.02)
    sim.set_velocity(0.0, 0.0)


def test_pick_checks_reach_and_tells_look_alikes_apart_by_side(sim):
    layout = sim.layout
    sim.teleport(layout.places['living room'])
    with pytest.raises(SimError, match='out of reach'):
        sim.pick('red cup')
    with pytest.raises(SimError, match='no purple cup'):
        sim.pick('purple cup')
    sim.teleport(layout.places['kitchen'])
    with pytest.raises(SimError, match='2 objects in reach'):
        sim.pick('green cup')
    assert sim.pick('green cup on the left') == 'green_cup_l'
    with pytest.raises(SimError, match='already holds'):
        sim.pick('red cup')
    sim.step(0.5)
    held = sim.state().object('green_cup_l')
    kitchen = layout.places['kitchen']
    assert held.held and held.position == pytest.approx((kitchen.x + 0.32, kitchen.y, 0.55))
    with pytest.raises(SimError, match='not a bottle'):
        sim.place('bottle')
    assert sim.place('green cup') == 'the kitchen table'
    sim.step(1.0)
    placed = sim.state().object('green_cup_l')
    assert not placed.held and 0.45 < placed.position[2] < 0.6   # standing on the table top
    with pytest.raises(SimError, match='holds nothing'):
        sim.place('green cup')


def test_pan_turns_the_camera_towards_a_target(sim):
    sim.teleport(sim.layout.places['living room'])
    angle = sim.bearing_to('yellow ball')
    assert 1.0 < angle < 1.6                       # the counter is to the left
    sim.set_pan(angle)
    sim.step(2.0)
    assert sim.pan() == pytest.approx(angle, abs=0.05)
    sim.set_pan(10.0)                              # beyond the joint's range: clamped
    sim.step(2.0)
    assert sim.pan() <= 2.6 + 1e-3
