//! Helpers shared by the integration tests: test data, PNG decoding and the
//! reference detections.
#![allow(dead_code)]

pub mod process;

use std::fs::File;
use std::io::BufReader;
use std::path::{Path, PathBuf};

use gstscrfd::detector::Face;

/// Initialises GStreamer and registers the plugin once per test binary.
pub fn init() {
    static INIT: std::sync::Once = std::sync::Once::new();
    INIT.call_once(|| {
        gst::init().unwrap();
        gstscrfd::plugin_register_static().expect("scrfd plugin registers");
    });
}

/// Makes a `scrfddetect` that loads its model from the test models, with
/// `properties` set.
pub fn detector_element(properties: &[(&str, &dyn gst::glib::value::ToValue)]) -> gst::Element {
    init();
    let element = gst::ElementFactory::make("scrfddetect")
        .property("model-dir", model_dir().to_str().unwrap())
        .build()
        .unwrap();
    for (name, value) in properties {
        gst::prelude::ObjectExt::set_property_from_value(&element, name, &value.to_value());
    }
    element
}

/// Makes a harness around `detector_element(properties)`.
pub fn detector_harness(
    properties: &[(&str, &dyn gst::glib::value::ToValue)],
) -> gst_check::Harness {
    gst_check::Harness::with_element(&detector_element(properties), Some("sink"), Some("src"))
}

/// Packs `image` into an RGB buffer with GStreamer's default row stride.
pub fn rgb_buffer(image: &RgbImage) -> gst::Buffer {
    init();
    let info = gst_video::VideoInfo::builder(
        gst_video::VideoFormat::Rgb,
        image.width as u32,
        image.height as u32,
    )
    .build()
    .unwrap();
    let stride = info.stride()[0] as usize;
    let mut data = vec![0u8; info.size()];
    for (y, row) in image.pixels.chunks_exact(image.width * 3).enumerate() {
        data[y * stride..][..row.len()].copy_from_slice(row);
    }
    gst::Buffer::from_mut_slice(data)
}

/// Returns the folder with test media, models and reference detections:
/// the SCRFD_TEST_DATA environment variable, else `../shared` beside the
/// crate.
pub fn shared_dir() -> PathBuf {
    std::env::var_os("SCRFD_TEST_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared"))
}

/// Returns the model folder: the first folder in SCRFD_MODEL_PATH, else
/// the test data's models folder.
pub fn model_dir() -> PathBuf {
    std::env::var_os("SCRFD_MODEL_PATH")
        .and_then(|paths| std::env::split_paths(&paths).next())
        .unwrap_or_else(|| shared_dir().join("models"))
}

pub fn model_files(stem: &str) -> (PathBuf, PathBuf) {
    let dir = model_dir();
    let files = (
        dir.join(format!("{stem}.param")),
        dir.join(format!("{stem}.bin")),
    );
    assert!(
        files.0.is_file(),
        "{} not found: set SCRFD_MODEL_PATH to the folder with the SCRFD models",
        files.0.display()
    );
    files
}

/// A tightly packed 8-bit RGB image.
#[derive(Clone)]
pub struct RgbImage {
    pub width: usize,
    pub height: usize,
    pub pixels: Vec<u8>,
}

impl RgbImage {
    pub fn pixel(&self, x: usize, y: usize) -> [u8; 3] {
        let i = (y * self.width + x) * 3;
        [self.pixels[i], self.pixels[i + 1], self.pixels[i + 2]]
    }

    /// Copies the `width` x `height` area whose top-left corner is (x, y).
    pub fn crop(&self, x: usize, y: usize, width: usize, height: usize) -> RgbImage {
        let mut pixels = Vec::with_capacity(width * height * 3);
        for row in y..y + height {
            let start = (row * self.width + x) * 3;
            pixels.extend_from_slice(&self.pixels[start..start + width * 3]);
        }
        RgbImage {
            width,
            height,
            pixels,
        }
    }
}

/// Decodes a PNG into RGB, dropping alpha and expanding grey.
pub fn load_png(path: &Path) -> RgbImage {
    let file = File::open(path).unwrap_or_else(|e| panic!("cannot open {}: {e}", path.display()));
    let mut decoder = png::Decoder::new(BufReader::new(file));
    decoder.set_transformations(png::Transformations::EXPAND | png::Transformations::STRIP_16);
    let mut reader = decoder.read_info().expect("PNG header");
    let mut buffer = vec![0; reader.output_buffer_size().expect("PNG size")];
    let info = reader.next_frame(&mut buffer).expect("PNG data");
    let (width, height) = (info.width as usize, info.height as usize);

    let channels = info.color_type.samples();
    let mut pixels = Vec::with_capacity(width * height * 3);
    for y in 0..height {
        let row = &buffer[y * info.line_size..][..width * channels];
        for pixel in row.chunks_exact(channels) {
            match channels {
                1 | 2 => pixels.extend_from_slice(&[pixel[0]; 3]),
                _ => pixels.extend_from_slice(&pixel[..3]),
            }
        }
    }
    RgbImage {
        width,
        height,
        pixels,
    }
}

/// Path of a still by its file name, from images/ or wider/images/.
pub fn still(name: &str) -> PathBuf {
    let media = shared_dir().join("media");
    let direct = media.join("images").join(name);
    if direct.is_file() {
        direct
    } else {
        media.join("wider/images").join(name)
    }
}

/// One face of a reference file.
#[derive(Debug, Clone)]
pub struct ReferenceFace {
    pub x0: f64,
    pub y0: f64,
    pub x1: f64,
    pub y1: f64,
    pub score: f64,
    pub landmarks: Option<Vec<f64>>,
}

#[derive(Debug, Clone)]
pub struct Reference {
    pub path: PathBuf,
    pub image: String,
    pub width: usize,
    pub height: usize,
    pub model: String,
    pub input_size: usize,
    pub score_threshold: f64,
    pub nms_threshold: f64,
    pub faces: Vec<ReferenceFace>,
}

pub fn load_reference(path: &Path) -> Reference {
    let text = std::fs::read_to_string(path).unwrap();
    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
    let number = |v: &serde_json::Value, key: &str| {
        v[key]
            .as_f64()
            .unwrap_or_else(|| panic!("{key} in {}", path.display()))
    };
    let faces = json["faces"]
        .as_array()
        .unwrap()
        .iter()
        .map(|face| ReferenceFace {
            x0: number(face, "x0"),
            y0: number(face, "y0"),
            x1: number(face, "x1"),
            y1: number(face, "y1"),
            score: number(face, "score"),
            landmarks: face["landmarks"]
                .as_array()
                .map(|values| values.iter().map(|v| v.as_f64().unwrap()).collect()),
        })
        .collect();
    Reference {
        path: path.to_owned(),
        image: json["image"].as_str().unwrap().to_owned(),
        width: number(&json, "width") as usize,
        height: number(&json, "height") as usize,
        model: json["model"].as_str().unwrap().to_owned(),
        input_size: number(&json, "input_size") as usize,
        score_threshold: number(&json, "score_threshold"),
        nms_threshold: number(&json, "nms_threshold"),
        faces,
    }
}

/// Lists every reference file, sorted by path.
pub fn reference_files() -> Vec<PathBuf> {
    let root = shared_dir().join("reference");
    let mut files = Vec::new();
    for model in std::fs::read_dir(&root).unwrap_or_else(|e| panic!("{}: {e}", root.display())) {
        let model = model.unwrap().path();
        if !model.is_dir() {
            continue;
        }
        for size in std::fs::read_dir(&model).unwrap() {
            for file in std::fs::read_dir(size.unwrap().path()).unwrap() {
                let file = file.unwrap().path();
                if file.extension().is_some_and(|e| e == "json") {
                    files.push(file);
                }
            }
        }
    }
    files.sort();
    files
}

/// Largest coordinate and score differences the reference allows: its
/// printed precision plus f32 noise.
pub const COORDINATE_TOLERANCE: f64 = 0.01;
pub const SCORE_TOLERANCE: f64 = 2e-5;

/// Returns what differs between `face` and `reference`, if anything.
fn face_difference(face: &Face, reference: &ReferenceFace) -> Option<String> {
    let coordinates = [
        (face.x0, reference.x0),
        (face.y0, reference.y0),
        (face.x1, reference.x1),
        (face.y1, reference.y1),
    ];
    if coordinates
        .iter()
        .any(|&(actual, wanted)| (actual as f64 - wanted).abs() > COORDINATE_TOLERANCE)
    {
        return Some(format!("box {face:?} differs from {reference:?}"));
    }
    if (face.score as f64 - reference.score).abs() > SCORE_TOLERANCE {
        return Some(format!(
            "score {} differs from {}",
            face.score, reference.score
        ));
    }
    match (&face.landmarks, &reference.landmarks) {
        (Some(points), Some(wanted)) => {
            let actual: Vec<f64> = points.iter().flatten().map(|&v| v as f64).collect();
            if actual.len() != wanted.len() {
                return Some(format!(
                    "{} landmark values, reference {}",
                    actual.len(),
                    wanted.len()
                ));
            }
            for (k, (a, w)) in actual.iter().zip(wanted).enumerate() {
                if (a - w).abs() > COORDINATE_TOLERANCE {
                    return Some(format!("landmark value {k} is {a}, reference {w}"));
                }
            }
            None
        }
        (None, None) => None,
        (actual, wanted) => Some(format!("landmarks {actual:?}, reference {wanted:?}")),
    }
}

/// Checks that `faces` equal the reference faces one by one, in order;
/// returns what differs.
///
/// Faces are sorted by score, and two scores that print the same at 5
/// decimals can come out in either order after last-bit differences
/// between CPUs (AVX2 versus AVX-512 kernels in ncnn). So a face may take
/// the place of another whose reference score is within the score
/// tolerance of the score expected at that place. Any other order
/// difference is a failure.
pub fn compare_with_reference(faces: &[Face], expected: &[ReferenceFace]) -> Result<(), String> {
    if faces.len() != expected.len() {
        return Err(format!(
            "{} faces, reference has {}\nfound: {faces:?}\nexpected: {expected:?}",
            faces.len(),
            expected.len()
        ));
    }
    let mut used = vec![false; expected.len()];
    for (index, face) in faces.iter().enumerate() {
        let tied = |j: usize| (expected[j].score - expected[index].score).abs() <= SCORE_TOLERANCE;
        let candidates =
            std::iter::once(index).chain((0..expected.len()).filter(|&j| j != index && tied(j)));
        let mut first_difference = None;
        let mut matched = false;
        for j in candidates {
            if used[j] {
                continue;
            }
            match face_difference(face, &expected[j]) {
                None => {
                    used[j] = true;
                    matched = true;
                    break;
                }
                Some(diff) => {
                    first_difference.get_or_insert(diff);
                }
            }
        }
        if !matched {
            return Err(format!(
                "face {index}: {}",
                first_difference.unwrap_or_else(|| "no reference face left".to_owned())
            ));
        }
    }
    Ok(())
}

/// Returns the reference faces a run at `threshold` gives. A face can only
/// be suppressed by a higher-scored one, so filtering is exact.
pub fn at_threshold(faces: &[ReferenceFace], threshold: f64) -> Vec<ReferenceFace> {
    faces
        .iter()
        .filter(|f| f.score >= threshold)
        .cloned()
        .collect()
}
