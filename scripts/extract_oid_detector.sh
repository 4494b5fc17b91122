#!/usr/bin/env bash
# Extract the Open Images (v4, 24 household classes) SSD-MobileNetV2 FP16 detector from the npm
# package that ships it, @mediapipe/objectron@0.4.1675468480 (Apache-2.0): bytes 184 to the end
# of objectron_solution_packed_assets.data are object_detection_ssd_mobilenetv2_oidv4_fp16.tflite
# (the first 184 bytes are its label map). Writes models/detector/oid_ssd_mobilenetv2_fp16.tflite;
# its spec (models/detector/oid_ssd_mobilenetv2_fp16.yaml: input [-1, 1], SSD anchors of
# MediaPipe's object_detection_oid_v4 graph, class names) is written by hand beside it.
#
#   scripts/extract_oid_detector.sh [OUT_DIR]     # default: models/detector
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
OUT="${1:-$ROOT/models/detector}"
SHA=d0a5255bf8c4f5a0bc4240741a76c41d5e939f7655078f945f50ab53a9375da6
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
(cd "$WORK" && npm pack --silent @mediapipe/objectron@0.4.1675468480 >/dev/null)
tar -xzf "$WORK"/mediapipe-objectron-0.4.1675468480.tgz -C "$WORK" \
  package/objectron_solution_packed_assets.data
DATA="$WORK/package/objectron_solution_packed_assets.data"
echo "label map: $(head -c 184 "$DATA" | tr '\n' ',')"
tail -c +185 "$DATA" > "$WORK/model.tflite"
GOT="$(sha256sum "$WORK/model.tflite" | cut -d' ' -f1)"
[ "$GOT" = "$SHA" ] || { echo "extracted model has sha256 $GOT, not $SHA" >&2; exit 1; }
mkdir -p "$OUT"
cp "$WORK/model.tflite" "$OUT/oid_ssd_mobilenetv2_fp16.tflite"
echo "$OUT/oid_ssd_mobilenetv2_fp16.tflite: sha256 $GOT, size $(stat -c %s "$OUT/oid_ssd_mobilenetv2_fp16.tflite")"
