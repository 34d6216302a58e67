#!/usr/bin/env bash
# Builds the static ncnn library from its PyPI source distribution into a
# prefix outside the source tree, and does nothing when that prefix is
# already complete. Prints the prefix on its last line.
#
#   NCNN_PREFIX   install prefix (default: $XDG_CACHE_HOME/gst-plugin-scrfd/ncnn-<version>)
#   NCNN_JOBS     parallel build jobs (default: number of CPUs)
set -euo pipefail

version=1.0.20261020
sha256=ad8cdd63e9755cfa8e23b9b6d9ce46156077d80298a89e7c3ba325ffccfca200
cache=${XDG_CACHE_HOME:-$HOME/.cache}/gst-plugin-scrfd
prefix=${NCNN_PREFIX:-$cache/ncnn-$version}
jobs=${NCNN_JOBS:-$(nproc)}
stamp=$prefix/.complete

if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$sha256" ]; then
    echo "ncnn $version is already installed" >&2
    echo "$prefix"
    exit 0
fi

for tool in cmake c++ python3; do
    if ! command -v "$tool" >/dev/null; then
        echo "error: '$tool' not found; install it (Debian: apt-get install cmake g++ python3-pip)" >&2
        exit 1
    fi
done

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# pip's default resolver rejects this sdist because its setup.py reports the
# build date as its version, so the legacy resolver downloads it instead.
echo "downloading the ncnn $version source distribution from PyPI" >&2
python3 -m pip download --quiet --no-deps --no-binary ncnn \
    --use-deprecated=legacy-resolver --dest "$work" "ncnn==$version" >&2
archive=$work/ncnn-$version.tar.gz

echo "$sha256  $archive" | sha256sum --check --quiet - || {
    echo "error: SHA-256 of $archive does not match $sha256; refusing to build" >&2
    exit 1
}

tar -xzf "$archive" -C "$work"

# Release, OpenMP on, Vulkan off, C API on; no tools, examples, tests,
# benchmarks or Python module.
cmake -S "$work/ncnn-$version" -B "$work/build" -G "Unix Makefiles" \
    -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_INSTALL_PREFIX="$prefix" \
    -DNCNN_SHARED_LIB=OFF \
    -DNCNN_OPENMP=ON \
    -DNCNN_VULKAN=OFF \
    -DNCNN_C_API=ON \
    -DNCNN_BUILD_TOOLS=OFF \
    -DNCNN_BUILD_EXAMPLES=OFF \
    -DNCNN_BUILD_TESTS=OFF \
    -DNCNN_BUILD_BENCHMARK=OFF \
    -DNCNN_PYTHON=OFF >&2
cmake --build "$work/build" --parallel "$jobs" >&2

rm -rf "$prefix"
cmake --install "$work/build" >&2
echo "$sha256" > "$stamp"

echo "ncnn $version installed into $prefix" >&2
echo "$prefix"
