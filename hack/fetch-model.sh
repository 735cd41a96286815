#!/usr/bin/env bash
# Fetch or generate the model detect loads, and print the MODEL_*
# settings that load it.
#
#   hack/fetch-model.sh [KIND] [DIR] [-- extra yolo-model flags]
#
# KIND:
#   tiny            official YOLOv4-tiny COCO files (needs internet; pinned size + SHA-256)
#   full            official YOLOv4 COCO files (needs internet; 257,717,640-byte weights)
#   pattern         edgewatch's generated colour-pattern model: a crafted test
#                   network that reacts to solid coloured squares, NOT a trained detector
#   pattern-onnx-v5 the same network as an ONNX export with YOLOv5's output layout
#   pattern-onnx-v8 the same network as an ONNX export with YOLOv8/YOLO11's output layout
#   generated-tiny  official YOLOv4-tiny layout with pseudo-random weights (load/speed tests)
#   generated-full  official YOLOv4 layout with pseudo-random weights (load/speed tests)
# DIR defaults to ${XDG_CACHE_HOME:-~/.cache}/edgewatch/models/KIND.
# Extra flags go to `yolo-model fetch`, e.g. --mirror URL or --pin NAME=SIZE:SHA256.
set -o errexit -o nounset -o pipefail

kind=${1:-tiny}
dir=${2:-${XDG_CACHE_HOME:-$HOME/.cache}/edgewatch/models/$kind}
shift $(( $# > 2 ? 2 : $# ))
if [[ ${1:-} == "--" ]]; then shift; fi

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
cd "$root/functions/detect"

case $kind in
  tiny|full)
    exec go run ./cmd/yolo-model fetch --kind "$kind" --dir "$dir" "$@" ;;
  pattern|pattern-onnx-v5|pattern-onnx-v8)
    exec go run ./cmd/yolo-model generate --kind "$kind" --dir "$dir" ;;
  generated-tiny|generated-full)
    exec go run ./cmd/yolo-model generate --kind "${kind#generated-}" --dir "$dir" ;;
  *)
    echo "unknown model kind '$kind' (want tiny, full, pattern, pattern-onnx-v5, pattern-onnx-v8, generated-tiny or generated-full)" >&2
    exit 2 ;;
esac
