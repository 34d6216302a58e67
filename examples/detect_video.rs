//! Detects faces in a video file: writes an annotated copy and the faces of
//! every frame as JSON lines.
//!
//! ```text
//! cargo run --release --example detect_video -- INPUT [options]
//!   --output FILE        annotated video, H.264 in MP4 (default: INPUT stem + .faces.mp4)
//!   --faces FILE         JSON lines, one per frame (default: INPUT stem + .faces.jsonl)
//!   --model NAME         500m, 500m-kps, 1g, 2.5g, 2.5g-kps, ... (default: 2.5g-kps)
//!   --model-dir DIR      folder with the model files (default: SCRFD_MODEL_PATH)
//!   --score-threshold V  minimum confidence, 0 to 1 (default: 0.5)
//!   --input-size N       long side of the network input, multiple of 32 (default: 640)
//! ```
//!
//! Each JSON line holds the frame index, its PTS in nanoseconds and the
//! faces: box corners in frame pixels, score and, for models with
//! landmarks, the 5 points as [x, y] pairs.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use gst::prelude::*;

struct Options {
    input: PathBuf,
    output: PathBuf,
    faces: PathBuf,
    properties: Vec<(String, String)>,
}

const USAGE: &str = "usage: detect_video INPUT [--output FILE] [--faces FILE] [--model NAME] \
                     [--model-dir DIR] [--score-threshold V] [--input-size N]";

fn parse_options() -> Result<Options, String> {
    let mut args = std::env::args().skip(1);
    let mut input = None;
    let mut output = None;
    let mut faces = None;
    let mut properties = Vec::new();

    while let Some(arg) = args.next() {
        let mut value = || {
            args.next()
                .ok_or_else(|| format!("{arg} needs a value\n{USAGE}"))
        };
        match arg.as_str() {
            "--output" => output = Some(PathBuf::from(value()?)),
            "--faces" => faces = Some(PathBuf::from(value()?)),
            "--model" | "--model-dir" | "--score-threshold" | "--input-size" => {
                properties.push((arg[2..].to_owned(), value()?));
            }
            "-h" | "--help" => return Err(USAGE.to_owned()),
            _ if arg.starts_with("--") => return Err(format!("unknown option {arg}\n{USAGE}")),
            _ if input.is_none() => input = Some(PathBuf::from(arg)),
            _ => return Err(format!("more than one input given\n{USAGE}")),
        }
    }

    let input = input.ok_or_else(|| USAGE.to_owned())?;
    if !input.is_file() {
        return Err(format!("input video {} not found", input.display()));
    }
    let with_suffix = |suffix: &str| {
        let stem = input.file_stem().unwrap_or_default().to_string_lossy();
        input.with_file_name(format!("{stem}{suffix}"))
    };
    Ok(Options {
        output: output.unwrap_or_else(|| with_suffix(".faces.mp4")),
        faces: faces.unwrap_or_else(|| with_suffix(".faces.jsonl")),
        input,
        properties,
    })
}

/// Picks the first H.264 encoder that is installed.
fn h264_encoder() -> Result<&'static str, String> {
    ["x264enc", "openh264enc"]
        .into_iter()
        .find(|name| gst::ElementFactory::find(name).is_some())
        .ok_or_else(|| {
            "no H.264 encoder found; install gstreamer1.0-plugins-ugly (x264enc) or \
             gstreamer1.0-plugins-bad (openh264enc)"
                .to_owned()
        })
}

fn quote(path: &Path) -> String {
    format!(
        "\"{}\"",
        path.display()
            .to_string()
            .replace('\\', "\\\\")
            .replace('"', "\\\"")
    )
}

/// Rounds to `decimals` places, enough for pixels (3) and scores (5).
fn round(value: f64, decimals: i32) -> f64 {
    let scale = 10f64.powi(decimals);
    (value * scale).round() / scale
}

/// Writes one JSON line for a buffer leaving the detector.
fn write_faces(
    out: &mut impl Write,
    index: u64,
    buffer: &gst::BufferRef,
    width: f64,
    height: f64,
) -> std::io::Result<usize> {
    let faces = gstscrfd::meta::faces(buffer);
    let list: Vec<serde_json::Value> = faces
        .iter()
        .map(|face| {
            let mut entry = serde_json::json!({
                "x0": round(face.x_min * width, 3),
                "y0": round(face.y_min * height, 3),
                "x1": round(face.x_max * width, 3),
                "y1": round(face.y_max * height, 3),
                "score": round(face.confidence, 5),
            });
            if let Some(points) = face.landmarks {
                let points = points.map(|[x, y]| [round(x, 3), round(y, 3)]);
                entry["landmarks"] = serde_json::json!(points);
            }
            entry
        })
        .collect();
    let line = serde_json::json!({
        "frame": index,
        "pts": buffer.pts().map(|t| t.nseconds()),
        "faces": list,
    });
    writeln!(out, "{line}")?;
    Ok(faces.len())
}

fn run(options: &Options) -> Result<(), String> {
    gst::init().map_err(|e| e.to_string())?;
    gstscrfd::plugin_register_static().map_err(|e| e.to_string())?;

    let properties: String = options
        .properties
        .iter()
        .map(|(name, value)| format!(" {name}={value}"))
        .collect();
    let description = format!(
        "filesrc location={input} ! decodebin ! videoconvert ! \
         scrfddetect name=detect draw=true{properties} ! videoconvert ! {encoder} ! \
         h264parse ! mp4mux ! filesink location={output}",
        input = quote(&options.input),
        output = quote(&options.output),
        encoder = h264_encoder()?,
    );
    let pipeline = gst::parse::launch(&description)
        .map_err(|e| format!("cannot build the pipeline: {e}"))?
        .downcast::<gst::Pipeline>()
        .expect("a pipeline");

    let faces_file = File::create(&options.faces)
        .map_err(|e| format!("cannot create {}: {e}", options.faces.display()))?;
    let writer = Arc::new(Mutex::new((BufWriter::new(faces_file), 0u64, 0usize)));
    let detect = pipeline
        .by_name("detect")
        .expect("the detector is in the pipeline");
    let src_pad = detect.static_pad("src").expect("scrfddetect has a src pad");
    let probe_writer = writer.clone();
    src_pad.add_probe(gst::PadProbeType::BUFFER, move |pad, info| {
        let (Some(buffer), Some(caps)) = (info.buffer(), pad.current_caps()) else {
            return gst::PadProbeReturn::Ok;
        };
        let Ok(video) = gst_video::VideoInfo::from_caps(&caps) else {
            return gst::PadProbeReturn::Ok;
        };
        let mut guard = probe_writer.lock().unwrap();
        let (out, frames, faces) = &mut *guard;
        match write_faces(
            out,
            *frames,
            buffer,
            video.width() as f64,
            video.height() as f64,
        ) {
            Ok(count) => {
                *frames += 1;
                *faces += count;
            }
            Err(err) => eprintln!("cannot write faces: {err}"),
        }
        gst::PadProbeReturn::Ok
    });

    let started = Instant::now();
    pipeline.set_state(gst::State::Playing).map_err(|_| {
        wait_for_error(&pipeline).unwrap_or_else(|| "the pipeline failed to start".to_owned())
    })?;
    let result = wait_for_end(&pipeline);
    let _ = pipeline.set_state(gst::State::Null);
    result?;

    let mut guard = writer.lock().unwrap();
    let (out, frames, faces) = &mut *guard;
    out.flush()
        .map_err(|e| format!("cannot write {}: {e}", options.faces.display()))?;
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "{frames} frames, {faces} faces in {seconds:.1} s ({:.1} frames/s)\nannotated video: {}\nfaces: {}",
        *frames as f64 / seconds,
        options.output.display(),
        options.faces.display()
    );
    Ok(())
}

fn wait_for_error(pipeline: &gst::Pipeline) -> Option<String> {
    let bus = pipeline.bus()?;
    let message =
        bus.timed_pop_filtered(gst::ClockTime::from_seconds(1), &[gst::MessageType::Error])?;
    match message.view() {
        gst::MessageView::Error(err) => Some(format!(
            "{} ({})",
            err.error(),
            err.debug().unwrap_or_default()
        )),
        _ => None,
    }
}

fn wait_for_end(pipeline: &gst::Pipeline) -> Result<(), String> {
    let bus = pipeline.bus().expect("a pipeline has a bus");
    for message in bus.iter_timed(gst::ClockTime::NONE) {
        match message.view() {
            gst::MessageView::Eos(..) => return Ok(()),
            gst::MessageView::Error(err) => {
                return Err(format!(
                    "{} failed: {} ({})",
                    err.src()
                        .map(|s| s.path_string().to_string())
                        .unwrap_or_default(),
                    err.error(),
                    err.debug().unwrap_or_default()
                ));
            }
            _ => {}
        }
    }
    Ok(())
}

fn main() {
    let result = parse_options().and_then(|options| run(&options));
    if let Err(message) = result {
        eprintln!("{message}");
        std::process::exit(1);
    }
}
