//! Measures frames per second through
//! `filesrc ! decodebin ! scrfddetect ! fakesink` for several analysis
//! intervals and for live mode, and how many frames were analysed.
//!
//! ```text
//! cargo run --release --example throughput -- VIDEO [--runs N]
//! ```
//!
//! Each setting runs `--runs` times (default 3); the median is printed.
//! The models come from SCRFD_MODEL_PATH.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use gst::prelude::*;
use gstscrfd::meta::{FrameStatus, frame_status};

struct Run {
    frames: u64,
    analysed: u64,
    seconds: f64,
}

fn run_once(video: &str, properties: &str) -> Result<Run, String> {
    let pipeline = gst::parse::launch(&format!(
        "filesrc name=source ! decodebin ! scrfddetect name=detect {properties} ! fakesink sync=false"
    ))
    .map_err(|e| e.to_string())?
    .downcast::<gst::Pipeline>()
    .expect("a pipeline");
    pipeline
        .by_name("source")
        .unwrap()
        .set_property("location", video);

    // Count frames and analyses where they leave the detector.
    let frames = Arc::new(AtomicU64::new(0));
    let analysed = Arc::new(AtomicU64::new(0));
    let sources = Arc::new(std::sync::Mutex::new(std::collections::HashSet::new()));
    let pad = pipeline
        .by_name("detect")
        .unwrap()
        .static_pad("src")
        .unwrap();
    let (frame_count, analysis_count, source_set) =
        (frames.clone(), analysed.clone(), sources.clone());
    pad.add_probe(gst::PadProbeType::BUFFER, move |_, info| {
        if let Some(buffer) = info.buffer() {
            frame_count.fetch_add(1, Ordering::Relaxed);
            match frame_status(buffer) {
                Some(FrameStatus::Analysed) => {
                    analysis_count.fetch_add(1, Ordering::Relaxed);
                }
                // In live mode each analysis shows up as the source of the
                // results that later frames carry.
                Some(FrameStatus::Carried(carried)) => {
                    source_set.lock().unwrap().insert(carried.source_pts);
                }
                _ => {}
            }
        }
        gst::PadProbeReturn::Ok
    });

    let started = Instant::now();
    pipeline
        .set_state(gst::State::Playing)
        .map_err(|e| e.to_string())?;
    let bus = pipeline.bus().unwrap();
    let result = match bus.timed_pop_filtered(
        gst::ClockTime::NONE,
        &[gst::MessageType::Eos, gst::MessageType::Error],
    ) {
        Some(message) => match message.view() {
            gst::MessageView::Error(err) => Err(format!(
                "{} ({})",
                err.error(),
                err.debug().unwrap_or_default()
            )),
            _ => Ok(()),
        },
        None => Err("the pipeline stopped without a message".to_owned()),
    };
    let seconds = started.elapsed().as_secs_f64();
    pipeline.set_state(gst::State::Null).unwrap();
    result?;

    let live_analyses = sources.lock().unwrap().len() as u64;
    Ok(Run {
        frames: frames.load(Ordering::Relaxed),
        analysed: analysed.load(Ordering::Relaxed).max(live_analyses),
        seconds,
    })
}

fn main() {
    let mut args = std::env::args().skip(1);
    let mut video = None;
    let mut runs = 3;
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--runs" => {
                runs = args
                    .next()
                    .and_then(|v| v.parse().ok())
                    .expect("--runs needs a number")
            }
            _ => video = Some(arg),
        }
    }
    let Some(video) = video else {
        eprintln!("usage: throughput VIDEO [--runs N]");
        std::process::exit(2);
    };

    gst::init().unwrap();
    gstscrfd::plugin_register_static().unwrap();

    let settings = [
        ("interval 1", "interval=1"),
        ("interval 2", "interval=2"),
        ("interval 5", "interval=5"),
        ("live mode", "mode=live"),
    ];
    println!("{video}, median of {runs} runs\n");
    println!(
        "{:<12} {:>8} {:>10} {:>10} {:>12}",
        "setting", "frames", "analysed", "seconds", "frames/s"
    );
    for (name, properties) in settings {
        let mut results: Vec<Run> = (0..runs)
            .map(|_| run_once(&video, properties).unwrap_or_else(|e| panic!("{name}: {e}")))
            .collect();
        results.sort_by(|a, b| a.seconds.total_cmp(&b.seconds));
        let median = &results[results.len() / 2];
        println!(
            "{:<12} {:>8} {:>10} {:>10.2} {:>12.1}",
            name,
            median.frames,
            median.analysed,
            median.seconds,
            median.frames as f64 / median.seconds
        );
    }
}
