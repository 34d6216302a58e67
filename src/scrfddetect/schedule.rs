//! Which frames are analysed and what the others carry.
//!
//! Frames are counted from 0 after every start, flush and caps change.
//! With an interval of N, frames 0, N, 2N, ... are analysed (unless QoS
//! says they are late); every other frame carries the newest analysis,
//! marked as carried with its age, or nothing, as the `carry` property
//! says. Carried results older than `max-age` of stream time are dropped.

use std::time::Duration;

use crate::detector::Face;
use crate::meta::Carried;

/// Timestamps and position of one frame.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FrameStamp {
    /// Frames since the last start, flush or caps change.
    pub index: u64,
    pub pts: Option<gst::ClockTime>,
    pub duration: Option<gst::ClockTime>,
    pub stream_time: Option<gst::ClockTime>,
    pub running_time: Option<gst::ClockTime>,
}

/// The faces found in one frame.
#[derive(Debug, Clone)]
pub struct Analysis {
    pub faces: Vec<Face>,
    pub stamp: FrameStamp,
    /// Width and height of the analysed frame.
    pub frame_size: (u32, u32),
    /// Time the analysis took.
    pub duration: Duration,
}

/// Returns whether frame `index` is due for analysis at `interval`.
pub fn is_due(index: u64, interval: u32) -> bool {
    index.is_multiple_of(u64::from(interval.max(1)))
}

/// Returns how old `analysis` is at frame `now`, or `None` when it is older
/// than `max_age` of stream time. Frames without stream times, and any
/// frame when `max_age` is `None`, never expire by age.
pub fn carry(
    analysis: &Analysis,
    now: &FrameStamp,
    max_age: Option<gst::ClockTime>,
) -> Option<Carried> {
    let age = now
        .stream_time
        .zip(analysis.stamp.stream_time)
        .map(|(now, then)| now.saturating_sub(then));
    if age.zip(max_age).is_some_and(|(age, max_age)| age > max_age) {
        return None;
    }
    Some(Carried {
        age_frames: now.index.saturating_sub(analysis.stamp.index),
        age,
        source_pts: analysis.stamp.pts,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stamp(index: u64, millis: u64) -> FrameStamp {
        let time = Some(gst::ClockTime::from_mseconds(millis));
        FrameStamp {
            index,
            pts: time,
            duration: Some(gst::ClockTime::from_mseconds(40)),
            stream_time: time,
            running_time: time,
        }
    }

    fn analysis_at(index: u64, millis: u64) -> Analysis {
        Analysis {
            faces: Vec::new(),
            stamp: stamp(index, millis),
            frame_size: (640, 480),
            duration: Duration::ZERO,
        }
    }

    #[test]
    fn interval_picks_every_nth_frame() {
        let due: Vec<u64> = (0..11).filter(|&i| is_due(i, 5)).collect();
        assert_eq!(due, [0, 5, 10]);
        assert!((0..5).all(|i| is_due(i, 1)));
        assert!(is_due(0, 0), "an interval of 0 behaves as 1");
    }

    #[test]
    fn carried_results_know_their_age() {
        let carried = carry(
            &analysis_at(10, 400),
            &stamp(13, 520),
            Some(gst::ClockTime::SECOND),
        )
        .unwrap();
        assert_eq!(carried.age_frames, 3);
        assert_eq!(carried.age, Some(gst::ClockTime::from_mseconds(120)));
        assert_eq!(carried.source_pts, Some(gst::ClockTime::from_mseconds(400)));
    }

    #[test]
    fn old_results_expire() {
        let max_age = Some(gst::ClockTime::from_mseconds(500));
        let analysis = analysis_at(0, 0);
        assert!(carry(&analysis, &stamp(12, 480), max_age).is_some());
        assert!(carry(&analysis, &stamp(13, 500), max_age).is_some());
        assert!(carry(&analysis, &stamp(14, 520), max_age).is_none());
    }

    #[test]
    fn no_maximum_age_never_expires() {
        let carried = carry(&analysis_at(0, 0), &stamp(100_000, 4_000_000), None).unwrap();
        assert_eq!(carried.age, Some(gst::ClockTime::from_seconds(4000)));
    }

    #[test]
    fn frames_without_times_never_expire() {
        let mut now = stamp(1000, 0);
        now.stream_time = None;
        let carried = carry(&analysis_at(0, 0), &now, Some(gst::ClockTime::ZERO)).unwrap();
        assert_eq!(carried.age, None);
        assert_eq!(carried.age_frames, 1000);
    }
}
