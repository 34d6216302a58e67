#!/usr/bin/env bash
# Installs the Debian 12 packages needed to build the plugin, run its
# examples and run its tests. Does nothing when they are all installed.
set -euo pipefail

packages=(
    # Building ncnn and the plugin.
    build-essential cmake pkg-config python3-pip
    # GStreamer headers, gst-inspect/gst-launch and the plugins the examples
    # and tests use (decoders, x264enc, videoconvert, appsrc).
    libgstreamer1.0-dev libgstreamer-plugins-base1.0-dev gstreamer1.0-tools
    gstreamer1.0-plugins-base gstreamer1.0-plugins-good gstreamer1.0-plugins-bad
    gstreamer1.0-plugins-ugly gstreamer1.0-libav
    # The Python example: PyGObject and the GStreamer typelibs.
    python3-gi gir1.2-gstreamer-1.0 gir1.2-gst-plugins-base-1.0
    # The RTSP test's camera: an RTSP server driven from Python.
    gir1.2-gst-rtsp-server-1.0
    # Building and installing the plugin with meson.
    meson ninja-build
    # Downloads in fetch-models.sh, and its test against a local server.
    curl
)

missing=()
for package in "${packages[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
        missing+=("$package")
    fi
done

if [ ${#missing[@]} -eq 0 ]; then
    echo "all system packages are installed" >&2
else
    sudo=""
    if [ "$(id -u)" -ne 0 ]; then
        sudo=sudo
    fi
    echo "installing: ${missing[*]}" >&2
    $sudo apt-get update
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y --no-install-recommends "${missing[@]}"
fi

if ! command -v cargo >/dev/null; then
    echo "error: cargo not found; install Rust 1.95 or newer with rustup (https://rustup.rs)" >&2
    exit 1
fi
