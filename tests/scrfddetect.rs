//! Tests of the `scrfddetect` element through `gst_check::Harness`, on real
//! stills with the real models.

mod common;

use common::{
    RgbImage, at_threshold, compare_with_reference, detector_harness, init, load_png,
    load_reference, model_dir, shared_dir, still,
};
use gst::prelude::*;
use gst_video::VideoFormat;
use gstscrfd::detector::{DetectParams, Detector, Face, Image, PixelLayout};
use gstscrfd::meta::{DetectedFace, faces};

/// The ten packed RGB formats with the byte offsets of red, green, blue.
const RGB_FORMATS: [(VideoFormat, usize, [usize; 3]); 10] = [
    (VideoFormat::Rgb, 3, [0, 1, 2]),
    (VideoFormat::Bgr, 3, [2, 1, 0]),
    (VideoFormat::Rgbx, 4, [0, 1, 2]),
    (VideoFormat::Bgrx, 4, [2, 1, 0]),
    (VideoFormat::Xrgb, 4, [1, 2, 3]),
    (VideoFormat::Xbgr, 4, [3, 2, 1]),
    (VideoFormat::Rgba, 4, [0, 1, 2]),
    (VideoFormat::Bgra, 4, [2, 1, 0]),
    (VideoFormat::Argb, 4, [1, 2, 3]),
    (VideoFormat::Abgr, 4, [3, 2, 1]),
];

fn layout_of(format: VideoFormat) -> (usize, [usize; 3]) {
    RGB_FORMATS
        .iter()
        .find(|(f, _, _)| *f == format)
        .map(|(_, bpp, offsets)| (*bpp, *offsets))
        .expect("an RGB-family format")
}

/// Builds a buffer of `image` in `format` with GStreamer's default row
/// stride plus `extra_stride` bytes, and the caps that describe it. Alpha
/// and padding bytes get a value that must not matter.
fn frame_buffer(
    image: &RgbImage,
    format: VideoFormat,
    extra_stride: usize,
) -> (gst::Buffer, gst::Caps) {
    let (bytes_per_pixel, offsets) = layout_of(format);
    let info = gst_video::VideoInfo::builder(format, image.width as u32, image.height as u32)
        .build()
        .unwrap();
    let stride = info.stride()[0] as usize + extra_stride;
    let mut data = vec![0x5a_u8; stride * image.height];
    for y in 0..image.height {
        for x in 0..image.width {
            let pixel = &mut data[y * stride + x * bytes_per_pixel..];
            for (offset, value) in offsets.iter().zip(image.pixel(x, y)) {
                pixel[*offset] = value;
            }
        }
    }

    let mut buffer = gst::Buffer::from_mut_slice(data);
    {
        let buffer = buffer.get_mut().unwrap();
        buffer.set_pts(gst::ClockTime::from_mseconds(40));
        if extra_stride > 0 {
            gst_video::VideoMeta::add_full(
                buffer,
                gst_video::VideoFrameFlags::empty(),
                format,
                image.width as u32,
                image.height as u32,
                &[0],
                &[stride as i32],
            )
            .unwrap();
        }
    }
    (buffer, info.to_caps().unwrap())
}

fn harness(properties: &[(&str, &dyn ToValue)]) -> gst_check::Harness {
    detector_harness(properties)
}

/// Runs one frame through a new element and returns the faces it attached.
fn run_frame(
    image: &RgbImage,
    format: VideoFormat,
    extra_stride: usize,
    properties: &[(&str, &dyn ToValue)],
) -> Vec<DetectedFace> {
    let mut h = harness(properties);
    let (buffer, caps) = frame_buffer(image, format, extra_stride);
    h.set_src_caps(caps);
    let out = h
        .push_and_pull(buffer)
        .expect("the element returns the frame");
    faces(&out)
}

/// Converts read-back faces to detector faces in frame pixels, for the
/// reference comparison.
fn to_faces(read: &[DetectedFace], width: usize, height: usize) -> Vec<Face> {
    read.iter()
        .map(|f| Face {
            x0: (f.x_min * width as f64) as f32,
            y0: (f.y_min * height as f64) as f32,
            x1: (f.x_max * width as f64) as f32,
            y1: (f.y_max * height as f64) as f32,
            score: f.confidence as f32,
            landmarks: f
                .landmarks
                .map(|points| points.map(|[x, y]| [x as f32, y as f32])),
        })
        .collect()
}

#[test]
fn roi_metas_equal_reference() {
    for name in [
        "fr_two_people.png",
        "fr_obama-720p.png",
        "fr_obama-240p.png",
        "0_Parade_Parade_0_382.png",
    ] {
        let image = load_png(&still(name));
        let stem = name.trim_end_matches(".png");
        let reference =
            load_reference(&shared_dir().join(format!("reference/scrfd_2.5g_kps/640/{stem}.json")));

        let read = run_frame(&image, VideoFormat::Rgb, 0, &[]);
        let expected = at_threshold(&reference.faces, 0.5);
        assert!(!expected.is_empty(), "{name} has faces above 0.5");
        if let Err(diff) =
            compare_with_reference(&to_faces(&read, image.width, image.height), &expected)
        {
            panic!("{name}: {diff}");
        }

        // The pixel rectangles are the rounded boxes.
        for (face, wanted) in read.iter().zip(&expected) {
            assert_eq!(face.x, wanted.x0.round() as u32, "{name}");
            assert_eq!(face.y + face.height, wanted.y1.round() as u32, "{name}");
        }
    }
}

#[test]
fn threshold_property_filters_faces() {
    let image = load_png(&still("fr_two_people.png"));
    let reference =
        load_reference(&shared_dir().join("reference/scrfd_2.5g_kps/640/fr_two_people.json"));

    let read = run_frame(&image, VideoFormat::Rgb, 0, &[("score-threshold", &0.2f64)]);
    let expected = at_threshold(&reference.faces, 0.2);
    assert!(expected.len() > at_threshold(&reference.faces, 0.5).len());
    compare_with_reference(&to_faces(&read, image.width, image.height), &expected).unwrap();
}

#[test]
fn model_without_landmarks_attaches_none() {
    let image = load_png(&still("fr_two_people.png"));
    let reference =
        load_reference(&shared_dir().join("reference/scrfd_500m/320/fr_two_people.json"));

    let read = run_frame(
        &image,
        VideoFormat::Rgb,
        0,
        &[
            ("model", &gstscrfd::ModelVariant::Scrfd500m),
            ("input-size", &320u32),
        ],
    );
    assert!(!read.is_empty());
    assert!(read.iter().all(|f| f.landmarks.is_none()));
    compare_with_reference(
        &to_faces(&read, image.width, image.height),
        &at_threshold(&reference.faces, 0.5),
    )
    .unwrap();
}

#[test]
fn all_rgb_formats_agree() {
    let image = load_png(&still("fr_obama-720p.png"));
    let baseline = run_frame(&image, VideoFormat::Rgb, 0, &[("score-threshold", &0.2f64)]);
    assert!(!baseline.is_empty());

    for (format, _, _) in RGB_FORMATS {
        let read = run_frame(&image, format, 0, &[("score-threshold", &0.2f64)]);
        assert_eq!(read, baseline, "{format:?}");
    }
}

#[test]
fn swapped_red_and_blue_changes_scores() {
    // BGR pixels declared as RGB: if the element mixed up channel order in
    // some format, this is the difference the format test would see.
    let image = load_png(&still("fr_obama-720p.png"));
    let mut swapped = image.clone();
    for pixel in swapped.pixels.chunks_exact_mut(3) {
        pixel.swap(0, 2);
    }

    let correct = run_frame(&image, VideoFormat::Rgb, 0, &[]);
    let wrong = run_frame(&swapped, VideoFormat::Rgb, 0, &[]);
    assert_eq!(correct.len(), 1);
    let best_wrong = wrong.first().map(|f| f.confidence).unwrap_or(0.0);
    let change = (correct[0].confidence - best_wrong).abs();
    assert!(
        change > 1e-3,
        "swapping red and blue changed the score by only {change}"
    );
}

/// Runs the detector directly on a tightly packed copy, the expected result
/// for the element on the same pixels.
fn detect_tight(image: &RgbImage) -> Vec<Face> {
    let (param, bin) = common::model_files("scrfd_2.5g_kps");
    let mut detector = Detector::load(&param, &bin, None).unwrap();
    let rgb = Image::packed(
        &image.pixels,
        image.width,
        image.height,
        image.width * 3,
        PixelLayout::RGB,
    )
    .unwrap();
    detector.detect(&rgb, &DetectParams::default()).unwrap()
}

#[test]
fn odd_size_with_padded_strides() {
    // 641x479 around the face: RGB rows of 1923 bytes padded to 1924 by
    // GStreamer, and 64 more bytes through a VideoMeta.
    let full = load_png(&still("fr_obama-720p.png"));
    let image = full.crop(320, 60, 641, 479);
    let expected = detect_tight(&image);
    assert_eq!(expected.len(), 1, "the crop holds the face");

    for extra_stride in [0, 64] {
        for format in [VideoFormat::Rgb, VideoFormat::Xbgr] {
            let read = run_frame(&image, format, extra_stride, &[]);
            assert_eq!(to_faces(&read, 641, 479).len(), 1);
            let face = &to_faces(&read, 641, 479)[0];
            assert!(
                (face.x0 - expected[0].x0).abs() < 1e-3,
                "{format:?} +{extra_stride}: {face:?}"
            );
            assert!(
                (face.y1 - expected[0].y1).abs() < 1e-3,
                "{format:?} +{extra_stride}: {face:?}"
            );
            assert_eq!(face.score, expected[0].score, "{format:?} +{extra_stride}");
        }
    }
}

#[test]
fn tiny_frames_pass_without_faces() {
    let image = load_png(&still("fr_obama-240p.png"));
    for (width, height) in [(1, 1), (3, 3), (2, 1), (1, 2), (700, 1)] {
        let tiny = image.crop(100, 100, width, height);
        for (format, _, _) in RGB_FORMATS {
            let read = run_frame(&tiny, format, 0, &[]);
            assert!(read.is_empty(), "{width}x{height} {format:?}");
        }
    }
}

#[test]
fn border_faces_are_clamped() {
    let image = load_png(&still("fr_obama_partial_face.png"));
    let reference = load_reference(
        &shared_dir().join("reference/scrfd_2.5g_kps/640/fr_obama_partial_face.json"),
    );
    let read = run_frame(&image, VideoFormat::Rgb, 0, &[("score-threshold", &0.2f64)]);
    assert!(!read.is_empty());
    compare_with_reference(
        &to_faces(&read, image.width, image.height),
        &at_threshold(&reference.faces, 0.2),
    )
    .unwrap();

    let touching = read.iter().filter(|f| f.x == 0 || f.y == 0).count();
    assert!(touching > 0, "the partial face touches the frame edge");
    for face in &read {
        assert!(face.x + face.width <= image.width as u32, "{face:?}");
        assert!(face.y + face.height <= image.height as u32, "{face:?}");
        for value in [face.x_min, face.y_min, face.x_max, face.y_max] {
            assert!((0.0..=1.0).contains(&value), "{face:?}");
        }
    }
}

#[test]
fn draw_marks_frame_only_with_faces() {
    let image = load_png(&still("fr_obama-480p.png"));
    let mut h = harness(&[("draw", &true)]);
    let (buffer, caps) = frame_buffer(&image, VideoFormat::Rgb, 0);
    h.set_src_caps(caps);
    let out = h.push_and_pull(buffer).unwrap();
    let read = faces(&out);
    assert_eq!(read.len(), 1);
    let map = out.map_readable().unwrap();
    let stride = (image.width * 3).next_multiple_of(4);
    let at = |x: u32, y: u32| {
        let i = y as usize * stride + x as usize * 3;
        [map[i], map[i + 1], map[i + 2]]
    };

    // The left edge of the box is drawn in green; a pixel far from the
    // face keeps its value.
    let face = &read[0];
    assert_eq!(at(face.x, face.y + face.height / 2), [0, 255, 0]);
    assert_eq!(
        at(2, image.height as u32 - 3),
        image.pixel(2, image.height - 3)
    );
}

#[test]
fn facedetect_message_on_bus() {
    init();
    let image = load_png(&still("fr_two_people.png"));
    let pipeline = gst::Pipeline::new();
    let src = gst_app::AppSrc::builder().format(gst::Format::Time).build();
    let detect = gst::ElementFactory::make("scrfddetect")
        .property("model-dir", model_dir().to_str().unwrap())
        .build()
        .unwrap();
    let sink = gst::ElementFactory::make("fakesink").build().unwrap();
    pipeline
        .add_many([src.upcast_ref(), &detect, &sink])
        .unwrap();
    gst::Element::link_many([src.upcast_ref(), &detect, &sink]).unwrap();

    let (buffer, caps) = frame_buffer(&image, VideoFormat::Rgb, 0);
    src.set_caps(Some(&caps));
    pipeline.set_state(gst::State::Playing).unwrap();
    src.push_buffer(buffer).unwrap();
    src.end_of_stream().unwrap();

    let bus = pipeline.bus().unwrap();
    let mut message_faces = None;
    for msg in bus.iter_timed(gst::ClockTime::from_seconds(30)) {
        match msg.view() {
            gst::MessageView::Element(element) => {
                let s = element.structure().unwrap();
                if s.name() == "facedetect" {
                    assert_eq!(s.get::<u64>("timestamp").unwrap(), 40_000_000);
                    assert_eq!(s.get::<u64>("running-time").unwrap(), 40_000_000);
                    message_faces = Some(s.get::<gst::List>("faces").unwrap().len());
                }
            }
            gst::MessageView::Eos(..) => break,
            gst::MessageView::Error(err) => panic!("{}", err.error()),
            _ => {}
        }
    }
    pipeline.set_state(gst::State::Null).unwrap();
    assert_eq!(message_faces, Some(2));
}

#[test]
fn properties_round_trip() {
    init();
    let element = gst::ElementFactory::make("scrfddetect").build().unwrap();
    assert_eq!(element.property::<f64>("score-threshold"), 0.5);
    assert_eq!(element.property::<f64>("nms-threshold"), 0.45);
    assert_eq!(element.property::<u32>("input-size"), 640);
    assert_eq!(element.property::<u32>("threads"), 0);
    assert!(!element.property::<bool>("draw"));
    assert_eq!(element.property::<Option<String>>("model-dir"), None);
    assert_eq!(
        element.property::<gstscrfd::ModelVariant>("model"),
        gstscrfd::ModelVariant::Scrfd2_5gKps
    );

    element.set_property_from_str("model", "500m");
    assert_eq!(
        element
            .property_value("model")
            .get::<gstscrfd::ModelVariant>()
            .unwrap(),
        gstscrfd::ModelVariant::Scrfd500m
    );
    element.set_property("model-dir", "/opt/models");
    assert_eq!(
        element.property::<Option<String>>("model-dir").as_deref(),
        Some("/opt/models")
    );
    element.set_property("param-location", "/opt/a.param");
    element.set_property("bin-location", "/opt/a.bin");
    assert_eq!(
        element
            .property::<Option<String>>("param-location")
            .as_deref(),
        Some("/opt/a.param")
    );
    assert_eq!(
        element
            .property::<Option<String>>("bin-location")
            .as_deref(),
        Some("/opt/a.bin")
    );
    element.set_property("score-threshold", 0.3f64);
    assert_eq!(element.property::<f64>("score-threshold"), 0.3);
    element.set_property("nms-threshold", 0.6f64);
    assert_eq!(element.property::<f64>("nms-threshold"), 0.6);
    element.set_property("input-size", 320u32);
    assert_eq!(element.property::<u32>("input-size"), 320);
    element.set_property("threads", 2u32);
    assert_eq!(element.property::<u32>("threads"), 2);
    element.set_property("draw", true);
    assert!(element.property::<bool>("draw"));
    element.set_property_from_str("updates", "on_change");
    assert_eq!(
        element
            .property_value("updates")
            .get::<gstscrfd::Updates>()
            .unwrap(),
        gstscrfd::Updates::OnChange
    );

    // Not a multiple of 32: rejected, the old value stays.
    element.set_property("input-size", 500u32);
    assert_eq!(element.property::<u32>("input-size"), 320);
}

/// Sets a new element with `properties` to READY inside a pipeline and
/// returns the error message it posted.
fn ready_error(properties: &[(&str, &str)]) -> String {
    init();
    let element = gst::ElementFactory::make("scrfddetect").build().unwrap();
    for (name, value) in properties {
        element.set_property(name, *value);
    }
    let pipeline = gst::Pipeline::new();
    pipeline.add(&element).unwrap();

    assert!(
        pipeline.set_state(gst::State::Ready).is_err(),
        "READY must fail for {properties:?}"
    );
    let message = pipeline
        .bus()
        .unwrap()
        .timed_pop_filtered(gst::ClockTime::from_seconds(5), &[gst::MessageType::Error])
        .expect("an error message");
    let gst::MessageView::Error(error) = message.view() else {
        unreachable!()
    };
    pipeline.set_state(gst::State::Null).unwrap();
    format!("{} {}", error.error(), error.debug().unwrap_or_default())
}

fn temp_dir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("scrfddetect-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn missing_model_fails_ready() {
    let error = ready_error(&[("model-dir", "/nonexistent/models")]);
    assert!(error.contains("scrfd_2.5g_kps.param"), "{error}");
    assert!(error.contains("/nonexistent/models"), "{error}");
    assert!(error.contains("model-dir"), "{error}");

    let error = ready_error(&[("param-location", "/nonexistent/face.param")]);
    assert!(error.contains("/nonexistent/face.param"), "{error}");
}

#[test]
fn missing_bin_fails_ready() {
    let dir = temp_dir("nobin");
    std::fs::copy(
        model_dir().join("scrfd_500m.param"),
        dir.join("scrfd_500m.param"),
    )
    .unwrap();
    let param = dir.join("scrfd_500m.param");
    let error = ready_error(&[("param-location", param.to_str().unwrap())]);
    assert!(error.contains("scrfd_500m.bin"), "{error}");
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn corrupt_param_fails_ready() {
    let dir = temp_dir("corrupt");
    let param = dir.join("broken.param");
    std::fs::write(&param, b"\x00\x01garbage that is no ncnn graph").unwrap();
    std::fs::copy(model_dir().join("scrfd_500m.bin"), dir.join("broken.bin")).unwrap();

    let error = ready_error(&[("param-location", param.to_str().unwrap())]);
    assert!(error.contains("broken.param"), "{error}");
    assert!(error.contains("not a valid ncnn .param file"), "{error}");
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn non_scrfd_param_fails_ready() {
    // A real graph whose stride-16 score output was renamed.
    let dir = temp_dir("notscrfd");
    let text = std::fs::read_to_string(model_dir().join("scrfd_500m.param")).unwrap();
    let param = dir.join("other.param");
    std::fs::write(&param, text.replace("score_16", "logits_16")).unwrap();
    std::fs::copy(model_dir().join("scrfd_500m.bin"), dir.join("other.bin")).unwrap();

    let error = ready_error(&[("param-location", param.to_str().unwrap())]);
    assert!(error.contains("not an SCRFD model"), "{error}");
    assert!(error.contains("score_16"), "{error}");
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn weights_of_another_model_fail_ready() {
    // A .bin shorter or longer than the graph reads belongs to another
    // model; ncnn alone would load it and then find nothing.
    let dir = temp_dir("mismatch");
    for (graph, weights) in [
        ("scrfd_2.5g_kps", "scrfd_500m_kps"),
        ("scrfd_500m_kps", "scrfd_2.5g_kps"),
    ] {
        let param = dir.join(format!("{graph}.param"));
        std::fs::copy(model_dir().join(format!("{graph}.param")), &param).unwrap();
        std::fs::copy(
            model_dir().join(format!("{weights}.bin")),
            dir.join(format!("{graph}.bin")),
        )
        .unwrap();

        let error = ready_error(&[("param-location", param.to_str().unwrap())]);
        assert!(
            error.contains("do not fit the network structure"),
            "{graph} with {weights}: {error}"
        );
        assert!(error.contains(&format!("{graph}.bin")), "{error}");
    }
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn error_message_carries_the_fix() {
    // Applications often show only the message of an error, not its debug
    // text, so the message itself names the folder and what to set.
    init();
    let element = gst::ElementFactory::make("scrfddetect")
        .property("model-dir", "/nonexistent/models")
        .build()
        .unwrap();
    let pipeline = gst::Pipeline::new();
    pipeline.add(&element).unwrap();
    assert!(pipeline.set_state(gst::State::Ready).is_err());
    let message = pipeline
        .bus()
        .unwrap()
        .timed_pop_filtered(gst::ClockTime::from_seconds(5), &[gst::MessageType::Error])
        .unwrap();
    let gst::MessageView::Error(error) = message.view() else {
        unreachable!()
    };
    let text = error.error().to_string();
    assert!(text.contains("/nonexistent/models"), "{text}");
    assert!(text.contains("model-dir"), "{text}");
    pipeline.set_state(gst::State::Null).unwrap();
}
