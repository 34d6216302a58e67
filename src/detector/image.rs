//! Borrowed views of video frames in the pixel layouts the detector reads.

/// Where the colour components of a pixel sit in memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PixelLayout {
    /// One plane of `bytes_per_pixel`-byte pixels with red, green and blue
    /// at the given byte offsets; any other byte (alpha, padding) is
    /// ignored.
    Packed {
        bytes_per_pixel: usize,
        red: usize,
        green: usize,
        blue: usize,
    },
}

impl PixelLayout {
    pub const RGB: PixelLayout = PixelLayout::packed(3, 0, 1, 2);
    pub const BGR: PixelLayout = PixelLayout::packed(3, 2, 1, 0);
    /// RGBx and RGBA.
    pub const RGBX: PixelLayout = PixelLayout::packed(4, 0, 1, 2);
    /// BGRx and BGRA.
    pub const BGRX: PixelLayout = PixelLayout::packed(4, 2, 1, 0);
    /// xRGB and ARGB.
    pub const XRGB: PixelLayout = PixelLayout::packed(4, 1, 2, 3);
    /// xBGR and ABGR.
    pub const XBGR: PixelLayout = PixelLayout::packed(4, 3, 2, 1);

    const fn packed(bytes_per_pixel: usize, red: usize, green: usize, blue: usize) -> PixelLayout {
        PixelLayout::Packed {
            bytes_per_pixel,
            red,
            green,
            blue,
        }
    }

    fn plane_count(self) -> usize {
        match self {
            PixelLayout::Packed { .. } => 1,
        }
    }

    /// Bytes of one row of `width` pixels in plane `plane`.
    fn row_bytes(self, plane: usize, width: usize) -> usize {
        match self {
            PixelLayout::Packed {
                bytes_per_pixel, ..
            } => {
                debug_assert_eq!(plane, 0);
                width * bytes_per_pixel
            }
        }
    }

    /// Rows in plane `plane` of an image `height` pixels high.
    fn plane_rows(self, _plane: usize, height: usize) -> usize {
        match self {
            PixelLayout::Packed { .. } => height,
        }
    }
}

/// One plane of an image: its bytes, rows `stride` bytes apart.
#[derive(Debug, Clone, Copy)]
pub struct Plane<'a> {
    pub data: &'a [u8],
    pub stride: usize,
}

/// A borrowed image whose planes are checked to hold every pixel.
#[derive(Debug, Clone, Copy)]
pub struct Image<'a> {
    width: usize,
    height: usize,
    layout: PixelLayout,
    planes: [Plane<'a>; 3],
}

/// Why a set of planes cannot be read as an image.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ImageError {
    #[error("image size {width}x{height} is empty")]
    Empty { width: usize, height: usize },

    #[error("{layout:?} needs {expected} planes, {given} given")]
    PlaneCount {
        layout: PixelLayout,
        expected: usize,
        given: usize,
    },

    #[error("plane {plane} has row stride {stride}, less than one row of {row_bytes} bytes")]
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
        let expected = layout.plane_count();
        if planes.len() != expected {
            return Err(ImageError::PlaneCount {
                layout,
                expected,
                given: planes.len(),
            });
        }

        for (index, plane) in planes.iter().enumerate() {
            let row_bytes = layout.row_bytes(index, width);
            if plane.stride < row_bytes {
                return Err(ImageError::Stride {
                    plane: index,
                    stride: plane.stride,
                    row_bytes,
                });
            }
            let needed = plane.stride * (layout.plane_rows(index, height) - 1) + row_bytes;
            if plane.data.len() < needed {
                return Err(ImageError::PlaneSize {
                    plane: index,
                    len: plane.data.len(),
                    needed,
                });
            }
        }

        let empty = Plane {
            data: &[],
            stride: 0,
        };
        let mut all = [empty; 3];
        all[..planes.len()].copy_from_slice(planes);
        Ok(Image {
            width,
            height,
            layout,
            planes: all,
        })
    }

    /// A tightly or loosely packed single-plane image.
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
}

/// Source of 8-bit RGB pixels, one row at a time.
pub(crate) trait PixelSource {
    type Row<'r>: RowPixels
    where
        Self: 'r;

    fn row(&self, y: usize) -> Self::Row<'_>;
}

/// The pixels of one source row.
pub(crate) trait RowPixels {
    /// Returns red, green and blue of pixel `x`.
    fn rgb(&self, x: usize) -> [u8; 3];
}

/// A packed RGB-family plane.
pub(crate) struct PackedSource<'a> {
    pub plane: Plane<'a>,
    pub bytes_per_pixel: usize,
    pub offsets: [usize; 3],
}

pub(crate) struct PackedRow<'a> {
    pixels: &'a [u8],
    bytes_per_pixel: usize,
    offsets: [usize; 3],
}

impl PixelSource for PackedSource<'_> {
    type Row<'r>
        = PackedRow<'r>
    where
        Self: 'r;

    fn row(&self, y: usize) -> PackedRow<'_> {
        PackedRow {
            pixels: &self.plane.data[y * self.plane.stride..],
            bytes_per_pixel: self.bytes_per_pixel,
            offsets: self.offsets,
        }
    }
}

impl RowPixels for PackedRow<'_> {
    #[inline(always)]
    fn rgb(&self, x: usize) -> [u8; 3] {
        let pixel = &self.pixels[x * self.bytes_per_pixel..];
        [
            pixel[self.offsets[0]],
            pixel[self.offsets[1]],
            pixel[self.offsets[2]],
        ]
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
    fn packed_orders_read_rgb() {
        let pixel = [10u8, 20, 30, 40];
        let read = |layout: PixelLayout| {
            let PixelLayout::Packed {
                bytes_per_pixel,
                red,
                green,
                blue,
            } = layout;
            let source = PackedSource {
                plane: Plane {
                    data: &pixel,
                    stride: 4,
                },
                bytes_per_pixel,
                offsets: [red, green, blue],
            };
            source.row(0).rgb(0)
        };
        assert_eq!(read(PixelLayout::RGBX), [10, 20, 30]);
        assert_eq!(read(PixelLayout::BGRX), [30, 20, 10]);
        assert_eq!(read(PixelLayout::XRGB), [20, 30, 40]);
        assert_eq!(read(PixelLayout::XBGR), [40, 30, 20]);
        assert_eq!(read(PixelLayout::BGR), [30, 20, 10]);
    }
}
