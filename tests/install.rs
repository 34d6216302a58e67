//! Tests of the installation: `meson install` into a prefix.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::model_dir;
use common::process::{assert_success, gst_command, run, work_dir};

const MESON_PACKAGES: &str = "meson and ninja-build";
const GSTREAMER_TOOLS: &str = "gstreamer1.0-tools";

fn source_dir() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Returns an empty work folder, kept after the test for inspection.
fn fresh_dir(name: &str) -> PathBuf {
    let dir = work_dir(name);
    std::fs::remove_dir_all(&dir).unwrap();
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Runs `gst-launch-1.0` on one 64x64 RGB frame through scrfddetect with
/// `model=500m`, with the plugin from `plugin_dir`. The model is searched
/// only in the default folders: SCRFD_MODEL_PATH is unset, and the XDG data
/// folders are `data_home` and `data_dirs`.
fn launch_default_search(plugin_dir: &Path, data_home: &Path, data_dirs: &Path) -> Output {
    let mut command = gst_command("gst-launch-1.0", plugin_dir);
    command
        .env_remove("SCRFD_MODEL_PATH")
        .env("XDG_DATA_HOME", data_home)
        .env("XDG_DATA_DIRS", data_dirs)
        .args(["videotestsrc", "num-buffers=1", "!"])
        .args(["video/x-raw,format=RGB,width=64,height=64", "!"])
        .args(["scrfddetect", "model=500m", "!", "fakesink"]);
    run(&mut command, GSTREAMER_TOOLS)
}

fn copy_model(stem: &str, dir: &Path) {
    for extension in ["param", "bin"] {
        let name = format!("{stem}.{extension}");
        std::fs::copy(model_dir().join(&name), dir.join(&name))
            .unwrap_or_else(|e| panic!("copying {name} from {}: {e}", model_dir().display()));
    }
}

/// Returns the installed path of `file` from `meson introspect --installed`.
fn installed_path(build: &Path, file: &str) -> PathBuf {
    let output = run(
        Command::new("meson")
            .args(["introspect", "--installed"])
            .arg(build),
        MESON_PACKAGES,
    );
    assert_success(&output, "meson introspect --installed");
    let installed: serde_json::Map<String, serde_json::Value> =
        serde_json::from_slice(&output.stdout).unwrap();
    installed
        .iter()
        .find(|(source, _)| source.ends_with(file))
        .and_then(|(_, target)| target.as_str())
        .map(PathBuf::from)
        .unwrap_or_else(|| panic!("meson installs no {file}: {installed:?}"))
}

#[test]
fn meson_install_into_prefix() {
    // Fixed folders, so that the release build in the meson build folder is
    // reused by the next run: the prefix, compiled into the plugin as its
    // model folder, stays the same.
    let base = work_dir("meson-install");
    let build = base.join("build");
    let prefix = base.join("prefix");

    let mut setup = Command::new("meson");
    setup.arg("setup");
    if build.join("meson-private/coredata.dat").is_file() {
        setup.arg("--reconfigure");
    }
    setup
        .arg(format!("--prefix={}", prefix.display()))
        .arg(&build)
        .arg(source_dir());
    assert_success(&run(&mut setup, MESON_PACKAGES), "meson setup");

    if prefix.exists() {
        std::fs::remove_dir_all(&prefix).unwrap();
    }
    let install = run(
        Command::new("meson").args(["install", "-C"]).arg(&build),
        MESON_PACKAGES,
    );
    assert_success(&install, "meson install");

    // The plugin goes into GStreamer's plugin folder under the libdir.
    let plugin = installed_path(&build, "libgstscrfd.so");
    assert!(plugin.is_file(), "{} is missing", plugin.display());
    assert!(plugin.starts_with(&prefix), "{}", plugin.display());
    let plugin_folder = plugin.parent().unwrap();
    assert_eq!(plugin_folder.file_name().unwrap(), "gstreamer-1.0");

    // The model folder exists, with the README that explains what goes there.
    let models = prefix.join("share/gst-plugin-scrfd/models");
    let readme = std::fs::read(models.join("README.md")).expect("installed models/README.md");
    assert_eq!(
        readme,
        std::fs::read(source_dir().join("models/README.md")).unwrap()
    );

    // gst-inspect finds the element in the installed plugin.
    let mut inspect = gst_command("gst-inspect-1.0", plugin_folder);
    inspect.arg("scrfddetect");
    let inspect = run(&mut inspect, GSTREAMER_TOOLS);
    assert_success(&inspect, "gst-inspect-1.0 scrfddetect");
    let text = String::from_utf8_lossy(&inspect.stdout);
    let filename = text
        .lines()
        .find_map(|line| line.trim().strip_prefix("Filename"))
        .unwrap_or_else(|| panic!("no Filename line in:\n{text}"));
    assert_eq!(Path::new(filename.trim()), plugin);
    assert!(text.contains("SCRFD face detector"), "{text}");

    // The element searches the installed model folder by default: it fails
    // while the folder has no model and works once it has one.
    let empty = fresh_dir("meson-empty-data");
    let missing = launch_default_search(plugin_folder, &empty, &empty);
    let stderr = String::from_utf8_lossy(&missing.stderr);
    assert!(
        !missing.status.success(),
        "scrfd_500m found without a model"
    );
    assert!(stderr.contains(models.to_str().unwrap()), "{stderr}");

    copy_model("scrfd_500m", &models);
    let found = launch_default_search(plugin_folder, &empty, &empty);
    assert_success(&found, "scrfddetect with a model in the installed folder");
}
