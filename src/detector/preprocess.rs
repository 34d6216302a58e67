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
//! A tap of weight zero adds nothing to the sum, so its row or column is
//! not read. At an odd whole scale, such as 1920x1080 into 640x360, or at
//! scale one, every output pixel is then exactly one source pixel.
//!
//! YUV is resized in YUV, each component with its own taps (subsampled
//! chroma at its sited position), and converted to RGB once per output
//! pixel, without the truncations ncnn's arithmetic has; grey is resized
//! once and written to all three channels.
//!
//! The loops are written so that they compile to SSE2 vector instructions,
//! the x86-64 baseline, where the data allows: taps are read into plain
//! arrays first, and the arithmetic then runs over whole rows.

use super::image::{ColourModel, Image, PixelLayout, YuvMatrix};
use super::letterbox::Letterbox;
use crate::ncnn::Mat;

/// Per-channel mean and scale of the SCRFD training pipeline:
/// input = (pixel - 127.5) / 128.
pub const MEAN: f32 = 127.5;
pub const NORM: f32 = 1.0 / 128.0;

/// Net input value of the padding: pixel value 0 after normalisation.
pub const PAD_VALUE: f32 = (0.0 - MEAN) * NORM;

/// Fractional bits of ncnn's bilinear weights (INTER_RESIZE_COEF_BITS).
const WEIGHT_BITS: u32 = 11;
const WEIGHT_SCALE: f32 = (1 << WEIGHT_BITS) as f32;

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
    /// Whole source pixels of one output row, for packed layouts sampled
    /// at one pixel per output pixel.
    pixels: Vec<u32>,
    /// Horizontal taps of packed layouts.
    packed_columns: PackedColumns,
    /// Vertically blended rows of the components resized vertically
    /// first, with 4 fractional bits.
    vertical_rows: [Vec<u16>; 2],
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
    /// Whether every second horizontal tap has weight zero, as when the
    /// scale is an odd whole number (1920 into 640) or one: each output
    /// column is then one source sample, and the second tap is not read.
    single_columns: bool,
    /// Whether to blend rows before columns. Blending two whole rows is a
    /// cheap vector loop, and it leaves one horizontal pass per output row
    /// instead of one per source row. YUV components take this order when
    /// three things hold. Their taps read every sample between the first
    /// and the last. Their output rows blend two source rows. Their row
    /// weights are exact in the 8 bits the vector loop multiplies with, as
    /// at scales 2, 2.5 or 3 and for 4:2:0 chroma at 1080p.
    vertical_first: bool,
    /// Byte offset of the last sample the horizontal taps read.
    last_offset: usize,
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
            taps.single_columns = column_taps.iter().all(|tap| tap.weight_second == 0);
            taps.last_offset = taps.column_offsets.iter().map(|o| o[1]).max().unwrap_or(0) as usize;
            let mut read = vec![false; columns];
            for tap in &column_taps {
                read[tap.first] = true;
                read[tap.second] = true;
            }
            let first = column_taps.first().map_or(0, |tap| tap.first);
            let last = column_taps.last().map_or(0, |tap| tap.second);
            let eight_bit = |weight: i16| weight % (1 << (WEIGHT_BITS - 8)) == 0;
            taps.vertical_first = matches!(layout.model, ColourModel::Yuv(_))
                && rows >= height
                && taps.rows.iter().any(|tap| tap.weight_second != 0)
                && taps
                    .rows
                    .iter()
                    .all(|tap| eight_bit(tap.weight_first) && eight_bit(tap.weight_second))
                && read[first..=last].iter().all(|&read| read);
        }

        let rows = self.upper.iter_mut().chain(&mut self.lower);
        for row in rows.chain(&mut self.blended) {
            row.clear();
            row.resize(width, 0);
        }
        self.pixels.clear();
        self.pixels.resize(width, 0);
        self.packed_columns.prepare(&self.components[0]);
        for row in &mut self.vertical_rows {
            row.clear();
        }
    }
}

/// Fractional bits of ncnn's vertical blend before its final rounding.
const BLEND_FRACTION_BITS: u32 = 2;

/// Fractional bits of the blended YUV samples that the conversion reads:
/// the conversion amplifies chroma errors about twofold, so the blend is
/// rounded to an eighth of a level rather than truncated to a quarter as
/// ncnn's is.
const YUV_FRACTION_BITS: u32 = 3;

/// YUV to RGB conversion for one matrix, for samples with
/// `YUV_FRACTION_BITS` fractional bits, straight into normalised net
/// input values. Single precision: SSE2, the x86-64 baseline, multiplies
/// floats four at a time but has no 32-bit integer multiply, and the net
/// wants floats in the end anyway. The result is not rounded to 8 bits
/// first, so it is the exact conversion of the blended samples.
#[derive(Debug, Clone, Copy, PartialEq)]
struct YuvCoefficients {
    /// Normalised red, green and blue of Y = U = V = 0.
    base: [f32; 3],
    /// Step of red, green and blue per luma unit, shared by all three.
    luma: f32,
    red_v: f32,
    green_u: f32,
    green_v: f32,
    blue_u: f32,
}

/// Normalised values of 8-bit black and white, the limits of a converted
/// colour.
const BLACK: f32 = (0.0 - MEAN) * NORM;
const WHITE: f32 = (255.0 - MEAN) * NORM;

impl YuvCoefficients {
    fn new(matrix: &YuvMatrix) -> YuvCoefficients {
        // to_rgb is affine: its slopes per sample step are the coefficients.
        let base = matrix.to_rgb(0.0, 0.0, 0.0);
        let along_y = matrix.to_rgb(1.0, 0.0, 0.0);
        let along_u = matrix.to_rgb(0.0, 1.0, 0.0);
        let along_v = matrix.to_rgb(0.0, 0.0, 1.0);
        let unit = (1u32 << YUV_FRACTION_BITS) as f64;
        let (mean, norm) = (MEAN as f64, NORM as f64);
        let slope = |along: [f64; 3], c: usize| ((along[c] - base[c]) / unit * norm) as f32;
        YuvCoefficients {
            base: base.map(|v| ((v - mean) * norm) as f32),
            luma: slope(along_y, 0),
            red_v: slope(along_v, 0),
            green_u: slope(along_u, 1),
            green_v: slope(along_v, 1),
            blue_u: slope(along_u, 2),
        }
    }

    /// Converts rows of Y, U, V (with `YUV_FRACTION_BITS` fractional
    /// bits) to normalised red, green and blue rows of `out`, clamped to
    /// what 8-bit RGB can hold.
    fn convert_normalise_rows(&self, yuv: &[Vec<i16>; 3], out: [&mut [f32]; 3]) {
        let [red, green, blue] = out;
        let [base_red, base_green, base_blue] = self.base;
        let outputs = red.iter_mut().zip(green.iter_mut()).zip(blue.iter_mut());
        let inputs = yuv[0].iter().zip(&yuv[1]).zip(&yuv[2]);
        for (((red, green), blue), ((&y, &u), &v)) in outputs.zip(inputs) {
            let (y, u, v) = (y as f32, u as f32, v as f32);
            let luma = self.luma * y;
            *red = (luma + self.red_v * v + base_red).clamp(BLACK, WHITE);
            *green = (luma + self.green_u * u + self.green_v * v + base_green).clamp(BLACK, WHITE);
            *blue = (luma + self.blue_u * u + base_blue).clamp(BLACK, WHITE);
        }
    }
}

/// A horizontal pass over one packed row: source row, column taps, output
/// channel rows.
type PackedRowResize = fn(&[u8], &mut PackedColumns, &mut [Vec<i16>; 3]);

/// An output row of a packed layout that is one source pixel per output
/// pixel: source row, column tap offsets, pixel buffer, output channel rows.
type PackedPointRow = fn(&[u8], &[[u32; 2]], &mut [u32], [&mut [f32]; 3]);

/// Horizontal pass over one source row: writes three channel planes of
/// resized values with ncnn's 4 extra fractional bits.
#[derive(Clone, Copy)]
enum Horizontal {
    /// Packed RGB with a known byte order: all channels from one pass over
    /// whole pixels.
    Packed(PackedRowResize, PackedPointRow),
    /// Components resized one by one, except that components sharing their
    /// taps (the chroma pair of a YUV frame) go through one pass: the first
    /// `groups` entries, as (first component, component count).
    Components {
        groups: [(usize, usize); 3],
        count: usize,
    },
}

/// The horizontal taps of a packed layout in separate arrays, and the
/// words one row's taps are read into, so that the loops over them compile
/// to vector instructions.
#[derive(Debug, Default)]
struct PackedColumns {
    /// Byte offset of the first tap of each column.
    starts: Vec<u32>,
    first_weights: Vec<i16>,
    second_weights: Vec<i16>,
    /// Bytes 0 to 3 and 4 to 7 from the first tap of each column on.
    low: Vec<u32>,
    high: Vec<u32>,
}

impl PackedColumns {
    fn prepare(&mut self, taps: &ComponentTaps) {
        self.starts = taps.column_offsets.iter().map(|o| o[0]).collect();
        self.first_weights = taps.column_weights.iter().map(|w| w[0] as i16).collect();
        self.second_weights = taps.column_weights.iter().map(|w| w[1] as i16).collect();
        for words in [&mut self.low, &mut self.high] {
            words.clear();
            words.resize(self.starts.len(), 0);
        }
    }

    /// Reads the two pixels of each column of `row` into `low` and `high`.
    /// The two taps of a column are neighbouring pixels whenever the source
    /// is at least 2 pixels wide (ncnn clamps the edge taps to pixels 0 and
    /// 1 or to the last two), so one 8-byte read covers both.
    fn read_pairs<const BYTES: usize>(&mut self, row: &[u8]) {
        let words = self.low.iter_mut().zip(self.high.iter_mut());
        for ((low, high), &start) in words.zip(&self.starts) {
            let start = start as usize;
            let pair = match row.get(start..start + 8) {
                Some(bytes) => u64::from_le_bytes(bytes.try_into().expect("eight bytes")),
                // The last pixels of a frame may end the buffer.
                None => row[start..start + 2 * BYTES]
                    .iter()
                    .rev()
                    .fold(0, |word, &byte| word << 8 | byte as u64),
            };
            (*low, *high) = (pair as u32, (pair >> 32) as u32);
        }
    }

    /// Returns the words holding byte `index` of the column pairs, and its
    /// shift.
    fn byte(&self, index: usize) -> (&[u32], u32) {
        let words = if index < 4 { &self.low } else { &self.high };
        (words, 8 * (index % 4) as u32)
    }
}

/// Resizes one row of packed `BYTES`-byte pixels with red, green and blue
/// at byte `R`, `G` and `B`, with ncnn's arithmetic.
fn resize_packed<const BYTES: usize, const R: usize, const G: usize, const B: usize>(
    row: &[u8],
    columns: &mut PackedColumns,
    out: &mut [Vec<i16>; 3],
) {
    columns.read_pairs::<BYTES>(row);
    let (w0, w1) = (&columns.first_weights, &columns.second_weights);
    for (out, position) in out.iter_mut().zip([R, G, B]) {
        let (first, first_shift) = columns.byte(position);
        let (second, second_shift) = columns.byte(position + BYTES);
        let inputs = first.iter().zip(second).zip(w0.iter().zip(w1));
        for (out, ((&first, &second), (&w0, &w1))) in out.iter_mut().zip(inputs) {
            let s0 = (first >> first_shift & 0xff) as i32;
            let s1 = (second >> second_shift & 0xff) as i32;
            *out = ((s0 * w0 as i32 + s1 * w1 as i32) >> 4) as i16;
        }
    }
}

impl Horizontal {
    /// `single`: whether the columns of the first component each read one
    /// sample.
    fn for_layout(layout: &PixelLayout, width: usize, single: bool) -> Horizontal {
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
                        if single {
                            resize_packed_single::<$bytes, $r, $g, $b> as PackedRowResize
                        } else {
                            resize_packed::<$bytes, $r, $g, $b> as PackedRowResize
                        },
                        point_row::<$bytes, $r, $g, $b> as PackedPointRow,
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
            if let Some((one, point)) = resize {
                return Horizontal::Packed(one, point);
            }
        }
        let [_, u, v] = layout.components;
        let (groups, count) = if layout.model == ColourModel::Gray {
            ([(0, 1), (0, 0), (0, 0)], 1)
        } else if (u.step, u.x_shift, u.y_shift) == (v.step, v.x_shift, v.y_shift) {
            ([(0, 1), (1, 2), (0, 0)], 2)
        } else {
            ([(0, 1), (1, 1), (2, 1)], 3)
        };
        Horizontal::Components { groups, count }
    }
}

/// Writes an output row that is one source pixel per output pixel. Both
/// the column and the row have their second taps at weight zero, so their
/// first taps have full weight. ncnn's arithmetic then gives each channel
/// exactly the source value.
///
/// Whole pixels are first copied with one 4-byte read each, so that taking
/// the channels apart and normalising them compiles to vector
/// instructions.
fn point_row<const BYTES: usize, const R: usize, const G: usize, const B: usize>(
    row: &[u8],
    offsets: &[[u32; 2]],
    pixels: &mut [u32],
    out: [&mut [f32]; 3],
) {
    for (pixel, offset) in pixels.iter_mut().zip(offsets) {
        let start = offset[0] as usize;
        *pixel = match row.get(start..start + 4) {
            Some(bytes) => u32::from_le_bytes(bytes.try_into().expect("four bytes")),
            // The last 3-byte pixel of a frame may end the buffer.
            None => row[start..start + BYTES]
                .iter()
                .rev()
                .fold(0, |word, &byte| word << 8 | byte as u32),
        };
    }
    for (out, position) in out.into_iter().zip([R, G, B]) {
        let shift = 8 * position as u32;
        for (out, &pixel) in out.iter_mut().zip(pixels.iter()) {
            *out = normalise((pixel >> shift & 0xff) as i32);
        }
    }
}

/// Resizes one row of packed pixels whose second taps all have weight
/// zero: each column reads one pixel.
fn resize_packed_single<const BYTES: usize, const R: usize, const G: usize, const B: usize>(
    row: &[u8],
    columns: &mut PackedColumns,
    out: &mut [Vec<i16>; 3],
) {
    let [red, green, blue] = out;
    let outputs = red.iter_mut().zip(green.iter_mut()).zip(blue.iter_mut());
    let taps = columns.first_weights.iter().zip(&columns.starts);
    for ((&weight, &start), ((red, green), blue)) in taps.zip(outputs) {
        let start = start as usize;
        let pixel = &row[start..start + BYTES];
        let scale = |c: usize| ((pixel[c] as i32 * weight as i32) >> 4) as i16;
        *red = scale(R);
        *green = scale(G);
        *blue = scale(B);
    }
}

/// Resizes one row of each of `N` components that share their taps (the
/// two chroma components of a YUV frame, or luma alone).
fn resize_samples<const N: usize>(
    rows: [&[u8]; N],
    weights: &[[i32; 2]],
    offsets: &[[u32; 2]],
    out: &mut [Vec<i16>],
) {
    let width = weights.len();
    let (offsets, out) = (&offsets[..width], output_rows::<N>(out, width));
    for dx in 0..width {
        let (weight, offset) = (weights[dx], offsets[dx]);
        let (first, second) = (offset[0] as usize, offset[1] as usize);
        for k in 0..N {
            // One range check covers both taps, which are in order.
            let window = &rows[k][first..=second];
            let (s0, s1) = (window[0] as i32, window[window.len() - 1] as i32);
            out[k][dx] = ((s0 * weight[0] + s1 * weight[1]) >> 4) as i16;
        }
    }
}

/// Resizes two rows of each component in one pass over the columns, as
/// [`resize_samples`] does for one.
fn resize_samples_pair<const N: usize>(
    rows: [[&[u8]; N]; 2],
    weights: &[[i32; 2]],
    offsets: &[[u32; 2]],
    out: [&mut [Vec<i16>]; 2],
) {
    let width = weights.len();
    let [upper, lower] = out;
    let offsets = &offsets[..width];
    let (upper, lower) = (
        output_rows::<N>(upper, width),
        output_rows::<N>(lower, width),
    );
    for dx in 0..width {
        let (weight, offset) = (weights[dx], offsets[dx]);
        let (first, second) = (offset[0] as usize, offset[1] as usize);
        for k in 0..N {
            let window0 = &rows[0][k][first..=second];
            let window1 = &rows[1][k][first..=second];
            let last = window0.len() - 1;
            upper[k][dx] =
                ((window0[0] as i32 * weight[0] + window0[last] as i32 * weight[1]) >> 4) as i16;
            lower[k][dx] =
                ((window1[0] as i32 * weight[0] + window1[last] as i32 * weight[1]) >> 4) as i16;
        }
    }
}

/// Resizes one row as [`resize_samples`] does, for columns whose second
/// taps all have weight zero: each column reads one sample.
fn resize_samples_single<const N: usize>(
    rows: [&[u8]; N],
    weights: &[[i32; 2]],
    offsets: &[[u32; 2]],
    out: &mut [Vec<i16>],
) {
    let width = weights.len();
    let (offsets, out) = (&offsets[..width], output_rows::<N>(out, width));
    for dx in 0..width {
        let first = offsets[dx][0] as usize;
        for k in 0..N {
            out[k][dx] = ((rows[k][first] as i32 * weights[dx][0]) >> 4) as i16;
        }
    }
}

/// Returns the first `width` values of the first `N` row buffers, as
/// slices of one fixed length, so that indexing by column needs no check.
fn output_rows<const N: usize>(rows: &mut [Vec<i16>], width: usize) -> [&mut [i16]; N] {
    let mut rows = rows.iter_mut();
    std::array::from_fn(|_| {
        let row = rows.next().expect("a row buffer per component");
        &mut row[..width]
    })
}

/// Normalises an 8-bit value. Exact in f32: value / 128 and 127.5 / 128
/// both fit the mantissa.
#[inline(always)]
fn normalise(value: i32) -> f32 {
    value as f32 * NORM - MEAN * NORM
}

/// Blends two resized YUV rows vertically into values with
/// `YUV_FRACTION_BITS` fractional bits, rounded.
fn blend_yuv(upper: &[i16], lower: &[i16], tap: &Tap, out: &mut [i16]) {
    let (b0, b1) = (tap.weight_first as i32, tap.weight_second as i32);
    // Resized rows have 7 fractional bits and the weights 11.
    let shift = 7 + WEIGHT_BITS - YUV_FRACTION_BITS;
    let round = 1 << (shift - 1);
    if b1 == 0 {
        // The lower row was not resized (see `update_rows`).
        for (out, &s0) in out.iter_mut().zip(upper) {
            *out = ((b0 * s0 as i32 + round) >> shift) as i16;
        }
        return;
    }
    for ((out, &s0), &s1) in out.iter_mut().zip(upper).zip(lower) {
        *out = ((b0 * s0 as i32 + b1 * s1 as i32 + round) >> shift) as i16;
    }
}

/// Blends two resized rows vertically and writes the normalised 8-bit
/// results: ncnn's `vresize_one`, in 16-bit lanes so that it compiles to
/// SSE2's multiply-high like ncnn's own code.
fn blend_normalise(upper: &[i16], lower: &[i16], tap: &Tap, out: &mut [f32]) {
    let (b0, b1) = (tap.weight_first, tap.weight_second);
    let high = |b: i16, s: i16| ((b as i32 * s as i32) >> 16) as i16;
    let round = |sum: i16| (sum.wrapping_add(2) >> BLEND_FRACTION_BITS) as i32;
    if b1 == 0 {
        // The lower row was not resized (see `update_rows`); its term is
        // zero whatever it holds.
        for (out, &s0) in out.iter_mut().zip(upper) {
            *out = normalise(round(high(b0, s0)));
        }
        return;
    }
    for ((out, &s0), &s1) in out.iter_mut().zip(upper).zip(lower) {
        *out = normalise(round(high(b0, s0).wrapping_add(high(b1, s1))));
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

/// Source rows to resize into row buffers.
enum RowJob<'r> {
    One(usize, &'r mut [Vec<i16>]),
    /// Two rows, which a pass over the columns may resize together.
    Pair([usize; 2], &'r mut [Vec<i16>], &'r mut [Vec<i16>]),
}

/// Makes `upper` and `lower` (one row buffer per component) hold the
/// resized source rows of `tap`, resizing only rows not already held, as
/// ncnn does when consecutive output rows share a source row. A second row
/// of weight zero adds nothing to the blend, so it is not resized and
/// `lower` is left as it is.
fn update_rows(
    held: &mut HeldRows,
    tap: &Tap,
    upper: &mut [Vec<i16>],
    lower: &mut [Vec<i16>],
    mut resize: impl FnMut(RowJob<'_>),
) {
    let copy = |from: &[Vec<i16>], to: &mut [Vec<i16>]| {
        for (to, from) in to.iter_mut().zip(from) {
            to.copy_from_slice(from);
        }
    };
    let (first, second) = (tap.first, tap.second);
    if held.0 != Some(first) && held.1 == Some(first) {
        upper.swap_with_slice(lower);
        held.0 = held.1.take();
    }
    if tap.weight_second == 0 {
        if held.0 != Some(first) {
            resize(RowJob::One(first, upper));
            held.0 = Some(first);
        }
        return;
    }
    match (held.0 == Some(first), held.1 == Some(second)) {
        (true, true) => {}
        (true, false) if first == second => copy(upper, lower),
        (true, false) => resize(RowJob::One(second, lower)),
        (false, true) => resize(RowJob::One(first, upper)),
        (false, false) if first == second => {
            resize(RowJob::One(first, upper));
            copy(upper, lower);
        }
        (false, false) => resize(RowJob::Pair([first, second], upper, lower)),
    }
    *held = (Some(first), Some(second));
}

/// Makes the row buffers of the `N` components from `first` on hold their
/// resized source rows for the output row of `tap`.
fn update_component_rows<const N: usize>(
    image: &Image<'_>,
    first: usize,
    taps: &ComponentTaps,
    tap: &Tap,
    held: &mut HeldRows,
    upper: &mut [Vec<i16>],
    lower: &mut [Vec<i16>],
) {
    let (weights, offsets) = (&taps.column_weights[..], &taps.column_offsets[..]);
    let rows = |row: usize| -> [&[u8]; N] {
        std::array::from_fn(|k| image.component_samples(first + k, row))
    };
    let resize_one = if taps.single_columns {
        resize_samples_single::<N>
    } else {
        resize_samples::<N>
    };
    update_rows(held, tap, upper, lower, |job| match job {
        RowJob::One(row, out) => resize_one(rows(row), weights, offsets, out),
        RowJob::Pair(pair, upper, lower) if taps.single_columns || N > 1 => {
            resize_one(rows(pair[0]), weights, offsets, upper);
            resize_one(rows(pair[1]), weights, offsets, lower);
        }
        RowJob::Pair(pair, upper, lower) => {
            resize_samples_pair::<N>(pair.map(rows), weights, offsets, [upper, lower]);
        }
    });
}

/// Fractional bits of vertically blended source rows.
const SOURCE_BLEND_FRACTION_BITS: u32 = 4;

/// Blends two component rows at the 8-bit weights `weights` (their sum is
/// 256) into `out`, with `SOURCE_BLEND_FRACTION_BITS` fractional bits; a
/// lower row of weight zero is not read.
fn blend_source_rows(upper: &[u8], lower: &[u8], weights: [u16; 2], out: &mut [u16]) {
    if weights[1] == 0 {
        for (out, &s0) in out.iter_mut().zip(upper) {
            *out = (s0 as u16) << SOURCE_BLEND_FRACTION_BITS;
        }
        return;
    }
    for ((out, &s0), &s1) in out.iter_mut().zip(upper).zip(lower) {
        // At most 255 * 256 + 8: the sum fits 16 bits.
        *out = (s0 as u16 * weights[0] + s1 as u16 * weights[1] + 8) >> 4;
    }
}

/// Resizes one output row of the `N` components from `first` on, which
/// share their taps: blends their two source rows first, then reads the
/// columns from the blend. Writes values with `YUV_FRACTION_BITS`
/// fractional bits to `out`.
fn resize_vertical_first<const N: usize>(
    image: &Image<'_>,
    first: usize,
    taps: &ComponentTaps,
    tap: &Tap,
    rows: &mut [Vec<u16>; 2],
    out: &mut [Vec<i16>],
) {
    let components = &image.layout().components[first..first + N];
    let eight_bit = |weight: i16| (weight >> (WEIGHT_BITS - 8)) as u16;
    let (upper_weight, lower_weight) = (eight_bit(tap.weight_first), eight_bit(tap.weight_second));
    let weights = [upper_weight, lower_weight];
    let blend = |row: &mut Vec<u16>, component: usize, len: usize| {
        row.resize(len, 0);
        let upper = &image.component_samples(component, tap.first)[..len];
        let lower = if lower_weight == 0 {
            upper
        } else {
            &image.component_samples(component, tap.second)[..len]
        };
        blend_source_rows(upper, lower, weights, row);
    };

    // Components in one plane (the interleaved chroma of NV12) share one
    // blend, which starts at the one that comes first in a pixel. Each
    // component reads blend `sources[k]` from `starts[k]` on.
    let mut sources = [0; N];
    let mut starts = [0; N];
    if N == 2 && components[0].plane == components[1].plane {
        let lowest = (components[1].offset < components[0].offset) as usize;
        let low = components[lowest].offset;
        for (start, component) in starts.iter_mut().zip(components) {
            *start = component.offset - low;
        }
        let len = taps.last_offset + 1 + starts.iter().max().unwrap_or(&0);
        blend(&mut rows[0], first + lowest, len);
    } else {
        for k in 0..N {
            sources[k] = k;
            blend(&mut rows[k], first + k, taps.last_offset + 1);
        }
    }

    let width = taps.column_weights.len();
    let (weights, offsets) = (&taps.column_weights[..width], &taps.column_offsets[..width]);
    let out = output_rows::<N>(out, width);
    let shift = SOURCE_BLEND_FRACTION_BITS + WEIGHT_BITS - YUV_FRACTION_BITS;
    for k in 0..N {
        let row = &rows[sources[k]][starts[k]..];
        for ((out, weight), offset) in out[k].iter_mut().zip(weights).zip(offsets) {
            let (s0, s1) = (
                row[offset[0] as usize] as i32,
                row[offset[1] as usize] as i32,
            );
            *out = ((s0 * weight[0] + s1 * weight[1] + (1 << (shift - 1))) >> shift) as i16;
        }
    }
}

/// Returns the row buffers of the three channels of a packed layout.
fn three(rows: &mut [Vec<i16>]) -> &mut [Vec<i16>; 3] {
    rows.try_into().expect("three row buffers")
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
    let horizontal =
        Horizontal::for_layout(&layout, image.width(), scratch.components[0].single_columns);
    let Scratch {
        components,
        upper,
        lower,
        blended,
        pixels,
        vertical_rows,
        packed_columns,
        ..
    } = scratch;

    let mut channels = input.channels_mut();
    let padded_width = letterbox.padded_width;

    // Rows held per component group, by its first component; packed
    // layouts use the first entry for all.
    let mut held: [HeldRows; 3] = [(None, None); 3];

    for dy in 0..letterbox.height {
        let start = (letterbox.top + dy) * padded_width + letterbox.left;
        let end = start + letterbox.width;

        if let Horizontal::Packed(_, point) = horizontal {
            let taps = &components[0];
            let tap = &taps.rows[dy];
            if taps.single_columns && tap.weight_second == 0 {
                debug_assert_eq!(tap.weight_first, 2048);
                let [red, green, blue] = &mut channels[..] else {
                    unreachable!("the net input has three channels");
                };
                let out = [red, green, blue].map(|channel| &mut channel[start..end]);
                point(
                    image.plane_row(0, tap.first),
                    &taps.column_offsets,
                    pixels,
                    out,
                );
                continue;
            }
        }

        match horizontal {
            Horizontal::Packed(resize, _) => {
                let row = |y: usize| image.plane_row(0, y);
                update_rows(
                    &mut held[0],
                    &components[0].rows[dy],
                    upper,
                    lower,
                    |job| match job {
                        RowJob::One(y, out) => resize(row(y), packed_columns, three(out)),
                        RowJob::Pair([y0, y1], upper, lower) => {
                            resize(row(y0), packed_columns, three(upper));
                            resize(row(y1), packed_columns, three(lower));
                        }
                    },
                );
            }
            Horizontal::Components { groups, count } => {
                // Subsampled components repeat rows, so each group keeps its
                // own held rows.
                for &(first, n) in &groups[..count] {
                    let taps = &components[first];
                    let tap = &taps.rows[dy];
                    if taps.vertical_first {
                        let out = &mut blended[first..first + n];
                        if n == 2 {
                            resize_vertical_first::<2>(image, first, taps, tap, vertical_rows, out);
                        } else {
                            resize_vertical_first::<1>(image, first, taps, tap, vertical_rows, out);
                        }
                        continue;
                    }
                    let held = &mut held[first];
                    let rows = first..first + n;
                    let (upper, lower) = (&mut upper[rows.clone()], &mut lower[rows]);
                    if n == 2 {
                        update_component_rows::<2>(image, first, taps, tap, held, upper, lower);
                    } else {
                        update_component_rows::<1>(image, first, taps, tap, held, upper, lower);
                    }
                }
            }
        }

        let row_tap = |c: usize| &components[c].rows[dy];
        match vertical {
            // Blending and normalising are separate loops over the row, so
            // that each compiles to vector instructions.
            Vertical::Rgb => {
                for c in 0..3 {
                    blend_normalise(
                        &upper[c],
                        &lower[c],
                        row_tap(c),
                        &mut channels[c][start..end],
                    );
                }
            }
            Vertical::Gray => {
                blend_normalise(
                    &upper[0],
                    &lower[0],
                    row_tap(0),
                    &mut channels[0][start..end],
                );
                let [grey, rest @ ..] = &mut channels[..] else {
                    unreachable!("the net input has three channels");
                };
                for channel in rest {
                    channel[start..end].copy_from_slice(&grey[start..end]);
                }
            }
            Vertical::Yuv(coefficients) => {
                for c in 0..3 {
                    // Components blended first are in `blended` already.
                    if !components[c].vertical_first {
                        blend_yuv(&upper[c], &lower[c], row_tap(c), &mut blended[c]);
                    }
                }
                let [red, green, blue] = &mut channels[..] else {
                    unreachable!("the net input has three channels");
                };
                let out = [red, green, blue].map(|channel| &mut channel[start..end]);
                coefficients.convert_normalise_rows(blended, out);
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

/// Builds the net input of packed 8-bit pixels the way the SCRFD ncnn
/// port does: ncnn's `from_pixels_resize`, `copy_make_border` with 0, then
/// `substract_mean_normalize`. [`resize_normalize`] gives the same input
/// for packed RGB in one pass; this is the reference it is checked and
/// measured against.
pub fn ncnn_input(
    pixels: &[u8],
    order: crate::ncnn::PixelOrder,
    stride: usize,
    letterbox: &Letterbox,
) -> Result<Mat, crate::ncnn::Error> {
    let resized = Mat::from_pixels_resize(
        pixels,
        order,
        letterbox.image_width,
        letterbox.image_height,
        stride,
        letterbox.width,
        letterbox.height,
    )?;
    let mut input = resized.copy_make_border(
        letterbox.top,
        letterbox.padded_height - letterbox.height - letterbox.top,
        letterbox.left,
        letterbox.padded_width - letterbox.width - letterbox.left,
        0.0,
    )?;
    input.substract_mean_normalize([MEAN; 3], [NORM; 3]);
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
    fn packed_input_equals_ncnn_input() {
        use crate::ncnn::PixelOrder;

        // Sizes for every resize path: odd whole scales (one source pixel
        // per output pixel, also only along one axis), scale one, even and
        // fractional scales, upscaling, and the smallest images ncnn resizes.
        let sizes = [
            (1920, 1080, 640),
            (640, 480, 640),
            (1920, 720, 640),
            (1280, 720, 640),
            (641, 479, 640),
            (1920, 1080, 320),
            (7, 5, 640),
            (2, 2, 64),
            (3, 200, 640),
        ];
        let orders = [
            (PixelOrder::Rgb, PixelLayout::RGB),
            (PixelOrder::Bgr, PixelLayout::BGR),
            (PixelOrder::Rgba, PixelLayout::RGBX),
            (PixelOrder::Bgra, PixelLayout::BGRX),
        ];
        let mut state = 0x2545_f491_u32;
        let mut scratch = Scratch::default();
        for (width, height, size) in sizes {
            let letterbox = Letterbox::new(width, height, size).unwrap();
            for (order, layout) in orders {
                let bytes = order.bytes_per_pixel();
                let pixels: Vec<u8> = (0..width * height * bytes)
                    .map(|_| {
                        state ^= state << 13;
                        state ^= state >> 17;
                        state ^= state << 5;
                        (state >> 24) as u8
                    })
                    .collect();
                let expected = ncnn_input(&pixels, order, width * bytes, &letterbox).unwrap();

                let image = Image::packed(&pixels, width, height, width * bytes, layout).unwrap();
                let mut input = new_input(&letterbox).unwrap();
                resize_normalize(&image, &letterbox, &mut input, &mut scratch);
                for c in 0..3 {
                    let differing = input
                        .channel(c)
                        .iter()
                        .zip(expected.channel(c))
                        .filter(|(a, b)| a != b)
                        .count();
                    assert_eq!(
                        differing, 0,
                        "{width}x{height} into {size}, {order:?}, channel {c}"
                    );
                }
            }
        }
    }

    /// Position of output pixel `d` in the samples of a component, as
    /// real numbers: the pixel centre mapped back to the image, then to the
    /// sited chroma sample grid, clamped to the samples.
    fn sample_position(
        d: usize,
        image_size: usize,
        target: usize,
        samples: usize,
        shift: u32,
        cosited: bool,
    ) -> f64 {
        let luma = (d as f64 + 0.5) * image_size as f64 / target as f64 - 0.5;
        let factor = (1 << shift) as f64;
        let position = match (shift, cosited) {
            (0, _) => luma,
            (_, true) => luma / factor,
            (_, false) => (luma + 0.5) / factor - 0.5,
        };
        position.clamp(0.0, (samples - 1) as f64)
    }

    /// Computes the net input of a YUV image in double precision: each
    /// component interpolated bilinearly at its own position, converted
    /// with the textbook formulas, clamped, normalised.
    fn reference_yuv_value(
        image: &Image<'_>,
        matrix: &YuvMatrix,
        letterbox: &Letterbox,
        dx: usize,
        dy: usize,
    ) -> [f64; 3] {
        let layout = image.layout();
        let yuv: Vec<f64> = (0..3)
            .map(|c| {
                let component = layout.components[c];
                let (columns, rows) = component.samples(image.width(), image.height());
                let siting = layout.chroma_siting;
                let x = sample_position(
                    dx,
                    image.width(),
                    letterbox.width,
                    columns,
                    component.x_shift,
                    siting.cosited_horizontally,
                );
                let y = sample_position(
                    dy,
                    image.height(),
                    letterbox.height,
                    rows,
                    component.y_shift,
                    siting.cosited_vertically,
                );
                let sample = |x: usize, y: usize| {
                    let row = image.component_samples(c, y);
                    row[x * component.step] as f64
                };
                let (x0, y0) = (x.floor() as usize, y.floor() as usize);
                let (x1, y1) = ((x0 + 1).min(columns - 1), (y0 + 1).min(rows - 1));
                let (fx, fy) = (x - x0 as f64, y - y0 as f64);
                let top = sample(x0, y0) * (1.0 - fx) + sample(x1, y0) * fx;
                let bottom = sample(x0, y1) * (1.0 - fx) + sample(x1, y1) * fx;
                top * (1.0 - fy) + bottom * fy
            })
            .collect();
        matrix
            .to_rgb(yuv[0], yuv[1], yuv[2])
            .map(|v| (v.clamp(0.0, 255.0) - MEAN as f64) * NORM as f64)
    }

    #[test]
    fn yuv_input_matches_double_precision_resize() {
        use super::super::image::{ChromaSiting, Plane};

        let bt709 = YuvMatrix::BT709;
        let mut jpeg = PixelLayout::planar_yuv(1, 1, YuvMatrix::BT601.full());
        jpeg.chroma_siting = ChromaSiting::CENTRED;
        let layouts = [
            ("I420", PixelLayout::planar_yuv(1, 1, bt709)),
            ("I420 centred, BT.601 full range", jpeg),
            ("NV12", PixelLayout::semi_planar_yuv(true, bt709)),
            ("NV21", PixelLayout::semi_planar_yuv(false, bt709)),
            ("YUY2", PixelLayout::packed_yuv422([0, 1, 3], bt709)),
            ("UYVY", PixelLayout::packed_yuv422([1, 0, 2], bt709)),
            ("Y42B", PixelLayout::planar_yuv(1, 0, bt709)),
            ("Y444", PixelLayout::planar_yuv(0, 0, YuvMatrix::BT2020)),
        ];
        // 1080p blends 4:2:0 chroma rows first and 720p every component;
        // the others (odd sizes, upscaling) resize columns first.
        let sizes = [
            (1920, 1080, 640),
            (1280, 720, 640),
            (641, 479, 640),
            (5, 3, 64),
        ];
        let mut state = 0x9e37_79b9_u32;
        let mut scratch = Scratch::default();
        for (width, height, size) in sizes {
            let letterbox = Letterbox::new(width, height, size).unwrap();
            for (name, layout) in layouts {
                // Planes as GStreamer lays them out, filled with noise: the
                // hardest content for interpolation.
                let mut sizes = [(0, 0); 3];
                for component in &layout.components {
                    let (columns, rows) = component.samples(width, height);
                    let extent = component.offset + (columns - 1) * component.step + 1;
                    let plane = &mut sizes[component.plane];
                    *plane = (plane.0.max(extent.next_multiple_of(4)), plane.1.max(rows));
                }
                let data: Vec<Vec<u8>> = sizes
                    .iter()
                    .filter(|(stride, _)| *stride > 0)
                    .map(|(stride, rows)| {
                        (0..stride * rows)
                            .map(|_| {
                                state ^= state << 13;
                                state ^= state >> 17;
                                state ^= state << 5;
                                (state >> 24) as u8
                            })
                            .collect()
                    })
                    .collect();
                let planes: Vec<Plane> = data
                    .iter()
                    .zip(&sizes)
                    .map(|(data, &(stride, _))| Plane { data, stride })
                    .collect();
                let image = Image::new(width, height, layout, &planes).unwrap();
                let ColourModel::Yuv(matrix) = layout.model else {
                    unreachable!()
                };

                let mut input = new_input(&letterbox).unwrap();
                resize_normalize(&image, &letterbox, &mut input, &mut scratch);
                let mut worst = 0.0f64;
                for dy in 0..letterbox.height {
                    for dx in 0..letterbox.width {
                        let expected = reference_yuv_value(&image, &matrix, &letterbox, dx, dy);
                        let index =
                            (letterbox.top + dy) * letterbox.padded_width + letterbox.left + dx;
                        for (c, expected) in expected.into_iter().enumerate() {
                            let error = (input.channel(c)[index] as f64 - expected).abs();
                            worst = worst.max(error);
                        }
                    }
                }
                // Fixed-point weights and blends stay within one 8-bit
                // level (1/128 after normalisation) even on noise.
                assert!(
                    worst * 128.0 <= 1.0,
                    "{name} {width}x{height}: off by {:.3} levels",
                    worst * 128.0
                );
            }
        }
    }

    #[test]
    fn pad_value_is_normalised_zero() {
        assert_eq!(PAD_VALUE, -0.99609375);
    }
}
