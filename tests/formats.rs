//! Every accepted pixel format through the element: detections, strides
//! and memory layouts, drawing, anonymisation and caps negotiation.

mod common;

use common::{
    RgbImage, detector_element, init, load_png, model_dir, rgb_buffer, shared_dir, still,
};
use gst::prelude::*;
use gst_video::VideoFormat;
use gst_video::prelude::*;
use gstscrfd::meta::{DetectedFace, faces};

const RGB_FAMILY: [VideoFormat; 10] = [
    VideoFormat::Rgb,
    VideoFormat::Bgr,
    VideoFormat::Rgbx,
    VideoFormat::Bgrx,
    VideoFormat::Xrgb,
    VideoFormat::Xbgr,
    VideoFormat::Rgba,
    VideoFormat::Bgra,
    VideoFormat::Argb,
    VideoFormat::Abgr,
];

const YUV_AND_GRAY: [VideoFormat; 10] = [
    VideoFormat::Yuy2,
    VideoFormat::Uyvy,
    VideoFormat::Yvyu,
    VideoFormat::Nv12,
    VideoFormat::Nv21,
    VideoFormat::I420,
    VideoFormat::Yv12,
    VideoFormat::Y42b,
    VideoFormat::Y444,
    VideoFormat::Gray8,
];

fn all_formats() -> impl Iterator<Item = VideoFormat> {
    RGB_FAMILY.into_iter().chain(YUV_AND_GRAY)
}

fn rgb_caps(width: usize, height: usize) -> gst::Caps {
    init();
    gst_video::VideoInfo::builder(VideoFormat::Rgb, width as u32, height as u32)
        .build()
        .unwrap()
        .to_caps()
        .unwrap()
}

/// Converts `buffer` (described by `caps`) to `format` with videoconvert;
/// returns the converted buffer and its caps.
fn videoconvert(
    buffer: gst::Buffer,
    caps: &gst::Caps,
    format: VideoFormat,
) -> (gst::Buffer, gst::Caps) {
    init();
    let mut h = gst_check::Harness::new("videoconvert");
    let mut out_caps = caps.clone();
    {
        let s = out_caps.make_mut().structure_mut(0).unwrap();
        s.set("format", format.to_str());
        s.remove_field("colorimetry");
        s.remove_field("chroma-site");
    }
    h.set_src_caps(caps.clone());
    h.set_sink_caps(out_caps);
    let out = h.push_and_pull(buffer).expect("videoconvert converts");
    let negotiated = h.sinkpad().unwrap().current_caps().unwrap();
    (out, negotiated)
}

/// `image` in `format`, converted by videoconvert from RGB.
fn image_in(image: &RgbImage, format: VideoFormat) -> (gst::Buffer, gst::Caps) {
    let caps = rgb_caps(image.width, image.height);
    if format == VideoFormat::Rgb {
        return (rgb_buffer(image), caps);
    }
    videoconvert(rgb_buffer(image), &caps, format)
}

fn detector(properties: &[(&str, &dyn ToValue)]) -> gst::Element {
    detector_element(properties)
}

/// Pushes one frame through a new element; returns the output buffer.
fn detect(
    buffer: gst::Buffer,
    caps: &gst::Caps,
    properties: &[(&str, &dyn ToValue)],
) -> gst::Buffer {
    let mut h = gst_check::Harness::with_element(&detector(properties), Some("sink"), Some("src"));
    h.set_src_caps(caps.clone());
    h.push_and_pull(buffer)
        .expect("scrfddetect returns the frame")
}

/// Returns the face box in frame pixels.
fn pixel_box(face: &DetectedFace, width: usize, height: usize) -> [f64; 4] {
    [
        face.x_min * width as f64,
        face.y_min * height as f64,
        face.x_max * width as f64,
        face.y_max * height as f64,
    ]
}

fn iou(a: [f64; 4], b: [f64; 4]) -> f64 {
    let w = (a[2].min(b[2]) - a[0].max(b[0])).max(0.0);
    let h = (a[3].min(b[3]) - a[1].max(b[1])).max(0.0);
    let inter = w * h;
    inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter)
}

/// Checks that `found` and `expected` hold the same faces: each face of one
/// has a partner in the other with IoU >= 0.95 and a score within 0.02,
/// except faces within 0.02 of `threshold`, which may be missing.
fn assert_same_faces(
    found: &[DetectedFace],
    expected: &[DetectedFace],
    width: usize,
    height: usize,
    threshold: f64,
    context: &str,
) {
    let matches = |face: &DetectedFace, others: &[DetectedFace]| {
        others.iter().any(|other| {
            iou(
                pixel_box(face, width, height),
                pixel_box(other, width, height),
            ) >= 0.95
                && (face.confidence - other.confidence).abs() <= 0.02
        })
    };
    for (label, from, to) in [("found", found, expected), ("expected", expected, found)] {
        for face in from {
            if face.confidence < threshold + 0.02 {
                continue;
            }
            if !matches(face, to) {
                let closest = to
                    .iter()
                    .map(|other| {
                        (
                            iou(
                                pixel_box(face, width, height),
                                pixel_box(other, width, height),
                            ),
                            other.confidence,
                        )
                    })
                    .max_by(|a, b| a.0.total_cmp(&b.0));
                panic!(
                    "{context}: {label} face {:?} with score {:.4} has no partner; the closest (IoU, score) is {closest:?}",
                    pixel_box(face, width, height),
                    face.confidence
                );
            }
        }
    }
}

#[test]
fn every_format_at_odd_size() {
    // 641x479 around the face of the 720p still.
    let image = load_png(&still("fr_obama-720p.png")).crop(320, 60, 641, 479);
    let (rgb, caps) = image_in(&image, VideoFormat::Rgb);
    let reference = faces(&detect(rgb, &caps, &[]));
    assert_eq!(reference.len(), 1);

    for format in all_formats() {
        let (buffer, caps) = image_in(&image, format);
        let found = faces(&detect(buffer, &caps, &[]));
        assert_eq!(found.len(), 1, "{format:?}: {found:?}");
        assert_same_faces(&found, &reference, 641, 479, 0.5, &format!("{format:?}"));
    }
}

#[test]
fn every_format_at_one_pixel() {
    let image = load_png(&still("fr_obama-240p.png")).crop(200, 100, 1, 1);
    for format in all_formats() {
        let (buffer, caps) = image_in(&image, format);
        let out = detect(
            buffer,
            &caps,
            &[("draw", &true), ("anonymize", &gstscrfd::Anonymize::Blur)],
        );
        assert!(faces(&out).is_empty(), "{format:?}");
    }
}

/// Converts a frame to RGB pixel by pixel with the textbook formulas of
/// its colorimetry in double precision, each pixel taking the chroma
/// sample that covers it.
fn exact_rgb(buffer: &gst::Buffer, caps: &gst::Caps) -> RgbImage {
    let info = gst_video::VideoInfo::from_caps(caps).unwrap();
    let frame = gst_video::VideoFrameRef::from_buffer_ref_readable(buffer.as_ref(), &info).unwrap();
    let (width, height) = (info.width() as usize, info.height() as usize);
    let colorimetry = info.colorimetry();
    let (kr, kb) = match colorimetry.matrix() {
        gst_video::VideoColorMatrix::Bt709 => (0.2126, 0.0722),
        gst_video::VideoColorMatrix::Bt601 => (0.299, 0.114),
        gst_video::VideoColorMatrix::Bt2020 => (0.2627, 0.0593),
        other => panic!("unexpected matrix {other:?}"),
    };
    let full = colorimetry.range() == gst_video::VideoColorRange::Range0_255;
    let (offset, luma, chroma) = if full {
        (0.0, 1.0, 1.0)
    } else {
        (16.0, 255.0 / 219.0, 255.0 / 224.0)
    };
    let kg = 1.0 - kr - kb;

    let mut pixels = Vec::with_capacity(width * height * 3);
    for y in 0..height {
        for x in 0..width {
            let [luma_sample, u, v] = samples_at(&frame, x, y).map(f64::from);
            let rgb = if frame.format_info().is_gray() {
                [luma_sample; 3]
            } else {
                let (l, cb, cr) = (
                    (luma_sample - offset) * luma,
                    (u - 128.0) * chroma,
                    (v - 128.0) * chroma,
                );
                [
                    l + 2.0 * (1.0 - kr) * cr,
                    l - 2.0 * kb * (1.0 - kb) / kg * cb - 2.0 * kr * (1.0 - kr) / kg * cr,
                    l + 2.0 * (1.0 - kb) * cb,
                ]
            };
            pixels.extend(rgb.map(|c| c.round().clamp(0.0, 255.0) as u8));
        }
    }
    RgbImage {
        width,
        height,
        pixels,
    }
}

/// Runs the agreement check of one format over every still: the still
/// converted to the format by videoconvert, through the element in that
/// format, against the RGB path on the same content, which is that frame
/// converted to RGB exactly.
///
/// The frames are not converted back with videoconvert because its YUV
/// conversions in GStreamer 1.22 are off by up to 5 levels (limited-range
/// white comes out as 253), which alone moves the smallest faces by more
/// than the tolerance.
fn agreement_over_stills(format: VideoFormat) {
    let media = shared_dir().join("media");
    let mut stills: Vec<_> = ["images", "wider/images"]
        .iter()
        .flat_map(|dir| std::fs::read_dir(media.join(dir)).unwrap())
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|e| e == "png"))
        .collect();
    stills.sort();
    assert!(stills.len() >= 41, "{} stills found", stills.len());

    let mut compared = 0;
    for path in &stills {
        let image = load_png(path);
        let (buffer, caps) = image_in(&image, format);
        let (same_content, rgb) = image_in(&exact_rgb(&buffer, &caps), VideoFormat::Rgb);

        let found = faces(&detect(buffer, &caps, &[]));
        let expected = faces(&detect(same_content, &rgb, &[]));
        let name = path.file_name().unwrap().to_string_lossy();
        assert_same_faces(
            &found,
            &expected,
            image.width,
            image.height,
            0.5,
            &format!("{format:?} {name}"),
        );
        compared += expected.len();
    }
    assert!(compared > 100, "only {compared} faces compared");
}

macro_rules! agreement_tests {
    ($($name:ident: $format:expr,)*) => {
        $(
            #[test]
            fn $name() {
                agreement_over_stills($format);
            }
        )*
    };
}

agreement_tests! {
    agreement_yuy2: VideoFormat::Yuy2,
    agreement_uyvy: VideoFormat::Uyvy,
    agreement_yvyu: VideoFormat::Yvyu,
    agreement_nv12: VideoFormat::Nv12,
    agreement_nv21: VideoFormat::Nv21,
    agreement_i420: VideoFormat::I420,
    agreement_yv12: VideoFormat::Yv12,
    agreement_y42b: VideoFormat::Y42b,
    agreement_y444: VideoFormat::Y444,
    agreement_gray8: VideoFormat::Gray8,
}

/// Copies `buffer` (tightly laid out per `caps`) into a new buffer with the
/// given plane strides and offsets, described by a VideoMeta; with
/// `separate_memories`, each plane goes into a memory of its own.
fn relayout(
    buffer: &gst::Buffer,
    caps: &gst::Caps,
    strides: &[usize],
    offsets: &[usize],
    separate_memories: bool,
) -> gst::Buffer {
    let info = gst_video::VideoInfo::from_caps(caps).unwrap();
    let frame = gst_video::VideoFrameRef::from_buffer_ref_readable(buffer.as_ref(), &info).unwrap();
    let format_info = info.format_info();

    let mut planes: Vec<Vec<u8>> = Vec::new();
    for plane in 0..info.n_planes() as usize {
        let component = (0..format_info.n_components() as usize)
            .find(|&c| format_info.plane()[c] as usize == plane)
            .unwrap();
        let rows = format_info.scale_height(component as u8, info.height()) as usize;
        let row_bytes = (info.stride()[plane] as usize).min(strides[plane]);
        let mut data = vec![0xAB_u8; strides[plane] * rows];
        let source = frame.plane_data(plane as u32).unwrap();
        let source_stride = frame.plane_stride()[plane] as usize;
        for row in 0..rows {
            data[row * strides[plane]..][..row_bytes]
                .copy_from_slice(&source[row * source_stride..][..row_bytes]);
        }
        planes.push(data);
    }

    let mut out = gst::Buffer::new();
    let out_mut = out.get_mut().unwrap();
    let mut meta_offsets = Vec::new();
    if separate_memories {
        for data in planes {
            meta_offsets.push(out_mut.size());
            out_mut.append_memory(gst::Memory::from_mut_slice(data));
        }
    } else {
        let total = offsets
            .iter()
            .zip(&planes)
            .map(|(o, p)| o + p.len())
            .max()
            .unwrap();
        let mut data = vec![0xCD_u8; total];
        for (offset, plane) in offsets.iter().zip(&planes) {
            data[*offset..*offset + plane.len()].copy_from_slice(plane);
        }
        meta_offsets.extend_from_slice(offsets);
        out_mut.append_memory(gst::Memory::from_mut_slice(data));
    }
    let strides: Vec<i32> = strides.iter().map(|&s| s as i32).collect();
    gst_video::VideoMeta::add_full(
        out_mut,
        gst_video::VideoFrameFlags::empty(),
        info.format(),
        info.width(),
        info.height(),
        &meta_offsets,
        &strides,
    )
    .unwrap();
    out
}

#[test]
fn hardware_decoder_strides_and_offsets() {
    // 1920x1080 NV12 with the Y stride of 2048 and the UV plane at
    // 2048 * 1088, as hardware decoders align their surfaces.
    let image = load_png(&still("fr_obama-1080p.png"));
    let (tight, caps) = image_in(&image, VideoFormat::Nv12);
    let expected = faces(&detect(tight.copy(), &caps, &[]));
    assert_eq!(expected.len(), 1);

    let padded = relayout(&tight, &caps, &[2048, 2048], &[0, 2048 * 1088], false);
    assert_eq!(faces(&detect(padded, &caps, &[])), expected);
}

#[test]
fn planes_in_separate_memories() {
    let image = load_png(&still("fr_obama-720p.png")).crop(320, 60, 641, 479);
    for format in [VideoFormat::Nv12, VideoFormat::I420, VideoFormat::Y444] {
        let (tight, caps) = image_in(&image, format);
        let info = gst_video::VideoInfo::from_caps(&caps).unwrap();
        let expected = faces(&detect(tight.copy(), &caps, &[]));
        assert_eq!(expected.len(), 1, "{format:?}");

        let strides: Vec<usize> = info.stride().iter().map(|&s| s as usize + 32).collect();
        let split = relayout(&tight, &caps, &strides, &[], true);
        assert_eq!(split.n_memory(), info.n_planes() as usize);
        assert_eq!(faces(&detect(split, &caps, &[])), expected, "{format:?}");
    }
}

#[test]
fn padded_strides_in_every_format() {
    let image = load_png(&still("fr_obama-720p.png")).crop(320, 60, 641, 479);
    for format in all_formats() {
        let (tight, caps) = image_in(&image, format);
        let info = gst_video::VideoInfo::from_caps(&caps).unwrap();
        let expected = faces(&detect(tight.copy(), &caps, &[]));

        let strides: Vec<usize> = info.stride().iter().map(|&s| s as usize + 100).collect();
        let mut offsets = Vec::new();
        let mut next = 64;
        for stride in &strides[..info.n_planes() as usize] {
            offsets.push(next);
            next += stride * 480 + 16;
        }
        let padded = relayout(&tight, &caps, &strides, &offsets, false);
        assert_eq!(faces(&detect(padded, &caps, &[])), expected, "{format:?}");
    }
}

/// Reads the component samples of pixel (x, y) of a mapped frame: R, G, B
/// or Y, U, V (grey: Y three times).
fn samples_at(frame: &gst_video::VideoFrameRef<&gst::BufferRef>, x: usize, y: usize) -> [u8; 3] {
    let info = frame.format_info();
    let components = if info.is_gray() { [0, 0, 0] } else { [0, 1, 2] };
    components.map(|c| {
        let plane = info.plane()[c] as usize;
        let stride = frame.plane_stride()[plane] as usize;
        let data = frame.plane_data(plane as u32).unwrap();
        let (xs, ys) = (x >> info.w_sub()[c], y >> info.h_sub()[c]);
        data[ys * stride + info.poffset()[c] as usize + xs * info.pixel_stride()[c] as usize]
    })
}

/// Expected samples of pure green in a frame described by `caps`.
fn green_in(caps: &gst::Caps) -> [u8; 3] {
    let info = gst_video::VideoInfo::from_caps(caps).unwrap();
    let (mut buffer, _) = image_in(
        &RgbImage {
            width: 2,
            height: 2,
            pixels: [0, 255, 0].repeat(4),
        },
        VideoFormat::Rgb,
    );
    if info.format() != VideoFormat::Rgb {
        let mut c = caps.clone();
        {
            let s = c.make_mut().structure_mut(0).unwrap();
            s.set("width", 2);
            s.set("height", 2);
        }
        buffer = videoconvert(buffer, &rgb_caps(2, 2), info.format()).0;
        let small = gst_video::VideoInfo::from_caps(&c).unwrap();
        let frame =
            gst_video::VideoFrameRef::from_buffer_ref_readable(buffer.as_ref(), &small).unwrap();
        return samples_at(&frame, 0, 0);
    }
    [0, 255, 0]
}

#[test]
fn overlay_in_every_format() {
    let image = load_png(&still("fr_obama-480p.png"));
    for format in all_formats() {
        let (buffer, caps) = image_in(&image, format);
        let info = gst_video::VideoInfo::from_caps(&caps).unwrap();
        let original = buffer.copy();
        let out = detect(buffer, &caps, &[("draw", &true)]);
        let found = faces(&out);
        assert_eq!(found.len(), 1, "{format:?}");
        let face = &found[0];

        let before =
            gst_video::VideoFrameRef::from_buffer_ref_readable(original.as_ref(), &info).unwrap();
        let after =
            gst_video::VideoFrameRef::from_buffer_ref_readable(out.as_ref(), &info).unwrap();

        // The left edge of the box, half way down, is drawn in green (YUV
        // rounding may differ by one step).
        let (x, y) = (face.x as usize, (face.y + face.height / 2) as usize);
        let expected = green_in(&caps);
        let drawn = samples_at(&after, x, y);
        for (d, e) in drawn.iter().zip(expected) {
            assert!(
                (*d as i32 - e as i32).abs() <= 2,
                "{format:?}: drawn {drawn:?}, green is {expected:?}"
            );
        }
        assert_ne!(samples_at(&before, x, y), drawn, "{format:?}");

        // Far from the box, its label and its landmarks nothing changed.
        for (x, y) in [
            (5, image.height - 5),
            (image.width - 5, image.height - 5),
            (5, 5),
        ] {
            assert_eq!(
                samples_at(&before, x, y),
                samples_at(&after, x, y),
                "{format:?} at ({x}, {y})"
            );
        }
    }
}

/// Luma (or grey, or green) variance of the pixels in `rect`.
fn variance(frame: &gst_video::VideoFrameRef<&gst::BufferRef>, rect: [usize; 4]) -> f64 {
    let [x0, y0, x1, y1] = rect;
    let component = if frame.format_info().is_rgb() { 1 } else { 0 };
    let values: Vec<f64> = (y0..y1)
        .flat_map(|y| (x0..x1).map(move |x| (x, y)))
        .map(|(x, y)| samples_at(frame, x, y)[component] as f64)
        .collect();
    let mean = values.iter().sum::<f64>() / values.len() as f64;
    values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / values.len() as f64
}

/// Returns the anonymised region of `face` with the default margin of 0.2, widened
/// by 2 pixels for chroma alignment and rounding.
fn anonymised_region(face: &DetectedFace, width: usize, height: usize) -> [usize; 4] {
    let [x0, y0, x1, y1] = pixel_box(face, width, height);
    let (w, h) = (x1 - x0, y1 - y0);
    [
        (x0 - 0.2 * w - 2.0).max(0.0) as usize,
        (y0 - 0.2 * h - 2.0).max(0.0) as usize,
        ((x1 + 0.2 * w + 2.0).ceil() as usize).min(width),
        ((y1 + 0.2 * h + 2.0).ceil() as usize).min(height),
    ]
}

/// Checks that every sample outside `region` is unchanged, plane by plane.
fn assert_unchanged_outside(
    before: &gst_video::VideoFrameRef<&gst::BufferRef>,
    after: &gst_video::VideoFrameRef<&gst::BufferRef>,
    region: [usize; 4],
    context: &str,
) {
    let (width, height) = (before.width() as usize, before.height() as usize);
    let [x0, y0, x1, y1] = region;
    for y in 0..height {
        for x in 0..width {
            if (x0..x1).contains(&x) && (y0..y1).contains(&y) {
                continue;
            }
            assert_eq!(
                samples_at(before, x, y),
                samples_at(after, x, y),
                "{context}: pixel ({x}, {y}) changed"
            );
        }
    }
}

#[test]
fn blur_removes_face_detail_only() {
    let image = load_png(&still("fr_obama-480p.png"));
    for format in all_formats() {
        let (buffer, caps) = image_in(&image, format);
        let info = gst_video::VideoInfo::from_caps(&caps).unwrap();
        let original = buffer.copy();
        let out = detect(buffer, &caps, &[("anonymize", &gstscrfd::Anonymize::Blur)]);
        let found = faces(&out);
        assert_eq!(found.len(), 1, "{format:?}");

        let before =
            gst_video::VideoFrameRef::from_buffer_ref_readable(original.as_ref(), &info).unwrap();
        let after =
            gst_video::VideoFrameRef::from_buffer_ref_readable(out.as_ref(), &info).unwrap();
        let [x0, y0, x1, y1] = pixel_box(&found[0], image.width, image.height).map(|v| v as usize);
        let face_rect = [x0, y0, x1, y1];
        let (variance_before, variance_after) =
            (variance(&before, face_rect), variance(&after, face_rect));
        assert!(
            variance_after < variance_before * 0.1,
            "{format:?}: face variance only fell from {variance_before:.0} to {variance_after:.0}"
        );
        assert_unchanged_outside(
            &before,
            &after,
            anonymised_region(&found[0], image.width, image.height),
            &format!("{format:?}"),
        );
    }
}

#[test]
fn drawing_comes_on_top_of_anonymisation() {
    let image = load_png(&still("fr_obama-480p.png"));
    let (buffer, caps) = image_in(&image, VideoFormat::I420);
    let info = gst_video::VideoInfo::from_caps(&caps).unwrap();
    let out = detect(
        buffer,
        &caps,
        &[("anonymize", &gstscrfd::Anonymize::Fill), ("draw", &true)],
    );
    let found = faces(&out);
    assert_eq!(found.len(), 1);

    let frame = gst_video::VideoFrameRef::from_buffer_ref_readable(out.as_ref(), &info).unwrap();
    let face = &found[0];
    let edge = samples_at(&frame, face.x as usize, (face.y + face.height / 2) as usize);
    for (drawn, green) in edge.iter().zip(green_in(&caps)) {
        assert!(
            (*drawn as i32 - green as i32).abs() <= 2,
            "edge {edge:?} is not green"
        );
    }
    let filled = samples_at(
        &frame,
        (face.x + face.width / 2) as usize,
        (face.y + face.height - 8) as usize,
    );
    assert_eq!(filled, [16, 128, 128], "black in limited-range YUV");
}

#[test]
fn pixelate_and_fill_hide_the_face() {
    let image = load_png(&still("fr_obama-480p.png"));
    for format in [
        VideoFormat::I420,
        VideoFormat::Yuy2,
        VideoFormat::Bgrx,
        VideoFormat::Gray8,
    ] {
        for mode in [gstscrfd::Anonymize::Pixelate, gstscrfd::Anonymize::Fill] {
            let (buffer, caps) = image_in(&image, format);
            let info = gst_video::VideoInfo::from_caps(&caps).unwrap();
            let original = buffer.copy();
            let out = detect(buffer, &caps, &[("anonymize", &mode)]);
            let found = faces(&out);
            assert_eq!(found.len(), 1);

            let before =
                gst_video::VideoFrameRef::from_buffer_ref_readable(original.as_ref(), &info)
                    .unwrap();
            let after =
                gst_video::VideoFrameRef::from_buffer_ref_readable(out.as_ref(), &info).unwrap();
            let [x0, y0, x1, y1] =
                pixel_box(&found[0], image.width, image.height).map(|v| v as usize);
            let inner = [x0, y0, x1, y1];
            let detail = |frame: &gst_video::VideoFrameRef<&gst::BufferRef>| {
                // Mean absolute difference between horizontal neighbours:
                // pixelation keeps it only at block edges, fill removes it.
                let component = if frame.format_info().is_rgb() { 1 } else { 0 };
                let mut total = 0.0;
                let mut count = 0.0;
                for y in inner[1]..inner[3] {
                    for x in inner[0]..inner[2] - 1 {
                        let a = samples_at(frame, x, y)[component] as f64;
                        let b = samples_at(frame, x + 1, y)[component] as f64;
                        total += (a - b).abs();
                        count += 1.0;
                    }
                }
                total / count
            };
            let (detail_before, detail_after) = (detail(&before), detail(&after));
            assert!(
                detail_after < detail_before * 0.35,
                "{format:?} {mode:?}: detail only fell from {detail_before:.2} to {detail_after:.2}"
            );
            if mode == gstscrfd::Anonymize::Fill {
                assert_eq!(detail_after, 0.0, "{format:?}: a filled face is flat");
            }
        }
    }
}

/// Runs `description` to EOS; returns the error message if it fails.
fn run_pipeline(description: &str) -> Result<(), String> {
    init();
    let pipeline = gst::parse::launch(description).map_err(|e| e.to_string())?;
    let pipeline = pipeline.downcast::<gst::Pipeline>().unwrap();
    pipeline
        .set_state(gst::State::Playing)
        .map_err(|e| e.to_string())?;
    let bus = pipeline.bus().unwrap();
    let result = match bus.timed_pop_filtered(
        gst::ClockTime::from_seconds(60),
        &[gst::MessageType::Eos, gst::MessageType::Error],
    ) {
        Some(message) => match message.view() {
            gst::MessageView::Error(err) => Err(format!(
                "{} ({})",
                err.error(),
                err.debug().unwrap_or_default()
            )),
            _ => Ok(()),
        },
        None => Err("timed out".to_owned()),
    };
    pipeline.set_state(gst::State::Null).unwrap();
    result
}

#[test]
fn negotiates_with_videotestsrc_in_every_format() {
    let dir = model_dir();
    for format in all_formats() {
        for extra in ["", ",pixel-aspect-ratio=4/3", ",interlace-mode=interleaved"] {
            let description = format!(
                "videotestsrc num-buffers=3 ! video/x-raw,format={},width=640,height=480{extra} ! \
                 scrfddetect model-dir={} draw=true ! fakesink",
                format.to_str(),
                dir.display()
            );
            run_pipeline(&description).unwrap_or_else(|err| panic!("{description}: {err}"));
        }
    }
}

#[test]
fn camera_caps_straight_into_the_element() {
    // What a webcam delivers: live YUY2 640x480 at 30/1.
    let description = format!(
        "videotestsrc is-live=true num-buffers=10 ! video/x-raw,format=YUY2,width=640,height=480,framerate=30/1 ! \
         scrfddetect model-dir={} ! fakesink sync=true",
        model_dir().display()
    );
    run_pipeline(&description).unwrap();
}

#[test]
fn unsupported_format_fails_negotiation() {
    let description = format!(
        "videotestsrc num-buffers=1 ! video/x-raw,format=RGB16,width=64,height=48 ! scrfddetect model-dir={} ! fakesink",
        model_dir().display()
    );
    // The pad templates list the accepted formats, so GStreamer refuses the
    // link and names the caps.
    let err = run_pipeline(&description).unwrap_err();
    assert!(err.contains("RGB16"), "{err}");
    assert!(err.contains("scrfddetect"), "{err}");
}

#[test]
fn allocation_query_offers_video_meta() {
    let mut h = gst_check::Harness::with_element(&detector(&[]), Some("sink"), Some("src"));
    h.set_src_caps(rgb_caps(64, 48));
    let caps = rgb_caps(64, 48);
    let mut query = gst::query::Allocation::new(Some(&caps), true);
    assert!(h.srcpad().unwrap().peer_query(&mut query));
    assert!(
        query
            .find_allocation_meta::<gst_video::VideoMeta>()
            .is_some()
    );
}
