//! GStreamer plugin `scrfd`: face detection with SCRFD running on ncnn.
//!
//! The element `scrfddetect` finds faces in raw video frames, attaches each
//! one to the buffer as a `GstVideoRegionOfInterestMeta` and can draw them.
//! The detector itself ([`detector`]) and the ncnn binding ([`ncnn`]) are
//! plain Rust and usable without GStreamer; [`meta`] reads the faces back
//! from a buffer.
#![deny(unsafe_code)]

pub mod detector;
pub mod meta;
pub mod ncnn;
mod scrfddetect;

pub use scrfddetect::{Anonymize, Carry, Mode, ModelVariant, ScrfdDetect, Updates};

fn plugin_init(plugin: &gst::Plugin) -> Result<(), glib::BoolError> {
    scrfddetect::register(plugin)
}

gst::plugin_define!(
    scrfd,
    env!("CARGO_PKG_DESCRIPTION"),
    plugin_init,
    concat!(env!("CARGO_PKG_VERSION"), "-", env!("COMMIT_ID")),
    "MPL",
    env!("CARGO_PKG_NAME"),
    env!("CARGO_PKG_NAME"),
    // GStreamer's own placeholder while the project has no public home.
    "Unknown package origin",
    env!("BUILD_REL_DATE")
);
