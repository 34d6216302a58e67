//! Stamps the plugin version and links the static ncnn library.
//!
//! ncnn is looked up, in this order, in the prefix named by `NCNN_DIR`,
//! through pkg-config (`ncnn.pc`), and in the cache prefix that
//! `scripts/build-ncnn.sh` installs into.

use std::env;
use std::path::{Path, PathBuf};

const NCNN_VERSION: &str = "1.0.20261020";

fn main() {
    gst_plugin_version_helper::info();

    println!("cargo::rerun-if-env-changed=NCNN_DIR");
    println!("cargo::rerun-if-env-changed=PKG_CONFIG_PATH");
    println!("cargo::rerun-if-env-changed=XDG_CACHE_HOME");
    println!("cargo::rerun-if-env-changed=SCRFD_MODELS_DIR");

    // The default model folder of an installed plugin; meson sets it from
    // its data directory, a plain cargo build falls back to the usual one.
    let models_dir = env::var("SCRFD_MODELS_DIR")
        .unwrap_or_else(|_| "/usr/local/share/gst-plugin-scrfd/models".to_owned());
    println!("cargo::rustc-env=SCRFD_MODELS_DIR={models_dir}");

    if let Some(dir) = env::var_os("NCNN_DIR") {
        link_prefix(Path::new(&dir), "NCNN_DIR");
    } else if let Ok(library) = pkg_config::Config::new()
        .statik(true)
        .cargo_metadata(false)
        .probe("ncnn")
    {
        let prefix = library
            .link_paths
            .first()
            .and_then(|lib| lib.parent())
            .map(Path::to_path_buf)
            .expect("ncnn.pc names no library directory");
        link_prefix(&prefix, "pkg-config");
    } else if let Some(prefix) = cached_prefix().filter(|p| p.join(".complete").is_file()) {
        link_prefix(&prefix, "the build-ncnn.sh cache");
    } else {
        panic!(
            "ncnn {NCNN_VERSION} was not found. Build it with `scripts/build-ncnn.sh` \
             (it installs into {cache}), or point NCNN_DIR at the install prefix of an \
             existing static ncnn build (the folder holding lib/libncnn.a and include/ncnn), \
             or make `pkg-config ncnn` find it.",
            cache = cached_prefix()
                .map(|p| p.display().to_string())
                .unwrap_or_else(|| "$HOME/.cache/gst-plugin-scrfd".to_owned()),
        );
    }
}

fn cached_prefix() -> Option<PathBuf> {
    let cache = env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| env::var_os("HOME").map(|home| Path::new(&home).join(".cache")))?;
    Some(
        cache
            .join("gst-plugin-scrfd")
            .join(format!("ncnn-{NCNN_VERSION}")),
    )
}

/// Links `libncnn.a` from `prefix` and the runtime libraries it needs.
fn link_prefix(prefix: &Path, source: &str) {
    let lib_dir = [
        "lib",
        "lib64",
        "lib/x86_64-linux-gnu",
        "lib/aarch64-linux-gnu",
    ]
    .iter()
    .map(|dir| prefix.join(dir))
    .find(|dir| dir.join("libncnn.a").is_file())
    .unwrap_or_else(|| {
        panic!(
            "{source} points at {}, which has no lib/libncnn.a; build ncnn as a static \
                 library (NCNN_SHARED_LIB=OFF) or run scripts/build-ncnn.sh",
            prefix.display()
        )
    });
    let header = prefix.join("include/ncnn/c_api.h");
    if !header.is_file() {
        panic!(
            "{} is missing; this ncnn build lacks the C API, rebuild it with NCNN_C_API=ON",
            header.display()
        );
    }

    println!(
        "cargo::rerun-if-changed={}",
        lib_dir.join("libncnn.a").display()
    );
    println!("cargo::rustc-link-search=native={}", lib_dir.display());
    println!("cargo::rustc-link-lib=static=ncnn");

    // libncnn.a is C++ built with OpenMP, so it needs the C++ runtime and
    // libgomp, both shared libraries on every Linux distribution.
    println!("cargo::rustc-link-lib=dylib=gomp");
    println!("cargo::rustc-link-lib=dylib=stdc++");
    println!("cargo::rustc-link-lib=dylib=pthread");
    println!("cargo::metadata=prefix={}", prefix.display());
}
