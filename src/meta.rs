//! The metadata `scrfddetect` attaches to buffers, and reading it back.
//!
//! Each face is a `GstVideoRegionOfInterestMeta` of type `"face"` whose
//! rectangle is the box clamped to the frame and rounded to whole pixels.
//! Its `id` is its position among the face regions of the buffer: 0 for
//! the first attached (the highest confidence), then 1, 2 and so on, so
//! `gst_buffer_get_video_region_of_interest_meta_id()` finds each face.
//! It carries these parameter structures:
//!
//! - `detection`, the structure Intel DL Streamer and other GStreamer
//!   analytics elements read: `label` (string, `"face"`), `label_id`
//!   (int, 0), `confidence` (double, 0 to 1) and `x_min`, `y_min`, `x_max`,
//!   `y_max` (double, the unrounded clamped box divided by the frame width
//!   or height, so 0 to 1);
//! - `landmarks`, only for models with landmarks: `left-eye-x`,
//!   `left-eye-y`, `right-eye-x`, `right-eye-y`, `nose-tip-x`,
//!   `nose-tip-y`, `left-mouth-corner-x`, `left-mouth-corner-y`,
//!   `right-mouth-corner-x`, `right-mouth-corner-y` (double, frame pixels,
//!   not clamped: a landmark of a face cut by the frame edge can lie
//!   outside the frame);
//! - `analysis`: `carried` (boolean, true when the face was found in an
//!   earlier frame and carried to this one), `age-frames` (guint64, frames
//!   since the analysed frame, 0 when fresh), `age` (guint64 nanoseconds of
//!   stream time since the analysed frame, `GST_CLOCK_TIME_NONE` when
//!   unknown) and `source-pts` (guint64, the PTS of the analysed frame).
//!
//! Every buffer that passes the element also carries a `GstCustomMeta`
//! named `ScrfdDetectFrameMeta` whose structure `scrfddetect` says what the
//! frame carries: `status` (string: `analysed`, `carried` or `none`),
//! `faces` (guint) and, for `carried`, the same `age-frames`, `age` and
//! `source-pts` fields.
//!
//! ```
//! use gstscrfd::detector::Face;
//! use gstscrfd::meta::{attach_face, faces};
//!
//! gst::init().unwrap();
//! let mut buffer = gst::Buffer::new();
//! let face = Face { x0: 10.4, y0: 20.0, x1: 50.0, y1: 70.6, score: 0.9, landmarks: None };
//! attach_face(buffer.get_mut().unwrap(), &face, 640, 480, None);
//!
//! let read = faces(&buffer);
//! assert_eq!(read.len(), 1);
//! assert_eq!((read[0].x, read[0].y, read[0].width, read[0].height), (10, 20, 40, 51));
//! assert!((read[0].confidence - 0.9).abs() < 1e-6);
//! assert!((read[0].x_min - 10.4 / 640.0).abs() < 1e-9);
//! assert!(read[0].landmarks.is_none());
//! assert!(read[0].carried.is_none());
//! ```

use gst_video::VideoRegionOfInterestMeta;

use crate::detector::{Face, LANDMARKS};

/// Region-of-interest type of every face.
pub const ROI_TYPE: &str = "face";

/// Name of the DL Streamer-compatible parameter structure.
pub const DETECTION_STRUCTURE: &str = "detection";

/// Name of the landmark parameter structure.
pub const LANDMARKS_STRUCTURE: &str = "landmarks";

/// Landmark names in model order; field names are `<name>-x`, `<name>-y`.
pub const LANDMARK_NAMES: [&str; LANDMARKS] = [
    "left-eye",
    "right-eye",
    "nose-tip",
    "left-mouth-corner",
    "right-mouth-corner",
];

/// Name of the per-face structure that records whether a face is carried.
pub const ANALYSIS_STRUCTURE: &str = "analysis";

/// Name of the custom meta that records what a frame carries.
pub const FRAME_META: &str = "ScrfdDetectFrameMeta";

/// Age of carried results.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Carried {
    /// Frames between the analysed frame and this one.
    pub age_frames: u64,
    /// Stream time between the analysed frame and this one, when both
    /// frames have timestamps.
    pub age: Option<gst::ClockTime>,
    /// PTS of the analysed frame.
    pub source_pts: Option<gst::ClockTime>,
}

/// Content of a frame that passed the element.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FrameStatus {
    /// The frame was analysed; its faces are its own.
    Analysed,
    /// The frame carries the faces of an earlier analysed frame.
    Carried(Carried),
    /// The frame was not analysed and carries no faces: carrying is off,
    /// the last results expired, or there are none yet.
    None,
}

fn clock_time_field(time: Option<gst::ClockTime>) -> u64 {
    time.map(gst::ClockTime::nseconds).unwrap_or(u64::MAX)
}

fn clock_time_value(value: u64) -> Option<gst::ClockTime> {
    (value != u64::MAX).then(|| gst::ClockTime::from_nseconds(value))
}

/// Registers the frame custom meta; later calls do nothing.
pub fn register_frame_meta() {
    static REGISTER: std::sync::Once = std::sync::Once::new();
    REGISTER.call_once(|| gst::meta::CustomMeta::register(FRAME_META, &[]));
}

/// Attaches the frame custom meta with `status` and the face count.
pub fn attach_frame_status(buffer: &mut gst::BufferRef, status: &FrameStatus, faces: usize) {
    register_frame_meta();
    let Ok(mut meta) = gst::meta::CustomMeta::add(buffer, FRAME_META) else {
        return;
    };
    let structure = meta.mut_structure();
    structure.set_name("scrfddetect");
    structure.set("faces", u32::try_from(faces).unwrap_or(u32::MAX));
    match status {
        FrameStatus::Analysed => structure.set("status", "analysed"),
        FrameStatus::None => structure.set("status", "none"),
        FrameStatus::Carried(carried) => {
            structure.set("status", "carried");
            structure.set("age-frames", carried.age_frames);
            structure.set("age", clock_time_field(carried.age));
            structure.set("source-pts", clock_time_field(carried.source_pts));
        }
    }
}

/// Reads the frame custom meta of `buffer`, if the element attached one.
pub fn frame_status(buffer: &gst::BufferRef) -> Option<FrameStatus> {
    if !gst::meta::CustomMeta::is_registered(FRAME_META) {
        return None;
    }
    let meta = gst::meta::CustomMeta::from_buffer(buffer, FRAME_META).ok()?;
    let structure = meta.structure();
    match structure.get::<&str>("status").ok()? {
        "analysed" => Some(FrameStatus::Analysed),
        "none" => Some(FrameStatus::None),
        "carried" => Some(FrameStatus::Carried(read_carried(structure)?)),
        _ => None,
    }
}

fn read_carried(structure: &gst::StructureRef) -> Option<Carried> {
    Some(Carried {
        age_frames: structure.get("age-frames").ok()?,
        age: clock_time_value(structure.get("age").ok()?),
        source_pts: clock_time_value(structure.get("source-pts").ok()?),
    })
}

/// A face read back from a buffer.
#[derive(Debug, Clone, PartialEq)]
pub struct DetectedFace {
    /// The region-of-interest rectangle in whole frame pixels.
    pub x: u32,
    pub y: u32,
    pub width: u32,
    pub height: u32,
    /// The unrounded box divided by the frame width (x) or height (y).
    pub x_min: f64,
    pub y_min: f64,
    pub x_max: f64,
    pub y_max: f64,
    /// Confidence, 0 to 1.
    pub confidence: f64,
    /// Left eye, right eye, nose tip, left mouth corner, right mouth corner
    /// as (x, y) in frame pixels, for models with landmarks.
    pub landmarks: Option<[[f64; 2]; LANDMARKS]>,
    /// Set when the face was found in an earlier frame and carried to this
    /// one; `None` for a face of this frame's own analysis.
    pub carried: Option<Carried>,
}

/// Returns the ROI rectangle of a face box: corners rounded to the nearest
/// pixel and kept inside a `frame_width` x `frame_height` frame, so that no
/// unsigned field can wrap around.
pub fn roi_rect(face: &Face, frame_width: u32, frame_height: u32) -> (u32, u32, u32, u32) {
    let round = |v: f32, limit: u32| (v.round().max(0.0) as u32).min(limit);
    let x0 = round(face.x0, frame_width);
    let y0 = round(face.y0, frame_height);
    let x1 = round(face.x1, frame_width).max(x0);
    let y1 = round(face.y1, frame_height).max(y0);
    (x0, y0, x1 - x0, y1 - y0)
}

/// Builds the `landmarks` structure of a face, when it has landmarks.
pub fn landmarks_structure(face: &Face) -> Option<gst::Structure> {
    let landmarks = face.landmarks?;
    let mut builder = gst::Structure::builder(LANDMARKS_STRUCTURE);
    for (name, [x, y]) in LANDMARK_NAMES.iter().zip(landmarks) {
        builder = builder
            .field(format!("{name}-x"), x as f64)
            .field(format!("{name}-y"), y as f64);
    }
    Some(builder.build())
}

/// Attaches `face`, given in pixels of a `frame_width` x `frame_height`
/// frame, as a region-of-interest meta with its parameter structures and
/// the next free face id; `carried` is set for a face of an earlier frame.
pub fn attach_face(
    buffer: &mut gst::BufferRef,
    face: &Face,
    frame_width: u32,
    frame_height: u32,
    carried: Option<&Carried>,
) {
    let id = buffer
        .iter_meta::<VideoRegionOfInterestMeta>()
        .filter(|meta| meta.roi_type() == ROI_TYPE)
        .count();
    let rect = roi_rect(face, frame_width, frame_height);
    let clamp = |v: f32, limit: u32| (v as f64).clamp(0.0, limit as f64) / limit.max(1) as f64;

    let detection = gst::Structure::builder(DETECTION_STRUCTURE)
        .field("label", ROI_TYPE)
        .field("label_id", 0i32)
        .field("confidence", face.score as f64)
        .field("x_min", clamp(face.x0, frame_width))
        .field("y_min", clamp(face.y0, frame_height))
        .field("x_max", clamp(face.x1, frame_width))
        .field("y_max", clamp(face.y1, frame_height))
        .build();

    let mut meta = VideoRegionOfInterestMeta::add(buffer, ROI_TYPE, rect);
    meta.set_id(i32::try_from(id).unwrap_or(i32::MAX));
    meta.add_param(detection);
    if let Some(landmarks) = landmarks_structure(face) {
        meta.add_param(landmarks);
    }
    let analysis = match carried {
        Some(carried) => gst::Structure::builder(ANALYSIS_STRUCTURE)
            .field("carried", true)
            .field("age-frames", carried.age_frames)
            .field("age", clock_time_field(carried.age))
            .field("source-pts", clock_time_field(carried.source_pts)),
        None => gst::Structure::builder(ANALYSIS_STRUCTURE)
            .field("carried", false)
            .field("age-frames", 0u64)
            .field("age", 0u64),
    };
    meta.add_param(analysis.build());
}

/// Reads the faces attached to `buffer`: every region-of-interest meta of
/// type `"face"` that carries a `detection` structure, in the order they
/// were attached (descending confidence for `scrfddetect`).
pub fn faces(buffer: &gst::BufferRef) -> Vec<DetectedFace> {
    buffer
        .iter_meta::<VideoRegionOfInterestMeta>()
        .filter(|meta| meta.roi_type() == ROI_TYPE)
        .filter_map(|meta| read_face(&meta))
        .collect()
}

fn read_face(meta: &VideoRegionOfInterestMeta) -> Option<DetectedFace> {
    let detection = meta.param(DETECTION_STRUCTURE)?;
    let number = |name: &str| detection.get::<f64>(name).ok();
    let (x, y, width, height) = meta.rect();

    let landmarks = meta.param(LANDMARKS_STRUCTURE).and_then(|s| {
        let mut points = [[0.0; 2]; LANDMARKS];
        for (point, name) in points.iter_mut().zip(LANDMARK_NAMES) {
            *point = [
                s.get::<f64>(format!("{name}-x").as_str()).ok()?,
                s.get::<f64>(format!("{name}-y").as_str()).ok()?,
            ];
        }
        Some(points)
    });

    Some(DetectedFace {
        x,
        y,
        width,
        height,
        x_min: number("x_min")?,
        y_min: number("y_min")?,
        x_max: number("x_max")?,
        y_max: number("y_max")?,
        confidence: number("confidence")?,
        landmarks,
        carried: meta
            .param(ANALYSIS_STRUCTURE)
            .filter(|s| s.get::<bool>("carried").unwrap_or(false))
            .and_then(read_carried),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn face(x0: f32, y0: f32, x1: f32, y1: f32) -> Face {
        Face {
            x0,
            y0,
            x1,
            y1,
            score: 0.5,
            landmarks: None,
        }
    }

    #[test]
    fn rect_never_wraps() {
        assert_eq!(
            roi_rect(&face(-26.0, -3.0, 40.0, 50.0), 100, 100),
            (0, 0, 40, 50)
        );
        assert_eq!(
            roi_rect(&face(90.0, 95.0, 130.0, 120.0), 100, 100),
            (90, 95, 10, 5)
        );
        assert_eq!(
            roi_rect(&face(120.0, 10.0, 130.0, 20.0), 100, 100),
            (100, 10, 0, 10)
        );
        assert_eq!(
            roi_rect(&face(10.0, 10.0, 5.0, 5.0), 100, 100),
            (10, 10, 0, 0)
        );
    }

    #[test]
    fn faces_round_trip() {
        gst::init().unwrap();
        let mut buffer = gst::Buffer::new();
        let mut with_landmarks = face(100.25, 50.5, 300.75, 290.0);
        with_landmarks.score = 0.8125;
        with_landmarks.landmarks = Some([
            [150.0, 120.0],
            [250.0, 121.0],
            [200.0, 180.0],
            [160.0, 240.0],
            [240.0, 241.5],
        ]);
        {
            let buffer = buffer.get_mut().unwrap();
            attach_face(buffer, &with_landmarks, 640, 360, None);
            let carried = Carried {
                age_frames: 2,
                age: Some(gst::ClockTime::from_mseconds(80)),
                source_pts: None,
            };
            attach_face(
                buffer,
                &face(0.0, 0.0, 64.0, 36.0),
                640,
                360,
                Some(&carried),
            );
            attach_frame_status(buffer, &FrameStatus::Carried(carried), 2);
            // A region of another type is not a face.
            VideoRegionOfInterestMeta::add(buffer, "car", (1, 2, 3, 4));
        }

        let read = faces(&buffer);
        assert_eq!(read.len(), 2);
        let ids: Vec<i32> = buffer
            .iter_meta::<VideoRegionOfInterestMeta>()
            .map(|m| m.id())
            .collect();
        assert_eq!(ids, [0, 1, 0]);
        assert_eq!(
            (read[0].x, read[0].y, read[0].width, read[0].height),
            (100, 51, 201, 239)
        );
        assert_eq!(read[0].x_min, 100.25 / 640.0);
        assert_eq!(read[0].y_max, 290.0 / 360.0);
        assert_eq!(read[0].confidence, 0.8125);
        assert_eq!(read[0].landmarks.unwrap()[4], [240.0, 241.5]);
        assert!(read[1].landmarks.is_none());
        assert!(read[0].carried.is_none());
        let carried = read[1].carried.unwrap();
        assert_eq!(carried.age_frames, 2);
        assert_eq!(carried.age, Some(gst::ClockTime::from_mseconds(80)));
        assert_eq!(carried.source_pts, None);
        assert_eq!(frame_status(&buffer), Some(FrameStatus::Carried(carried)));
    }
}
