"""Render the detector's training and held-out sets from the scenario scene (MuJoCo, OSMesa).

Each sample: a randomized scene (edge_agent.sim.scene) rendered at 320x240 with exact boxes
from MuJoCo's segmentation rendering (occlusion-aware; objects under 30 visible pixels are
dropped). Writes an .npz with images [N,240,320,3] uint8, and per image boxes [x0,y0,x1,y1,cls].
Needs `pip install mujoco` and Debian's libosmesa6; not a runtime dependency.
Usage: python scripts/render_detector_data.py OUT.npz --count 1500 --seed 1
"""
import argparse
import os
import pathlib
import sys

os.environ.setdefault('MUJOCO_GL', 'osmesa')
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))
import numpy as np  # noqa: E402

from edge_agent.sim.scene import CLASSES, make_scene  # noqa: E402


def render(count: int, seed: int, width: int = 320, height: int = 240):
    import mujoco

    rng = np.random.default_rng(seed)
    images = np.zeros((count, height, width, 3), np.uint8)
    boxes = []
    for i in range(count):
        xml, objects = make_scene(rng, width, height)
        model = mujoco.MjModel.from_xml_string(xml)
        data = mujoco.MjData(model)
        mujoco.mj_forward(model, data)
        renderer = mujoco.Renderer(model, height, width)
        renderer.update_scene(data, camera='cam')
        images[i] = renderer.render()
        renderer.enable_segmentation_rendering()
        renderer.update_scene(data, camera='cam')
        seg = renderer.render()
        rows = []
        for obj in objects:
            gid = mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_GEOM, obj.geom)
            ys, xs = np.nonzero((seg[..., 0] == gid) & (seg[..., 1] == mujoco.mjtObj.mjOBJ_GEOM))
            if len(xs) >= 30:
                rows.append([xs.min(), ys.min(), xs.max() + 1, ys.max() + 1,
                             CLASSES.index(obj.label)])
        boxes.append(np.array(rows, np.float32).reshape(-1, 5))
        renderer.close()
        if (i + 1) % 100 == 0:
            print(f'{i + 1}/{count}', flush=True)
    return images, boxes


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('out', type=pathlib.Path)
    parser.add_argument('--count', type=int, default=1500)
    parser.add_argument('--seed', type=int, default=1)
    args = parser.parse_args()
    images, boxes = render(args.count, args.seed)
    counts = np.array([len(b) for b in boxes])
    np.savez_compressed(args.out, images=images, boxes=np.array(boxes, dtype=object),
                        classes=np.array(CLASSES))
    print(f'{args.count} images, {counts.sum()} objects -> {args.out}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
