"""Static INT8 post-training quantization of a detector with ONNX Runtime's quantizer.

Calibrates on rendered frames (CALIB.npz, the scenario detector's training set) or on the
calibration half of the labelled real photos (``--photos calibration``: each photo, mirrored,
and four crops of it, so the activation ranges see objects at several scales), quantizes the
convolutions' weights and activations to INT8 (QDQ format, per-channel weights), keeps the
output decoding in float, and copies the metadata (class names, model spec).
Usage: python scripts/quantize_detector.py FP32.onnx (CALIB.npz | --photos SPLIT) INT8.onnx
"""
import argparse
import pathlib
import sys

import numpy as np

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))
from edge_agent.core.vision.detector import Detector  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('fp32', type=pathlib.Path)
    parser.add_argument('calib', type=pathlib.Path, nargs='?')
    parser.add_argument('out', type=pathlib.Path)
    parser.add_argument('--frames', type=int, default=200)
    parser.add_argument('--photos', choices=('calibration',),
                        help='calibrate on this split of data/vision/real_photos.yaml')
    parser.add_argument('--ops', default='Conv', help='op types to quantize (comma-separated); '
                        'the scenario detector: Conv,Relu,Add,Resize,Concat')
    parser.add_argument('--method', default='MinMax', choices=('MinMax', 'Percentile', 'Entropy'),
                        help="activation ranges: MinMax (the scenario detector's), Percentile "
                        '(99.999th: ignores rare outliers; the COCO detector lost a fifth of its '
                        'mAP@0.5 on the calibration photos with MinMax, 0.56 -> 0.46, and 0.01 '
                        'with Percentile)')
    parser.add_argument('--scope', default='', help='only nodes whose name starts with this '
                        '(the scenario detector: /net/)')
    args = parser.parse_args()
    if (args.calib is None) == (args.photos is None):
        parser.error('give CALIB.npz or --photos, one of them')
    import onnx
    from onnxruntime.quantization import (
        CalibrationDataReader,
        QuantFormat,
        QuantType,
        quantize_static,
    )
    from onnxruntime.quantization.shape_inference import quant_pre_process

    detector = Detector(args.fp32)
    if args.photos:
        from edge_agent.eval.photos import load_photos

        images = []
        for photo in load_photos(args.photos):
            image = photo.image
            h, w = image.shape[:2]
            images += [image, image[:, ::-1]]
            for y, x in ((0, 0), (0, w // 4), (h // 4, 0), (h // 4, w // 4)):
                images.append(image[y:y + 3 * h // 4, x:x + 3 * w // 4])
        images = images[:args.frames]
    else:
        images = np.load(args.calib, allow_pickle=True)['images'][:args.frames]

    class Frames(CalibrationDataReader):
        def __init__(self):
            self._it = iter(images)

        def get_next(self):
            image = next(self._it, None)
            if image is None:
                return None
            return {detector.backend.input_name: detector.preprocess(image)[0]}

    prepared = args.out.with_suffix('.prep.onnx')
    quant_pre_process(str(args.fp32), str(prepared))
    # the decoding tail (exp, sigmoid, max-pool, top-k, gathers) stays float: quantize the
    # network's ops of the --ops types under --scope
    model = onnx.load(str(prepared))
    ops = set(args.ops.split(','))
    convs = [n.name for n in model.graph.node
             if n.op_type in ops and n.name.startswith(args.scope)]
    from onnxruntime.quantization import CalibrationMethod

    quantize_static(str(prepared), str(args.out), Frames(), quant_format=QuantFormat.QDQ,
                    per_channel=True, activation_type=QuantType.QInt8,
                    calibrate_method=getattr(CalibrationMethod, args.method),
                    weight_type=QuantType.QInt8, nodes_to_quantize=convs)
    prepared.unlink()
    source = onnx.load(str(args.fp32))
    quantized = onnx.load(str(args.out))
    del quantized.metadata_props[:]
    for prop in source.metadata_props:
        entry = quantized.metadata_props.add()
        entry.key, entry.value = prop.key, prop.value
    onnx.save(quantized, str(args.out))
    print(f'INT8 model {args.out} ({args.out.stat().st_size / 1e6:.2f} MB), '
          f'{len(convs)} nodes quantized')
    return 0


if __name__ == '__main__':
    sys.exit(main())
