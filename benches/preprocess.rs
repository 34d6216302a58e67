//! Preprocessing time of a 1920x1080 frame into the 640x384 net input, per
//! pixel format: the fused path next to (a) ncnn's own resize from packed
//! RGB (with padding and normalisation, the same net input) and (b)
//! GStreamer's video converter to RGB followed by (a).
//!
//! Run with `cargo bench --bench preprocess`. Reads the 1920x1080 still
//! fr_obama-1080p.png from the test data folder (SCRFD_TEST_DATA, default
//! ../shared); SCRFD_BENCH_STILL names another still of that folder, such
//! as fr_obama-720p.png. Prints medians over many runs and the ratios.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use gst_video::VideoFormat;
use gst_video::prelude::*;
use gstscrfd::detector::{
    Image, Letterbox, PixelLayout, Plane, Scratch, YuvMatrix, ncnn_input, new_input,
    resize_normalize,
};
use gstscrfd::ncnn::{Mat, PixelOrder};

const WARMUP: usize = 20;
const SAMPLES: usize = 200;

/// Runs per measurement: SCRFD_BENCH_SAMPLES, else SAMPLES.
fn samples() -> usize {
    std::env::var("SCRFD_BENCH_SAMPLES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(SAMPLES)
}

fn test_data() -> PathBuf {
    std::env::var_os("SCRFD_TEST_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared"))
}

/// Decodes the still to tightly packed RGB.
fn load_rgb(path: &Path) -> (Vec<u8>, u32, u32) {
    let file = std::fs::File::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut decoder = png::Decoder::new(std::io::BufReader::new(file));
    decoder.set_transformations(png::Transformations::EXPAND | png::Transformations::STRIP_16);
    let mut reader = decoder.read_info().unwrap();
    let mut buffer = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buffer).unwrap();
    let channels = info.color_type.samples();
    let rgb = buffer[..info.buffer_size()]
        .chunks_exact(channels)
        .flat_map(|p| [p[0], p[1], p[2]])
        .collect();
    (rgb, info.width, info.height)
}

fn median(mut times: Vec<Duration>) -> f64 {
    times.sort();
    times[times.len() / 2].as_secs_f64() * 1e3
}

/// Returns the median times of the functions in milliseconds. The runs
/// are interleaved (one of each in turn), so that a change in machine load
/// affects every function alike.
fn measure<const N: usize>(mut functions: [&mut dyn FnMut(); N]) -> [f64; N] {
    for _ in 0..WARMUP.min(samples()) {
        for f in functions.iter_mut() {
            f();
        }
    }
    let mut times: [Vec<Duration>; N] = std::array::from_fn(|_| Vec::with_capacity(samples()));
    for _ in 0..samples() {
        for (f, times) in functions.iter_mut().zip(times.iter_mut()) {
            let start = Instant::now();
            f();
            times.push(start.elapsed());
        }
    }
    times.map(median)
}

/// Runs the full ncnn preprocessing of packed RGB: resize, pad, normalise.
fn ncnn_preprocess(rgb: &[u8], stride: usize, letterbox: &Letterbox) -> Mat {
    ncnn_input(rgb, PixelOrder::Rgb, stride, letterbox).unwrap()
}

fn frame_of(
    buffer: &gst::Buffer,
    info: &gst_video::VideoInfo,
) -> gst_video::VideoFrame<gst_video::video_frame::Readable> {
    gst_video::VideoFrame::from_buffer_readable(buffer.clone(), info).unwrap()
}

fn main() {
    gst::init().unwrap();
    let still =
        std::env::var("SCRFD_BENCH_STILL").unwrap_or_else(|_| "fr_obama-1080p.png".to_owned());
    let (rgb, width, height) = load_rgb(&test_data().join("media/images").join(&still));
    let letterbox = Letterbox::new(width as usize, height as usize, 640).unwrap();
    println!(
        "{still}, {width}x{height} into {}x{} (padded {}x{}), median of {} interleaved runs after {} warm-up runs\n",
        letterbox.width,
        letterbox.height,
        letterbox.padded_width,
        letterbox.padded_height,
        samples(),
        WARMUP.min(samples())
    );

    let rgb_info = gst_video::VideoInfo::builder(VideoFormat::Rgb, width, height)
        .build()
        .unwrap();
    let mut rgb_buffer = gst::Buffer::with_size(rgb_info.size()).unwrap();
    {
        let buffer = rgb_buffer.get_mut().unwrap();
        let mut frame =
            gst_video::VideoFrameRef::from_buffer_ref_writable(buffer, &rgb_info).unwrap();
        let stride = frame.plane_stride()[0] as usize;
        let data = frame.plane_data_mut(0).unwrap();
        for (y, row) in rgb.chunks_exact(width as usize * 3).enumerate() {
            data[y * stride..y * stride + row.len()].copy_from_slice(row);
        }
    }
    let rgb_stride = rgb_info.stride()[0] as usize;
    let rgb_frame = frame_of(&rgb_buffer, &rgb_info);
    let rgb_data = rgb_frame.plane_data(0).unwrap();

    let formats = [
        (VideoFormat::Rgb, PixelLayout::RGB),
        (VideoFormat::Bgrx, PixelLayout::BGRX),
        (VideoFormat::Xrgb, PixelLayout::XRGB),
        (
            VideoFormat::Yuy2,
            PixelLayout::packed_yuv422([0, 1, 3], YuvMatrix::BT709),
        ),
        (
            VideoFormat::Uyvy,
            PixelLayout::packed_yuv422([1, 0, 2], YuvMatrix::BT709),
        ),
        (
            VideoFormat::Yvyu,
            PixelLayout::packed_yuv422([0, 3, 1], YuvMatrix::BT709),
        ),
        (
            VideoFormat::Nv12,
            PixelLayout::semi_planar_yuv(true, YuvMatrix::BT709),
        ),
        (
            VideoFormat::Nv21,
            PixelLayout::semi_planar_yuv(false, YuvMatrix::BT709),
        ),
        (
            VideoFormat::I420,
            PixelLayout::planar_yuv(1, 1, YuvMatrix::BT709),
        ),
        (
            VideoFormat::Y42b,
            PixelLayout::planar_yuv(1, 0, YuvMatrix::BT709),
        ),
        (
            VideoFormat::Y444,
            PixelLayout::planar_yuv(0, 0, YuvMatrix::BT709),
        ),
        (VideoFormat::Gray8, PixelLayout::GRAY8),
    ];

    println!(
        "{:<6} {:>10} {:>10} {:>12} {:>10} {:>10}",
        "format", "fused ms", "(a) ms", "(b) ms", "fused/(a)", "fused/(b)"
    );
    let mut scratch = Scratch::default();
    let mut input = new_input(&letterbox).unwrap();
    // SCRFD_BENCH_FORMATS=NV12,RGB limits the run to those formats.
    let only = std::env::var("SCRFD_BENCH_FORMATS").ok();
    for (format, layout) in formats {
        if only
            .as_ref()
            .is_some_and(|list| !list.split(',').any(|f| f == format.to_str()))
        {
            continue;
        }
        // The frame in this format, converted once by GStreamer.
        let info = gst_video::VideoInfo::builder(format, width, height)
            .colorimetry(&rgb_to(format))
            .build()
            .unwrap();
        let mut buffer = gst::Buffer::with_size(info.size()).unwrap();
        let to_format = gst_video::VideoConverter::new(&rgb_info, &info, None).unwrap();
        {
            let mut out = gst_video::VideoFrameRef::from_buffer_ref_writable(
                buffer.get_mut().unwrap(),
                &info,
            )
            .unwrap();
            to_format.frame_ref(&rgb_frame.as_video_frame_ref(), &mut out);
        }
        let frame = frame_of(&buffer, &info);
        let planes: Vec<Plane> = (0..frame.n_planes())
            .map(|p| Plane {
                data: frame.plane_data(p).unwrap(),
                stride: frame.plane_stride()[p as usize] as usize,
            })
            .collect();
        let image = Image::new(width as usize, height as usize, layout, &planes).unwrap();

        let mut fused = || {
            resize_normalize(&image, &letterbox, &mut input, &mut scratch);
            std::hint::black_box(&input);
        };

        // (a): ncnn's own preprocessing of the RGB frame.
        let mut ncnn = || {
            std::hint::black_box(ncnn_preprocess(rgb_data, rgb_stride, &letterbox));
        };

        // (b): GStreamer's converter to RGB, then (a).
        let to_rgb = gst_video::VideoConverter::new(&info, &rgb_info, None).unwrap();
        let mut converted = gst::Buffer::with_size(rgb_info.size()).unwrap();
        let mut convert_then_ncnn = || {
            {
                let mut out = gst_video::VideoFrameRef::from_buffer_ref_writable(
                    converted.get_mut().unwrap(),
                    &rgb_info,
                )
                .unwrap();
                to_rgb.frame_ref(&frame.as_video_frame_ref(), &mut out);
            }
            let map = converted.map_readable().unwrap();
            std::hint::black_box(ncnn_preprocess(&map, rgb_stride, &letterbox));
        };

        let [fused_ms, ncnn_ms, convert_ms] =
            measure([&mut fused, &mut ncnn, &mut convert_then_ncnn]);

        println!(
            "{:<6} {:>10.3} {:>10.3} {:>12.3} {:>10.2} {:>10.2}",
            format.to_str().as_str(),
            fused_ms,
            ncnn_ms,
            convert_ms,
            fused_ms / ncnn_ms,
            fused_ms / convert_ms
        );
    }
}

/// Colorimetry GStreamer gives a 1080p frame in `format`: BT.709 for YUV,
/// sRGB for RGB and grey.
fn rgb_to(format: VideoFormat) -> gst_video::VideoColorimetry {
    let name = if gst_video::VideoFormatInfo::from_format(format).is_yuv() {
        "bt709"
    } else {
        "sRGB"
    };
    name.parse().unwrap()
}
