#!/usr/bin/env bash
# Installs what is missing, builds ncnn and the plugin, then runs the
# detect_video example on a video file: it writes an annotated copy
# (<video>.faces.mp4) and the faces of every frame (<video>.faces.jsonl).
#
#   SCRFD_MODEL_PATH=/path/to/models scripts/detect-video.sh VIDEO [options]
#
# Options are those of the example (--model, --score-threshold, ...).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)

if [ $# -lt 1 ]; then
    echo "usage: $0 VIDEO [--output FILE] [--faces FILE] [--model NAME] [--model-dir DIR] ..." >&2
    exit 2
fi

"$root/scripts/install-deps.sh"
NCNN_DIR=$("$root/scripts/build-ncnn.sh" | tail -n 1)
export NCNN_DIR

cargo build --locked --release --manifest-path "$root/Cargo.toml" --example detect_video
exec "$root/target/release/examples/detect_video" "$@"
