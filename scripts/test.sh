#!/usr/bin/env bash
# Runs the whole test suite: formatting, lints, unit, integration and doc
# tests. Installs missing system packages and builds ncnn first (both are
# skipped when already done).
#
# The tests read the SCRFD models from SCRFD_MODEL_PATH and the test media
# and reference detections from SCRFD_TEST_DATA (default: ../shared beside
# the source tree).
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh
NCNN_DIR=$(scripts/build-ncnn.sh | tail -n 1)
export NCNN_DIR

cargo fmt --check
cargo clippy --locked --all-targets -- -D warnings
cargo test --locked
