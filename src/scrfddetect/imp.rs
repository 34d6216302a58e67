use std::path::PathBuf;
use std::sync::{LazyLock, Mutex};
use std::time::Instant;

use gst::glib;
use gst::prelude::*;
use gst::subclass::prelude::*;
use gst_base::subclass::prelude::*;
use gst_video::prelude::*;
use gst_video::subclass::prelude::*;

use super::anonymize;
use super::draw::{self, FrameCanvas};
use super::formats::{self, FORMATS};
use super::message::{self, FrameTimes};
use super::models::{self, Anonymize, ModelChoice, ModelFiles, ModelVariant, Updates};
use crate::detector::{self, DetectParams, Detector, Face, Image, PixelLayout};
use crate::meta;

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
    detector: Detector,
}

/// Per-stream state, built in `start()` and dropped in `stop()`.
#[derive(Default)]
struct State {
    info: Option<gst_video::VideoInfo>,
    layout: Option<PixelLayout>,
    /// Face count of the last analysed frame, for `updates=on_change`.
    previous_faces: Option<usize>,
}

#[derive(Default)]
pub struct ScrfdDetect {
    settings: Mutex<Settings>,
    /// Loaded when going to READY; taken out while a frame is analysed so
    /// that no lock is held during inference.
    model: Mutex<Option<LoadedModel>>,
    state: Mutex<Option<State>>,
}

impl ScrfdDetect {
    /// Loads the model the settings choose, unless it is already loaded.
    fn ensure_model(&self) -> Result<(), gst::ErrorMessage> {
        let settings = self.settings.lock().unwrap().clone();
        let files = models::resolve(&settings.model_choice())
            .map_err(|reason| gst::error_msg!(gst::ResourceError::NotFound, ["{}", reason]))?;

        let mut model = self.model.lock().unwrap();
        if model.as_ref().is_some_and(|loaded| loaded.files == files) {
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
                gst::error_msg!(kind, ["Could not load the SCRFD model: {}; {}", err, fix])
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
        *model = Some(LoadedModel { files, detector });
        Ok(())
    }

    /// Returns whether properties that need a model reload may change now.
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

    fn post_faces_message(
        &self,
        buffer: &gst::BufferRef,
        faces: &[Face],
        info: &gst_video::VideoInfo,
    ) {
        let segment = self.obj().segment();
        let segment = segment.downcast_ref::<gst::ClockTime>();
        let pts = buffer.pts();
        let times = FrameTimes {
            timestamp: pts,
            stream_time: segment.and_then(|s| s.to_stream_time(pts?)),
            running_time: segment.and_then(|s| s.to_running_time(pts?)),
            duration: buffer.duration(),
        };
        let structure = message::facedetect_structure(&times, faces, info.width(), info.height());
        let _ = self.obj().post_message(
            gst::message::Element::builder(structure)
                .src(&*self.obj())
                .build(),
        );
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
                    .blurb("When to post a facedetect element message on the bus")
                    .mutable_playing()
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
            "model" | "model-dir" | "param-location" | "bin-location"
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
                 with its confidence and landmarks; optionally draws them.\n\
                 Example: gst-launch-1.0 filesrc location=video.mp4 ! decodebin ! videoconvert ! \
                 scrfddetect draw=true ! videoconvert ! autovideosink",
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
        *self.state.lock().unwrap() = Some(State::default());
        gst::info!(CAT, imp = self, "Started");
        Ok(())
    }

    fn stop(&self) -> Result<(), gst::ErrorMessage> {
        *self.state.lock().unwrap() = None;
        gst::info!(CAT, imp = self, "Stopped");
        Ok(())
    }

    fn transform_ip(
        &self,
        buffer: &mut gst::BufferRef,
    ) -> Result<gst::FlowSuccess, gst::FlowError> {
        let settings = self.settings.lock().unwrap().clone();
        let (info, layout) = {
            let state = self.state.lock().unwrap();
            let state = state.as_ref().ok_or(gst::FlowError::Flushing)?;
            match (&state.info, state.layout) {
                (Some(info), Some(layout)) => (info.clone(), layout),
                _ => return Err(gst::FlowError::NotNegotiated),
            }
        };

        // Take the detector out so that inference runs with no lock held.
        let mut loaded = self
            .model
            .lock()
            .unwrap()
            .take()
            .ok_or(gst::FlowError::Flushing)?;
        if loaded.detector.num_threads()
            != settings
                .num_threads()
                .unwrap_or_else(crate::ncnn::default_num_threads)
        {
            loaded.detector.set_num_threads(settings.num_threads());
        }

        let started = Instant::now();
        let result = {
            let frame = gst_video::VideoFrameRef::from_buffer_ref_readable(&*buffer, &info);
            match frame {
                Ok(frame) => match frame_image(&frame, layout) {
                    Ok(image) => loaded
                        .detector
                        .detect(&image, &settings.detect_params())
                        .map_err(|e| e.to_string()),
                    Err(err) => Err(format!("invalid frame layout: {err}")),
                },
                Err(_) => Err("could not map the frame for reading".to_owned()),
            }
        };
        *self.model.lock().unwrap() = Some(loaded);

        let faces = result.map_err(|err| {
            gst::element_imp_error!(
                self,
                gst::StreamError::Failed,
                ["Face detection failed: {}", err]
            );
            gst::FlowError::Error
        })?;
        gst::trace!(
            CAT,
            imp = self,
            "Found {} faces in {:.2} ms at {:?}",
            faces.len(),
            started.elapsed().as_secs_f64() * 1e3,
            buffer.pts()
        );

        for face in &faces {
            meta::attach_face(buffer, face, info.width(), info.height());
        }

        let post = {
            let mut state = self.state.lock().unwrap();
            let state = state.as_mut().ok_or(gst::FlowError::Flushing)?;
            let post = message::should_post(settings.updates, faces.len(), state.previous_faces);
            state.previous_faces = Some(faces.len());
            post
        };
        if post {
            self.post_faces_message(buffer, &faces, &info);
        }

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
        let state = state.get_or_insert_with(State::default);
        state.info = Some(in_info.clone());
        state.layout = Some(layout);
        state.previous_faces = None;
        Ok(())
    }
}
