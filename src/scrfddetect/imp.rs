use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::{Arc, LazyLock, Mutex};
use std::time::{Duration, Instant};

use gst::glib;
use gst::prelude::*;
use gst::subclass::prelude::*;
use gst_base::prelude::*;
use gst_base::subclass::prelude::*;
use gst_video::prelude::*;
use gst_video::subclass::prelude::*;

use super::anonymize;
use super::draw::{self, FrameCanvas};
use super::formats::{self, FORMATS};
use super::message::{self, FrameTimes};
use super::models::{self, Anonymize, Carry, Mode, ModelChoice, ModelFiles, ModelVariant, Updates};
use super::schedule::{self, Analysis, FrameStamp};
use super::worker::{Job, Worker};
use crate::detector::{self, DetectParams, Detector, Face, Image, PixelLayout, Preprocessor};
use crate::meta::{self, Carried, FrameStatus};

static CAT: LazyLock<gst::DebugCategory> = LazyLock::new(|| {
    gst::DebugCategory::new(
        "scrfddetect",
        gst::DebugColorFlags::empty(),
        Some("SCRFD face detector"),
    )
});

const DEFAULT_MODEL: ModelVariant = ModelVariant::Scrfd2_5gKps;
const DEFAULT_SCORE_THRESHOLD: f64 = 0.5;
const DEFAULT_NMS_THRESHOLD: f64 = 0.45;
const DEFAULT_INPUT_SIZE: u32 = 640;
const MIN_INPUT_SIZE: u32 = 32;
const MAX_INPUT_SIZE: u32 = 4096;
const DEFAULT_THREADS: u32 = 0;
const MAX_THREADS: u32 = 256;
const DEFAULT_DRAW: bool = false;
const DEFAULT_UPDATES: Updates = Updates::EveryFrame;
const DEFAULT_ANONYMIZE: Anonymize = Anonymize::None;
const DEFAULT_ANONYMIZE_MARGIN: f64 = 0.2;
const MAX_ANONYMIZE_MARGIN: f64 = 2.0;
const DEFAULT_INTERVAL: u32 = 1;
const MAX_INTERVAL: u32 = 10_000;
const DEFAULT_CARRY: Carry = Carry::Last;
const DEFAULT_MAX_AGE: u64 = 1_000_000_000;
const DEFAULT_MODE: Mode = Mode::Blocking;

/// Environment variable that lengthens every analysis by this many
/// milliseconds. Only the tests use it, to emulate a slow machine.
const TEST_DELAY_ENV: &str = "SCRFDDETECT_TEST_DELAY_MS";

/// Analyses whose durations make up the latency estimate.
const LATENCY_WINDOW: usize = 16;

#[derive(Debug, Clone)]
struct Settings {
    model: ModelVariant,
    model_dir: Option<PathBuf>,
    param_location: Option<PathBuf>,
    bin_location: Option<PathBuf>,
    score_threshold: f64,
    nms_threshold: f64,
    input_size: u32,
    threads: u32,
    draw: bool,
    updates: Updates,
    anonymize: Anonymize,
    anonymize_margin: f64,
    interval: u32,
    carry: Carry,
    /// Nanoseconds of stream time.
    max_age: u64,
    mode: Mode,
}

impl Default for Settings {
    fn default() -> Settings {
        Settings {
            model: DEFAULT_MODEL,
            model_dir: None,
            param_location: None,
            bin_location: None,
            score_threshold: DEFAULT_SCORE_THRESHOLD,
            nms_threshold: DEFAULT_NMS_THRESHOLD,
            input_size: DEFAULT_INPUT_SIZE,
            threads: DEFAULT_THREADS,
            draw: DEFAULT_DRAW,
            updates: DEFAULT_UPDATES,
            anonymize: DEFAULT_ANONYMIZE,
            anonymize_margin: DEFAULT_ANONYMIZE_MARGIN,
            interval: DEFAULT_INTERVAL,
            carry: DEFAULT_CARRY,
            max_age: DEFAULT_MAX_AGE,
            mode: DEFAULT_MODE,
        }
    }
}

impl Settings {
    fn model_choice(&self) -> ModelChoice {
        ModelChoice {
            variant: self.model,
            model_dir: self.model_dir.clone(),
            param_location: self.param_location.clone(),
            bin_location: self.bin_location.clone(),
        }
    }

    fn detect_params(&self) -> DetectParams {
        DetectParams {
            input_size: self.input_size as usize,
            score_threshold: self.score_threshold as f32,
            nms_threshold: self.nms_threshold as f32,
        }
    }

    fn num_threads(&self) -> Option<u32> {
        (self.threads > 0).then_some(self.threads)
    }
}

/// A detector and the files it was loaded from.
struct LoadedModel {
    files: ModelFiles,
    /// `None` while the live-mode worker owns the detector.
    detector: Option<Detector>,
}

/// Per-stream state, built in `start()` and dropped in `stop()`.
struct State {
    info: Option<gst_video::VideoInfo>,
    layout: Option<PixelLayout>,
    /// `None` while a frame is being prepared outside the lock.
    preprocessor: Option<Preprocessor>,
    /// Index of the next frame since the last start, flush or caps change.
    next_index: u64,
    /// Newest analysis, which frames that are not analysed may carry.
    last: Option<Analysis>,
    /// Face count of the last analysed frame, for `updates=on_change`.
    previous_faces: Option<usize>,
    /// Running time before which frames are late, from the last QoS event.
    earliest: Option<gst::ClockTime>,
    /// Live mode: the detection thread and the flush generation its jobs
    /// must carry.
    worker: Option<Worker>,
    generation: u64,
    /// Durations of the latest analyses in blocking mode.
    durations: VecDeque<Duration>,
    /// Latency last reported in the LATENCY query.
    reported_latency: gst::ClockTime,
    /// Whether a LATENCY message was posted since that query. One is
    /// enough until the pipeline queries again.
    latency_message_posted: bool,
    /// Extra time per analysis, for tests.
    test_delay: Duration,
}

impl State {
    fn new(test_delay: Duration) -> State {
        State {
            info: None,
            layout: None,
            preprocessor: Some(Preprocessor::new()),
            next_index: 0,
            last: None,
            previous_faces: None,
            earliest: None,
            worker: None,
            generation: 0,
            durations: VecDeque::new(),
            reported_latency: gst::ClockTime::ZERO,
            latency_message_posted: false,
            test_delay,
        }
    }

    /// Forgets frame counting, results and QoS, as after a seek.
    fn restart_counting(&mut self) {
        self.next_index = 0;
        self.last = None;
        self.previous_faces = None;
        self.earliest = None;
        if let Some(worker) = &self.worker {
            self.generation = worker.flush();
        }
    }

    /// Returns the processing latency of blocking mode: the longest of
    /// the latest analyses.
    fn latency(&self) -> gst::ClockTime {
        let longest = self.durations.iter().max().copied().unwrap_or_default();
        gst::ClockTime::from_nseconds(longest.as_nanos().min(u64::MAX as u128) as u64)
    }
}

#[derive(Default)]
pub struct ScrfdDetect {
    settings: Mutex<Settings>,
    /// Loaded when going to READY.
    model: Mutex<Option<LoadedModel>>,
    state: Mutex<Option<State>>,
}

impl ScrfdDetect {
    /// Loads the model the settings choose, unless it is already loaded.
    fn ensure_model(&self) -> Result<(), gst::ErrorMessage> {
        let settings = self.settings.lock().unwrap().clone();
        let files = models::resolve(&settings.model_choice()).map_err(|reason| {
            // The reason is the message itself, so that applications
            // that show only the message still show the fix.
            gst::error_msg!(gst::ResourceError::NotFound, ("{}", reason), ["{}", reason])
        })?;

        let mut model = self.model.lock().unwrap();
        if model
            .as_ref()
            .is_some_and(|loaded| loaded.files == files && loaded.detector.is_some())
        {
            return Ok(());
        }
        *model = None;

        let started = Instant::now();
        let detector =
            Detector::load(&files.param, &files.bin, settings.num_threads()).map_err(|err| {
                let (kind, fix) = match &err {
                    detector::Error::Io { .. } => (
                        gst::ResourceError::OpenRead,
                        "check the path and the file's permissions",
                    ),
                    _ => (
                        gst::ResourceError::Read,
                        "point param-location and bin-location (or model and model-dir) at an \
                     SCRFD model in ncnn format",
                    ),
                };
                let message = format!("Could not load the SCRFD model: {err}; {fix}");
                gst::error_msg!(kind, ("{}", message), ["{}", message])
            })?;
        gst::info!(
            CAT,
            imp = self,
            "Loaded {} and {} in {:.1} ms: input {}, {} anchors per cell, landmarks {}, {} threads, ncnn {}",
            files.param.display(),
            files.bin.display(),
            started.elapsed().as_secs_f64() * 1e3,
            detector.model().input,
            detector.model().anchors_per_cell,
            if detector.model().has_landmarks {
                "yes"
            } else {
                "no"
            },
            detector.num_threads(),
            crate::ncnn::version(),
        );
        *model = Some(LoadedModel {
            files,
            detector: Some(detector),
        });
        Ok(())
    }

    /// Returns whether a property that only changes in the NULL or READY
    /// state (model files, mode) may change now.
    fn model_mutable(&self, name: &str) -> bool {
        let (_, current, pending) = self.obj().state(gst::ClockTime::ZERO);
        let allowed = |state: gst::State| state <= gst::State::Ready;
        if allowed(current) && (pending == gst::State::VoidPending || allowed(pending)) {
            true
        } else {
            gst::warning!(
                CAT,
                imp = self,
                "Property {} can only be changed in the NULL or READY state, not in {:?}; \
                 ignoring the new value",
                name,
                current
            );
            false
        }
    }

    /// Anonymises and then draws the faces, as the settings ask.
    fn paint(
        &self,
        buffer: &mut gst::BufferRef,
        info: &gst_video::VideoInfo,
        layout: PixelLayout,
        faces: &[Face],
        settings: &Settings,
    ) -> Result<(), gst::FlowError> {
        let mut frame =
            gst_video::VideoFrameRef::from_buffer_ref_writable(buffer, info).map_err(|_| {
                gst::element_imp_error!(
                    self,
                    gst::CoreError::Failed,
                    ["Could not map the frame for writing"]
                );
                gst::FlowError::Error
            })?;
        let (width, height) = (frame.width() as usize, frame.height() as usize);
        let strides: Vec<usize> = frame.plane_stride()[..frame.n_planes() as usize]
            .iter()
            .map(|&stride| stride.max(0) as usize)
            .collect();
        let planes: Vec<&mut [u8]> = frame
            .planes_data_mut()
            .into_iter()
            .take(strides.len())
            .collect();
        let mut canvas = FrameCanvas::new(planes, strides, width, height, layout);

        anonymize::anonymize_faces(
            &mut canvas,
            faces,
            settings.anonymize,
            settings.anonymize_margin,
        );
        if settings.draw {
            draw::draw_faces(&mut canvas, faces);
        }
        Ok(())
    }
}

/// Wraps a mapped frame's planes as an [`Image`].
fn frame_image<'a>(
    frame: &'a gst_video::VideoFrameRef<&gst::BufferRef>,
    layout: PixelLayout,
) -> Result<Image<'a>, String> {
    let mut planes = Vec::with_capacity(frame.n_planes() as usize);
    for plane in 0..frame.n_planes() {
        let stride = frame.plane_stride()[plane as usize];
        let stride =
            usize::try_from(stride).map_err(|_| format!("negative row stride {stride}"))?;
        let data = frame.plane_data(plane).map_err(|err| err.to_string())?;
        planes.push(detector::Plane { data, stride });
    }
    Image::new(
        frame.width() as usize,
        frame.height() as usize,
        layout,
        &planes,
    )
    .map_err(|err| err.to_string())
}

/// Posts the `facedetect` element message for an analysed frame.
fn post_faces_message(element: &super::ScrfdDetect, analysis: &Analysis) {
    let stamp = &analysis.stamp;
    let times = FrameTimes {
        timestamp: stamp.pts,
        stream_time: stamp.stream_time,
        running_time: stamp.running_time,
        duration: stamp.duration,
    };
    let (width, height) = analysis.frame_size;
    let structure = message::facedetect_structure(&times, &analysis.faces, width, height);
    let _ = element.post_message(
        gst::message::Element::builder(structure)
            .src(element)
            .build(),
    );
}

#[glib::object_subclass]
impl ObjectSubclass for ScrfdDetect {
    const NAME: &'static str = "GstScrfdDetect";
    type Type = super::ScrfdDetect;
    type ParentType = gst_video::VideoFilter;
}

impl ObjectImpl for ScrfdDetect {
    fn properties() -> &'static [glib::ParamSpec] {
        static PROPERTIES: LazyLock<Vec<glib::ParamSpec>> = LazyLock::new(|| {
            vec![
                glib::ParamSpecEnum::builder_with_default("model", DEFAULT_MODEL)
                    .nick("Model")
                    .blurb(
                        "SCRFD variant to load, by name; its files scrfd_<name>.param and .bin \
                         (with _kps for -kps) are looked up in model-dir",
                    )
                    .mutable_ready()
                    .build(),
                glib::ParamSpecString::builder("model-dir")
                    .nick("Model folder")
                    .blurb(
                        "Folder that contains the model files; when unset, the folders in the \
                         SCRFD_MODEL_PATH environment variable, then the installed data folder \
                         (gst-plugin-scrfd/models under the prefix and the XDG data folders)",
                    )
                    .mutable_ready()
                    .build(),
                glib::ParamSpecString::builder("param-location")
                    .nick("Param location")
                    .blurb(
                        "Path of an SCRFD ncnn .param file to load instead of model; when \
                         bin-location is unset, the .bin beside it",
                    )
                    .mutable_ready()
                    .build(),
                glib::ParamSpecString::builder("bin-location")
                    .nick("Bin location")
                    .blurb("Path of the ncnn .bin weights that belong to param-location")
                    .mutable_ready()
                    .build(),
                glib::ParamSpecDouble::builder("score-threshold")
                    .nick("Score threshold")
                    .blurb("Minimum confidence of a face, from 0 to 1")
                    .minimum(0.0)
                    .maximum(1.0)
                    .default_value(DEFAULT_SCORE_THRESHOLD)
                    .mutable_playing()
                    .build(),
                glib::ParamSpecDouble::builder("nms-threshold")
                    .nick("NMS threshold")
                    .blurb(
                        "Overlap (intersection over union, 0 to 1) above which the lower-scored \
                         of two faces is dropped",
                    )
                    .minimum(0.0)
                    .maximum(1.0)
                    .default_value(DEFAULT_NMS_THRESHOLD)
                    .mutable_playing()
                    .build(),
                glib::ParamSpecUInt::builder("input-size")
                    .nick("Input size")
                    .blurb(
                        "Long side of the network input in pixels, a multiple of 32; larger \
                         finds smaller faces and costs more time",
                    )
                    .minimum(MIN_INPUT_SIZE)
                    .maximum(MAX_INPUT_SIZE)
                    .default_value(DEFAULT_INPUT_SIZE)
                    .mutable_playing()
                    .build(),
                glib::ParamSpecUInt::builder("threads")
                    .nick("Threads")
                    .blurb("Number of ncnn inference threads; 0 uses ncnn's default (the number of big CPU cores)")
                    .maximum(MAX_THREADS)
                    .default_value(DEFAULT_THREADS)
                    .mutable_playing()
                    .build(),
                glib::ParamSpecBoolean::builder("draw")
                    .nick("Draw")
                    .blurb(
                        "Draw each face's box, confidence and, for models with landmarks, its \
                         5 landmarks into the frame",
                    )
                    .default_value(DEFAULT_DRAW)
                    .mutable_playing()
                    .build(),
                glib::ParamSpecEnum::builder_with_default("anonymize", DEFAULT_ANONYMIZE)
                    .nick("Anonymize")
                    .blurb(
                        "Hide each face for privacy: blur, pixelate or fill the face region (grown \
                         by anonymize-margin) in every colour component; drawing, when on, comes \
                         on top",
                    )
                    .mutable_playing()
                    .build(),
                glib::ParamSpecDouble::builder("anonymize-margin")
                    .nick("Anonymize margin")
                    .blurb(
                        "Growth of each anonymised region on every side, as a fraction of the \
                         face box width (left, right) and height (top, bottom)",
                    )
                    .minimum(0.0)
                    .maximum(MAX_ANONYMIZE_MARGIN)
                    .default_value(DEFAULT_ANONYMIZE_MARGIN)
                    .mutable_playing()
                    .build(),
                glib::ParamSpecEnum::builder_with_default("updates", DEFAULT_UPDATES)
                    .nick("Updates")
                    .blurb(
                        "When to post a facedetect element message on the bus; messages describe \
                         analysed frames only",
                    )
                    .mutable_playing()
                    .build(),
                glib::ParamSpecUInt::builder("interval")
                    .nick("Interval")
                    .blurb(
                        "Analyse one frame in this many: frames 0, N, 2N, ... counted from the \
                         first frame after start, a flush (seek) or a change of frame size; \
                         1 analyses every frame. What other frames carry is set by carry",
                    )
                    .minimum(1)
                    .maximum(MAX_INTERVAL)
                    .default_value(DEFAULT_INTERVAL)
                    .mutable_playing()
                    .build(),
                glib::ParamSpecEnum::builder_with_default("carry", DEFAULT_CARRY)
                    .nick("Carry")
                    .blurb(
                        "What frames that are not analysed (between intervals, or late under \
                         QoS) carry: the newest results marked as carried with their age, or no \
                         faces. Live mode always carries",
                    )
                    .mutable_playing()
                    .build(),
                glib::ParamSpecUInt64::builder("max-age")
                    .nick("Maximum age")
                    .blurb(
                        "Nanoseconds of stream time after which carried results expire and \
                         frames carry no faces, so faces do not linger after people leave; \
                         the maximum (18446744073709551615) never expires",
                    )
                    .default_value(DEFAULT_MAX_AGE)
                    .mutable_playing()
                    .build(),
                glib::ParamSpecEnum::builder_with_default("mode", DEFAULT_MODE)
                    .nick("Mode")
                    .blurb(
                        "blocking: analysed frames wait for their detection and the element \
                         reports that time as latency; live: frames never wait, a worker thread \
                         analyses the newest due frame whenever it is free and every frame \
                         carries the newest finished results with their age",
                    )
                    .mutable_ready()
                    .build(),
            ]
        });
        PROPERTIES.as_ref()
    }

    fn set_property(&self, _id: usize, value: &glib::Value, pspec: &glib::ParamSpec) {
        let name = pspec.name();
        let path = |value: &glib::Value| {
            value
                .get::<Option<String>>()
                .expect("type checked upstream")
                .filter(|s| !s.is_empty())
                .map(PathBuf::from)
        };

        if matches!(
            name,
            "model" | "model-dir" | "param-location" | "bin-location" | "mode"
        ) && !self.model_mutable(name)
        {
            return;
        }

        let mut settings = self.settings.lock().unwrap();
        match name {
            "model" => settings.model = value.get().expect("type checked upstream"),
            "model-dir" => settings.model_dir = path(value),
            "param-location" => settings.param_location = path(value),
            "bin-location" => settings.bin_location = path(value),
            "score-threshold" => {
                settings.score_threshold = value.get().expect("type checked upstream")
            }
            "nms-threshold" => settings.nms_threshold = value.get().expect("type checked upstream"),
            "input-size" => {
                let size: u32 = value.get().expect("type checked upstream");
                if !size.is_multiple_of(32) {
                    let lower = (size / 32 * 32).max(MIN_INPUT_SIZE);
                    glib::g_warning!(
                        "scrfddetect",
                        "input-size {} is not a multiple of 32; use {} or {}. Keeping {}.",
                        size,
                        lower,
                        lower + 32,
                        settings.input_size
                    );
                    return;
                }
                settings.input_size = size;
            }
            "threads" => settings.threads = value.get().expect("type checked upstream"),
            "draw" => settings.draw = value.get().expect("type checked upstream"),
            "updates" => settings.updates = value.get().expect("type checked upstream"),
            "anonymize" => settings.anonymize = value.get().expect("type checked upstream"),
            "anonymize-margin" => {
                settings.anonymize_margin = value.get().expect("type checked upstream")
            }
            "interval" => settings.interval = value.get().expect("type checked upstream"),
            "carry" => settings.carry = value.get().expect("type checked upstream"),
            "max-age" => settings.max_age = value.get().expect("type checked upstream"),
            "mode" => settings.mode = value.get().expect("type checked upstream"),
            _ => unreachable!("unknown property {name}"),
        }
        gst::info!(CAT, imp = self, "Set {} to {:?}", name, value);
    }

    fn property(&self, _id: usize, pspec: &glib::ParamSpec) -> glib::Value {
        let settings = self.settings.lock().unwrap();
        let path = |p: &Option<PathBuf>| p.as_ref().map(|p| p.display().to_string()).to_value();
        match pspec.name() {
            "model" => settings.model.to_value(),
            "model-dir" => path(&settings.model_dir),
            "param-location" => path(&settings.param_location),
            "bin-location" => path(&settings.bin_location),
            "score-threshold" => settings.score_threshold.to_value(),
            "nms-threshold" => settings.nms_threshold.to_value(),
            "input-size" => settings.input_size.to_value(),
            "threads" => settings.threads.to_value(),
            "draw" => settings.draw.to_value(),
            "updates" => settings.updates.to_value(),
            "anonymize" => settings.anonymize.to_value(),
            "anonymize-margin" => settings.anonymize_margin.to_value(),
            "interval" => settings.interval.to_value(),
            "carry" => settings.carry.to_value(),
            "max-age" => settings.max_age.to_value(),
            "mode" => settings.mode.to_value(),
            name => unreachable!("unknown property {name}"),
        }
    }
}

impl GstObjectImpl for ScrfdDetect {}

impl ElementImpl for ScrfdDetect {
    fn metadata() -> Option<&'static gst::subclass::ElementMetadata> {
        static METADATA: LazyLock<gst::subclass::ElementMetadata> = LazyLock::new(|| {
            gst::subclass::ElementMetadata::new(
                "SCRFD face detector",
                "Filter/Analyzer/Video",
                "Detects faces with SCRFD on ncnn and attaches each as a region-of-interest meta \
                 with its confidence and landmarks; can draw, blur, pixelate or fill them.\n\
                 Webcam: gst-launch-1.0 v4l2src ! scrfddetect draw=true ! videoconvert ! \
                 autovideosink\n\
                 File: gst-launch-1.0 filesrc location=video.mp4 ! decodebin ! scrfddetect \
                 draw=true ! videoconvert ! autovideosink\n\
                 RTSP camera: gst-launch-1.0 rtspsrc location=rtsp://camera/stream \
                 protocols=tcp ! rtph264depay ! h264parse ! avdec_h264 ! scrfddetect mode=live \
                 draw=true ! videoconvert ! autovideosink\n\
                 Anonymise a recording: gst-launch-1.0 filesrc location=in.mp4 ! decodebin ! \
                 scrfddetect anonymize=blur ! videoconvert ! x264enc ! mp4mux ! filesink \
                 location=out.mp4",
                "gst-plugin-scrfd developers",
            )
        });
        Some(&*METADATA)
    }

    fn pad_templates() -> &'static [gst::PadTemplate] {
        static PAD_TEMPLATES: LazyLock<Vec<gst::PadTemplate>> = LazyLock::new(|| {
            let caps = gst_video::VideoCapsBuilder::new()
                .format_list(FORMATS)
                .build();
            vec![
                gst::PadTemplate::new(
                    "src",
                    gst::PadDirection::Src,
                    gst::PadPresence::Always,
                    &caps,
                )
                .unwrap(),
                gst::PadTemplate::new(
                    "sink",
                    gst::PadDirection::Sink,
                    gst::PadPresence::Always,
                    &caps,
                )
                .unwrap(),
            ]
        });
        PAD_TEMPLATES.as_ref()
    }

    fn change_state(
        &self,
        transition: gst::StateChange,
    ) -> Result<gst::StateChangeSuccess, gst::StateChangeError> {
        if transition == gst::StateChange::NullToReady
            && let Err(err) = self.ensure_model()
        {
            gst::error!(CAT, imp = self, "{}", err);
            self.post_error_message(err);
            return Err(gst::StateChangeError);
        }

        let success = self.parent_change_state(transition)?;

        if transition == gst::StateChange::ReadyToNull {
            *self.model.lock().unwrap() = None;
            gst::info!(CAT, imp = self, "Released the model");
        }
        Ok(success)
    }
}

impl ScrfdDetect {
    /// Returns the timestamps of `buffer` in the current segment and the
    /// index it gets.
    fn stamp(&self, buffer: &gst::BufferRef, index: u64) -> FrameStamp {
        let segment = self.obj().segment();
        let segment = segment.downcast_ref::<gst::ClockTime>();
        let pts = buffer.pts();
        FrameStamp {
            index,
            pts,
            duration: buffer.duration(),
            stream_time: segment.and_then(|s| s.to_stream_time(pts?)),
            running_time: segment.and_then(|s| s.to_running_time(pts?)),
        }
    }

    /// Scales, pads and normalises the frame in `buffer` for the network.
    fn prepare(
        &self,
        preprocessor: &mut Preprocessor,
        buffer: &gst::BufferRef,
        info: &gst_video::VideoInfo,
        layout: PixelLayout,
        input_size: usize,
    ) -> Result<Option<detector::NetInput>, gst::FlowError> {
        let frame =
            gst_video::VideoFrameRef::from_buffer_ref_readable(buffer, info).map_err(|_| {
                gst::element_imp_error!(
                    self,
                    gst::CoreError::Failed,
                    ["Could not map the frame for reading"]
                );
                gst::FlowError::Error
            })?;
        let image = frame_image(&frame, layout).map_err(|reason| {
            gst::element_imp_error!(
                self,
                gst::StreamError::Format,
                ["Invalid frame layout: {}", reason]
            );
            gst::FlowError::Error
        })?;
        preprocessor.prepare(&image, input_size).map_err(|err| {
            gst::element_imp_error!(
                self,
                gst::LibraryError::Failed,
                ["Could not prepare the frame: {}", err]
            );
            gst::FlowError::Error
        })
    }

    /// Blocking mode: analyses the frame in `buffer` now.
    fn analyse(
        &self,
        buffer: &gst::BufferRef,
        info: &gst_video::VideoInfo,
        layout: PixelLayout,
        stamp: FrameStamp,
        settings: &Settings,
        test_delay: Duration,
    ) -> Result<Analysis, gst::FlowError> {
        let started = Instant::now();
        let params = settings.detect_params();

        // The detector and the preprocessor are taken out of their locks so
        // that no lock is held while the frame is processed.
        let mut detector = self
            .model
            .lock()
            .unwrap()
            .as_mut()
            .and_then(|loaded| loaded.detector.take())
            .ok_or(gst::FlowError::Flushing)?;
        if detector.num_threads()
            != settings
                .num_threads()
                .unwrap_or_else(crate::ncnn::default_num_threads)
        {
            detector.set_num_threads(settings.num_threads());
        }
        let mut preprocessor = self
            .state
            .lock()
            .unwrap()
            .as_mut()
            .and_then(|state| state.preprocessor.take())
            .unwrap_or_default();
        let prepared = self.prepare(&mut preprocessor, buffer, info, layout, params.input_size);

        // Errors of the preparation are already reported; inference errors
        // are reported below, once the locks are restored.
        let faces = match prepared {
            Ok(Some(input)) => {
                let faces = detector.infer(&input, &params);
                preprocessor.recycle(input);
                faces.map_err(|err| Some(err.to_string()))
            }
            // Too small to hold a face.
            Ok(None) => Ok(Vec::new()),
            Err(_) => Err(None),
        };
        if !test_delay.is_zero() {
            std::thread::sleep(test_delay);
        }

        if let Some(loaded) = self.model.lock().unwrap().as_mut() {
            loaded.detector = Some(detector);
        }
        if let Some(state) = self.state.lock().unwrap().as_mut() {
            state.preprocessor = Some(preprocessor);
        }

        let faces = faces.map_err(|err| {
            if let Some(err) = err {
                gst::element_imp_error!(
                    self,
                    gst::StreamError::Failed,
                    ["Face detection failed: {}", err]
                );
            }
            gst::FlowError::Error
        })?;
        Ok(Analysis {
            faces,
            stamp,
            frame_size: (info.width(), info.height()),
            duration: started.elapsed(),
        })
    }

    /// Live mode: hands the frame to the worker if it is idle.
    fn submit(
        &self,
        buffer: &gst::BufferRef,
        info: &gst_video::VideoInfo,
        layout: PixelLayout,
        stamp: FrameStamp,
        settings: &Settings,
    ) -> Result<(), gst::FlowError> {
        let (mut preprocessor, generation) = {
            let mut state = self.state.lock().unwrap();
            let state = state.as_mut().ok_or(gst::FlowError::Flushing)?;
            let worker = state.worker.as_ref().ok_or(gst::FlowError::Flushing)?;
            if !worker.is_idle() {
                return Ok(());
            }
            let mut preprocessor = state.preprocessor.take().unwrap_or_default();
            if let Some(spare) = worker.take_spare() {
                preprocessor.recycle(spare);
            }
            (preprocessor, state.generation)
        };

        let params = settings.detect_params();
        let prepared = self.prepare(&mut preprocessor, buffer, info, layout, params.input_size);

        let mut state = self.state.lock().unwrap();
        let state = state.as_mut().ok_or(gst::FlowError::Flushing)?;
        state.preprocessor = Some(preprocessor);
        let Some(input) = prepared? else {
            return Ok(());
        };
        let job = Job {
            input,
            params,
            threads: settings.num_threads(),
            stamp,
            frame_size: (info.width(), info.height()),
            generation,
        };
        let index = job.stamp.index;
        if let Some(worker) = &state.worker
            && let Err(job) = worker.submit(job)
        {
            // A flush came in meanwhile; keep the input for the next frame.
            if let Some(preprocessor) = state.preprocessor.as_mut() {
                preprocessor.recycle(job.input);
            }
        } else {
            gst::debug!(
                CAT,
                imp = self,
                "Frame {} handed to the detection thread",
                index
            );
        }
        Ok(())
    }

    /// Posts a LATENCY message when the processing time has grown past what
    /// the last LATENCY query reported, so the pipeline queries again.
    fn check_latency(&self) {
        let grown = {
            let mut state = self.state.lock().unwrap();
            let Some(state) = state.as_mut() else {
                return;
            };
            let reported = state.reported_latency;
            let grown = state.latency() > reported + reported / 10 + gst::ClockTime::MSECOND;
            let post = grown && !state.latency_message_posted;
            state.latency_message_posted |= post;
            post
        };
        if grown {
            gst::debug!(
                CAT,
                imp = self,
                "Processing time grew; asking the pipeline to recompute latency"
            );
            let _ = self
                .obj()
                .post_message(gst::message::Latency::builder().src(&*self.obj()).build());
        }
    }
}

impl BaseTransformImpl for ScrfdDetect {
    const MODE: gst_base::subclass::BaseTransformMode =
        gst_base::subclass::BaseTransformMode::AlwaysInPlace;
    const PASSTHROUGH_ON_SAME_CAPS: bool = false;
    const TRANSFORM_IP_ON_PASSTHROUGH: bool = false;

    fn propose_allocation(
        &self,
        decide_query: Option<&gst::query::Allocation>,
        query: &mut gst::query::Allocation,
    ) -> Result<(), gst::LoggableError> {
        self.parent_propose_allocation(decide_query, query)?;

        // Frames are read through their VideoMeta (strides, plane offsets,
        // planes in separate memories), so upstream need not copy frames
        // into the default layout.
        if query
            .find_allocation_meta::<gst_video::VideoMeta>()
            .is_none()
        {
            query.add_allocation_meta::<gst_video::VideoMeta>(None);
        }
        Ok(())
    }

    fn start(&self) -> Result<(), gst::ErrorMessage> {
        // Model properties may have changed in READY since the last load.
        self.ensure_model()?;
        let settings = self.settings.lock().unwrap().clone();
        let test_delay = std::env::var(TEST_DELAY_ENV)
            .ok()
            .and_then(|ms| ms.parse().ok())
            .map(Duration::from_millis)
            .unwrap_or_default();
        let mut state = State::new(test_delay);

        if settings.mode == Mode::Live {
            let detector = self
                .model
                .lock()
                .unwrap()
                .as_mut()
                .and_then(|loaded| loaded.detector.take())
                .expect("ensure_model loaded a detector");

            // The worker posts the bus message of each analysis itself.
            let element = self.obj().downgrade();
            let previous_faces = Arc::new(Mutex::new(None::<usize>));
            let on_finished = Box::new(move |analysis: &Analysis| {
                let Some(element) = element.upgrade() else {
                    return;
                };
                let updates = element.imp().settings.lock().unwrap().updates;
                let mut previous = previous_faces.lock().unwrap();
                if message::should_post(updates, analysis.faces.len(), *previous) {
                    post_faces_message(&element, analysis);
                }
                *previous = Some(analysis.faces.len());
            });
            let worker = Worker::start(detector, test_delay, on_finished).map_err(|err| {
                gst::error_msg!(
                    gst::CoreError::Thread,
                    ["Could not start the detection thread: {}", err]
                )
            })?;
            state.worker = Some(worker);
        }

        *self.state.lock().unwrap() = Some(state);
        gst::info!(CAT, imp = self, "Started in {:?} mode", settings.mode);
        Ok(())
    }

    fn stop(&self) -> Result<(), gst::ErrorMessage> {
        let state = self.state.lock().unwrap().take();
        if let Some(worker) = state.and_then(|state| state.worker) {
            let detector = worker.stop();
            let mut model = self.model.lock().unwrap();
            match (model.as_mut(), detector) {
                (Some(loaded), Some(detector)) => loaded.detector = Some(detector),
                // The worker panicked: load the model again on the next start.
                _ => *model = None,
            }
        }
        gst::info!(CAT, imp = self, "Stopped");
        Ok(())
    }

    fn sink_event(&self, event: gst::Event) -> bool {
        if let gst::EventView::FlushStop(_) = event.view()
            && let Some(state) = self.state.lock().unwrap().as_mut()
        {
            gst::debug!(
                CAT,
                imp = self,
                "Flushed: frame counting and results start over"
            );
            state.restart_counting();
        }
        self.parent_sink_event(event)
    }

    fn src_event(&self, event: gst::Event) -> bool {
        // QoS events are handled here instead of by the base class, which
        // would drop late frames: a late frame is passed on unanalysed,
        // carrying the newest results, which makes it no later.
        if let gst::EventView::Qos(qos) = event.view() {
            let (_, _, diff, timestamp) = qos.get();
            if let (Some(timestamp), Some(state)) = (timestamp, self.state.lock().unwrap().as_mut())
            {
                let jitter = gst::ClockTime::from_nseconds(diff.unsigned_abs());
                state.earliest = if diff > 0 {
                    // As GstBaseTransform: skip twice the lateness ahead.
                    Some(timestamp + jitter + jitter)
                } else {
                    Some(timestamp.saturating_sub(jitter))
                };
                gst::log!(
                    CAT,
                    imp = self,
                    "QoS: frames before {:?} are late",
                    state.earliest
                );
            }
            return self.obj().sink_pad().push_event(event);
        }
        self.parent_src_event(event)
    }

    fn query(&self, direction: gst::PadDirection, query: &mut gst::QueryRef) -> bool {
        if direction == gst::PadDirection::Src
            && let gst::QueryViewMut::Latency(latency) = query.view_mut()
        {
            if !self.obj().sink_pad().peer_query(latency.query_mut()) {
                return false;
            }
            let (live, min, max) = latency.result();
            let ours = {
                let mut state = self.state.lock().unwrap();
                let live_mode = self.settings.lock().unwrap().mode == Mode::Live;
                match state.as_mut() {
                    Some(state) if !live_mode => {
                        state.reported_latency = state.latency();
                        state.latency_message_posted = false;
                        state.reported_latency
                    }
                    // Live mode lets frames through at once; before the
                    // first analysis there is no measurement yet.
                    _ => gst::ClockTime::ZERO,
                }
            };
            gst::debug!(
                CAT,
                imp = self,
                "Reporting a processing latency of {}",
                ours
            );
            latency.set(live, min + ours, max.map(|max| max + ours));
            return true;
        }
        BaseTransformImplExt::parent_query(self, direction, query)
    }

    fn transform_ip(
        &self,
        buffer: &mut gst::BufferRef,
    ) -> Result<gst::FlowSuccess, gst::FlowError> {
        let settings = self.settings.lock().unwrap().clone();

        // Take what this frame needs from the state: its index, whether it
        // is due and on time, and the newest results.
        let (info, layout, stamp, due, test_delay, worker_error) = {
            let mut state = self.state.lock().unwrap();
            let state = state.as_mut().ok_or(gst::FlowError::Flushing)?;
            let (Some(info), Some(layout)) = (state.info.clone(), state.layout) else {
                return Err(gst::FlowError::NotNegotiated);
            };
            let stamp = self.stamp(buffer, state.next_index);
            state.next_index += 1;

            let late = self.obj().is_qos()
                && stamp
                    .running_time
                    .zip(state.earliest)
                    .is_some_and(|(time, earliest)| time <= earliest);
            if late {
                gst::debug!(
                    CAT,
                    imp = self,
                    "Frame {} at {:?} is late: not analysing it",
                    stamp.index,
                    stamp.pts
                );
            }
            let due = schedule::is_due(stamp.index, settings.interval) && !late;

            let mut worker_error = None;
            if let Some(worker) = &state.worker {
                worker_error = worker.take_error();
                if let Some(analysis) = worker.take_finished() {
                    state.last = Some(analysis);
                }
            }
            (info, layout, stamp, due, state.test_delay, worker_error)
        };
        if let Some(error) = worker_error {
            gst::element_imp_error!(
                self,
                gst::StreamError::Failed,
                ["Face detection failed: {}", error]
            );
            return Err(gst::FlowError::Error);
        }

        // Analyse (blocking mode) or submit (live mode) the frame.
        let mut fresh = None;
        match settings.mode {
            Mode::Blocking if due => {
                let analysis = self.analyse(buffer, &info, layout, stamp, &settings, test_delay)?;
                gst::trace!(
                    CAT,
                    imp = self,
                    "Frame {}: {} faces in {:.2} ms",
                    stamp.index,
                    analysis.faces.len(),
                    analysis.duration.as_secs_f64() * 1e3
                );
                let post = {
                    let mut state = self.state.lock().unwrap();
                    let state = state.as_mut().ok_or(gst::FlowError::Flushing)?;
                    state.durations.push_back(analysis.duration);
                    if state.durations.len() > LATENCY_WINDOW {
                        state.durations.pop_front();
                    }
                    let post = message::should_post(
                        settings.updates,
                        analysis.faces.len(),
                        state.previous_faces,
                    );
                    state.previous_faces = Some(analysis.faces.len());
                    state.last = Some(analysis.clone());
                    post
                };
                if post {
                    post_faces_message(&self.obj(), &analysis);
                }
                self.check_latency();
                fresh = Some(analysis);
            }
            Mode::Blocking => {}
            Mode::Live if due => self.submit(buffer, &info, layout, stamp, &settings)?,
            Mode::Live => {}
        }

        // What the frame carries: its own faces, or the newest results.
        let (faces, status) = match fresh {
            Some(analysis) => (analysis.faces, FrameStatus::Analysed),
            None => {
                let state = self.state.lock().unwrap();
                let last = state.as_ref().and_then(|state| state.last.as_ref());
                let carries = settings.mode == Mode::Live || settings.carry == Carry::Last;
                // The maximum value, GST_CLOCK_TIME_NONE, means no expiry.
                let max_age = (settings.max_age != u64::MAX)
                    .then(|| gst::ClockTime::from_nseconds(settings.max_age));
                match last.filter(|_| carries) {
                    Some(last) => match schedule::carry(last, &stamp, max_age) {
                        Some(carried) => (last.faces.clone(), FrameStatus::Carried(carried)),
                        None => (Vec::new(), FrameStatus::None),
                    },
                    None => (Vec::new(), FrameStatus::None),
                }
            }
        };

        let carried: Option<Carried> = match &status {
            FrameStatus::Carried(carried) => Some(*carried),
            _ => None,
        };
        for face in &faces {
            meta::attach_face(buffer, face, info.width(), info.height(), carried.as_ref());
        }
        meta::attach_frame_status(buffer, &status, faces.len());
        gst::log!(
            CAT,
            imp = self,
            "Frame {} at {:?}: {} faces, {:?}",
            stamp.index,
            stamp.pts,
            faces.len(),
            status
        );

        if (settings.draw || settings.anonymize != Anonymize::None) && !faces.is_empty() {
            self.paint(buffer, &info, layout, &faces, &settings)?;
        }
        Ok(gst::FlowSuccess::Ok)
    }
}

impl VideoFilterImpl for ScrfdDetect {
    fn set_info(
        &self,
        incaps: &gst::Caps,
        in_info: &gst_video::VideoInfo,
        _outcaps: &gst::Caps,
        _out_info: &gst_video::VideoInfo,
    ) -> Result<(), gst::LoggableError> {
        let layout = formats::pixel_layout(in_info, incaps).map_err(|reason| {
            gst::loggable_error!(CAT, "Cannot use caps {}: {}", incaps, reason)
        })?;
        gst::debug!(
            CAT,
            imp = self,
            "Configured for caps {}, pixel layout {:?}",
            incaps,
            layout
        );

        let mut state = self.state.lock().unwrap();
        let state = state
            .as_mut()
            .ok_or_else(|| gst::loggable_error!(CAT, "Caps set before start"))?;
        let size_changed = state
            .info
            .as_ref()
            .is_none_or(|old| (old.width(), old.height()) != (in_info.width(), in_info.height()));
        state.info = Some(in_info.clone());
        state.layout = Some(layout);
        // Faces of frames of another size cannot be carried over.
        if size_changed {
            state.restart_counting();
        }
        Ok(())
    }
}
