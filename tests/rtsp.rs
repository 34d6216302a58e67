//! An RTSP camera emulated on 127.0.0.1: faces arrive through
//! `rtspsrc ! depay ! parse ! decoder ! scrfddetect`, a server that goes
//! away ends the client instead of hanging it, and a new client works after
//! the server restarts.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{init, model_dir, shared_dir};
use gst::prelude::*;

/// A running RTSP server process serving the one-face clip.
struct Server {
    child: Child,
    url: String,
}

impl Server {
    fn start(port: u16) -> Server {
        let script =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/rtsp_server.py");
        let clip = shared_dir().join("media/videos/one_face_640x360.mp4");
        let mut child = Command::new("/usr/bin/python3")
            .arg(&script)
            .arg(&clip)
            .arg(port.to_string())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect(
                "cannot run /usr/bin/python3; install python3-gi, gir1.2-gst-rtsp-server-1.0 and \
                 gstreamer1.0-rtsp (scripts/install-deps.sh does)",
            );

        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let url = line
            .strip_prefix("ready ")
            .unwrap_or_else(|| panic!("the RTSP server did not start: {line:?}"))
            .trim()
            .to_owned();
        Server { child, url }
    }

    fn stop(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Starts the client pipeline of an RTSP camera, decoded straight into the
/// detector in live mode.
fn client(url: &str) -> (gst::Pipeline, gst_app::AppSink) {
    init();
    let pipeline = gst::parse::launch(&format!(
        "rtspsrc location={url} protocols=tcp latency=200 ! rtph264depay ! h264parse ! avdec_h264 ! \
         scrfddetect mode=live model-dir={} ! appsink name=sink sync=false",
        model_dir().display()
    ))
    .unwrap()
    .downcast::<gst::Pipeline>()
    .unwrap();
    let sink = pipeline
        .by_name("sink")
        .and_downcast::<gst_app::AppSink>()
        .unwrap();
    pipeline.set_state(gst::State::Playing).unwrap();
    (pipeline, sink)
}

/// Pulls frames until `expected` of them carry a face; returns how many
/// frames that took.
fn frames_until_faces(pipeline: &gst::Pipeline, sink: &gst_app::AppSink, expected: usize) -> usize {
    let started = Instant::now();
    let (mut frames, mut with_faces) = (0, 0);
    while with_faces < expected {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "only {with_faces} of {frames} frames had a face"
        );
        if let Some(message) = pipeline
            .bus()
            .unwrap()
            .pop_filtered(&[gst::MessageType::Error])
        {
            panic!("the client failed: {message:?}");
        }
        let Some(sample) = sink.try_pull_sample(gst::ClockTime::from_mseconds(500)) else {
            continue;
        };
        frames += 1;
        if !gstscrfd::meta::faces(sample.buffer().unwrap()).is_empty() {
            with_faces += 1;
        }
    }
    frames
}

#[test]
fn rtsp_camera_stop_and_restart() {
    let port = free_port();
    let server = Server::start(port);
    let url = server.url.clone();

    let (pipeline, sink) = client(&url);
    frames_until_faces(&pipeline, &sink, 5);

    // The camera goes away mid-stream: the client must end with an error or
    // end-of-stream within a bounded time instead of waiting forever.
    let stopped = Instant::now();
    server.stop();
    let message = pipeline
        .bus()
        .unwrap()
        .timed_pop_filtered(
            gst::ClockTime::from_seconds(30),
            &[gst::MessageType::Error, gst::MessageType::Eos],
        )
        .expect("the client noticed that the server went away");
    let noticed = stopped.elapsed();
    pipeline.set_state(gst::State::Null).unwrap();
    assert!(
        matches!(
            message.view(),
            gst::MessageView::Error(_) | gst::MessageView::Eos(_)
        ),
        "{message:?}"
    );
    eprintln!("the client ended {noticed:?} after the server went away");

    // The camera comes back: a new client gets faces again.
    let server = Server::start(port);
    let (pipeline, sink) = client(&server.url);
    frames_until_faces(&pipeline, &sink, 5);
    pipeline.set_state(gst::State::Null).unwrap();
    server.stop();
}
