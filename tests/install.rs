//! Tests of the installation: `meson install` into a prefix, and
//! scripts/fetch-models.sh, whose files must land where the element looks.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::model_dir;
use common::process::{assert_success, gst_command, plugin_dir, run, work_dir};

/// The variants whose files the test data folder contains.
const LOCAL_VARIANTS: [(&str, &str); 5] = [
    ("500m", "scrfd_500m"),
    ("500m-kps", "scrfd_500m_kps"),
    ("1g", "scrfd_1g"),
    ("2.5g", "scrfd_2.5g"),
    ("2.5g-kps", "scrfd_2.5g_kps"),
];

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

/// Runs scripts/fetch-models.sh with `args`.
fn fetch_models(args: &[&str], environment: &[(&str, &Path)]) -> Output {
    let mut command = Command::new(source_dir().join("scripts/fetch-models.sh"));
    command.args(args);
    for (name, value) in environment {
        command.env(name, value);
    }
    run(&mut command, "bash and coreutils")
}

fn stderr_of(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn fetch_models_from_folder() {
    let dest = fresh_dir("fetch-from-folder");
    let from = model_dir();
    let mut args = vec![
        "--from",
        from.to_str().unwrap(),
        "--dest",
        dest.to_str().unwrap(),
    ];
    args.extend(LOCAL_VARIANTS.map(|(variant, _)| variant));

    let output = fetch_models(&args, &[]);
    assert_success(&output, "fetch-models.sh --from");
    for (_, stem) in LOCAL_VARIANTS {
        for extension in ["param", "bin"] {
            let name = format!("{stem}.{extension}");
            assert_eq!(
                std::fs::read(dest.join(&name)).unwrap(),
                std::fs::read(from.join(&name)).unwrap(),
                "{name}"
            );
        }
    }

    // A second run keeps the verified files.
    let again = fetch_models(&args, &[]);
    assert_success(&again, "fetch-models.sh a second time");
    assert!(stderr_of(&again).contains("scrfd_1g.bin is already present"));
}

#[test]
fn fetch_models_rejects_corrupt_file() {
    let from = fresh_dir("fetch-corrupt-source");
    let dest = fresh_dir("fetch-corrupt-dest");
    copy_model("scrfd_1g", &from);
    let bin = from.join("scrfd_1g.bin");
    let mut bytes = std::fs::read(&bin).unwrap();
    bytes[1000] ^= 1;
    std::fs::write(&bin, bytes).unwrap();

    let args = [
        "--from",
        from.to_str().unwrap(),
        "--dest",
        dest.to_str().unwrap(),
        "1g",
    ];
    let output = fetch_models(&args, &[]);
    let stderr = stderr_of(&output);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains(bin.to_str().unwrap()), "{stderr}");
    assert!(stderr.contains("git blob SHA-1"), "{stderr}");
    assert!(!dest.join("scrfd_1g.bin").exists());
    assert!(dest.join("scrfd_1g.param").is_file());

    // A file in the destination that differs is not overwritten.
    std::fs::write(dest.join("scrfd_500m.param"), "7767517\n").unwrap();
    let from = model_dir();
    let args = [
        "--from",
        from.to_str().unwrap(),
        "--dest",
        dest.to_str().unwrap(),
        "500m",
    ];
    let output = fetch_models(&args, &[]);
    let stderr = stderr_of(&output);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("differs from the upstream"), "{stderr}");
    assert_eq!(
        std::fs::read(dest.join("scrfd_500m.param")).unwrap(),
        b"7767517\n"
    );
}

#[test]
fn fetch_models_rejects_bad_arguments() {
    let cases: [(&[&str], i32, &str); 5] = [
        (
            &["3g"],
            2,
            "unknown variant '3g'; choose from: 500m 500m-kps",
        ),
        (&["34g-kps"], 2, "no ncnn conversion of 34g-kps"),
        (
            &["--from", "/nonexistent/models", "1g"],
            1,
            "/nonexistent/models is not a folder",
        ),
        (&["--dest"], 2, "usage:"),
        (
            &["--from", "/tmp", "--url", "http://127.0.0.1:1", "1g"],
            2,
            "exclude each other",
        ),
    ];
    for (args, code, message) in cases {
        let output = fetch_models(args, &[]);
        let stderr = stderr_of(&output);
        assert_eq!(output.status.code(), Some(code), "{args:?}: {stderr}");
        assert!(stderr.contains(message), "{args:?}: {stderr}");
    }

    // A variant that the folder does not contain.
    let from = model_dir();
    let dest = fresh_dir("fetch-missing-variant");
    let args = [
        "--from",
        from.to_str().unwrap(),
        "--dest",
        dest.to_str().unwrap(),
        "10g",
    ];
    let output = fetch_models(&args, &[]);
    let stderr = stderr_of(&output);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("neither scrfd_10g-opt2.param nor scrfd_10g.param was found"),
        "{stderr}"
    );
}

/// Serves the files of `dir` over HTTP on a loopback port, one request per
/// connection, and returns the base URL. The thread ends with the test
/// process.
fn serve_folder(dir: PathBuf) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            respond(stream.unwrap(), &dir);
        }
    });
    url
}

fn respond(mut stream: TcpStream, dir: &Path) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut request_line = String::new();
    reader.read_line(&mut request_line).unwrap();
    // Read the headers up to the blank line; they do not matter here.
    let mut header = String::new();
    while reader.read_line(&mut header).unwrap() > 2 {
        header.clear();
    }

    let path = request_line.split_whitespace().nth(1).unwrap_or("/");
    let file = dir.join(path.trim_start_matches('/'));
    match std::fs::read(&file) {
        Ok(body) if !path.contains("..") => {
            let head = format!(
                "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            );
            stream.write_all(head.as_bytes()).unwrap();
            stream.write_all(&body).unwrap();
        }
        _ => {
            let head = "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
            stream.write_all(head.as_bytes()).unwrap();
        }
    }
}

#[test]
fn fetch_models_downloads_from_url() {
    // A mirror with the upstream file names; its 1g weights are truncated,
    // as after a broken download.
    let mirror = fresh_dir("fetch-mirror");
    for (_, stem) in [LOCAL_VARIANTS[0], LOCAL_VARIANTS[2]] {
        for extension in ["param", "bin"] {
            std::fs::copy(
                model_dir().join(format!("{stem}.{extension}")),
                mirror.join(format!("{stem}-opt2.{extension}")),
            )
            .unwrap();
        }
    }
    let truncated = mirror.join("scrfd_1g-opt2.bin");
    let bytes = std::fs::read(&truncated).unwrap();
    std::fs::write(&truncated, &bytes[..bytes.len() / 2]).unwrap();
    let url = serve_folder(mirror);

    let dest = fresh_dir("fetch-download");
    let dest_arg = dest.to_str().unwrap();
    let output = fetch_models(&["--url", &url, "--dest", dest_arg, "500m"], &[]);
    assert_success(&output, "fetch-models.sh --url");
    for extension in ["param", "bin"] {
        let name = format!("scrfd_500m.{extension}");
        assert_eq!(
            std::fs::read(dest.join(&name)).unwrap(),
            std::fs::read(model_dir().join(&name)).unwrap(),
            "{name}"
        );
    }

    let output = fetch_models(&["--url", &url, "--dest", dest_arg, "1g"], &[]);
    let stderr = stderr_of(&output);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(&format!("{url}/scrfd_1g-opt2.bin")),
        "{stderr}"
    );
    assert!(!dest.join("scrfd_1g.bin").exists());

    let output = fetch_models(&["--url", &url, "--dest", dest_arg, "10g"], &[]);
    let stderr = stderr_of(&output);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(&format!("downloading {url}/scrfd_10g-opt2.param failed")),
        "{stderr}"
    );
}

#[test]
fn fetched_models_found_by_element() {
    let data_home = fresh_dir("fetch-data-home");
    let data_dirs = fresh_dir("fetch-data-dirs");
    let plugin = plugin_dir();

    let before = launch_default_search(&plugin, &data_home, &data_dirs);
    assert!(
        !before.status.success(),
        "scrfd_500m was found before it was fetched, in a default folder outside the \
         test's XDG folders:\n{}",
        stderr_of(&before)
    );

    // Without --dest, the files go to $XDG_DATA_HOME/gst-plugin-scrfd/models.
    let from = model_dir();
    let output = fetch_models(
        &["--from", from.to_str().unwrap(), "500m"],
        &[("XDG_DATA_HOME", &data_home)],
    );
    assert_success(&output, "fetch-models.sh without --dest");
    assert!(
        data_home
            .join("gst-plugin-scrfd/models/scrfd_500m.bin")
            .is_file()
    );

    let after = launch_default_search(&plugin, &data_home, &data_dirs);
    assert_success(&after, "scrfddetect with the fetched model");
}

/// Returns (file, git blob SHA-1, SHA-256 or "-") for every upstream file
/// in the checksum table of scripts/fetch-models.sh.
fn script_checksums() -> Vec<[String; 3]> {
    let script = std::fs::read_to_string(source_dir().join("scripts/fetch-models.sh")).unwrap();
    let table = script
        .split_once("checksums=\"\\\n")
        .and_then(|(_, rest)| rest.split_once("\"\n"))
        .map(|(table, _)| table)
        .expect("a checksums=\"...\" block in fetch-models.sh");
    table
        .lines()
        .map(|line| {
            let fields: Vec<String> = line.split_whitespace().map(str::to_owned).collect();
            fields
                .try_into()
                .unwrap_or_else(|fields| panic!("not three fields: {fields:?}"))
        })
        .collect()
}

#[test]
fn models_readme_lists_script_checksums() {
    let readme = std::fs::read_to_string(source_dir().join("models/README.md")).unwrap();
    let mut listed = Vec::new();
    for line in readme.lines() {
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        // | model | upstream file | bytes | blob SHA-1 | SHA-256 |
        let is_file_row = cells.len() == 7
            && (cells[2].ends_with("-opt2.param") || cells[2].ends_with("-opt2.bin"));
        if is_file_row {
            let sha256 = match cells[5] {
                "not known" => "-".to_owned(),
                value => value.trim_matches('`').to_owned(),
            };
            listed.push([
                cells[2].to_owned(),
                cells[4].trim_matches('`').to_owned(),
                sha256,
            ]);
        }
    }

    let script = script_checksums();
    assert_eq!(script.len(), 16, "eight variants, two files each");
    assert_eq!(listed, script);
}
