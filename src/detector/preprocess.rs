//! Fused preprocessing: from the source pixels straight into the padded,
//! normalised, planar float input of the net.
//!
//! The resize reproduces ncnn's `resize_bilinear_c3` (mat_pixel_resize.cpp,
//! ncnn 1.0.20261020) bit for bit: the same fixed-point weights (11
//! fractional bits), the same rounding and the same source taps. So an RGB
//! image gives exactly the net input that ncnn's `from_pixels_resize`
//! followed by padding and `substract_mean_normalize` gives, while this pass
//! reads only the source pixels the resize samples and writes each net
//! input value once.

use super::image::{Image, PackedSource, PixelLayout, PixelSource, RowPixels};
use super::letterbox::Letterbox;
use crate::ncnn::Mat;

/// Per-channel mean and scale of the SCRFD training pipeline:
/// input = (pixel - 127.5) / 128.
pub const MEAN: f32 = 127.5;
pub const NORM: f32 = 1.0 / 128.0;

/// Net input value of the padding: pixel value 0 after normalisation.
pub const PAD_VALUE: f32 = (0.0 - MEAN) * NORM;

/// Fixed-point scale of ncnn's bilinear weights (INTER_RESIZE_COEF_BITS).
const WEIGHT_SCALE: f32 = (1 << 11) as f32;

/// Two horizontal or vertical source taps and their fixed-point weights.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Tap {
    first: usize,
    second: usize,
    weight_first: i16,
    weight_second: i16,
}

/// Tables and row buffers reused from frame to frame; they are rebuilt only
/// when the source or target size changes.
#[derive(Debug, Default)]
pub struct Scratch {
    key: (usize, usize, usize, usize),
    columns: Vec<Tap>,
    rows: Vec<Tap>,
    /// Horizontally resized source rows, one plane per colour channel.
    upper: [Vec<i16>; 3],
    lower: [Vec<i16>; 3],
}

/// Computes the taps of one axis as ncnn's resize does, in the same mix of
/// double and float arithmetic.
fn compute_taps(source: usize, target: usize) -> Vec<Tap> {
    let scale = source as f64 / target as f64;
    (0..target)
        .map(|d| {
            let mut f = ((d as f64 + 0.5) * scale - 0.5) as f32;
            let mut s = f.floor() as i64;
            f -= s as f32;

            if s < 0 {
                s = 0;
                f = 0.0;
            }
            if s >= source as i64 - 1 {
                // For a one-pixel source this makes s = -1 with all weight
                // on the second tap; ncnn then reads one pixel before the
                // row with weight zero. Clamping the tap reads pixel 0
                // instead, which gives the same value without the
                // out-of-bounds read.
                s = source as i64 - 2;
                f = 1.0;
            }

            Tap {
                first: s.max(0) as usize,
                second: (s + 1).min(source as i64 - 1).max(0) as usize,
                weight_first: saturate_to_i16((1.0 - f) * WEIGHT_SCALE),
                weight_second: saturate_to_i16(f * WEIGHT_SCALE),
            }
        })
        .collect()
}

/// ncnn's SATURATE_CAST_SHORT: round half away from zero, then clamp.
fn saturate_to_i16(x: f32) -> i16 {
    let rounded = (x + if x >= 0.0 { 0.5 } else { -0.5 }) as i32;
    rounded.clamp(i16::MIN as i32, i16::MAX as i32) as i16
}

impl Scratch {
    fn prepare(&mut self, source_width: usize, source_height: usize, width: usize, height: usize) {
        let key = (source_width, source_height, width, height);
        if self.key == key && !self.columns.is_empty() {
            return;
        }
        self.key = key;
        self.columns = compute_taps(source_width, width);
        self.rows = compute_taps(source_height, height);
        for row in self.upper.iter_mut().chain(self.lower.iter_mut()) {
            row.clear();
            row.resize(width, 0);
        }
    }
}

/// Resizes one source row horizontally into three channel planes, keeping
/// ncnn's 4 extra fractional bits.
fn resize_row<R: RowPixels>(row: &R, columns: &[Tap], out: &mut [Vec<i16>; 3]) {
    let [red, green, blue] = out;
    for (dx, tap) in columns.iter().enumerate() {
        let first = row.rgb(tap.first);
        let second = row.rgb(tap.second);
        let (a0, a1) = (tap.weight_first as i32, tap.weight_second as i32);
        red[dx] = ((first[0] as i32 * a0 + second[0] as i32 * a1) >> 4) as i16;
        green[dx] = ((first[1] as i32 * a0 + second[1] as i32 * a1) >> 4) as i16;
        blue[dx] = ((first[2] as i32 * a0 + second[2] as i32 * a1) >> 4) as i16;
    }
}

/// Blends two resized rows vertically (ncnn's `vresize_one`) and writes the
/// normalised result into one row of the net input.
fn blend_rows(upper: &[i16], lower: &[i16], tap: &Tap, out: &mut [f32]) {
    let (b0, b1) = (tap.weight_first as i32, tap.weight_second as i32);
    for ((out, &s0), &s1) in out.iter_mut().zip(upper).zip(lower) {
        let sum = ((b0 * s0 as i32) >> 16) as i16 as i32 + ((b1 * s1 as i32) >> 16) as i16 as i32;
        let value = ((sum + 2) >> 2) as u8;
        // Exact in f32: value / 128 and 127.5 / 128 both fit the mantissa.
        *out = value as f32 * NORM - MEAN * NORM;
    }
}

fn resize_source<S: PixelSource>(
    source: &S,
    letterbox: &Letterbox,
    input: &mut Mat,
    scratch: &mut Scratch,
) {
    scratch.prepare(
        letterbox.image_width,
        letterbox.image_height,
        letterbox.width,
        letterbox.height,
    );
    let Scratch {
        columns,
        rows,
        upper,
        lower,
        ..
    } = scratch;

    // Source rows currently held by `upper` and `lower`.
    let mut held: (Option<usize>, Option<usize>) = (None, None);
    let padded_width = letterbox.padded_width;

    for (dy, tap) in rows.iter().enumerate() {
        // Resize only the source rows not already held, as ncnn does when
        // consecutive output rows share a source row.
        if held.0 != Some(tap.first) {
            if held.1 == Some(tap.first) {
                std::mem::swap(upper, lower);
                held.0 = held.1.take();
            } else {
                resize_row(&source.row(tap.first), columns, upper);
                held.0 = Some(tap.first);
            }
        }
        if held.1 != Some(tap.second) {
            resize_row(&source.row(tap.second), columns, lower);
            held.1 = Some(tap.second);
        }

        let start = (letterbox.top + dy) * padded_width + letterbox.left;
        for c in 0..3 {
            let out = &mut input.channel_mut(c)[start..start + letterbox.width];
            blend_rows(&upper[c], &lower[c], tap, out);
        }
    }
}

/// Returns whether `input` has the padded shape of `letterbox`.
pub fn input_matches(input: &Mat, letterbox: &Letterbox) -> bool {
    input.width() == letterbox.padded_width
        && input.height() == letterbox.padded_height
        && input.channels() == 3
}

/// Allocates a net input for `letterbox` with every value set to the
/// padding value.
pub fn new_input(letterbox: &Letterbox) -> Result<Mat, crate::ncnn::Error> {
    let mut input = Mat::new(letterbox.padded_width, letterbox.padded_height, 3)?;
    for c in 0..3 {
        input.channel_mut(c).fill(PAD_VALUE);
    }
    Ok(input)
}

/// Writes the resized, normalised image into the image area of `input`.
///
/// `input` must have the padded shape of `letterbox` (see [`new_input`]);
/// its padding area is left as it is, so a reused input keeps the padding
/// value written when it was allocated as long as the letterbox is the same.
pub fn resize_normalize(
    image: &Image<'_>,
    letterbox: &Letterbox,
    input: &mut Mat,
    scratch: &mut Scratch,
) {
    debug_assert!(input_matches(input, letterbox));
    debug_assert_eq!(
        (image.width(), image.height()),
        (letterbox.image_width, letterbox.image_height)
    );
    match image.layout() {
        PixelLayout::Packed {
            bytes_per_pixel,
            red,
            green,
            blue,
        } => {
            let source = PackedSource {
                plane: image.plane(0),
                bytes_per_pixel,
                offsets: [red, green, blue],
            };
            resize_source(&source, letterbox, input, scratch);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn taps_match_ncnn_for_downscale() {
        // 4 -> 2: fx = 2 * d + 0.5, so each output blends two pixels evenly.
        let taps = compute_taps(4, 2);
        assert_eq!(taps[0].first, 0);
        assert_eq!(taps[0].second, 1);
        assert_eq!((taps[0].weight_first, taps[0].weight_second), (1024, 1024));
        assert_eq!(taps[1].first, 2);
    }

    #[test]
    fn taps_clamp_at_edges() {
        // Upscaling 2 -> 4: the first output lies before pixel 0, the last
        // after pixel 1; both are clamped with full weight on the edge.
        let taps = compute_taps(2, 4);
        assert_eq!(
            (taps[0].first, taps[0].weight_first, taps[0].weight_second),
            (0, 2048, 0)
        );
        assert_eq!(
            (taps[3].first, taps[3].weight_first, taps[3].weight_second),
            (0, 0, 2048)
        );
        assert_eq!(taps[3].second, 1);
    }

    #[test]
    fn taps_of_one_pixel_source_stay_inside() {
        for tap in compute_taps(1, 640) {
            assert_eq!((tap.first, tap.second), (0, 0));
            assert_eq!((tap.weight_first, tap.weight_second), (0, 2048));
        }
    }

    #[test]
    fn saturate_rounds_half_away_from_zero() {
        assert_eq!(saturate_to_i16(1023.5), 1024);
        assert_eq!(saturate_to_i16(-0.5), -1);
        assert_eq!(saturate_to_i16(1e9), i16::MAX);
    }

    #[test]
    fn pad_value_is_normalised_zero() {
        assert_eq!(PAD_VALUE, -0.99609375);
    }
}
