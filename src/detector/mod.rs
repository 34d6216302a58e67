//! SCRFD face detection on ncnn, independent of GStreamer.
//!
//! The steps follow the SCRFD ncnn port: scale the long side of the image
//! to the input size, pad both sides to a multiple of 32, normalise every
//! channel to (v - 127.5) / 128, run the network, decode each of the three
//! heads (strides 8, 16 and 32; two anchors per cell centred at
//! (column * stride, row * stride); distances in units of the stride),
//! keep candidates at or above the score threshold, apply greedy NMS, map
//! back to image pixels and clamp boxes to the image.
//!
//! ```no_run
//! use gstscrfd::detector::{DetectParams, Detector, Image, PixelLayout};
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let mut detector = Detector::load(
//!     "models/scrfd_2.5g_kps.param".as_ref(),
//!     "models/scrfd_2.5g_kps.bin".as_ref(),
//!     None,
//! )?;
//! let (width, height) = (640, 480);
//! let pixels = vec![0u8; width * height * 3];
//! let image = Image::packed(&pixels, width, height, width * 3, PixelLayout::RGB)?;
//! for face in detector.detect(&image, &DetectParams::default())? {
//!     println!("{:.1} {:.1} {:.1} {:.1} score {:.3}", face.x0, face.y0, face.x1, face.y1, face.score);
//! }
//! # Ok(())
//! # }
//! ```

mod decode;
mod image;
mod letterbox;
mod model;
mod preprocess;

use std::path::{Path, PathBuf};

pub use decode::{FeatureMap, HeadMaps, ShapeError, generate_candidates, non_max_suppression};
pub use image::{
    ChromaSiting, ColourModel, Component, Image, ImageError, PixelLayout, Plane, YuvMatrix,
};
pub use letterbox::Letterbox;
pub use model::{HeadOutputs, LANDMARKS, ModelInfo, STRIDES};
pub use preprocess::{MEAN, NORM, PAD_VALUE, Scratch, ncnn_input, new_input, resize_normalize};

use crate::ncnn::{self, Mat, Net, PixelOrder};

/// A detected face in image pixels.
#[derive(Debug, Clone, PartialEq)]
pub struct Face {
    pub x0: f32,
    pub y0: f32,
    pub x1: f32,
    pub y1: f32,
    /// Confidence in [0, 1].
    pub score: f32,
    /// Left eye, right eye, nose tip, left mouth corner, right mouth corner
    /// as (x, y), for models with landmark outputs. Not clamped to the
    /// image.
    pub landmarks: Option<[[f32; 2]; LANDMARKS]>,
}

/// Failures of loading a model or running it.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("cannot read {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error("{path} is not a valid ncnn .param file: {reason}")]
    InvalidParam { path: PathBuf, reason: String },

    #[error("{path} is not an SCRFD model: {reason}")]
    NotScrfd { path: PathBuf, reason: String },

    #[error(transparent)]
    Ncnn(#[from] ncnn::Error),

    #[error(transparent)]
    Shape(#[from] ShapeError),

    #[error(transparent)]
    Image(#[from] ImageError),
}

/// Settings of one detection run.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DetectParams {
    /// Long side of the net input in pixels, before padding to a multiple
    /// of 32.
    pub input_size: usize,
    /// Minimum score of a face, in [0, 1].
    pub score_threshold: f32,
    /// Maximum IoU of a face with a higher-scored one, in [0, 1].
    pub nms_threshold: f32,
}

impl Default for DetectParams {
    /// Returns the defaults of the SCRFD ncnn port: 640, 0.5 and 0.45.
    fn default() -> DetectParams {
        DetectParams {
            input_size: 640,
            score_threshold: 0.5,
            nms_threshold: 0.45,
        }
    }
}

/// A frame scaled, padded and normalised into a net input, with the
/// placement that maps faces back to the frame.
#[derive(Debug)]
pub struct NetInput {
    letterbox: Letterbox,
    mat: Mat,
}

impl NetInput {
    pub fn letterbox(&self) -> &Letterbox {
        &self.letterbox
    }
}

/// Preprocessing state reused from frame to frame: resize tables, row
/// buffers and a spare net input whose padding is already written.
///
/// It is separate from [`Detector`] so that frames can be prepared on one
/// thread and run through the network on another.
#[derive(Debug, Default)]
pub struct Preprocessor {
    scratch: Scratch,
    spare: Option<NetInput>,
}

impl Preprocessor {
    pub fn new() -> Preprocessor {
        Preprocessor::default()
    }

    /// Scales, pads and normalises `image` for a net input whose long
    /// side is `input_size`, in one fused pass.
    ///
    /// Returns `None` for an image too small or too elongated to fill a
    /// net input row or column; such an image cannot hold a face.
    pub fn prepare(
        &mut self,
        image: &Image<'_>,
        input_size: usize,
    ) -> Result<Option<NetInput>, Error> {
        let Some(letterbox) = Letterbox::new(image.width(), image.height(), input_size) else {
            return Ok(None);
        };

        // Reuse the spare input when the letterbox is the same: its padding
        // already contains the padding value, and the image area is rewritten.
        let mut input = match self.spare.take() {
            Some(input) if input.letterbox == letterbox => input,
            _ => NetInput {
                letterbox,
                mat: preprocess::new_input(&letterbox)?,
            },
        };
        preprocess::resize_normalize(image, &letterbox, &mut input.mat, &mut self.scratch);
        Ok(Some(input))
    }

    /// Keeps `input` for the next frame of the same size.
    pub fn recycle(&mut self, input: NetInput) {
        self.spare = Some(input);
    }
}

/// A loaded SCRFD model.
pub struct Detector {
    net: Net,
    model: ModelInfo,
    preprocessor: Preprocessor,
}

impl Detector {
    /// Reads the model description from `param`, then loads the network
    /// from `param` and `bin`. `num_threads` of `None` uses ncnn's default.
    pub fn load(param: &Path, bin: &Path, num_threads: Option<u32>) -> Result<Detector, Error> {
        let model = ModelInfo::from_param_file(param)?;

        // ncnn reports a missing weights file only through its log, so
        // check it here to return an error that names it.
        std::fs::File::open(bin).map_err(|source| Error::Io {
            path: bin.to_owned(),
            source,
        })?;
        let net = Net::load(param, bin, num_threads)?;

        Ok(Detector {
            net,
            model,
            preprocessor: Preprocessor::new(),
        })
    }

    pub fn model(&self) -> &ModelInfo {
        &self.model
    }

    /// Sets the ncnn thread count; `None` restores ncnn's default.
    pub fn set_num_threads(&mut self, num_threads: Option<u32>) {
        self.net.set_num_threads(num_threads);
    }

    pub fn num_threads(&self) -> u32 {
        self.net.num_threads()
    }

    /// Finds the faces in `image`, preprocessing it in one fused pass.
    ///
    /// An image too small or too elongated to fill a net input row or
    /// column yields no faces.
    pub fn detect(&mut self, image: &Image<'_>, params: &DetectParams) -> Result<Vec<Face>, Error> {
        let Some(input) = self.preprocessor.prepare(image, params.input_size)? else {
            return Ok(Vec::new());
        };
        let faces = self.infer(&input, params);
        self.preprocessor.recycle(input);
        faces
    }

    /// Runs the network on a prepared input and returns the faces in
    /// pixels of the frame it was prepared from.
    pub fn infer(&self, input: &NetInput, params: &DetectParams) -> Result<Vec<Face>, Error> {
        self.run(&input.mat, &input.letterbox, params)
    }

    /// Finds the faces in packed 8-bit pixels with the input the SCRFD ncnn
    /// port builds ([`ncnn_input`]). Slower than [`Detector::detect`], which
    /// gives the same net input; kept as the reference path.
    pub fn detect_with_ncnn_resize(
        &mut self,
        pixels: &[u8],
        order: PixelOrder,
        width: usize,
        height: usize,
        stride: usize,
        params: &DetectParams,
    ) -> Result<Vec<Face>, Error> {
        let Some(letterbox) = Letterbox::new(width, height, params.input_size) else {
            return Ok(Vec::new());
        };

        let input = preprocess::ncnn_input(pixels, order, stride, &letterbox)?;

        self.run(&input, &letterbox, params)
    }

    /// Runs the network on a prepared input and decodes its outputs.
    fn run(
        &self,
        input: &Mat,
        letterbox: &Letterbox,
        params: &DetectParams,
    ) -> Result<Vec<Face>, Error> {
        let mut extractor = self.net.extractor();
        extractor.input(&self.model.input, input)?;

        let mut candidates = Vec::new();
        for head in &self.model.heads {
            let score = extractor.extract(&head.score)?;
            let bbox = extractor.extract(&head.bbox)?;
            let landmarks = match &head.landmarks {
                Some(name) => Some(extractor.extract(name)?),
                None => None,
            };

            let maps = HeadMaps {
                stride: head.stride,
                score: feature_map(&score),
                bbox: feature_map(&bbox),
                landmarks: landmarks.as_deref().map(feature_map),
            };
            generate_candidates(
                &maps,
                self.model.anchors_per_cell,
                letterbox.padded_width,
                letterbox.padded_height,
                params.score_threshold,
                &mut candidates,
            )?;
        }

        let mut faces = non_max_suppression(candidates, params.nms_threshold);
        for face in &mut faces {
            map_to_image(face, letterbox);
        }
        Ok(faces)
    }
}

fn feature_map(mat: &Mat) -> FeatureMap<'_> {
    let channels = (0..mat.channels()).map(|c| mat.channel(c)).collect();
    FeatureMap::new(mat.width(), mat.height(), channels)
}

/// Maps a face from net input pixels to image pixels and clamps its box
/// (not its landmarks) to the image.
pub fn map_to_image(face: &mut Face, letterbox: &Letterbox) {
    let (width, height) = (letterbox.image_width as f32, letterbox.image_height as f32);
    let (x0, y0) = letterbox.to_image(face.x0, face.y0);
    let (x1, y1) = letterbox.to_image(face.x1, face.y1);
    face.x0 = x0.clamp(0.0, width);
    face.y0 = y0.clamp(0.0, height);
    face.x1 = x1.clamp(0.0, width);
    face.y1 = y1.clamp(0.0, height);

    if let Some(landmarks) = &mut face.landmarks {
        for point in landmarks {
            let (x, y) = letterbox.to_image(point[0], point[1]);
            *point = [x, y];
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn boxes_map_back_and_clamp() {
        let letterbox = Letterbox::new(1280, 720, 640).unwrap();
        let mut face = Face {
            x0: 100.0,
            y0: 112.0,
            x1: 200.0,
            y1: 212.0,
            score: 0.9,
            landmarks: Some([[100.0, 112.0]; LANDMARKS]),
        };
        map_to_image(&mut face, &letterbox);
        assert_eq!(
            (face.x0, face.y0, face.x1, face.y1),
            (200.0, 200.0, 400.0, 400.0)
        );
        assert_eq!(face.landmarks.unwrap()[4], [200.0, 200.0]);

        let mut border = Face {
            x0: -13.0,
            y0: 2.0,
            x1: 700.0,
            y1: 380.0,
            score: 0.9,
            landmarks: Some([[-20.0, 0.0]; LANDMARKS]),
        };
        map_to_image(&mut border, &letterbox);
        assert_eq!((border.x0, border.y0), (0.0, 0.0));
        assert_eq!((border.x1, border.y1), (1280.0, 720.0));
        // Landmarks keep their position outside the frame.
        assert_eq!(border.landmarks.unwrap()[0], [-40.0, -24.0]);
    }
}
