//! The `facedetect` element message posted per analysed frame.
//!
//! Same layout as the message of gst-plugins-bad's `facedetect`: structure
//! `facedetect` with `timestamp`, `stream-time`, `running-time` and
//! `duration` (guint64 nanoseconds, `GST_CLOCK_TIME_NONE` when unknown) and
//! `faces`, a list of `face` structures with `x`, `y`, `width`, `height`
//! (guint pixels). Each face adds `confidence` (double) and, for models
//! with landmarks, the landmark fields of the `landmarks` ROI parameter
//! (`left-eye-x` and so on, double pixels).

use crate::detector::Face;
use crate::meta::{LANDMARK_NAMES, roi_rect};

use super::models::Updates;

/// Timestamps of the frame a message describes.
#[derive(Debug, Clone, Copy, Default)]
pub struct FrameTimes {
    pub timestamp: Option<gst::ClockTime>,
    pub stream_time: Option<gst::ClockTime>,
    pub running_time: Option<gst::ClockTime>,
    pub duration: Option<gst::ClockTime>,
}

fn nanoseconds(time: Option<gst::ClockTime>) -> u64 {
    time.map(gst::ClockTime::nseconds).unwrap_or(u64::MAX)
}

/// Decides whether a frame with `faces` faces gets a message, given the
/// face count of the previous analysed frame.
pub fn should_post(updates: Updates, faces: usize, previous_faces: Option<usize>) -> bool {
    match updates {
        Updates::EveryFrame => true,
        Updates::OnChange => {
            previous_faces != Some(faces) && (faces > 0 || previous_faces.is_some())
        }
        Updates::OnFace => faces > 0,
        Updates::None => false,
    }
}

/// Builds the message structure for `faces` in a `width` x `height` frame.
pub fn facedetect_structure(
    times: &FrameTimes,
    faces: &[Face],
    width: u32,
    height: u32,
) -> gst::Structure {
    let list: Vec<glib::SendValue> = faces
        .iter()
        .map(|face| {
            let (x, y, w, h) = roi_rect(face, width, height);
            let mut builder = gst::Structure::builder("face")
                .field("x", x)
                .field("y", y)
                .field("width", w)
                .field("height", h)
                .field("confidence", face.score as f64);
            if let Some(landmarks) = face.landmarks {
                for (name, [px, py]) in LANDMARK_NAMES.iter().zip(landmarks) {
                    builder = builder
                        .field(format!("{name}-x"), px as f64)
                        .field(format!("{name}-y"), py as f64);
                }
            }
            use glib::value::ToSendValue;
            builder.build().to_send_value()
        })
        .collect();

    gst::Structure::builder("facedetect")
        .field("timestamp", nanoseconds(times.timestamp))
        .field("stream-time", nanoseconds(times.stream_time))
        .field("running-time", nanoseconds(times.running_time))
        .field("duration", nanoseconds(times.duration))
        .field("faces", gst::List::new(list))
        .build()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn on_change_posts_count_changes() {
        // The first frame without faces is no change; the first with one is.
        assert!(!should_post(Updates::OnChange, 0, None));
        assert!(should_post(Updates::OnChange, 1, None));
        assert!(!should_post(Updates::OnChange, 1, Some(1)));
        assert!(should_post(Updates::OnChange, 2, Some(1)));
        assert!(should_post(Updates::OnChange, 0, Some(2)));
    }

    #[test]
    fn other_update_modes() {
        assert!(should_post(Updates::EveryFrame, 0, Some(0)));
        assert!(should_post(Updates::OnFace, 3, Some(3)));
        assert!(!should_post(Updates::OnFace, 0, Some(3)));
        assert!(!should_post(Updates::None, 5, Some(0)));
    }

    #[test]
    fn structure_layout() {
        gst::init().unwrap();
        let face = Face {
            x0: 10.0,
            y0: 20.0,
            x1: 30.0,
            y1: 60.0,
            score: 0.75,
            landmarks: Some([[15.0, 30.0]; 5]),
        };
        let times = FrameTimes {
            timestamp: Some(gst::ClockTime::from_mseconds(40)),
            ..FrameTimes::default()
        };
        let s = facedetect_structure(&times, &[face], 100, 100);
        assert_eq!(s.name(), "facedetect");
        assert_eq!(s.get::<u64>("timestamp").unwrap(), 40_000_000);
        assert_eq!(s.get::<u64>("duration").unwrap(), u64::MAX);

        let faces = s.get::<gst::List>("faces").unwrap();
        assert_eq!(faces.len(), 1);
        let first = faces.as_slice()[0].get::<gst::Structure>().unwrap();
        assert_eq!(first.name(), "face");
        assert_eq!(first.get::<u32>("x").unwrap(), 10);
        assert_eq!(first.get::<u32>("height").unwrap(), 40);
        assert_eq!(first.get::<f64>("confidence").unwrap(), 0.75);
        assert_eq!(first.get::<f64>("nose-tip-y").unwrap(), 30.0);
    }
}
