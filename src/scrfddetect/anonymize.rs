//! Face anonymisation: each face region, grown by a margin, is blurred,
//! pixelated or filled in every colour component, chroma included.

use super::draw::{Canvas, FrameCanvas};
use super::models::Anonymize;
use crate::detector::Face;

/// Colour of `Anonymize::Fill`.
const FILL_COLOUR: [u8; 3] = [0, 0, 0];

/// Blur radius as a fraction of the region's long side. Three box passes
/// of half the region leave about the blur of a Gaussian as wide as the
/// face: no feature (an eye is about a tenth of the face) survives.
const BLUR_RADIUS_FRACTION: usize = 2;

/// Pixelation blocks per long side of the region.
const PIXEL_BLOCKS: usize = 6;

/// Returns the region covered for `face`: the box grown by `margin` times
/// its width (left and right) and height (top and bottom), clamped to the
/// frame, and widened to whole chroma samples so that no sample is shared
/// with a pixel outside the region. `None` when the region is empty.
pub fn region(
    face: &Face,
    margin: f64,
    canvas: &FrameCanvas,
    width: usize,
    height: usize,
) -> Option<[usize; 4]> {
    let (w, h) = ((face.x1 - face.x0) as f64, (face.y1 - face.y0) as f64);
    let grow = |low: f32, high: f32, size: f64, limit: usize| {
        let low = (low as f64 - margin * size)
            .floor()
            .clamp(0.0, limit as f64) as usize;
        let high = (high as f64 + margin * size)
            .ceil()
            .clamp(0.0, limit as f64) as usize;
        (low, high)
    };
    if !(w.is_finite() && h.is_finite()) {
        return None;
    }
    let (x0, x1) = grow(face.x0, face.x1, w, width);
    let (y0, y1) = grow(face.y0, face.y1, h, height);

    let layout = canvas.layout();
    let used = layout.used_components();
    let x_align = 1 << used.iter().map(|c| c.x_shift).max().unwrap_or(0);
    let y_align = 1 << used.iter().map(|c| c.y_shift).max().unwrap_or(0);
    let x0 = x0 / x_align * x_align;
    let y0 = y0 / y_align * y_align;
    let x1 = x1.next_multiple_of(x_align).min(width);
    let y1 = y1.next_multiple_of(y_align).min(height);
    (x0 < x1 && y0 < y1).then_some([x0, y0, x1, y1])
}

/// Anonymises every face of `faces` in `canvas` with `mode`.
pub fn anonymize_faces(canvas: &mut FrameCanvas, faces: &[Face], mode: Anonymize, margin: f64) {
    if mode == Anonymize::None {
        return;
    }
    let (width, height) = (canvas.width(), canvas.height());
    let fill_values = canvas.component_values(FILL_COLOUR);

    for face in faces {
        let Some([x0, y0, x1, y1]) = region(face, margin, canvas, width, height) else {
            continue;
        };
        let long_side = (x1 - x0).max(y1 - y0);

        canvas.for_each_component(x0, y0, x1, y1, |index, plane, stride, component, rect| {
            let mut samples = Samples::read(plane, stride, component.offset, component.step, rect);
            let scale = 1usize << component.x_shift.max(component.y_shift);
            match mode {
                Anonymize::Fill => samples.data.fill(fill_values[index]),
                Anonymize::Pixelate => samples.pixelate((long_side / PIXEL_BLOCKS / scale).max(1)),
                Anonymize::Blur => {
                    let radius = (long_side / BLUR_RADIUS_FRACTION / scale).max(1);
                    for _ in 0..3 {
                        samples.box_blur(radius);
                    }
                }
                Anonymize::None => {}
            }
            samples.write(plane, stride, component.offset, component.step, rect);
        });
    }
}

/// The samples of one component inside a rectangle, copied out densely.
struct Samples {
    data: Vec<u8>,
    columns: usize,
    rows: usize,
}

impl Samples {
    fn read(plane: &[u8], stride: usize, offset: usize, step: usize, rect: [usize; 4]) -> Samples {
        let [x0, y0, x1, y1] = rect;
        let (columns, rows) = (x1.saturating_sub(x0), y1.saturating_sub(y0));
        let mut data = Vec::with_capacity(columns * rows);
        for row in y0..y1 {
            let start = row * stride + offset;
            data.extend((x0..x1).map(|column| plane[start + column * step]));
        }
        Samples {
            data,
            columns,
            rows,
        }
    }

    fn write(&self, plane: &mut [u8], stride: usize, offset: usize, step: usize, rect: [usize; 4]) {
        let [x0, y0, x1, _] = rect;
        for (row, values) in self.data.chunks_exact(self.columns.max(1)).enumerate() {
            let start = (y0 + row) * stride + offset;
            for (column, value) in (x0..x1).zip(values) {
                plane[start + column * step] = *value;
            }
        }
    }

    /// One horizontal and one vertical pass of a box filter of the given
    /// radius; samples beyond the rectangle repeat its edge, so nothing
    /// outside the region is read.
    fn box_blur(&mut self, radius: usize) {
        let (columns, rows) = (self.columns, self.rows);
        if columns == 0 || rows == 0 {
            return;
        }
        let mut line = Vec::new();
        for row in 0..rows {
            line.clear();
            line.extend((0..columns).map(|c| self.data[row * columns + c]));
            let blurred = blur_line(&line, radius);
            self.data[row * columns..(row + 1) * columns].copy_from_slice(&blurred);
        }
        for column in 0..columns {
            line.clear();
            line.extend((0..rows).map(|r| self.data[r * columns + column]));
            for (r, value) in blur_line(&line, radius).into_iter().enumerate() {
                self.data[r * columns + column] = value;
            }
        }
    }

    /// Replaces each `block` x `block` square by its mean.
    fn pixelate(&mut self, block: usize) {
        let (columns, rows) = (self.columns, self.rows);
        for top in (0..rows).step_by(block) {
            for left in (0..columns).step_by(block) {
                let (bottom, right) = ((top + block).min(rows), (left + block).min(columns));
                let mut sum = 0u64;
                for r in top..bottom {
                    sum += self.data[r * columns + left..r * columns + right]
                        .iter()
                        .map(|&v| v as u64)
                        .sum::<u64>();
                }
                let count = ((bottom - top) * (right - left)) as u64;
                let mean = ((sum + count / 2) / count) as u8;
                for r in top..bottom {
                    self.data[r * columns + left..r * columns + right].fill(mean);
                }
            }
        }
    }
}

/// Box-filters one line with a running sum, repeating the edge samples.
fn blur_line(line: &[u8], radius: usize) -> Vec<u8> {
    let n = line.len() as i64;
    let r = radius as i64;
    let at = |i: i64| line[i.clamp(0, n - 1) as usize] as u32;
    let window = (2 * r + 1) as u32;

    let mut sum: u32 = (-r..=r).map(at).sum();
    let mut out = Vec::with_capacity(line.len());
    for i in 0..n {
        out.push(((sum + window / 2) / window) as u8);
        sum = sum + at(i + r + 1) - at(i - r);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blur_line_keeps_flat_and_smooths_steps() {
        assert_eq!(blur_line(&[10; 5], 2), vec![10; 5]);
        let step = [0, 0, 0, 0, 255, 255, 255, 255];
        let blurred = blur_line(&step, 1);
        assert_eq!(blurred[0], 0);
        assert_eq!(blurred[3], 85);
        assert_eq!(blurred[4], 170);
        assert_eq!(blurred[7], 255);
    }

    #[test]
    fn pixelate_replaces_blocks_by_means() {
        let mut samples = Samples {
            data: vec![0, 10, 100, 100, 20, 30, 100, 100, 7, 7, 7, 7],
            columns: 4,
            rows: 3,
        };
        samples.pixelate(2);
        assert_eq!(
            samples.data,
            vec![15, 15, 100, 100, 15, 15, 100, 100, 7, 7, 7, 7]
        );
    }
}
