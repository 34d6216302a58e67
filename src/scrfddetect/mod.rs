//! The `scrfddetect` element.
//!
//! Finds faces with SCRFD on ncnn in every frame and attaches each one to
//! the buffer as a `GstVideoRegionOfInterestMeta` of type `"face"`.
//!
//! ```text
//! gst-launch-1.0 filesrc location=video.mp4 ! decodebin ! videoconvert ! \
//!     scrfddetect draw=true ! videoconvert ! autovideosink
//! ```

use gst::glib;
use gst::prelude::*;

mod anonymize;
mod draw;
mod formats;
mod imp;
mod message;
mod models;
mod schedule;
mod worker;

pub use models::{Anonymize, Carry, Mode, ModelVariant, Updates};

glib::wrapper! {
    pub struct ScrfdDetect(ObjectSubclass<imp::ScrfdDetect>)
        @extends gst_video::VideoFilter, gst_base::BaseTransform, gst::Element, gst::Object;
}

pub fn register(plugin: &gst::Plugin) -> Result<(), glib::BoolError> {
    ModelVariant::static_type().mark_as_plugin_api(gst::PluginAPIFlags::empty());
    Updates::static_type().mark_as_plugin_api(gst::PluginAPIFlags::empty());
    Anonymize::static_type().mark_as_plugin_api(gst::PluginAPIFlags::empty());
    Carry::static_type().mark_as_plugin_api(gst::PluginAPIFlags::empty());
    Mode::static_type().mark_as_plugin_api(gst::PluginAPIFlags::empty());
    crate::meta::register_frame_meta();
    gst::Element::register(
        Some(plugin),
        "scrfddetect",
        gst::Rank::NONE,
        ScrfdDetect::static_type(),
    )
}
