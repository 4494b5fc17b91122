"""Train the project's small detector on rendered scenes and export it to ONNX (YOLOv8 layout).

A CenterNet-style network (stride 8): a per-class centre heatmap, box size and centre offset.
The export decodes every grid cell into ``[1, 4+C, N]`` (cx, cy, w, h in input pixels, then
class scores), the YOLOv8 output layout, with the class names in the model's metadata, so
edge_agent's vision node (and any YOLOv8 consumer) runs it unchanged. Needs PyTorch (CPU):
`pip install torch==2.13.0`; not a runtime dependency.

Usage: python scripts/train_detector.py TRAIN.npz OUTDIR [--epochs 40] [--sizes 320,256]
writes OUTDIR/edge_agent_detector_<size>.onnx for each input size (the network is fully
convolutional, so one set of weights serves every size) and OUTDIR/edge_agent_detector.pt.
"""
import argparse
import pathlib
import sys
import time

import numpy as np
import torch
from torch import nn

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))
from edge_agent.core.vision import letterbox  # noqa: E402

SIZE, STRIDE = 320, 8  # training input size [px] and output stride


def block(cin, cout, stride=1):
    return nn.Sequential(nn.Conv2d(cin, cout, 3, stride, 1, bias=False), nn.BatchNorm2d(cout),
                         nn.ReLU(inplace=True))


class CenterNetTiny(nn.Module):
    def __init__(self, num_classes: int) -> None:
        super().__init__()
        self.num_classes = num_classes
        self.stem = nn.Sequential(block(3, 16, 2), block(16, 32, 2), block(32, 32))
        self.down = nn.Sequential(block(32, 64, 2), block(64, 64))           # stride 8
        self.deep = nn.Sequential(block(64, 96, 2), block(96, 96))           # stride 16
        self.up = nn.Upsample(scale_factor=2, mode='nearest')
        self.fuse = nn.Sequential(block(64 + 96, 64), block(64, 64))
        self.heat = nn.Conv2d(64, num_classes, 1)
        self.size = nn.Conv2d(64, 2, 1)
        self.offset = nn.Conv2d(64, 2, 1)
        nn.init.constant_(self.heat.bias, -2.19)  # prior 0.1, as CenterNet does

    def forward(self, x):
        s8 = self.down(self.stem(x))
        f = self.fuse(torch.cat([s8, self.up(self.deep(s8))], 1))
        return self.heat(f), self.size(f), self.offset(f)


class Exported(nn.Module):
    """Decode every cell into the YOLOv8 layout [1, 4+C, N]."""

    def __init__(self, net: CenterNetTiny, size: int) -> None:
        super().__init__()
        self.net = net
        self.grid = grid = size // STRIDE
        ys, xs = torch.meshgrid(torch.arange(grid), torch.arange(grid), indexing='ij')
        self.register_buffer('gx', xs.reshape(1, 1, -1).float())
        self.register_buffer('gy', ys.reshape(1, 1, -1).float())

    def forward(self, images):
        heat, size, offset = self.net(images)
        n = heat.shape[0]
        cells = self.grid * self.grid
        scores = torch.sigmoid(heat).reshape(n, -1, cells)
        # keep only local maxima, as CenterNet's 3x3 max-pool NMS does
        pooled = nn.functional.max_pool2d(torch.sigmoid(heat), 3, 1, 1).reshape(n, -1, cells)
        scores = scores * (scores >= pooled).float()
        off = offset.reshape(n, 2, -1)
        wh = torch.exp(size.reshape(n, 2, -1)) * STRIDE
        cx = (self.gx + off[:, 0:1]) * STRIDE
        cy = (self.gy + off[:, 1:2]) * STRIDE
        return torch.cat([cx, cy, wh, scores], 1)


def targets(boxes: np.ndarray, num_classes: int):
    grid = SIZE // STRIDE
    heat = np.zeros((num_classes, grid, grid), np.float32)
    size = np.zeros((2, grid, grid), np.float32)
    offset = np.zeros((2, grid, grid), np.float32)
    mask = np.zeros((grid, grid), np.float32)
    ys, xs = np.mgrid[0:grid, 0:grid]
    for x0, y0, x1, y1, cls in boxes:
        cx, cy = (x0 + x1) / 2 / STRIDE, (y0 + y1) / 2 / STRIDE
        w, h = max(x1 - x0, 2), max(y1 - y0, 2)
        ix, iy = min(int(cx), grid - 1), min(int(cy), grid - 1)
        sigma = max(0.5, 0.15 * np.hypot(w, h) / STRIDE)
        g = np.exp(-((xs - ix) ** 2 + (ys - iy) ** 2) / (2 * sigma ** 2))
        heat[int(cls)] = np.maximum(heat[int(cls)], g)
        size[:, iy, ix] = np.log([w / STRIDE, h / STRIDE])
        offset[:, iy, ix] = (cx - ix, cy - iy)
        mask[iy, ix] = 1
    return heat, size, offset, mask


def prepare(images, boxes, num_classes):
    inputs, tgt = [], []
    for image, bx in zip(images, boxes, strict=True):
        boxed, scale, (left, top) = letterbox(image, SIZE)
        inputs.append(boxed.transpose(2, 0, 1))
        b = bx.copy()
        b[:, :4] = b[:, :4] * scale + [left, top, left, top]
        tgt.append(targets(b, num_classes))
    stack = [np.stack([t[i] for t in tgt]) for i in range(4)]
    return np.stack(inputs), stack


def focal(pred, gt):
    pred = torch.sigmoid(pred).clamp(1e-4, 1 - 1e-4)
    pos = gt.eq(1).float()
    neg = 1 - pos
    pos_loss = torch.log(pred) * (1 - pred) ** 2 * pos
    neg_loss = torch.log(1 - pred) * pred ** 2 * (1 - gt) ** 4 * neg
    return -(pos_loss.sum() + neg_loss.sum()) / pos.sum().clamp(min=1)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('train', type=pathlib.Path)
    parser.add_argument('out', type=pathlib.Path)
    parser.add_argument('--epochs', type=int, default=40)
    parser.add_argument('--sizes', default='320,256', help='input sizes to export [px]')
    parser.add_argument('--batch', type=int, default=16)
    parser.add_argument('--seed', type=int, default=0)
    args = parser.parse_args()
    torch.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    data = np.load(args.train, allow_pickle=True)
    classes = [str(c) for c in data['classes']]
    x, (heat, size, offset, mask) = prepare(data['images'], data['boxes'], len(classes))
    net = CenterNetTiny(len(classes))
    opt = torch.optim.AdamW(net.parameters(), lr=2e-3, weight_decay=1e-4)
    steps = args.epochs * (len(x) // args.batch)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=3e-3, total_steps=steps)
    began = time.time()
    for epoch in range(args.epochs):
        order = rng.permutation(len(x))
        total = 0.0
        net.train()
        for start in range(0, len(order) - args.batch + 1, args.batch):
            idx = order[start:start + args.batch]
            images = torch.from_numpy(x[idx]).float() / 255.0
            if rng.random() < 0.5:  # colour-preserving brightness jitter
                images = (images * float(rng.uniform(0.7, 1.3))).clamp(0, 1)
            h, s, o = net(images)
            m = torch.from_numpy(mask[idx])[:, None]
            loss = (focal(h, torch.from_numpy(heat[idx]))
                    + 0.1 * (torch.abs(s - torch.from_numpy(size[idx])) * m).sum() / m.sum()
                    .clamp(min=1)
                    + (torch.abs(o - torch.from_numpy(offset[idx])) * m).sum() / m.sum()
                    .clamp(min=1))
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            total += float(loss)
        print(f'epoch {epoch + 1}/{args.epochs} loss {total / (len(x) // args.batch):.3f} '
              f'({time.time() - began:.0f} s)', flush=True)
    net.eval()
    args.out.mkdir(parents=True, exist_ok=True)
    torch.save(net.state_dict(), args.out / 'edge_agent_detector.pt')
    import onnx

    for size in (int(v) for v in args.sizes.split(',')):
        path = args.out / f'edge_agent_detector_{size}.onnx'
        torch.onnx.export(Exported(net, size).eval(), torch.zeros(1, 3, size, size), str(path),
                          input_names=['images'], output_names=['output0'], opset_version=17,
                          dynamo=False)
        model = onnx.load(str(path))
        names = {i: n for i, n in enumerate(classes)}
        for key, value in (('names', repr(names)), ('stride', str(STRIDE)),
                           ('imgsz', f'[{size}, {size}]'),
                           ('description', 'edge_agent scenario detector (CenterNet-tiny, '
                                           'YOLOv8 output layout), trained on MuJoCo renders')):
            entry = model.metadata_props.add()
            entry.key, entry.value = key, value
        onnx.save(model, str(path))
        print(f'exported {path} ({path.stat().st_size / 1e6:.2f} MB)')
    print(f'done in {time.time() - began:.0f} s')
    return 0


if __name__ == '__main__':
    sys.exit(main())
