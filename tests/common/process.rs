//! Running external programs from tests: GStreamer tools and examples that
//! load the plugin `cargo test` built, compilers, meson.

use std::ffi::OsStr;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

/// Returns the profile folder (`target/<profile>`, or the same under
/// CARGO_TARGET_DIR) that contains the test executable's `deps/` folder.
pub fn profile_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("path of the test executable");
    exe.parent()
        .and_then(Path::parent)
        .unwrap_or_else(|| panic!("{} has no profile folder above it", exe.display()))
        .to_owned()
}

/// Returns a folder for the files that tests write, `test-work` beside the
/// profile folder. It must not be inside the profile folder: GStreamer
/// searches the folders of GST_PLUGIN_PATH recursively, so a plugin that a
/// test builds or installs there would compete with the one under test.
pub fn work_dir(name: &str) -> PathBuf {
    let profile = profile_dir();
    let dir = profile
        .parent()
        .unwrap_or_else(|| panic!("{} has no parent folder", profile.display()))
        .join("test-work")
        .join(name);
    std::fs::create_dir_all(&dir)
        .unwrap_or_else(|e| panic!("creating {} failed: {e}", dir.display()));
    dir
}

/// Returns a folder that contains only the `libgstscrfd.so` built with
/// this test, for GST_PLUGIN_PATH.
///
/// `cargo test` writes the plugin to `deps/` and copies it to the profile
/// folder only on `cargo build`, so `target/<profile>/libgstscrfd.so` can
/// be stale. `deps/` itself is no plugin folder: it contains every
/// dependency's shared libraries, which GStreamer would try to load.
pub fn plugin_dir() -> PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let built = profile_dir().join("deps/libgstscrfd.so");
        assert!(
            built.is_file(),
            "{} not found; run the tests with `cargo test`, which builds it",
            built.display()
        );
        // A new name, then a rename, so that no other test process ever
        // sees a partly written plugin.
        let dir = work_dir("plugin");
        let partial = dir.join(format!("libgstscrfd.so.{}", std::process::id()));
        std::fs::copy(&built, &partial)
            .unwrap_or_else(|e| panic!("copying {} failed: {e}", built.display()));
        std::fs::rename(&partial, dir.join("libgstscrfd.so")).unwrap();
        dir
    })
    .clone()
}

/// Returns a command for `program` that finds the plugin through
/// GST_PLUGIN_PATH=`plugin_dir`. The registry cache is a file of the test
/// run, so tests never rewrite the user's one and stale entries from other
/// builds never apply.
pub fn gst_command(program: impl AsRef<OsStr>, plugin_dir: &Path) -> Command {
    let mut command = Command::new(program);
    command
        .env("GST_PLUGIN_PATH", plugin_dir)
        .env("GST_REGISTRY", registry_file(plugin_dir));
    command
}

/// Returns a registry cache file per plugin folder.
fn registry_file(plugin_dir: &Path) -> PathBuf {
    use std::hash::{Hash, Hasher};
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    plugin_dir.hash(&mut hasher);
    work_dir("gst-registry").join(format!("{:016x}.bin", hasher.finish()))
}

/// Runs `command` and returns its output. Panics when the program is
/// missing, naming the Debian packages that provide it.
pub fn run(command: &mut Command, packages: &str) -> Output {
    match command.output() {
        Ok(output) => output,
        Err(error) if error.kind() == ErrorKind::NotFound => panic!(
            "{} was not found: install {packages} (scripts/install-deps.sh installs them)",
            command.get_program().display()
        ),
        Err(error) => panic!("running {command:?} failed: {error}"),
    }
}

/// Panics with the command's output unless it exited with status 0.
pub fn assert_success(output: &Output, description: &str) {
    assert!(
        output.status.success(),
        "{description} failed ({}):\n--- stdout\n{}\n--- stderr\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}
