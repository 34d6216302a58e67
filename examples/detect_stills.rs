//! Runs `scrfddetect` on every PNG or JPEG still of a folder and writes one
//! `<stem>.txt` per still with a line `x0 y0 x1 y1 score` per face (pixel
//! corners), the layout WIDER FACE evaluation tools read.
//!
//! ```text
//! cargo run --release --example detect_stills -- INPUT_DIR OUTPUT_DIR [options]
//!   --format FORMAT      pixel format the frames reach the element in, converted by
//!                        videoconvert (default: RGB), e.g. I420, NV12, YUY2
//!   --model NAME, --model-dir DIR, --score-threshold V, --input-size N
//!                        scrfddetect properties (the threshold defaults to 0.02 here,
//!                        low enough for a full precision-recall curve)
//! ```

use std::path::{Path, PathBuf};

use gst::prelude::*;

const USAGE: &str = "usage: detect_stills INPUT_DIR OUTPUT_DIR [--format FORMAT] [--model NAME] \
                     [--model-dir DIR] [--score-threshold V] [--input-size N]";

struct Options {
    input: PathBuf,
    output: PathBuf,
    format: String,
    properties: Vec<(String, String)>,
}

fn parse_options() -> Result<Options, String> {
    let mut args = std::env::args().skip(1);
    let mut folders = Vec::new();
    let mut format = "RGB".to_owned();
    let mut properties = vec![("score-threshold".to_owned(), "0.02".to_owned())];

    while let Some(arg) = args.next() {
        let mut value = || {
            args.next()
                .ok_or_else(|| format!("{arg} needs a value\n{USAGE}"))
        };
        match arg.as_str() {
            "--format" => format = value()?,
            "--model" | "--model-dir" | "--score-threshold" | "--input-size" => {
                let name = arg[2..].to_owned();
                let value = value()?;
                properties.retain(|(existing, _)| *existing != name);
                properties.push((name, value));
            }
            "-h" | "--help" => return Err(USAGE.to_owned()),
            _ if arg.starts_with("--") => return Err(format!("unknown option {arg}\n{USAGE}")),
            _ => folders.push(PathBuf::from(arg)),
        }
    }
    let [input, output]: [PathBuf; 2] = folders.try_into().map_err(|_| USAGE.to_owned())?;
    if !input.is_dir() {
        return Err(format!("input folder {} not found", input.display()));
    }
    Ok(Options {
        input,
        output,
        format,
        properties,
    })
}

/// Runs the element on one still and returns its faces as
/// `x0 y0 x1 y1 score` lines.
fn detect(path: &Path, options: &Options) -> Result<String, String> {
    let decoder = match path.extension().and_then(|e| e.to_str()) {
        Some("png") => "pngdec",
        _ => "jpegdec",
    };
    let properties: String = options
        .properties
        .iter()
        .map(|(name, value)| format!(" {name}={value}"))
        .collect();
    let description = format!(
        "filesrc name=source ! {decoder} ! videoconvert ! video/x-raw,format={} ! \
         scrfddetect{properties} ! appsink name=sink sync=false",
        options.format
    );
    let pipeline = gst::parse::launch(&description)
        .map_err(|e| format!("cannot build the pipeline: {e}"))?
        .downcast::<gst::Pipeline>()
        .expect("a pipeline");
    pipeline
        .by_name("source")
        .expect("the source is in the pipeline")
        .set_property("location", path.to_str().ok_or("the path is not UTF-8")?);
    let sink = pipeline
        .by_name("sink")
        .and_downcast::<gst_app::AppSink>()
        .expect("an appsink");

    pipeline
        .set_state(gst::State::Playing)
        .map_err(|_| format!("{}: the pipeline failed to start", path.display()))?;
    let sample = sink.pull_sample().map_err(|_| bus_error(&pipeline, path));
    let _ = pipeline.set_state(gst::State::Null);
    let sample = sample?;

    let caps = sample.caps().ok_or("a sample without caps")?;
    let info = gst_video::VideoInfo::from_caps(caps).map_err(|e| e.to_string())?;
    let (width, height) = (info.width() as f64, info.height() as f64);
    let buffer = sample.buffer().ok_or("a sample without a buffer")?;
    Ok(gstscrfd::meta::faces(buffer)
        .iter()
        .map(|face| {
            format!(
                "{:.3} {:.3} {:.3} {:.3} {:.5}\n",
                face.x_min * width,
                face.y_min * height,
                face.x_max * width,
                face.y_max * height,
                face.confidence
            )
        })
        .collect())
}

fn bus_error(pipeline: &gst::Pipeline, path: &Path) -> String {
    let message = pipeline.bus().and_then(|bus| {
        bus.timed_pop_filtered(gst::ClockTime::from_seconds(1), &[gst::MessageType::Error])
    });
    match message.as_ref().map(|m| m.view()) {
        Some(gst::MessageView::Error(err)) => {
            format!(
                "{}: {} ({})",
                path.display(),
                err.error(),
                err.debug().unwrap_or_default()
            )
        }
        _ => format!("{}: no frame came out of the pipeline", path.display()),
    }
}

fn run(options: &Options) -> Result<(), String> {
    gst::init().map_err(|e| e.to_string())?;
    gstscrfd::plugin_register_static().map_err(|e| e.to_string())?;
    std::fs::create_dir_all(&options.output)
        .map_err(|e| format!("cannot create {}: {e}", options.output.display()))?;

    let mut stills: Vec<PathBuf> = std::fs::read_dir(&options.input)
        .map_err(|e| format!("cannot read {}: {e}", options.input.display()))?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| {
            matches!(
                path.extension().and_then(|e| e.to_str()),
                Some("png" | "jpg" | "jpeg")
            )
        })
        .collect();
    stills.sort();

    let mut faces = 0;
    for path in &stills {
        let lines = detect(path, options)?;
        faces += lines.lines().count();
        let stem = path.file_stem().unwrap_or_default().to_string_lossy();
        let out = options.output.join(format!("{stem}.txt"));
        std::fs::write(&out, lines).map_err(|e| format!("cannot write {}: {e}", out.display()))?;
    }
    println!(
        "{} stills, {faces} faces in {} format, written to {}",
        stills.len(),
        options.format,
        options.output.display()
    );
    Ok(())
}

fn main() {
    if let Err(message) = parse_options().and_then(|options| run(&options)) {
        eprintln!("{message}");
        std::process::exit(1);
    }
}
