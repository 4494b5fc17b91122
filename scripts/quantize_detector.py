"""Static INT8 post-training quantization of the detector with ONNX Runtime's quantizer.

Calibrates on rendered frames (the training set), quantizes weights and activations to INT8
(QDQ format, per-channel weights), keeps the output decoding in float, and copies the class
names. Usage: python scripts/quantize_detector.py FP32.onnx CALIB.npz INT8.onnx [--frames 200]
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
    parser.add_argument('calib', type=pathlib.Path)
    parser.add_argument('out', type=pathlib.Path)
    parser.add_argument('--frames', type=int, default=200)
    args = parser.parse_args()
    import onnx
    from onnxruntime.quantization import (
        CalibrationDataReader,
        QuantFormat,
        QuantType,
        quantize_static,
    )
    from onnxruntime.quantization.shape_inference import quant_pre_process

    detector = Detector(args.fp32)
    images = np.load(args.calib, allow_pickle=True)['images'][:args.frames]

    class Frames(CalibrationDataReader):
        def __init__(self):
            self._it = iter(images)

        def get_next(self):
            image = next(self._it, None)
            if image is None:
                return None
            return {detector.input_name: detector.preprocess(image)[0]}

    prepared = args.out.with_suffix('.prep.onnx')
    quant_pre_process(str(args.fp32), str(prepared))
    # the decoding tail (exp, sigmoid, max-pool, concat) stays float: quantize the convolutions
    model = onnx.load(str(prepared))
    convs = [n.name for n in model.graph.node if n.op_type in ('Conv', 'Relu', 'Add', 'Resize',
                                                               'Concat') and n.name.startswith(
                                                                   '/net/')]
    quantize_static(str(prepared), str(args.out), Frames(), quant_format=QuantFormat.QDQ,
                    per_channel=True, activation_type=QuantType.QInt8,
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
