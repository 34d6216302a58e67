//! Drawing of face boxes, landmarks and confidences into video frames.
//!
//! Every shape is broken down into filled rectangles that a [`Canvas`]
//! clips to the frame, so nothing is ever written outside it, whatever the
//! box.

use crate::detector::{ColourModel, Component, Face, PixelLayout, YuvMatrix};

/// An 8-bit RGB colour.
pub type Rgb = [u8; 3];

const BOX_COLOUR: Rgb = [0, 255, 0];
const TEXT_COLOUR: Rgb = [0, 0, 0];
/// Left eye, right eye, nose tip, left and right mouth corner.
const LANDMARK_COLOURS: [Rgb; 5] = [
    [255, 64, 64],
    [64, 160, 255],
    [255, 255, 0],
    [255, 0, 255],
    [0, 255, 255],
];

/// A frame that can be filled rectangle by rectangle.
pub trait Canvas {
    fn width(&self) -> usize;
    fn height(&self) -> usize;
    /// Fills the pixels with `x0 <= x < x1` and `y0 <= y < y1`; the caller
    /// guarantees `x1 <= width` and `y1 <= height`.
    fn fill(&mut self, x0: usize, y0: usize, x1: usize, y1: usize, colour: Rgb);
}

/// Fills a rectangle given in signed pixels, clipped to the canvas.
fn fill_clipped(canvas: &mut impl Canvas, x0: i64, y0: i64, x1: i64, y1: i64, colour: Rgb) {
    let clip = |v: i64, limit: usize| v.clamp(0, limit as i64) as usize;
    let (x0, x1) = (clip(x0, canvas.width()), clip(x1, canvas.width()));
    let (y0, y1) = (clip(y0, canvas.height()), clip(y1, canvas.height()));
    if x0 < x1 && y0 < y1 {
        canvas.fill(x0, y0, x1, y1, colour);
    }
}

/// Converts a coordinate to whole pixels; non-finite values land far
/// outside the frame and are clipped away.
fn pixel(v: f32) -> i64 {
    if v.is_finite() {
        v.round().clamp(-1e9, 1e9) as i64
    } else {
        i64::MIN / 4
    }
}

/// Line width in pixels for a frame: 1 up to 960 pixels on the long side,
/// then one more per 640 pixels (3 at 1920x1080).
pub fn line_width(width: usize, height: usize) -> i64 {
    ((width.max(height) + 320) / 640).max(1) as i64
}

/// Draws each face's box outline (inside the box), its landmarks as dots
/// and its confidence as text by the box. Labels come last, so that no
/// outline crosses them.
pub fn draw_faces(canvas: &mut impl Canvas, faces: &[Face]) {
    let line = line_width(canvas.width(), canvas.height());
    let boxes: Vec<[i64; 4]> = faces
        .iter()
        .map(|face| [face.x0, face.y0, face.x1, face.y1].map(pixel))
        .collect();
    for (face, &[x0, y0, x1, y1]) in faces.iter().zip(&boxes) {
        // Box outline: four bars inside the box, so a box clamped to the
        // frame edge keeps its full outline.
        fill_clipped(canvas, x0, y0, x1, y0 + line, BOX_COLOUR);
        fill_clipped(canvas, x0, y1 - line, x1, y1, BOX_COLOUR);
        fill_clipped(canvas, x0, y0, x0 + line, y1, BOX_COLOUR);
        fill_clipped(canvas, x1 - line, y0, x1, y1, BOX_COLOUR);

        if let Some(landmarks) = face.landmarks {
            for (point, colour) in landmarks.iter().zip(LANDMARK_COLOURS) {
                draw_dot(canvas, pixel(point[0]), pixel(point[1]), line + 1, colour);
            }
        }
    }

    let labels = place_labels(canvas.height(), &boxes, line);
    for (face, label) in faces.iter().zip(labels) {
        draw_label(canvas, label, face.score, line);
    }
}

/// Number of characters in a label: the confidence with two decimals.
const LABEL_CHARACTERS: i64 = 4;

/// Returns the size of the glyph pixels and of the margin around the text
/// of a label.
fn label_scale(line: i64) -> i64 {
    // Glyphs are 5x7 pixels at scale 1, too small to read on most frames.
    line + 1
}

/// Returns the width and height of a label.
fn label_size(line: i64) -> (i64, i64) {
    let scale = label_scale(line);
    let advance = (GLYPH_WIDTH + 1) * scale;
    (
        advance * LABEL_CHARACTERS + scale,
        GLYPH_HEIGHT * scale + 2 * scale,
    )
}

/// Chooses where each box's label goes, as its top left corner: above the
/// box, else just below it, else inside its top edge. A place is taken when
/// it fits the frame height and keeps a label's margin away from every
/// label placed before. When no place is free, the first that fits wins.
fn place_labels(frame_height: usize, boxes: &[[i64; 4]], line: i64) -> Vec<(i64, i64)> {
    let (width, height) = label_size(line);
    let gap = label_scale(line);
    let mut placed: Vec<(i64, i64)> = Vec::with_capacity(boxes.len());
    for &[x0, y0, _, y1] in boxes {
        let candidates = [(x0, y0 - height), (x0, y1), (x0, y0 + line)];
        let fits = |&(_, top): &(i64, i64)| top >= 0 && top + height <= frame_height as i64;
        let free = |&(x, y): &(i64, i64)| {
            placed.iter().all(|&(px, py)| {
                x >= px + width + gap
                    || px >= x + width + gap
                    || y >= py + height + gap
                    || py >= y + height + gap
            })
        };
        let label = candidates
            .iter()
            .find(|c| fits(c) && free(c))
            .or_else(|| candidates.iter().find(|c| fits(c)))
            .copied()
            .unwrap_or(candidates[2]);
        placed.push(label);
    }
    placed
}

fn draw_dot(canvas: &mut impl Canvas, cx: i64, cy: i64, radius: i64, colour: Rgb) {
    for dy in -radius..=radius {
        let half = ((radius * radius - dy * dy) as f64).sqrt() as i64;
        fill_clipped(
            canvas,
            cx - half,
            cy + dy,
            cx + half + 1,
            cy + dy + 1,
            colour,
        );
    }
}

/// 5x7 bitmap glyphs, one byte per row, bit 4 the leftmost column.
const GLYPH_WIDTH: i64 = 5;
const GLYPH_HEIGHT: i64 = 7;
const DIGITS: [[u8; 7]; 10] = [
    [0x0E, 0x11, 0x13, 0x15, 0x19, 0x11, 0x0E],
    [0x04, 0x0C, 0x04, 0x04, 0x04, 0x04, 0x0E],
    [0x0E, 0x11, 0x01, 0x02, 0x04, 0x08, 0x1F],
    [0x1F, 0x02, 0x04, 0x02, 0x01, 0x11, 0x0E],
    [0x02, 0x06, 0x0A, 0x12, 0x1F, 0x02, 0x02],
    [0x1F, 0x10, 0x1E, 0x01, 0x01, 0x11, 0x0E],
    [0x06, 0x08, 0x10, 0x1E, 0x11, 0x11, 0x0E],
    [0x1F, 0x01, 0x02, 0x04, 0x08, 0x08, 0x08],
    [0x0E, 0x11, 0x11, 0x0E, 0x11, 0x11, 0x0E],
    [0x0E, 0x11, 0x11, 0x0F, 0x01, 0x02, 0x0C],
];
const POINT: [u8; 7] = [0, 0, 0, 0, 0, 0x0C, 0x0C];

fn glyph(c: char) -> [u8; 7] {
    match c.to_digit(10) {
        Some(d) => DIGITS[d as usize],
        None => POINT,
    }
}

/// Draws the confidence with two decimals on a box-coloured label whose
/// top left corner is `at`.
fn draw_label(canvas: &mut impl Canvas, at: (i64, i64), score: f32, line: i64) {
    let text = format!("{:.2}", score.clamp(0.0, 1.0));
    debug_assert_eq!(text.len() as i64, LABEL_CHARACTERS);
    let scale = label_scale(line);
    let advance = (GLYPH_WIDTH + 1) * scale;
    let (width, height) = label_size(line);
    let (x, top) = at;

    fill_clipped(canvas, x, top, x + width, top + height, BOX_COLOUR);
    for (index, c) in text.chars().enumerate() {
        let left = x + scale + index as i64 * advance;
        for (row, bits) in glyph(c).iter().enumerate() {
            for column in 0..GLYPH_WIDTH {
                if bits & (0x10 >> column) != 0 {
                    let px = left + column * scale;
                    let py = top + scale + row as i64 * scale;
                    fill_clipped(canvas, px, py, px + scale, py + scale, TEXT_COLOUR);
                }
            }
        }
    }
}

/// A mapped frame in any layout the detector reads: planes, their row
/// strides, and where each colour component sits.
pub struct FrameCanvas<'a> {
    planes: Vec<&'a mut [u8]>,
    strides: Vec<usize>,
    width: usize,
    height: usize,
    layout: PixelLayout,
}

impl<'a> FrameCanvas<'a> {
    /// Wraps `planes`, which must hold every sample of a `width` x `height`
    /// frame in `layout` (as a mapped GStreamer frame does).
    pub fn new(
        planes: Vec<&'a mut [u8]>,
        strides: Vec<usize>,
        width: usize,
        height: usize,
        layout: PixelLayout,
    ) -> FrameCanvas<'a> {
        FrameCanvas {
            planes,
            strides,
            width,
            height,
            layout,
        }
    }

    pub fn layout(&self) -> PixelLayout {
        self.layout
    }

    /// Returns the sample values of an RGB colour in the frame's
    /// components (RGB, YUV or grey).
    pub fn component_values(&self, colour: Rgb) -> [u8; 3] {
        match self.layout.model {
            ColourModel::Rgb => colour,
            ColourModel::Yuv(matrix) => matrix.from_rgb(colour),
            // Grey frames carry full-range luma.
            ColourModel::Gray => [YuvMatrix::BT601.full().from_rgb(colour)[0]; 3],
        }
    }

    /// Calls `f` with each component's plane bytes, its row stride, its
    /// position, and the component-space rectangle that covers the pixels
    /// `x0 <= x < x1`, `y0 <= y < y1` (rounded outwards on subsampled
    /// components).
    pub fn for_each_component(
        &mut self,
        x0: usize,
        y0: usize,
        x1: usize,
        y1: usize,
        mut f: impl FnMut(usize, &mut [u8], usize, &Component, [usize; 4]),
    ) {
        let count = self.layout.used_components().len();
        for index in 0..count {
            let component = self.layout.components[index];
            let (columns, rows) = component.samples(self.width, self.height);
            let rect = [
                x0 >> component.x_shift,
                y0 >> component.y_shift,
                x1.div_ceil(1 << component.x_shift).min(columns),
                y1.div_ceil(1 << component.y_shift).min(rows),
            ];
            let stride = self.strides[component.plane];
            f(
                index,
                &mut *self.planes[component.plane],
                stride,
                &component,
                rect,
            );
        }
    }
}

impl Canvas for FrameCanvas<'_> {
    fn width(&self) -> usize {
        self.width
    }

    fn height(&self) -> usize {
        self.height
    }

    fn fill(&mut self, x0: usize, y0: usize, x1: usize, y1: usize, colour: Rgb) {
        let values = self.component_values(colour);
        self.for_each_component(x0, y0, x1, y1, |index, plane, stride, component, rect| {
            let [cx0, cy0, cx1, cy1] = rect;
            for row in cy0..cy1 {
                let start = row * stride + component.offset;
                for column in cx0..cx1 {
                    plane[start + column * component.step] = values[index];
                }
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn canvas(data: &mut [u8], width: usize, height: usize) -> FrameCanvas<'_> {
        FrameCanvas::new(vec![data], vec![width * 3], width, height, PixelLayout::RGB)
    }

    fn face(x0: f32, y0: f32, x1: f32, y1: f32) -> Face {
        Face {
            x0,
            y0,
            x1,
            y1,
            score: 0.87,
            landmarks: Some([
                [30.0, 30.0],
                [50.0, 30.0],
                [40.0, 40.0],
                [32.0, 50.0],
                [48.0, 50.0],
            ]),
        }
    }

    #[test]
    fn outline_drawn_inside_untouched_outside() {
        let (w, h) = (100, 80);
        let mut data = vec![0u8; w * h * 3];
        draw_faces(
            &mut canvas(&mut data, w, h),
            &[face(20.0, 20.0, 60.0, 70.0)],
        );

        let at = |x: usize, y: usize| &data[(y * w + x) * 3..(y * w + x) * 3 + 3];
        assert_eq!(at(20, 45), BOX_COLOUR);
        assert_eq!(at(59, 45), BOX_COLOUR);
        assert_eq!(at(40, 69), BOX_COLOUR);
        // Landmark dot of the nose.
        assert_eq!(at(40, 40), LANDMARK_COLOURS[2]);
        // Away from box, label and dots.
        assert_eq!(at(90, 75), [0, 0, 0]);
        assert_eq!(at(25, 60), [0, 0, 0]);
    }

    #[test]
    fn shapes_outside_frame_are_clipped() {
        let (w, h) = (16, 8);
        // A guard byte after the frame shows nothing is written past it.
        let mut data = vec![0u8; w * h * 3 + 1];
        let faces = [
            face(-50.0, -50.0, 500.0, 500.0),
            face(f32::NAN, 0.0, f32::INFINITY, 4.0),
            face(-1e30, -1e30, 1e30, 1e30),
        ];
        draw_faces(&mut canvas(&mut data[..w * h * 3], w, h), &faces);
        assert_eq!(data[w * h * 3], 0);
    }

    #[test]
    fn fill_writes_each_component_of_i420() {
        // 5x3 I420: Y 5x3, U and V 3x2 each.
        let (mut y, mut u, mut v) = (vec![0u8; 15], vec![0u8; 6], vec![0u8; 6]);
        let layout = PixelLayout::planar_yuv(1, 1, YuvMatrix::BT601);
        let mut canvas =
            FrameCanvas::new(vec![&mut y, &mut u, &mut v], vec![5, 3, 3], 5, 3, layout);
        let [green_y, green_u, green_v] = YuvMatrix::BT601.from_rgb(BOX_COLOUR);

        // Pixels 1..3 of row 1: luma exactly there, chroma of the 2x2
        // blocks that hold them (columns 0 and 1, row 0).
        canvas.fill(1, 1, 3, 2, BOX_COLOUR);
        assert_eq!(y, [0, 0, 0, 0, 0, 0, green_y, green_y, 0, 0, 0, 0, 0, 0, 0]);
        assert_eq!(u, [green_u, green_u, 0, 0, 0, 0]);
        assert_eq!(v, [green_v, green_v, 0, 0, 0, 0]);
    }

    #[test]
    fn labels_of_neighbouring_faces_keep_apart() {
        let line = 3;
        let (width, height) = label_size(line);
        let overlap = |a: (i64, i64), b: (i64, i64)| {
            a.0 < b.0 + width && b.0 < a.0 + width && a.1 < b.1 + height && b.1 < a.1 + height
        };

        // Two boxes side by side, closer than a label is wide: the second
        // label goes below its box.
        let boxes = [[100, 200, 140, 260], [150, 205, 190, 265]];
        let labels = place_labels(1080, &boxes, line);
        assert_eq!(labels[0], (100, 200 - height));
        assert_eq!(labels[1], (150, 265));
        assert!(!overlap(labels[0], labels[1]));

        // A box at the top edge: its label goes below it.
        let labels = place_labels(1080, &[[10, 0, 50, 60]], line);
        assert_eq!(labels[0], (10, 60));

        // A box filling the frame: inside its top edge.
        let labels = place_labels(100, &[[0, 0, 200, 100]], line);
        assert_eq!(labels[0], (0, line));

        // Boxes far apart keep their labels above.
        let labels = place_labels(1080, &[[100, 200, 140, 260], [600, 200, 640, 260]], line);
        assert_eq!(labels, [(100, 200 - height), (600, 200 - height)]);
    }

    #[test]
    fn line_width_scales_with_frame() {
        assert_eq!(line_width(640, 480), 1);
        assert_eq!(line_width(1280, 720), 2);
        assert_eq!(line_width(1920, 1080), 3);
        assert_eq!(line_width(1, 1), 1);
    }
}
