//! Borrowed views of video frames in the pixel layouts the detector reads:
//! packed RGB, packed and planar YUV at any chroma subsampling, and grey.

/// Where the samples of one colour component sit: in plane `plane`, the
/// sample of pixel (x, y) is at byte
/// `(y >> y_shift) * stride + offset + (x >> x_shift) * step`.
///
/// This is how GStreamer's `GstVideoFormatInfo` describes every 8-bit
/// format (`plane`, `poffset`, `pixel_stride`, `w_sub`, `h_sub`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Component {
    pub plane: usize,
    pub offset: usize,
    pub step: usize,
    pub x_shift: u32,
    pub y_shift: u32,
}

impl Component {
    pub const fn new(
        plane: usize,
        offset: usize,
        step: usize,
        x_shift: u32,
        y_shift: u32,
    ) -> Component {
        Component {
            plane,
            offset,
            step,
            x_shift,
            y_shift,
        }
    }

    /// Rows and samples per row of this component in a `width` x `height`
    /// image; subsampled sides round up.
    pub fn samples(&self, width: usize, height: usize) -> (usize, usize) {
        (
            width.div_ceil(1 << self.x_shift),
            height.div_ceil(1 << self.y_shift),
        )
    }

    /// Bytes from the start of a row to the end of its last sample.
    fn row_extent(&self, width: usize) -> usize {
        let (columns, _) = self.samples(width, 1);
        self.offset + (columns - 1) * self.step + 1
    }
}

/// Luma and colour-difference coefficients of a YUV matrix and the range
/// of its samples.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct YuvMatrix {
    /// Weight of red in luma.
    pub kr: f64,
    /// Weight of blue in luma.
    pub kb: f64,
    /// Full range (0 to 255) when true; limited range (luma 16 to 235,
    /// chroma 16 to 240) otherwise.
    pub full_range: bool,
}

impl YuvMatrix {
    /// ITU-R BT.601 (standard definition), limited range.
    pub const BT601: YuvMatrix = YuvMatrix::new(0.299, 0.114, false);
    /// ITU-R BT.709 (high definition), limited range.
    pub const BT709: YuvMatrix = YuvMatrix::new(0.2126, 0.0722, false);
    /// ITU-R BT.2020 (ultra high definition), limited range.
    pub const BT2020: YuvMatrix = YuvMatrix::new(0.2627, 0.0593, false);
    /// SMPTE 240M, limited range.
    pub const SMPTE240M: YuvMatrix = YuvMatrix::new(0.212, 0.087, false);
    /// FCC, limited range.
    pub const FCC: YuvMatrix = YuvMatrix::new(0.30, 0.11, false);

    pub const fn new(kr: f64, kb: f64, full_range: bool) -> YuvMatrix {
        YuvMatrix { kr, kb, full_range }
    }

    /// Returns the same matrix with full-range samples.
    pub const fn full(self) -> YuvMatrix {
        YuvMatrix::new(self.kr, self.kb, true)
    }

    /// Converts 8-bit Y, U (Cb), V (Cr) samples to RGB in 0..=255, as
    /// real numbers before rounding.
    pub fn to_rgb(&self, y: f64, u: f64, v: f64) -> [f64; 3] {
        let (luma, chroma) = self.sample_scales();
        let y = (y - if self.full_range { 0.0 } else { 16.0 }) * luma;
        let (cb, cr) = ((u - 128.0) * chroma, (v - 128.0) * chroma);
        let kg = 1.0 - self.kr - self.kb;
        [
            y + 2.0 * (1.0 - self.kr) * cr,
            y - 2.0 * self.kb * (1.0 - self.kb) / kg * cb
                - 2.0 * self.kr * (1.0 - self.kr) / kg * cr,
            y + 2.0 * (1.0 - self.kb) * cb,
        ]
    }

    /// Converts an RGB colour to rounded 8-bit Y, U, V samples.
    pub fn from_rgb(&self, rgb: [u8; 3]) -> [u8; 3] {
        let [r, g, b] = rgb.map(f64::from);
        let kg = 1.0 - self.kr - self.kb;
        let y = self.kr * r + kg * g + self.kb * b;
        let cb = (b - y) / (2.0 * (1.0 - self.kb));
        let cr = (r - y) / (2.0 * (1.0 - self.kr));
        let (luma, chroma) = self.sample_scales();
        let y = y / luma + if self.full_range { 0.0 } else { 16.0 };
        [y, 128.0 + cb / chroma, 128.0 + cr / chroma].map(|v| v.round().clamp(0.0, 255.0) as u8)
    }

    /// Factors from luma and chroma sample steps to RGB steps.
    fn sample_scales(&self) -> (f64, f64) {
        if self.full_range {
            (1.0, 1.0)
        } else {
            (255.0 / 219.0, 255.0 / 224.0)
        }
    }
}

/// Where subsampled chroma samples sit relative to the luma samples they
/// cover: cosited with the first one, or centred between them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ChromaSiting {
    pub cosited_horizontally: bool,
    pub cosited_vertically: bool,
}

impl ChromaSiting {
    /// Centred both ways, as in JPEG.
    pub const CENTRED: ChromaSiting = ChromaSiting {
        cosited_horizontally: false,
        cosited_vertically: false,
    };
    /// Cosited horizontally, centred vertically, as in MPEG-2 and H.264.
    pub const MPEG2: ChromaSiting = ChromaSiting {
        cosited_horizontally: true,
        cosited_vertically: false,
    };
}

/// Colour model of a pixel layout.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ColourModel {
    /// Components are red, green, blue.
    Rgb,
    /// Components are Y, U (Cb), V (Cr), converted with the matrix.
    Yuv(YuvMatrix),
    /// One component, used as red, green and blue alike.
    Gray,
}

/// The colour model and component positions of a pixel format.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PixelLayout {
    pub model: ColourModel,
    /// Red, green, blue; or Y, U, V; or the grey component first.
    pub components: [Component; 3],
    /// Position of subsampled components; unused without subsampling.
    pub chroma_siting: ChromaSiting,
}

impl PixelLayout {
    pub const RGB: PixelLayout = PixelLayout::packed_rgb(3, [0, 1, 2]);
    pub const BGR: PixelLayout = PixelLayout::packed_rgb(3, [2, 1, 0]);
    /// RGBx and RGBA.
    pub const RGBX: PixelLayout = PixelLayout::packed_rgb(4, [0, 1, 2]);
    /// BGRx and BGRA.
    pub const BGRX: PixelLayout = PixelLayout::packed_rgb(4, [2, 1, 0]);
    /// xRGB and ARGB.
    pub const XRGB: PixelLayout = PixelLayout::packed_rgb(4, [1, 2, 3]);
    /// xBGR and ABGR.
    pub const XBGR: PixelLayout = PixelLayout::packed_rgb(4, [3, 2, 1]);
    pub const GRAY8: PixelLayout = PixelLayout {
        model: ColourModel::Gray,
        components: [Component::new(0, 0, 1, 0, 0); 3],
        chroma_siting: ChromaSiting::CENTRED,
    };

    /// One plane of `bytes_per_pixel`-byte pixels with red, green and blue
    /// at the given byte offsets; other bytes (alpha, padding) are ignored.
    pub const fn packed_rgb(bytes_per_pixel: usize, offsets: [usize; 3]) -> PixelLayout {
        PixelLayout {
            model: ColourModel::Rgb,
            components: [
                Component::new(0, offsets[0], bytes_per_pixel, 0, 0),
                Component::new(0, offsets[1], bytes_per_pixel, 0, 0),
                Component::new(0, offsets[2], bytes_per_pixel, 0, 0),
            ],
            chroma_siting: ChromaSiting::CENTRED,
        }
    }

    /// Three planes Y, U, V with chroma subsampled by 2^`x_shift` and
    /// 2^`y_shift`: I420 and YV12 (1, 1), Y42B (1, 0), Y444 (0, 0). The
    /// constructors of subsampled layouts assume MPEG-2 chroma siting.
    pub const fn planar_yuv(x_shift: u32, y_shift: u32, matrix: YuvMatrix) -> PixelLayout {
        PixelLayout {
            model: ColourModel::Yuv(matrix),
            components: [
                Component::new(0, 0, 1, 0, 0),
                Component::new(1, 0, 1, x_shift, y_shift),
                Component::new(2, 0, 1, x_shift, y_shift),
            ],
            chroma_siting: if x_shift == 0 && y_shift == 0 {
                ChromaSiting::CENTRED
            } else {
                ChromaSiting::MPEG2
            },
        }
    }

    /// A Y plane and an interleaved 4:2:0 chroma plane: NV12 (U first) or
    /// NV21 (V first).
    pub const fn semi_planar_yuv(u_first: bool, matrix: YuvMatrix) -> PixelLayout {
        let (u, v) = if u_first { (0, 1) } else { (1, 0) };
        PixelLayout {
            model: ColourModel::Yuv(matrix),
            components: [
                Component::new(0, 0, 1, 0, 0),
                Component::new(1, u, 2, 1, 1),
                Component::new(1, v, 2, 1, 1),
            ],
            chroma_siting: ChromaSiting::MPEG2,
        }
    }

    /// Packed 4:2:2 with two pixels in four bytes; `offsets` are the bytes
    /// of the first Y, of U and of V: YUY2 (0, 1, 3), UYVY (1, 0, 2),
    /// YVYU (0, 3, 1).
    pub const fn packed_yuv422(offsets: [usize; 3], matrix: YuvMatrix) -> PixelLayout {
        PixelLayout {
            model: ColourModel::Yuv(matrix),
            components: [
                Component::new(0, offsets[0], 2, 0, 0),
                Component::new(0, offsets[1], 4, 1, 0),
                Component::new(0, offsets[2], 4, 1, 0),
            ],
            chroma_siting: ChromaSiting::MPEG2,
        }
    }

    /// Components this layout reads: one for grey, three otherwise.
    pub fn used_components(&self) -> &[Component] {
        match self.model {
            ColourModel::Gray => &self.components[..1],
            _ => &self.components,
        }
    }
}

/// One plane of an image: its bytes, rows `stride` bytes apart.
#[derive(Debug, Clone, Copy)]
pub struct Plane<'a> {
    pub data: &'a [u8],
    pub stride: usize,
}

/// Maximum number of planes a layout reads.
pub const MAX_PLANES: usize = 4;

/// A borrowed image whose planes are checked to hold every sample.
#[derive(Debug, Clone, Copy)]
pub struct Image<'a> {
    width: usize,
    height: usize,
    layout: PixelLayout,
    planes: [Plane<'a>; MAX_PLANES],
}

/// Reason a set of planes cannot be read as an image.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ImageError {
    #[error("image size {width}x{height} is empty")]
    Empty { width: usize, height: usize },

    #[error("the layout reads plane {plane}, but only {given} planes were given")]
    MissingPlane { plane: usize, given: usize },

    #[error("plane {plane} has row stride {stride}, less than the {row_bytes} bytes a row spans")]
    Stride {
        plane: usize,
        stride: usize,
        row_bytes: usize,
    },

    #[error("plane {plane} has {len} bytes, {needed} needed for its rows")]
    PlaneSize {
        plane: usize,
        len: usize,
        needed: usize,
    },
}

impl<'a> Image<'a> {
    /// Checks that `planes` hold a `width` x `height` image in `layout`.
    pub fn new(
        width: usize,
        height: usize,
        layout: PixelLayout,
        planes: &[Plane<'a>],
    ) -> Result<Image<'a>, ImageError> {
        if width == 0 || height == 0 {
            return Err(ImageError::Empty { width, height });
        }

        for component in layout.used_components() {
            let plane = planes
                .get(component.plane)
                .ok_or(ImageError::MissingPlane {
                    plane: component.plane,
                    given: planes.len(),
                })?;
            let row_bytes = component.row_extent(width);
            if plane.stride < row_bytes {
                return Err(ImageError::Stride {
                    plane: component.plane,
                    stride: plane.stride,
                    row_bytes,
                });
            }
            let (_, rows) = component.samples(width, height);
            let needed = plane.stride * (rows - 1) + row_bytes;
            if plane.data.len() < needed {
                return Err(ImageError::PlaneSize {
                    plane: component.plane,
                    len: plane.data.len(),
                    needed,
                });
            }
        }

        let empty = Plane {
            data: &[],
            stride: 0,
        };
        let mut all = [empty; MAX_PLANES];
        for (slot, plane) in all.iter_mut().zip(planes) {
            *slot = *plane;
        }
        Ok(Image {
            width,
            height,
            layout,
            planes: all,
        })
    }

    /// A single-plane image, such as packed RGB or YUY2.
    pub fn packed(
        data: &'a [u8],
        width: usize,
        height: usize,
        stride: usize,
        layout: PixelLayout,
    ) -> Result<Image<'a>, ImageError> {
        Image::new(width, height, layout, &[Plane { data, stride }])
    }

    pub fn width(&self) -> usize {
        self.width
    }

    pub fn height(&self) -> usize {
        self.height
    }

    pub fn layout(&self) -> PixelLayout {
        self.layout
    }

    pub fn plane(&self, index: usize) -> Plane<'a> {
        self.planes[index]
    }

    /// Returns plane `plane` from the start of image row `y` on, for
    /// layouts without vertical subsampling in that plane.
    pub(crate) fn plane_row(&self, plane: usize, y: usize) -> &'a [u8] {
        let plane = &self.planes[plane];
        &plane.data[y * plane.stride..]
    }

    /// Returns row `row` of component `index` (counted in the component's
    /// own, possibly subsampled rows) from its first sample on.
    pub(crate) fn component_samples(&self, index: usize, row: usize) -> &'a [u8] {
        let component = &self.layout.components[index];
        let plane = &self.planes[component.plane];
        &plane.data[row * plane.stride + component.offset..]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packed_checks_stride_and_size() {
        let data = [0u8; 20];
        let err = Image::packed(&data, 3, 2, 8, PixelLayout::RGB).unwrap_err();
        assert_eq!(
            err,
            ImageError::Stride {
                plane: 0,
                stride: 8,
                row_bytes: 9
            }
        );

        // Two rows of 3 RGB pixels with stride 12 need 12 + 9 = 21 bytes.
        let err = Image::packed(&data, 3, 2, 12, PixelLayout::RGB).unwrap_err();
        assert_eq!(
            err,
            ImageError::PlaneSize {
                plane: 0,
                len: 20,
                needed: 21
            }
        );

        assert!(Image::packed(&data, 3, 2, 11, PixelLayout::RGB).is_ok());
        assert!(matches!(
            Image::packed(&data, 0, 2, 12, PixelLayout::RGB),
            Err(ImageError::Empty { .. })
        ));
    }

    #[test]
    fn planar_checks_rounded_up_chroma() {
        // I420 3x3: Y 3x3, U and V 2x2 each.
        let y = [0u8; 9];
        let uv = [0u8; 4];
        let short = [0u8; 3];
        let layout = PixelLayout::planar_yuv(1, 1, YuvMatrix::BT601);
        let plane = |data| Plane { data, stride: 0 };
        let planes = |u, v| {
            [
                Plane {
                    data: &y[..],
                    stride: 3,
                },
                Plane {
                    stride: 2,
                    ..plane(u)
                },
                Plane {
                    stride: 2,
                    ..plane(v)
                },
            ]
        };

        assert!(Image::new(3, 3, layout, &planes(&uv, &uv)).is_ok());
        assert_eq!(
            Image::new(3, 3, layout, &planes(&uv, &short)).unwrap_err(),
            ImageError::PlaneSize {
                plane: 2,
                len: 3,
                needed: 4
            }
        );
        assert_eq!(
            Image::new(3, 3, layout, &planes(&uv, &uv)[..2]).unwrap_err(),
            ImageError::MissingPlane { plane: 2, given: 2 }
        );
    }

    #[test]
    fn packed_422_rows_span_whole_macropixels() {
        // YUY2 3 pixels wide: the V of the second macropixel is byte 7.
        let layout = PixelLayout::packed_yuv422([0, 1, 3], YuvMatrix::BT601);
        let data = [0u8; 8];
        assert!(Image::packed(&data, 3, 1, 8, layout).is_ok());
        assert!(Image::packed(&data[..7], 3, 1, 7, layout).is_err());
    }

    #[test]
    fn yuv_matrix_round_trips_colours() {
        for matrix in [
            YuvMatrix::BT601,
            YuvMatrix::BT709,
            YuvMatrix::BT2020,
            YuvMatrix::BT709.full(),
        ] {
            for rgb in [
                [255, 0, 0],
                [0, 255, 0],
                [0, 0, 255],
                [255, 255, 255],
                [0, 0, 0],
                [30, 140, 200],
            ] {
                let [y, u, v] = matrix.from_rgb(rgb);
                let back = matrix.to_rgb(y as f64, u as f64, v as f64);
                for (a, b) in back.iter().zip(rgb) {
                    assert!((a - b as f64).abs() < 2.0, "{matrix:?} {rgb:?} -> {back:?}");
                }
            }
        }
        // Limited-range white and black.
        assert_eq!(YuvMatrix::BT709.from_rgb([255, 255, 255]), [235, 128, 128]);
        assert_eq!(YuvMatrix::BT709.from_rgb([0, 0, 0]), [16, 128, 128]);
    }
}
