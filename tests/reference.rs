//! The detector reproduces every reference detection file: five models,
//! input sizes 640 and 320, every still.

mod common;

use std::collections::HashMap;

use common::{
    RgbImage, compare_with_reference, load_png, load_reference, model_files, reference_files, still,
};
use gstscrfd::detector::{DetectParams, Detector, Image, PixelLayout};
use gstscrfd::ncnn::PixelOrder;

#[test]
fn detector_matches_every_reference_file() {
    let files = reference_files();
    assert!(
        files.len() >= 400,
        "only {} reference files found",
        files.len()
    );

    let mut images: HashMap<String, RgbImage> = HashMap::new();
    let mut detectors: HashMap<String, Detector> = HashMap::new();
    let mut failures = Vec::new();

    for path in &files {
        let reference = load_reference(path);
        let image = images
            .entry(reference.image.clone())
            .or_insert_with(|| load_png(&still(&reference.image)));
        assert_eq!(
            (image.width, image.height),
            (reference.width, reference.height),
            "{}",
            path.display()
        );

        let detector = detectors.entry(reference.model.clone()).or_insert_with(|| {
            let (param, bin) = model_files(&reference.model);
            Detector::load(&param, &bin, None).unwrap()
        });
        let params = DetectParams {
            input_size: reference.input_size,
            score_threshold: reference.score_threshold as f32,
            nms_threshold: reference.nms_threshold as f32,
        };

        // The reference path: ncnn's own resize, padding and normalisation.
        let with_ncnn = detector
            .detect_with_ncnn_resize(
                &image.pixels,
                PixelOrder::Rgb,
                image.width,
                image.height,
                image.width * 3,
                &params,
            )
            .unwrap();
        if let Err(diff) = compare_with_reference(&with_ncnn, &reference.faces) {
            failures.push(format!("{} (ncnn resize): {diff}", path.display()));
        }

        // The fused path builds the same net input, so its result is equal,
        // not only close.
        let rgb = Image::packed(
            &image.pixels,
            image.width,
            image.height,
            image.width * 3,
            PixelLayout::RGB,
        )
        .unwrap();
        let fused = detector.detect(&rgb, &params).unwrap();
        if fused != with_ncnn {
            failures.push(format!(
                "{} (fused): {fused:?} differs from the ncnn path {with_ncnn:?}",
                path.display()
            ));
        }
    }

    assert!(
        failures.is_empty(),
        "{} of {} files differ:\n{}",
        failures.len(),
        files.len(),
        failures.join("\n")
    );
}

#[test]
fn crowd_at_low_threshold_finishes() {
    // The 221-face WIDER image at threshold 0.02 makes thousands of
    // candidates; NMS must still finish and keep a plausible set.
    let name = "0_Parade_marchingband_1_490.png";
    let image = load_png(&still(name));
    let (param, bin) = model_files("scrfd_2.5g_kps");
    let mut detector = Detector::load(&param, &bin, None).unwrap();
    let rgb = Image::packed(
        &image.pixels,
        image.width,
        image.height,
        image.width * 3,
        PixelLayout::RGB,
    )
    .unwrap();
    let params = DetectParams {
        input_size: 640,
        score_threshold: 0.02,
        nms_threshold: 0.45,
    };
    let faces = detector.detect(&rgb, &params).unwrap();
    assert!(
        faces.len() > 221,
        "{} faces kept at threshold 0.02",
        faces.len()
    );
    assert!(faces.windows(2).all(|pair| pair[0].score >= pair[1].score));
    assert!(faces.iter().all(|face| face.score >= 0.02));
}
