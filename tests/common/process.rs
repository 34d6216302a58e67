//! Running external programs from tests: GStreamer tools and examples that
//! load the plugin `cargo test` built, compilers, meson.

use std::ffi::OsStr;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Returns the profile folder (`target/<profile>`, or the same under
/// CARGO_TARGET_DIR) that contains the test executable's `deps/` folder.
pub fn profile_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("path of the test executable");
    exe.parent()
        .and_then(Path::parent)
        .unwrap_or_else(|| panic!("{} has no profile folder above it", exe.display()))
        .to_owned()
}

/// Returns the folder with the `libgstscrfd.so` that `cargo test` built
/// alongside this test.
pub fn plugin_dir() -> PathBuf {
    let dir = profile_dir();
    assert!(
        dir.join("libgstscrfd.so").is_file(),
        "libgstscrfd.so not found in {}; run the tests with `cargo test`, which builds it",
        dir.display()
    );
    dir
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

/// Returns a registry cache file per plugin folder, in the profile folder.
fn registry_file(plugin_dir: &Path) -> PathBuf {
    use std::hash::{Hash, Hasher};
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    plugin_dir.hash(&mut hasher);
    profile_dir().join(format!("gst-registry-{:016x}.bin", hasher.finish()))
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
