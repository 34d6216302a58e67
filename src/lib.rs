//! GStreamer plugin `scrfd`: face detection with SCRFD running on ncnn.
#![deny(unsafe_code)]

pub mod detector;
pub mod ncnn;
