"""The scenario scene: a kitchen-like room with tables and small objects in several colours.

``make_scene(rng)`` returns MJCF text for one randomized scene (object poses, colours,
lighting, camera, distractors) and the list of labelled objects in it. The same assets serve
the detector's training renders and the simulator.
"""
from __future__ import annotations

import dataclasses

import numpy as np

from edge_agent.core.config.layout import CLASSES, COLOURS, SHAPES  # noqa: F401 - re-exported

__all__ = ['CLASSES', 'COLOURS', 'SHAPES', 'SceneObject', 'make_scene']


@dataclasses.dataclass(frozen=True)
class SceneObject:
    """A labelled object: its MJCF geom name, class and colour name."""

    geom: str
    label: str
    colour: str


def _geom(label: str, name: str, pos, rgba) -> str:
    x, y, z = pos
    rgba = ' '.join(f'{c:.3f}' for c in rgba)
    kind, size, lift = SHAPES[label]
    turn = f' euler="0 0 {x * 90:.1f}"' if kind == 'box' else ''
    return (f'<geom name="{name}" type="{kind}" size="{" ".join(f"{v:g}" for v in size)}" '
            f'pos="{x:.3f} {y:.3f} {z + lift:.3f}"{turn} rgba="{rgba}"/>')


def make_scene(rng: np.random.Generator, width: int = 320, height: int = 240,
               max_objects: int = 5) -> tuple[str, list[SceneObject]]:
    """MJCF of one randomized scene and its labelled objects."""
    floor = rng.uniform(0.45, 0.8, 3)
    wall = rng.uniform(0.6, 0.95, 3)
    table_h = rng.uniform(0.35, 0.5)
    table = rng.uniform(0.25, 0.55, 3)
    light = rng.uniform(0.5, 1.0)
    parts = [
        f'<geom type="plane" size="4 4 0.1" rgba="{floor[0]:.2f} {floor[1]:.2f} '
        f'{floor[2]:.2f} 1"/>',
        f'<geom type="box" pos="0 1.6 1" size="3 0.02 1" rgba="{wall[0]:.2f} {wall[1]:.2f} '
        f'{wall[2]:.2f} 1"/>',
        f'<geom type="box" pos="0 0.1 {table_h:.3f}" size="0.6 0.4 0.02" '
        f'rgba="{table[0]:.2f} {table[1]:.2f} {table[2]:.2f} 1"/>',
    ]
    objects, placed = [], []
    count = int(rng.integers(1, max_objects + 1))
    for index in range(count):
        label = CLASSES[int(rng.integers(len(CLASSES)))]
        colour = list(COLOURS)[int(rng.integers(len(COLOURS)))]
        for _ in range(20):  # keep objects apart so boxes are separable
            on_table = rng.random() < 0.7
            if on_table:
                pos = (rng.uniform(-0.5, 0.5), rng.uniform(-0.2, 0.4), table_h + 0.02)
            else:
                pos = (rng.uniform(-0.9, 0.9), rng.uniform(-0.6, -0.35), 0.0)
            if all(np.hypot(pos[0] - p[0], pos[1] - p[1]) > 0.16 for p in placed):
                break
        placed.append(pos)
        rgba = (*np.clip(np.array(COLOURS[colour]) * rng.uniform(0.85, 1.15), 0, 1), 1.0)
        name = f'obj{index}'
        parts.append(_geom(label, name, pos, rgba))
        objects.append(SceneObject(name, label, colour))
    for index in range(int(rng.integers(0, 3))):  # distractors: not in any class
        pos = (rng.uniform(-0.5, 0.5), rng.uniform(-0.2, 0.4), table_h + 0.02)
        rgba = (*rng.uniform(0.2, 0.9, 3), 1.0)
        parts.append(f'<geom name="distractor{index}" type="box" size="0.12 0.02 0.01" '
                     f'pos="{pos[0]:.3f} {pos[1]:.3f} {pos[2] + 0.01:.3f}" '
                     f'rgba="{" ".join(f"{c:.2f}" for c in rgba)}"/>')
    cam_x, cam_z = rng.uniform(-0.4, 0.4), rng.uniform(0.9, 1.3)
    cam_y = rng.uniform(-1.5, -1.1)
    # look at the table centre
    target = np.array([0.0, 0.1, table_h])
    eye = np.array([cam_x, cam_y, cam_z])
    forward = (target - eye) / np.linalg.norm(target - eye)
    right = np.cross(forward, [0, 0, 1.0])
    right /= np.linalg.norm(right)
    up = np.cross(right, forward)
    xml = f'''<mujoco>
 <visual><global offwidth="{width}" offheight="{height}"/>
  <headlight ambient="{0.25 * light:.2f} {0.25 * light:.2f} {0.25 * light:.2f}"/></visual>
 <worldbody>
  <light pos="{rng.uniform(-1, 1):.2f} {rng.uniform(-1, 0.5):.2f} 2.5" dir="0 0 -1"
         diffuse="{light:.2f} {light:.2f} {light:.2f}"/>
  {chr(10).join(parts)}
  <camera name="cam" pos="{eye[0]:.3f} {eye[1]:.3f} {eye[2]:.3f}"
          fovy="{rng.uniform(50, 65):.1f}"
          xyaxes="{' '.join(f'{v:.4f}' for v in (*right, *up))}"/>
 </worldbody>
</mujoco>'''
    return xml, objects
