//! Fused preprocessing: from the source pixels straight into the padded,
//! normalised, planar float input of the net.
//!
//! The resize reproduces ncnn's `resize_bilinear_c3` (mat_pixel_resize.cpp,
//! ncnn 1.0.20261020) bit for bit: the same fixed-point weights (11
//! fractional bits), the same rounding and the same source taps. So an RGB
//! image gives exactly the net input that ncnn's `from_pixels_resize`
//! followed by padding and `substract_mean_normalize` gives, while this pass
//! reads only the source samples the resize uses and writes each net input
//! value once.
//!
//! YUV is resized in YUV, each component with its own taps (subsampled
//! chroma at its sited position), and converted to RGB once per output
//! pixel; grey is resized once and written to all three channels.

use super::image::{ColourModel, Image, PixelLayout, YuvMatrix};
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
/// when the layout, the source size or the target size changes.
#[derive(Debug, Default)]
pub struct Scratch {
    key: Option<(PixelLayout, usize, usize, usize, usize)>,
    /// Resize tables of each colour component.
    components: [ComponentTaps; 3],
    /// Horizontally resized source rows, one plane per colour channel.
    upper: [Vec<i16>; 3],
    lower: [Vec<i16>; 3],
    /// Vertically blended YUV values of one output row.
    blended: [Vec<i16>; 3],
    /// Those values converted to 8-bit RGB.
    converted: [Vec<i16>; 3],
}

/// The resize of one colour component: its taps in its own samples.
#[derive(Debug, Default)]
struct ComponentTaps {
    /// Vertical taps in component rows, one per output row.
    rows: Vec<Tap>,
    /// Horizontal weights, one pair per output column.
    column_weights: Vec<[i32; 2]>,
    /// Byte offsets of the two horizontal taps of each output column
    /// inside a component row.
    column_offsets: Vec<[u32; 2]>,
}

/// Computes the taps of one axis of a component with `samples` samples,
/// subsampled by 2^`shift` from an image axis of `image_size` pixels, for
/// `target` output pixels.
///
/// Full-resolution components use ncnn's own arithmetic. Subsampled ones
/// are interpolated at the chroma position of each output pixel: the luma
/// position divided by the subsampling, shifted by half a luma pixel for
/// centred siting.
fn compute_component_taps(
    samples: usize,
    image_size: usize,
    target: usize,
    shift: u32,
    cosited: bool,
) -> Vec<Tap> {
    if shift == 0 {
        return compute_taps(samples, target);
    }
    let scale = image_size as f64 / target as f64;
    let factor = (1u32 << shift) as f64;
    (0..target)
        .map(|d| {
            let luma = (d as f64 + 0.5) * scale - 0.5;
            let position = if cosited {
                luma / factor
            } else {
                (luma + 0.5) / factor - 0.5
            };
            let (first, fraction) = if samples < 2 || position <= 0.0 {
                (0, 0.0)
            } else if position >= (samples - 1) as f64 {
                (samples - 2, 1.0)
            } else {
                (position.floor() as usize, position - position.floor())
            };
            Tap {
                first,
                second: (first + 1).min(samples - 1),
                weight_first: ((1.0 - fraction) * WEIGHT_SCALE as f64).round() as i16,
                weight_second: (fraction * WEIGHT_SCALE as f64).round() as i16,
            }
        })
        .collect()
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
    fn prepare(&mut self, layout: &PixelLayout, letterbox: &Letterbox) {
        let (image_width, image_height) = (letterbox.image_width, letterbox.image_height);
        let (width, height) = (letterbox.width, letterbox.height);
        let key = Some((*layout, image_width, image_height, width, height));
        if self.key == key {
            return;
        }
        self.key = key;

        let siting = layout.chroma_siting;
        for (taps, component) in self.components.iter_mut().zip(&layout.components) {
            let (columns, rows) = component.samples(image_width, image_height);
            let column_taps = compute_component_taps(
                columns,
                image_width,
                width,
                component.x_shift,
                siting.cosited_horizontally,
            );
            taps.rows = compute_component_taps(
                rows,
                image_height,
                height,
                component.y_shift,
                siting.cosited_vertically,
            );
            taps.column_weights = column_taps
                .iter()
                .map(|tap| [tap.weight_first as i32, tap.weight_second as i32])
                .collect();
            taps.column_offsets = column_taps
                .iter()
                .map(|tap| {
                    [
                        (tap.first * component.step) as u32,
                        (tap.second * component.step) as u32,
                    ]
                })
                .collect();
        }

        let rows = self.upper.iter_mut().chain(&mut self.lower);
        for row in rows.chain(&mut self.blended).chain(&mut self.converted) {
            row.clear();
            row.resize(width, 0);
        }
    }
}

/// Fractional bits of the vertically blended YUV samples that the
/// conversion reads: keeping 2 bits of the blend instead of rounding to
/// 8 bits first means only the final RGB value is rounded.
const BLEND_FRACTION_BITS: u32 = 2;

/// Fractional bits of the fixed-point YUV to RGB coefficients.
const COEFFICIENT_BITS: u32 = 14;

/// Fixed-point YUV to RGB conversion for one matrix, for samples with
/// `BLEND_FRACTION_BITS` fractional bits. Plain arithmetic rather than
/// lookup tables keeps the working set in the first-level cache, and the
/// row loop compiles to vector instructions.
#[derive(Debug, Clone, Copy, PartialEq)]
struct YuvCoefficients {
    /// Black level of luma, with the samples' fractional bits.
    luma_offset: i32,
    luma: i32,
    red_v: i32,
    green_u: i32,
    green_v: i32,
    blue_u: i32,
}

impl YuvCoefficients {
    fn new(matrix: &YuvMatrix) -> YuvCoefficients {
        // to_rgb is affine: its slopes per sample step are the coefficients.
        let origin = matrix.to_rgb(0.0, 128.0, 128.0);
        let luma_slope = matrix.to_rgb(1.0, 128.0, 128.0)[0] - origin[0];
        let along_u = matrix.to_rgb(0.0, 129.0, 128.0);
        let along_v = matrix.to_rgb(0.0, 128.0, 129.0);
        let scale = (1u32 << (COEFFICIENT_BITS - BLEND_FRACTION_BITS)) as f64;
        let fixed = |slope: f64| (slope * scale).round() as i32;
        YuvCoefficients {
            luma_offset: (-origin[0] / luma_slope * (1 << BLEND_FRACTION_BITS) as f64).round()
                as i32,
            luma: fixed(luma_slope),
            red_v: fixed(along_v[0] - origin[0]),
            green_u: fixed(along_u[1] - origin[1]),
            green_v: fixed(along_v[1] - origin[1]),
            blue_u: fixed(along_u[2] - origin[2]),
        }
    }

    /// Converts rows of Y, U, V (with `BLEND_FRACTION_BITS` fractional
    /// bits) to rounded 8-bit red, green and blue rows.
    fn convert_rows(&self, yuv: &[Vec<i16>; 3], rgb: &mut [Vec<i16>; 3]) {
        let neutral = 128 << BLEND_FRACTION_BITS;
        let round = 1 << (COEFFICIENT_BITS - 1);
        let [red, green, blue] = rgb;
        let outputs = red.iter_mut().zip(green.iter_mut()).zip(blue.iter_mut());
        let inputs = yuv[0].iter().zip(&yuv[1]).zip(&yuv[2]);
        for (((red, green), blue), ((&y, &u), &v)) in outputs.zip(inputs) {
            let luma = self.luma * (y as i32 - self.luma_offset) + round;
            let (u, v) = (u as i32 - neutral, v as i32 - neutral);
            *red = ((luma + self.red_v * v) >> COEFFICIENT_BITS).clamp(0, 255) as i16;
            *green = ((luma + self.green_u * u + self.green_v * v) >> COEFFICIENT_BITS)
                .clamp(0, 255) as i16;
            *blue = ((luma + self.blue_u * u) >> COEFFICIENT_BITS).clamp(0, 255) as i16;
        }
    }
}

/// A horizontal pass over one packed row, or over two rows at once:
/// source rows, column weights, column tap offsets, output channel rows.
type PackedRowResize = fn(&[u8], &[[i32; 2]], &[[u32; 2]], &mut [Vec<i16>; 3]);
type PackedPairResize = fn([&[u8]; 2], &[[i32; 2]], &[[u32; 2]], [&mut [Vec<i16>; 3]; 2]);

/// Horizontal pass over one source row: writes three channel planes of
/// resized values with ncnn's 4 extra fractional bits.
#[derive(Clone, Copy)]
enum Horizontal {
    /// Packed RGB with a known byte order: all channels from one pass over
    /// whole pixels.
    Packed(PackedRowResize, PackedPairResize),
    /// Each of the first `count` components on its own.
    Components { count: usize },
}

/// Resizes one row of packed `BYTES`-byte pixels with red, green and blue
/// at byte `R`, `G` and `B`.
///
/// The two taps of a column are neighbouring pixels whenever the source is
/// at least 2 pixels wide (ncnn clamps the edge taps to pixels 0 and 1 or
/// to the last two), so one read covers both.
fn resize_packed<const BYTES: usize, const R: usize, const G: usize, const B: usize>(
    row: &[u8],
    weights: &[[i32; 2]],
    offsets: &[[u32; 2]],
    out: &mut [Vec<i16>; 3],
) {
    let [red, green, blue] = out;
    let outputs = red.iter_mut().zip(green.iter_mut()).zip(blue.iter_mut());
    for ((weight, offset), ((red, green), blue)) in weights.iter().zip(offsets).zip(outputs) {
        debug_assert_eq!(offset[1], offset[0] + BYTES as u32);
        let start = offset[0] as usize;
        let pair = &row[start..start + 2 * BYTES];
        let blend = |c: usize| {
            ((pair[c] as i32 * weight[0] + pair[BYTES + c] as i32 * weight[1]) >> 4) as i16
        };
        *red = blend(R);
        *green = blend(G);
        *blue = blend(B);
    }
}

/// Resizes two rows of packed pixels in one pass over the columns, as
/// [`resize_packed`] does for one.
fn resize_packed_pair<const BYTES: usize, const R: usize, const G: usize, const B: usize>(
    rows: [&[u8]; 2],
    weights: &[[i32; 2]],
    offsets: &[[u32; 2]],
    out: [&mut [Vec<i16>; 3]; 2],
) {
    let [[red0, green0, blue0], [red1, green1, blue1]] = out;
    let outputs0 = red0.iter_mut().zip(green0.iter_mut()).zip(blue0.iter_mut());
    let outputs1 = red1.iter_mut().zip(green1.iter_mut()).zip(blue1.iter_mut());
    let columns = weights.iter().zip(offsets).zip(outputs0.zip(outputs1));
    for ((weight, offset), (((red0, green0), blue0), ((red1, green1), blue1))) in columns {
        debug_assert_eq!(offset[1], offset[0] + BYTES as u32);
        let start = offset[0] as usize;
        let pair0 = &rows[0][start..start + 2 * BYTES];
        let pair1 = &rows[1][start..start + 2 * BYTES];
        let blend = |pair: &[u8], c: usize| {
            ((pair[c] as i32 * weight[0] + pair[BYTES + c] as i32 * weight[1]) >> 4) as i16
        };
        *red0 = blend(pair0, R);
        *green0 = blend(pair0, G);
        *blue0 = blend(pair0, B);
        *red1 = blend(pair1, R);
        *green1 = blend(pair1, G);
        *blue1 = blend(pair1, B);
    }
}

/// Resizes two rows of one component in one pass over the columns.
fn resize_channel_pair(
    rows: [&[u8]; 2],
    weights: &[[i32; 2]],
    offsets: &[[u32; 2]],
    out: [&mut [i16]; 2],
) {
    let [out0, out1] = out;
    let columns = weights
        .iter()
        .zip(offsets)
        .zip(out0.iter_mut().zip(out1.iter_mut()));
    for ((weight, offset), (out0, out1)) in columns {
        // One range check covers both taps, which are in order.
        let (first, second) = (offset[0] as usize, offset[1] as usize);
        let window0 = &rows[0][first..=second];
        let window1 = &rows[1][first..=second];
        let last = window0.len() - 1;
        *out0 = ((window0[0] as i32 * weight[0] + window0[last] as i32 * weight[1]) >> 4) as i16;
        *out1 = ((window1[0] as i32 * weight[0] + window1[last] as i32 * weight[1]) >> 4) as i16;
    }
}

impl Horizontal {
    fn for_layout(layout: &PixelLayout, width: usize) -> Horizontal {
        let [r, g, b] = layout.components;
        let packed = layout.model == ColourModel::Rgb
            && width >= 2
            && [r, g, b]
                .iter()
                .all(|c| c.plane == 0 && c.step == r.step && c.x_shift == 0 && c.y_shift == 0);
        if packed {
            let order = (r.step, r.offset, g.offset, b.offset);
            macro_rules! packed {
                ($bytes:literal, $r:literal, $g:literal, $b:literal) => {
                    Some((
                        resize_packed::<$bytes, $r, $g, $b> as PackedRowResize,
                        resize_packed_pair::<$bytes, $r, $g, $b> as PackedPairResize,
                    ))
                };
            }
            let resize = match order {
                (3, 0, 1, 2) => packed!(3, 0, 1, 2),
                (3, 2, 1, 0) => packed!(3, 2, 1, 0),
                (4, 0, 1, 2) => packed!(4, 0, 1, 2),
                (4, 2, 1, 0) => packed!(4, 2, 1, 0),
                (4, 1, 2, 3) => packed!(4, 1, 2, 3),
                (4, 3, 2, 1) => packed!(4, 3, 2, 1),
                _ => None,
            };
            if let Some((one, pair)) = resize {
                return Horizontal::Packed(one, pair);
            }
        }
        let count = if layout.model == ColourModel::Gray {
            1
        } else {
            3
        };
        Horizontal::Components { count }
    }
}

/// Resizes one row of one 8-bit component (ncnn's horizontal pass).
fn resize_channel(row: &[u8], weights: &[[i32; 2]], offsets: &[[u32; 2]], out: &mut [i16]) {
    for ((out, weight), offset) in out.iter_mut().zip(weights).zip(offsets) {
        let window = &row[offset[0] as usize..=offset[1] as usize];
        let (first, second) = (window[0] as i32, window[window.len() - 1] as i32);
        *out = ((first * weight[0] + second * weight[1]) >> 4) as i16;
    }
}

/// Normalises an 8-bit value. Exact in f32: value / 128 and 127.5 / 128
/// both fit the mantissa.
#[inline(always)]
fn normalise(value: i32) -> f32 {
    value as f32 * NORM - MEAN * NORM
}

/// Rounds a row of blends with `BLEND_FRACTION_BITS` fractional bits to
/// 8-bit values, as ncnn's `vresize_one` ends, and normalises them.
fn round_normalise_row(sums: &[i16], out: &mut [f32]) {
    for (out, &sum) in out.iter_mut().zip(sums) {
        *out = normalise(((sum + 2) >> BLEND_FRACTION_BITS) as i32);
    }
}

/// Normalises a row of 8-bit values.
fn normalise_row(values: &[i16], out: &mut [f32]) {
    for (out, &value) in out.iter_mut().zip(values) {
        *out = normalise(value as i32);
    }
}

/// Blends two resized rows vertically into values with
/// `BLEND_FRACTION_BITS` fractional bits: ncnn's `vresize_one` before its
/// final rounding shift, in 16-bit lanes so that it compiles to SSE2's
/// multiply-high like ncnn's own code.
fn blend_fine(upper: &[i16], lower: &[i16], tap: &Tap, out: &mut [i16]) {
    let (b0, b1) = (tap.weight_first, tap.weight_second);
    for ((out, &s0), &s1) in out.iter_mut().zip(upper).zip(lower) {
        let high0 = ((b0 as i32 * s0 as i32) >> 16) as i16;
        let high1 = ((b1 as i32 * s1 as i32) >> 16) as i16;
        *out = high0.wrapping_add(high1);
    }
}

/// Vertical pass: how blended rows become net input values.
#[derive(Clone, Copy)]
enum Vertical<'a> {
    /// The three channels are red, green and blue.
    Rgb,
    /// Channel 0 is grey, written to all three net channels.
    Gray,
    /// The channels are Y, U, V: blended in YUV, then converted, which is
    /// the usual order for scaling YUV video and converts each output pixel
    /// once.
    Yuv(&'a YuvCoefficients),
}

/// Source rows held by an upper and a lower row buffer.
type HeldRows = (Option<usize>, Option<usize>);

/// Makes `upper` and `lower` hold the resized source rows `needed`,
/// resizing only rows not already held, as ncnn does when consecutive
/// output rows share a source row. `one` resizes one row, `pair` two rows
/// in one pass.
fn update_rows<Row: Clone>(
    held: &mut HeldRows,
    needed: [usize; 2],
    upper: &mut Row,
    lower: &mut Row,
    mut one: impl FnMut(usize, &mut Row),
    pair: impl FnOnce([usize; 2], &mut Row, &mut Row),
) {
    let [first, second] = needed;
    if held.0 != Some(first) && held.1 == Some(first) {
        std::mem::swap(upper, lower);
        held.0 = held.1.take();
    }
    match (held.0 == Some(first), held.1 == Some(second)) {
        (true, true) => {}
        (true, false) if first == second => lower.clone_from(upper),
        (true, false) => one(second, lower),
        (false, true) => one(first, upper),
        (false, false) if first == second => {
            one(first, upper);
            lower.clone_from(upper);
        }
        (false, false) => pair(needed, upper, lower),
    }
    *held = (Some(first), Some(second));
}

/// Resizes `image` into the image area of `input`.
fn resize_image(
    image: &Image<'_>,
    vertical: Vertical,
    letterbox: &Letterbox,
    input: &mut Mat,
    scratch: &mut Scratch,
) {
    let layout = image.layout();
    scratch.prepare(&layout, letterbox);
    let horizontal = Horizontal::for_layout(&layout, image.width());
    let Scratch {
        components,
        upper,
        lower,
        blended,
        converted,
        ..
    } = scratch;

    let mut channels = input.channels_mut();
    let padded_width = letterbox.padded_width;

    // Rows held per component; packed layouts use the first entry for all.
    let mut held: [HeldRows; 3] = [(None, None); 3];

    for dy in 0..letterbox.height {
        match horizontal {
            Horizontal::Packed(resize_one, resize_pair) => {
                let taps = &components[0];
                let tap = &taps.rows[dy];
                update_rows(
                    &mut held[0],
                    [tap.first, tap.second],
                    upper,
                    lower,
                    |y, out| {
                        resize_one(
                            image.plane_row(0, y),
                            &taps.column_weights,
                            &taps.column_offsets,
                            out,
                        )
                    },
                    |ys, upper, lower| {
                        let rows = ys.map(|y| image.plane_row(0, y));
                        resize_pair(
                            rows,
                            &taps.column_weights,
                            &taps.column_offsets,
                            [upper, lower],
                        );
                    },
                );
            }
            Horizontal::Components { count } => {
                // Subsampled components repeat rows, so each component
                // keeps its own held rows.
                for c in 0..count {
                    let taps = &components[c];
                    let tap = &taps.rows[dy];
                    let (weights, offsets) = (&taps.column_weights, &taps.column_offsets);
                    update_rows(
                        &mut held[c],
                        [tap.first, tap.second],
                        &mut upper[c],
                        &mut lower[c],
                        |row, out| {
                            resize_channel(image.component_samples(c, row), weights, offsets, out)
                        },
                        |rows, upper, lower| {
                            let rows = rows.map(|row| image.component_samples(c, row));
                            resize_channel_pair(rows, weights, offsets, [upper, lower]);
                        },
                    );
                }
            }
        }

        let start = (letterbox.top + dy) * padded_width + letterbox.left;
        let end = start + letterbox.width;
        let row_tap = |c: usize| &components[c].rows[dy];
        match vertical {
            // Blending and normalising are separate loops over the row, so
            // that each compiles to vector instructions.
            Vertical::Rgb => {
                for c in 0..3 {
                    blend_fine(&upper[c], &lower[c], row_tap(c), &mut blended[c]);
                    round_normalise_row(&blended[c], &mut channels[c][start..end]);
                }
            }
            Vertical::Gray => {
                blend_fine(&upper[0], &lower[0], row_tap(0), &mut blended[0]);
                round_normalise_row(&blended[0], &mut channels[0][start..end]);
                let [grey, rest @ ..] = &mut channels[..] else {
                    unreachable!("the net input has three channels");
                };
                for channel in rest {
                    channel[start..end].copy_from_slice(&grey[start..end]);
                }
            }
            Vertical::Yuv(coefficients) => {
                for c in 0..3 {
                    blend_fine(&upper[c], &lower[c], row_tap(c), &mut blended[c]);
                }
                coefficients.convert_rows(blended, converted);
                for c in 0..3 {
                    normalise_row(&converted[c], &mut channels[c][start..end]);
                }
            }
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
    match image.layout().model {
        ColourModel::Rgb => resize_image(image, Vertical::Rgb, letterbox, input, scratch),
        ColourModel::Gray => resize_image(image, Vertical::Gray, letterbox, input, scratch),
        ColourModel::Yuv(matrix) => {
            let coefficients = YuvCoefficients::new(&matrix);
            resize_image(
                image,
                Vertical::Yuv(&coefficients),
                letterbox,
                input,
                scratch,
            );
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
    fn chroma_taps_follow_siting() {
        // 8 pixels wide into 4: output pixels sit at luma 0.5, 2.5, 4.5 and
        // 6.5. Chroma subsampled by 2 (4 samples) sits at half of that when
        // cosited, and a quarter sample earlier when centred.
        let cosited = compute_component_taps(4, 8, 4, 1, true);
        let taps: Vec<(usize, i16, i16)> = cosited
            .iter()
            .map(|t| (t.first, t.weight_first, t.weight_second))
            .collect();
        assert_eq!(
            taps,
            [(0, 1536, 512), (1, 1536, 512), (2, 1536, 512), (2, 0, 2048)]
        );

        let centred = compute_component_taps(4, 8, 4, 1, false);
        let taps: Vec<(usize, i16, i16)> = centred
            .iter()
            .map(|t| (t.first, t.weight_first, t.weight_second))
            .collect();
        assert_eq!(
            taps,
            [(0, 2048, 0), (1, 2048, 0), (2, 2048, 0), (2, 0, 2048)]
        );

        // One chroma sample: both taps on it.
        for tap in compute_component_taps(1, 2, 5, 1, false) {
            assert_eq!((tap.first, tap.second), (0, 0));
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
