//! The raw video formats the element accepts and how their pixels are laid
//! out for the detector.

use gst_video::{VideoColorMatrix, VideoColorRange, VideoFormat};

use crate::detector::{ChromaSiting, ColourModel, Component, PixelLayout, YuvMatrix};

/// Accepted formats: what cameras, decoders and converters deliver, so no
/// `videoconvert` is needed in front of the element.
pub const FORMATS: [VideoFormat; 20] = [
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

/// Returns the YUV matrix of a frame's colorimetry. Frames that do not say
/// get GStreamer's default: BT.601 below 720 rows, BT.709 from there.
pub fn yuv_matrix(info: &gst_video::VideoInfo) -> YuvMatrix {
    let colorimetry = info.colorimetry();
    let matrix = match colorimetry.matrix() {
        VideoColorMatrix::Bt601 => YuvMatrix::BT601,
        VideoColorMatrix::Bt709 => YuvMatrix::BT709,
        VideoColorMatrix::Bt2020 => YuvMatrix::BT2020,
        VideoColorMatrix::Smpte240m => YuvMatrix::SMPTE240M,
        VideoColorMatrix::Fcc => YuvMatrix::FCC,
        _ if info.height() >= 720 => YuvMatrix::BT709,
        _ => YuvMatrix::BT601,
    };
    if colorimetry.range() == VideoColorRange::Range0_255 {
        matrix.full()
    } else {
        matrix
    }
}

/// Reads the chroma siting from the `chroma-site` field of `caps`.
///
/// GStreamer 1.22's `gst_video_info_from_caps()` turns every named siting
/// ("mpeg2", "jpeg", "dv") into "none", so the field is parsed here: a
/// name, or flags joined by `+` (`h-cosited`, `v-cosited`). Caps without
/// the field mean centred siting, GStreamer's default.
pub fn chroma_siting(caps: &gst::CapsRef) -> ChromaSiting {
    let field = caps
        .structure(0)
        .and_then(|s| s.get::<&str>("chroma-site").ok());
    let mut siting = ChromaSiting::CENTRED;
    for flag in field.unwrap_or("jpeg").split('+') {
        match flag {
            "mpeg2" | "h-cosited" => siting.cosited_horizontally = true,
            "v-cosited" => siting.cosited_vertically = true,
            "dv" | "cosited" => {
                siting.cosited_horizontally = true;
                siting.cosited_vertically = true;
            }
            _ => {}
        }
    }
    siting
}

/// Describes the pixels of `info` (negotiated from `caps`) for the
/// detector, from GStreamer's own component table of the format.
pub fn pixel_layout(
    info: &gst_video::VideoInfo,
    caps: &gst::CapsRef,
) -> Result<PixelLayout, String> {
    let format = info.format();
    if !FORMATS.contains(&format) {
        return Err(format!(
            "format {} is not supported; use one of {}",
            format.to_str(),
            FORMATS
                .iter()
                .map(|f| f.to_str().as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }

    let format_info = info.format_info();
    let model = if format_info.is_yuv() {
        ColourModel::Yuv(yuv_matrix(info))
    } else if format_info.is_gray() {
        ColourModel::Gray
    } else {
        ColourModel::Rgb
    };
    let component = |c: usize| {
        Component::new(
            format_info.plane()[c] as usize,
            format_info.poffset()[c] as usize,
            format_info.pixel_stride()[c] as usize,
            format_info.w_sub()[c],
            format_info.h_sub()[c],
        )
    };
    let components = match model {
        ColourModel::Gray => [component(0); 3],
        _ => [component(0), component(1), component(2)],
    };
    Ok(PixelLayout {
        model,
        components,
        chroma_siting: chroma_siting(caps),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The layout of `format`, with the chroma siting of the detector's
    /// constructors (MPEG-2) for subsampled formats.
    fn layout(format: VideoFormat, width: u32, height: u32) -> PixelLayout {
        gst::init().unwrap();
        let info = gst_video::VideoInfo::builder(format, width, height)
            .build()
            .unwrap();
        let mut caps = info.to_caps().unwrap();
        let subsampled = info.format_info().w_sub().iter().any(|&s| s > 0);
        if subsampled {
            caps.make_mut().set("chroma-site", "mpeg2");
        }
        pixel_layout(&info, &caps).unwrap()
    }

    #[test]
    fn layouts_match_detector_constants() {
        assert_eq!(layout(VideoFormat::Rgb, 8, 8), PixelLayout::RGB);
        assert_eq!(layout(VideoFormat::Bgrx, 8, 8), PixelLayout::BGRX);
        assert_eq!(layout(VideoFormat::Argb, 8, 8), PixelLayout::XRGB);
        assert_eq!(layout(VideoFormat::Abgr, 8, 8), PixelLayout::XBGR);
        assert_eq!(layout(VideoFormat::Gray8, 8, 8), PixelLayout::GRAY8);

        let bt601 = YuvMatrix::BT601;
        assert_eq!(
            layout(VideoFormat::I420, 8, 8),
            PixelLayout::planar_yuv(1, 1, bt601)
        );
        assert_eq!(
            layout(VideoFormat::Y42b, 8, 8),
            PixelLayout::planar_yuv(1, 0, bt601)
        );
        assert_eq!(
            layout(VideoFormat::Y444, 8, 8),
            PixelLayout::planar_yuv(0, 0, bt601)
        );
        assert_eq!(
            layout(VideoFormat::Nv12, 8, 8),
            PixelLayout::semi_planar_yuv(true, bt601)
        );
        assert_eq!(
            layout(VideoFormat::Nv21, 8, 8),
            PixelLayout::semi_planar_yuv(false, bt601)
        );
        assert_eq!(
            layout(VideoFormat::Yuy2, 8, 8),
            PixelLayout::packed_yuv422([0, 1, 3], bt601)
        );
        assert_eq!(
            layout(VideoFormat::Uyvy, 8, 8),
            PixelLayout::packed_yuv422([1, 0, 2], bt601)
        );
        assert_eq!(
            layout(VideoFormat::Yvyu, 8, 8),
            PixelLayout::packed_yuv422([0, 3, 1], bt601)
        );
    }

    #[test]
    fn chroma_siting_follows_caps() {
        gst::init().unwrap();
        let siting = |site: &str| {
            let caps = gst::Caps::builder("video/x-raw")
                .field("format", "I420")
                .field("width", 64)
                .field("height", 48)
                .field("chroma-site", site)
                .build();
            chroma_siting(&caps)
        };
        assert_eq!(siting("mpeg2"), ChromaSiting::MPEG2);
        assert_eq!(siting("jpeg"), ChromaSiting::CENTRED);
        assert_eq!(siting("h-cosited"), ChromaSiting::MPEG2);
        assert_eq!(
            siting("cosited"),
            ChromaSiting {
                cosited_horizontally: true,
                cosited_vertically: true
            }
        );
    }

    #[test]
    fn yv12_reads_u_from_third_plane() {
        let yv12 = layout(VideoFormat::Yv12, 8, 8);
        assert_eq!(yv12.components[1].plane, 2);
        assert_eq!(yv12.components[2].plane, 1);
    }

    #[test]
    fn matrix_follows_colorimetry() {
        gst::init().unwrap();
        let info = |colorimetry: &str, height: u32| {
            let caps = gst::Caps::builder("video/x-raw")
                .field("format", "NV12")
                .field("width", 64)
                .field("height", height as i32)
                .field("framerate", gst::Fraction::new(30, 1))
                .field("colorimetry", colorimetry)
                .build();
            gst_video::VideoInfo::from_caps(&caps).unwrap()
        };
        assert_eq!(yuv_matrix(&info("bt601", 480)), YuvMatrix::BT601);
        assert_eq!(yuv_matrix(&info("bt709", 480)), YuvMatrix::BT709);
        assert_eq!(yuv_matrix(&info("bt2020", 2160)), YuvMatrix::BT2020);
        assert_eq!(yuv_matrix(&info("1:3:5:1", 480)), YuvMatrix::BT709.full());
    }

    #[test]
    fn unsupported_format_names_alternatives() {
        gst::init().unwrap();
        let info = gst_video::VideoInfo::builder(VideoFormat::Rgb16, 8, 8)
            .build()
            .unwrap();
        let err = pixel_layout(&info, &info.to_caps().unwrap()).unwrap_err();
        assert!(err.contains("RGB16"), "{err}");
        assert!(err.contains("NV12"), "{err}");
    }
}
