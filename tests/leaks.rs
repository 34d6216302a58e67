//! Nothing leaks per frame: 10,000 frames with faces and 10,000 without go
//! through the element under GStreamer's leaks tracer.

mod common;

use common::{init, load_png, model_dir, rgb_buffer, still};
use gst::prelude::*;
use gst_video::VideoFormat;

/// Resident memory of this process in kilobytes.
fn resident_kb() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS in /proc/self/status")
}

#[test]
fn no_leaks_over_many_frames() {
    let output = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "no_leaks_over_many_frames_traced",
            "--ignored",
            "--nocapture",
        ])
        .env("GST_TRACERS", "leaks")
        .output()
        .expect("the test binary runs");
    let log = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(output.status.success(), "{log}");
    assert!(
        log.contains("1 passed"),
        "the traced test did not run:\n{log}"
    );
}

#[test]
#[ignore = "run by no_leaks_over_many_frames with the leaks tracer enabled"]
fn no_leaks_over_many_frames_traced() {
    init();
    let tracers = gst::active_tracers();
    let leaks = tracers
        .iter()
        .find(|tracer| tracer.type_().name() == "GstLeaksTracer")
        .expect("GST_TRACERS=leaks enables the leaks tracer")
        .clone();

    let face = load_png(&still("fr_obama-240p.png"));
    let empty = load_png(&still("fn_noise.png")).crop(0, 0, face.width, face.height);
    let caps =
        gst_video::VideoInfo::builder(VideoFormat::Rgb, face.width as u32, face.height as u32)
            .build()
            .unwrap()
            .to_caps()
            .unwrap();

    {
        let element = gst::ElementFactory::make("scrfddetect")
            .property("model-dir", model_dir().to_str().unwrap())
            // Analysing one frame in 25 keeps the run short; every frame
            // still gets its metas, carried or not.
            .property("interval", 25u32)
            .property("draw", true)
            .build()
            .unwrap();
        let mut h = gst_check::Harness::with_element(&element, Some("sink"), Some("src"));
        h.set_src_caps(caps);

        // Two frames made once; each push sends a new buffer that shares
        // their memory, as a source's buffer pool would.
        let frames = [rgb_buffer(&face), rgb_buffer(&empty)];
        let mut memory_after_warm_up = 0;
        for index in 0..20_000u64 {
            let mut frame = frames[usize::from(index >= 10_000)].copy();
            frame
                .get_mut()
                .unwrap()
                .set_pts(gst::ClockTime::from_mseconds(40 * index));
            let out = h.push_and_pull(frame).unwrap();
            let expected = usize::from(index < 10_000);
            assert_eq!(gstscrfd::meta::faces(&out).len(), expected, "frame {index}");
            if index == 2_000 {
                memory_after_warm_up = resident_kb();
            }
        }
        let growth = resident_kb().saturating_sub(memory_after_warm_up);
        assert!(
            growth < 8 * 1024,
            "memory grew by {growth} kB over 18,000 frames"
        );
    }

    // With the harness gone, no buffer or memory made for the frames may
    // still be alive. A buffer kept alive on purpose shows that the tracer
    // and this check see buffers at all.
    let canary = gst::Buffer::with_size(1).unwrap();
    let live: gst::Structure = leaks.emit_by_name("get-live-objects", &[]);
    let list = live.get::<gst::List>("live-objects-list").unwrap();
    let alive: Vec<String> = list
        .iter()
        .filter_map(|value| value.get::<gst::Structure>().ok())
        .filter_map(|entry| {
            entry
                .value("object")
                .ok()
                .map(|object| object.type_().name().to_owned())
        })
        .filter(|name| matches!(name.as_str(), "GstBuffer" | "GstMemory"))
        .collect();
    eprintln!("buffers and memories alive: {alive:?}");
    let buffers = alive.iter().filter(|name| *name == "GstBuffer").count();
    assert_eq!(buffers, 1, "only the canary buffer may be alive: {alive:?}");
    drop(canary);
}
