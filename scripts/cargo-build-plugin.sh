#!/bin/sh
# Builds the plugin with cargo for meson: a release build in TARGET_DIR,
# then copies libgstscrfd.so to OUTPUT and writes DEPFILE, the list of
# source files cargo read, so that ninja rebuilds only after they change.
#
#   cargo-build-plugin.sh CARGO MANIFEST TARGET_DIR OUTPUT DEPFILE
#
# SCRFD_MODELS_DIR, NCNN_DIR and the other variables build.rs reads come
# from the environment.
set -eu

if [ $# -ne 5 ]; then
    echo "usage: $0 CARGO MANIFEST TARGET_DIR OUTPUT DEPFILE" >&2
    exit 2
fi
cargo=$1 manifest=$2 target_dir=$3 output=$4 depfile=$5

"$cargo" build --release --locked --lib --manifest-path "$manifest" --target-dir "$target_dir"
cp "$target_dir/release/libgstscrfd.so" "$output"

# cargo's dep-info names the library by its path in TARGET_DIR, but ninja
# expects the output's name.
dep_info=$target_dir/release/libgstscrfd.d
{
    printf '%s:' "$output"
    sed -n '1s|^.*/libgstscrfd\.[a-z]*:||p' "$dep_info"
} > "$depfile"
