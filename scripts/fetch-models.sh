#!/usr/bin/env bash
# Downloads the SCRFD models in ncnn format from the GitHub repository
# nihui/ncnn-android-scrfd at a fixed commit, checks every file against the
# checksums below, and puts them into the folder where scrfddetect looks.
#
#   scripts/fetch-models.sh [--dest DIR] [--from DIR | --url URL] [VARIANT ...]
#
# VARIANT is a value of the element's model property: 500m, 500m-kps, 1g,
# 2.5g, 2.5g-kps, 10g, 10g-kps or 34g (default: all of them).
#
#   --dest DIR  where to put the files (default:
#               ${XDG_DATA_HOME:-~/.local/share}/gst-plugin-scrfd/models)
#   --from DIR  copy the files from DIR instead of downloading them; DIR
#               contains the upstream files (scrfd_<name>-opt2.param, .bin)
#               or the same files without the -opt2 suffix
#   --url URL   download URL/<upstream file name> from a mirror instead
#
# Files are saved as scrfd_<name>.param and .bin. A file already in the
# destination is kept when it matches its checksums. The models are for
# non-commercial research use only (see models/README.md).
set -euo pipefail

commit=c680d4c3c77fb7aa7e3ac95d98f7e4ec7e8b97ea
upstream_url=https://raw.githubusercontent.com/nihui/ncnn-android-scrfd/$commit/app/src/main/assets

# Upstream file, its git blob SHA-1 (from the repository's tree at the
# commit above) and its SHA-256, or "-" where that is not known.
checksums="\
scrfd_500m-opt2.param      844814a5ab99f68ab79ad9605b3140b38ae6890d f123f0b91beff507d44e7e8555a65a03ec84a19c2ac3386da102fcdd6eb83cfa
scrfd_500m-opt2.bin        78e4525f00a7e53b07faa294c544e95a9fa1a7f6 7400f9fcf7aa4492080a1e8403fc8f949befd395aba4723e986ac3234ad1a7b9
scrfd_500m_kps-opt2.param  5dc0e1ea7dda49e5fe079c318e46a15e98599ab9 a8ffd0389abc697473128aa21068cd721dbd220c44f0f3c13b3c2ff8db4249ab
scrfd_500m_kps-opt2.bin    198c57273311ad4fdbcaa9039f4d4f4f7dcb817a f4e0d6223248972721d2e3de1431212167ce0e7fd7cb57e297c5b3223f3c89eb
scrfd_1g-opt2.param        675c91b97358c281c8237a965f9f12246bed4ffd 09d1f5dbeadabe6d713720c6baedb4839875c364a2be88ce28633d8781b45b1e
scrfd_1g-opt2.bin          307bee0ac5b7b5d38f4c8639e653aa5f400eeba1 f701f9fd14edccac5ea03f06f732a3c29631995e192d36cf99656d477f7e2eb1
scrfd_2.5g-opt2.param      e23ed8a445b46d5ac9ec5285e4e7f75a686a0333 3e89770e59218ce92ab907ac13e4671035de443da70772b7b3b977de88ea8aaa
scrfd_2.5g-opt2.bin        e7a70f7274548aa449d9ed0239809f6e3897b697 cb7706706dc5493f311880c66df2755346ebe6d147118be55db01e8493d2f8d0
scrfd_2.5g_kps-opt2.param  0402161cb0d959fef66e2db4d5d3600d4448ad54 119a1a4ec81631646b67e0023c709006f44077726f86f4ddf20658465d5a578f
scrfd_2.5g_kps-opt2.bin    2bfd8626a70ac68b2c61a5e8feaba036f1143e49 b76dfa38cafe3d9c9581fbfa284c6de58b08090aceee4cc21b3dd38fcf3f3f74
scrfd_10g-opt2.param       d199c6101d0daf622114a6156b68ec8d805f3ac2 cd07a172615e66143f5f31ea9d414a590ab1f9324d7601f8de12ed8a04581a93
scrfd_10g-opt2.bin         8ae14235a765e049793453e30ce02a39738aeafd -
scrfd_10g_kps-opt2.param   4c77b8c7755ad83396f91e342e5a25fbd7facc0b 1c950b7ef2e83e3fb5644f64350176a7d0032bb73fb34bf3e9391ef6cf0905ca
scrfd_10g_kps-opt2.bin     e472a45b3a39a86d7d348fab98d8ba23684d38d4 -
scrfd_34g-opt2.param       728de1bf40be51002c3dddf8284dfcd63d7f1257 5b000e5e4c2b05510ebe2c64d229a1d3550d0e0e15d5d5f1b993dbaec57c6c25
scrfd_34g-opt2.bin         6b1a24bfad86306299575eb408e2366beea846fb -
"
all_variants=(500m 500m-kps 1g 2.5g 2.5g-kps 10g 10g-kps 34g)

usage() {
    echo "usage: $0 [--dest DIR] [--from DIR | --url URL] [VARIANT ...]" >&2
    echo "VARIANT: ${all_variants[*]} (default: all)" >&2
    exit 2
}

fail() {
    echo "error: $*" >&2
    exit 1
}

dest=${XDG_DATA_HOME:-$HOME/.local/share}/gst-plugin-scrfd/models
from=""
base_url=$upstream_url
variants=()
while [ $# -gt 0 ]; do
    case $1 in
        --dest) [ $# -ge 2 ] || usage; dest=$2; shift 2 ;;
        --from) [ $# -ge 2 ] || usage; from=$2; shift 2 ;;
        --url) [ $# -ge 2 ] || usage; base_url=${2%/}; shift 2 ;;
        -h | --help) usage ;;
        -*) echo "error: unknown option $1" >&2; usage ;;
        *) variants+=("$1"); shift ;;
    esac
done
if [ ${#variants[@]} -eq 0 ]; then
    variants=("${all_variants[@]}")
fi

for variant in "${variants[@]}"; do
    case " ${all_variants[*]} " in
        *" $variant "*) ;;
        *)
            if [ "$variant" = 34g-kps ]; then
                echo "error: upstream publishes no ncnn conversion of 34g-kps; convert the" \
                    "InsightFace model yourself and load it with param-location" >&2
            else
                echo "error: unknown variant '$variant'; choose from: ${all_variants[*]}" >&2
            fi
            exit 2
            ;;
    esac
done

if [ -n "$from" ] && [ "$base_url" != "$upstream_url" ]; then
    echo "error: --from and --url exclude each other; pass one of them" >&2
    usage
fi
if [ -n "$from" ] && [ ! -d "$from" ]; then
    fail "--from $from is not a folder"
fi
if [ -z "$from" ] && ! command -v curl >/dev/null && ! command -v wget >/dev/null; then
    fail "neither curl nor wget was found; install one (Debian: apt-get install curl)" \
        "or copy the files from a local folder with --from DIR"
fi

# Prints the git blob SHA-1 of a file: the SHA-1 of "blob <size>\0" followed
# by the content, as `git hash-object` computes it.
blob_sha1() {
    local size
    size=$(wc -c < "$1")
    { printf 'blob %d\0' "$size"; cat "$1"; } | sha1sum | cut -d ' ' -f 1
}

# Checks FILE against the checksums of the upstream file NAME. When it does
# not match, prints what differs, naming the file's SOURCE, and returns 1.
verify() {
    local file=$1 name=$2 source=$3 sha1 sha256 actual
    read -r sha1 sha256 < <(awk -v name="$name" '$1 == name { print $2, $3 }' <<< "$checksums")
    actual=$(blob_sha1 "$file")
    if [ "$actual" != "$sha1" ]; then
        echo "$source: git blob SHA-1 is $actual, expected $sha1 for $name" >&2
        return 1
    fi
    if [ "$sha256" != - ]; then
        actual=$(sha256sum < "$file" | cut -d ' ' -f 1)
        if [ "$actual" != "$sha256" ]; then
            echo "$source: SHA-256 is $actual, expected $sha256 for $name" >&2
            return 1
        fi
    fi
}

# Puts the upstream file NAME, copied from --from or downloaded, at OUTPUT
# and sets `source` to where it came from.
obtain() {
    local name=$1 output=$2 renamed=${1/-opt2/}
    if [ -n "$from" ]; then
        if [ -f "$from/$name" ]; then
            source=$from/$name
        elif [ -f "$from/$renamed" ]; then
            source=$from/$renamed
        else
            fail "neither $name nor $renamed was found in $from; name only the variants that folder has, for example: $0 --from $from 2.5g-kps"
        fi
        cp "$source" "$output"
    else
        source=$base_url/$name
        if command -v curl >/dev/null; then
            curl --fail --location --silent --show-error --retry 3 --output "$output" "$source" \
                || fail "downloading $source failed"
        else
            wget --quiet --tries=3 --output-document="$output" "$source" \
                || fail "downloading $source failed"
        fi
    fi
    chmod 644 "$output"
}

mkdir -p "$dest"
# Files are checked in a staging folder beside the destination and moved
# in only when they match, so no partial or corrupt file lands there.
staging=$(mktemp -d "$dest/.fetch-models.XXXXXX")
trap 'rm -rf "$staging"' EXIT

for variant in "${variants[@]}"; do
    stem=scrfd_${variant/-kps/_kps}
    for extension in param bin; do
        name=$stem-opt2.$extension
        target=$dest/$stem.$extension
        if [ -e "$target" ]; then
            verify "$target" "$name" "$target" \
                || fail "$target exists and differs from the upstream $name; move it away" \
                    "or choose another --dest"
            echo "$target is already present" >&2
            continue
        fi

        obtain "$name" "$staging/$name"
        verify "$staging/$name" "$name" "$source" \
            || fail "$source does not match its checksums, so $target was not saved"
        mv "$staging/$name" "$target"
        echo "saved $target" >&2
    done
done
echo "the models are in $dest" >&2
