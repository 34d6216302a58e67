//! Tests of the Python and C examples. Each runs a real still or clip
//! through `decodebin ! videoconvert ! scrfddetect ! appsink` with the
//! built plugin and must print exactly the faces that the same pipeline
//! attaches when it runs here, read with `gstscrfd::meta::faces`.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::{Once, OnceLock};

use common::process::{assert_success, gst_command, plugin_dir, run, work_dir};
use common::{SCORE_TOLERANCE, at_threshold, load_reference, model_dir, shared_dir, still};
use gst::prelude::*;
use gstscrfd::meta::{DetectedFace, faces};

/// The interpreter whose packages python3-gi and the GStreamer typelibs
/// extend on Debian; a Python from pyenv or a virtual environment lacks them.
const PYTHON: &str = "/usr/bin/python3";

/// Pipeline elements of both examples around scrfddetect's settings.
const PIPELINE_HEAD: [&str; 8] = [
    "filesrc",
    "name=source",
    "!",
    "decodebin",
    "!",
    "videoconvert",
    "!",
    "scrfddetect",
];
const PIPELINE_TAIL: [&str; 4] = ["!", "appsink", "name=sink", "sync=false"];

/// The faces of one frame, as the examples print them.
#[derive(Debug, PartialEq)]
struct Frame {
    index: u64,
    pts: Option<u64>,
    faces: Vec<DetectedFace>,
}

#[derive(Debug, Clone, Copy)]
enum Example {
    Python,
    C,
}

impl Example {
    /// Returns the command that runs the example with the plugin in
    /// `plugin_dir`, without arguments.
    fn command(self, plugin_dir: &Path) -> Command {
        match self {
            Example::Python => {
                let mut command = gst_command(PYTHON, plugin_dir);
                command.arg(source_dir().join("examples/python/print_faces.py"));
                command
            }
            Example::C => gst_command(c_example(), plugin_dir),
        }
    }

    /// Runs the example on `file` with scrfddetect `properties`.
    fn run(self, file: &Path, properties: &[String]) -> Output {
        let mut command = self.command(&plugin_dir());
        command.arg(file).args(properties);
        run(&mut command, self.packages())
    }

    fn packages(self) -> &'static str {
        match self {
            Example::Python => {
                "python3, python3-gi, gir1.2-gstreamer-1.0 and gir1.2-gst-plugins-base-1.0"
            }
            Example::C => "build-essential",
        }
    }
}

fn source_dir() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Compiles examples/c/print_faces.c once per test run, with warnings as
/// errors, and returns the executable.
fn c_example() -> PathBuf {
    static EXECUTABLE: OnceLock<PathBuf> = OnceLock::new();
    EXECUTABLE
        .get_or_init(|| {
            let libraries = ["gstreamer-1.0", "gstreamer-video-1.0", "gstreamer-app-1.0"];
            let flags = run(
                Command::new("pkg-config")
                    .args(["--cflags", "--libs"])
                    .args(libraries),
                "pkg-config, libgstreamer1.0-dev and libgstreamer-plugins-base1.0-dev",
            );
            assert_success(&flags, "pkg-config");

            let executable = work_dir("c-examples").join("print_faces");
            let compiler = std::env::var_os("CC").unwrap_or_else(|| "cc".into());
            let compiled = run(
                Command::new(compiler)
                    .args(["-Wall", "-Wextra", "-Werror", "-o"])
                    .arg(&executable)
                    .arg(source_dir().join("examples/c/print_faces.c"))
                    .args(String::from_utf8(flags.stdout).unwrap().split_whitespace()),
                "build-essential",
            );
            assert_success(&compiled, "compiling examples/c/print_faces.c");
            executable
        })
        .clone()
}

/// Parses the examples' output, one JSON object per line.
fn parse_frames(stdout: &[u8]) -> Vec<Frame> {
    let text = std::str::from_utf8(stdout).expect("UTF-8 output");
    text.lines()
        .map(|line| {
            let json: serde_json::Value = serde_json::from_str(line)
                .unwrap_or_else(|e| panic!("invalid JSON line {line:?}: {e}"));
            Frame {
                index: json["frame"].as_u64().expect("frame"),
                pts: json["pts"].as_u64(),
                faces: json["faces"]
                    .as_array()
                    .expect("faces")
                    .iter()
                    .map(parse_face)
                    .collect(),
            }
        })
        .collect()
}

fn parse_face(json: &serde_json::Value) -> DetectedFace {
    let integer = |key: &str| {
        json[key]
            .as_u64()
            .unwrap_or_else(|| panic!("{key} in {json}")) as u32
    };
    let number = |key: &str| {
        json[key]
            .as_f64()
            .unwrap_or_else(|| panic!("{key} in {json}"))
    };
    let landmarks = json.get("landmarks").map(|points| {
        let points: Vec<[f64; 2]> = serde_json::from_value(points.clone())
            .unwrap_or_else(|e| panic!("landmarks in {json}: {e}"));
        points.try_into().expect("five landmarks")
    });
    DetectedFace {
        x: integer("x"),
        y: integer("y"),
        width: integer("width"),
        height: integer("height"),
        x_min: number("x_min"),
        y_min: number("y_min"),
        x_max: number("x_max"),
        y_max: number("y_max"),
        confidence: number("confidence"),
        landmarks,
        // The examples run every frame through the detector, so no face is
        // carried.
        carried: None,
    }
}

/// Runs the examples' pipeline on `file` in this process and returns the
/// faces the element attached to each frame.
fn attached_frames(file: &Path, properties: &[String]) -> Vec<Frame> {
    static INIT: Once = Once::new();
    INIT.call_once(|| {
        gst::init().unwrap();
        gstscrfd::plugin_register_static().expect("scrfd plugin registers");
    });

    let description: Vec<&str> = PIPELINE_HEAD
        .into_iter()
        .chain(properties.iter().map(String::as_str))
        .chain(PIPELINE_TAIL)
        .collect();
    let pipeline = gst::parse::launchv(&description)
        .unwrap()
        .downcast::<gst::Pipeline>()
        .unwrap();
    pipeline
        .by_name("source")
        .unwrap()
        .set_property("location", file.to_str().unwrap());
    let sink = pipeline
        .by_name("sink")
        .unwrap()
        .downcast::<gst_app::AppSink>()
        .unwrap();
    let bus = pipeline.bus().unwrap();
    pipeline.set_state(gst::State::Playing).unwrap();

    let mut frames = Vec::new();
    loop {
        if let Some(sample) = sink.try_pull_sample(gst::ClockTime::from_mseconds(100)) {
            let buffer = sample.buffer().unwrap();
            frames.push(Frame {
                index: frames.len() as u64,
                pts: buffer.pts().map(gst::ClockTime::nseconds),
                faces: faces(buffer),
            });
        } else if sink.is_eos() {
            break;
        } else if let Some(message) = bus.pop_filtered(&[gst::MessageType::Error]) {
            panic!("pipeline error: {message:?}");
        }
    }
    pipeline.set_state(gst::State::Null).unwrap();
    frames
}

fn model_setting() -> String {
    format!("model-dir={}", model_dir().display())
}

/// Runs `example` and the in-process pipeline with the same settings, and
/// checks that the example printed every frame and face exactly.
fn check_example(example: Example, file: &Path, properties: &[String]) -> Vec<Frame> {
    let output = example.run(file, properties);
    assert_success(
        &output,
        &format!("{example:?} example on {}", file.display()),
    );
    let printed = parse_frames(&output.stdout);
    let attached = attached_frames(file, properties);

    assert!(!attached.is_empty(), "no frames from {}", file.display());
    assert_eq!(printed.len(), attached.len(), "{example:?}: frame count");
    for (printed, attached) in printed.iter().zip(&attached) {
        assert_eq!(printed, attached, "{example:?}: frame {}", attached.index);
    }
    printed
}

/// Checks a still's faces against the reference detections of `model` at
/// `input_size`, at `threshold`: the same number of faces, in the same
/// order of confidence.
fn check_reference(frames: &[Frame], model: &str, input_size: u32, threshold: f64) {
    let reference = load_reference(
        &shared_dir().join(format!("reference/{model}/{input_size}/fr_two_people.json")),
    );
    let expected = at_threshold(&reference.faces, threshold);
    assert_eq!(frames.len(), 1, "a still is one frame");
    let faces = &frames[0].faces;
    assert!(!expected.is_empty(), "the reference has faces");
    assert_eq!(faces.len(), expected.len(), "{faces:?}");
    for (face, wanted) in faces.iter().zip(&expected) {
        assert!(
            (face.confidence - wanted.score).abs() <= SCORE_TOLERANCE,
            "confidence {} differs from the reference {}",
            face.confidence,
            wanted.score
        );
        assert_eq!(face.landmarks.is_some(), wanted.landmarks.is_some());
    }
}

fn check_still_default_model(example: Example) {
    let frames = check_example(example, &still("fr_two_people.png"), &[model_setting()]);
    check_reference(&frames, "scrfd_2.5g_kps", 640, 0.5);
}

fn check_still_without_landmarks(example: Example) {
    let properties = [
        model_setting(),
        "model=500m".to_owned(),
        "input-size=320".to_owned(),
        "score-threshold=0.3".to_owned(),
    ];
    let frames = check_example(example, &still("fr_two_people.png"), &properties);
    check_reference(&frames, "scrfd_500m", 320, 0.3);
}

fn check_video(example: Example) {
    let video = shared_dir().join("media/videos/one_face_640x360.mp4");
    let properties = [
        model_setting(),
        "model=500m-kps".to_owned(),
        "input-size=320".to_owned(),
    ];
    let frames = check_example(example, &video, &properties);

    assert!(frames.len() > 100, "{} frames", frames.len());
    for (index, frame) in frames.iter().enumerate() {
        assert_eq!(frame.index, index as u64);
    }
    let pts: Vec<u64> = frames.iter().map(|f| f.pts.expect("pts")).collect();
    assert!(pts.windows(2).all(|pair| pair[0] < pair[1]), "{pts:?}");
    assert!(
        frames.iter().any(|f| !f.faces.is_empty()),
        "the clip has faces"
    );
}

/// Runs `example` with a bad input and returns its exit code and stderr.
fn run_failing(example: Example, file: &Path, properties: &[&str]) -> (i32, String) {
    let properties: Vec<String> = properties.iter().map(|p| p.to_string()).collect();
    let output = example.run(file, &properties);
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(output.stdout.is_empty(), "{example:?} printed frames");
    (output.status.code().expect("exit code"), stderr)
}

fn check_bad_input(example: Example) {
    let image = still("fr_two_people.png");

    let missing = Path::new("/nonexistent/video.mp4");
    let (code, stderr) = run_failing(example, missing, &[]);
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("/nonexistent/video.mp4 is not a file"),
        "{stderr}"
    );

    let (code, stderr) = run_failing(example, &image, &["score-threshold"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("'score-threshold'"), "{stderr}");
    assert!(stderr.contains("NAME=VALUE"), "{stderr}");

    let (code, stderr) = run_failing(example, &image, &["score-threshold=high"]);
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("\"score-threshold\""), "{stderr}");
    assert!(stderr.contains("\"high\""), "{stderr}");

    let (code, stderr) = run_failing(example, &image, &["score-treshold=0.3"]);
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stderr.contains("no property \"score-treshold\""),
        "{stderr}"
    );

    let (code, stderr) = run_failing(example, &image, &["model-dir=/nonexistent/models"]);
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stderr.contains("model-dir /nonexistent/models does not exist"),
        "{stderr}"
    );
    assert!(stderr.contains("scrfd_2.5g_kps.param"), "{stderr}");
}

/// Runs `example` where GStreamer finds no plugins at all.
fn check_plugin_missing(example: Example) {
    let empty = work_dir("empty-plugin-dir");
    let mut command = example.command(&empty);
    command
        .env("GST_PLUGIN_SYSTEM_PATH", &empty)
        .arg(still("fr_two_people.png"));
    let output = run(&mut command, example.packages());

    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("scrfddetect element was not found"),
        "{stderr}"
    );
    assert!(stderr.contains("GST_PLUGIN_PATH"), "{stderr}");
}

#[test]
fn python_still_default_model() {
    check_still_default_model(Example::Python);
}

#[test]
fn python_still_without_landmarks() {
    check_still_without_landmarks(Example::Python);
}

#[test]
fn python_video_every_frame() {
    check_video(Example::Python);
}

#[test]
fn python_bad_input() {
    check_bad_input(Example::Python);
}

#[test]
fn python_plugin_missing() {
    check_plugin_missing(Example::Python);
}

#[test]
fn c_still_default_model() {
    check_still_default_model(Example::C);
}

#[test]
fn c_still_without_landmarks() {
    check_still_without_landmarks(Example::C);
}

#[test]
fn c_video_every_frame() {
    check_video(Example::C);
}

#[test]
fn c_bad_input() {
    check_bad_input(Example::C);
}

#[test]
fn c_plugin_missing() {
    check_plugin_missing(Example::C);
}
