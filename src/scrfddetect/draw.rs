//! Drawing of face boxes, landmarks and confidences into video frames.
//!
//! Every shape is broken down into filled rectangles that a [`Canvas`]
//! clips to the frame, so nothing is ever written outside it, whatever the
//! box.

use crate::detector::Face;

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
/// and its confidence as text above the box.
pub fn draw_faces(canvas: &mut impl Canvas, faces: &[Face]) {
    let line = line_width(canvas.width(), canvas.height());
    for face in faces {
        let (x0, y0, x1, y1) = (
            pixel(face.x0),
            pixel(face.y0),
            pixel(face.x1),
            pixel(face.y1),
        );

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

        draw_label(canvas, x0, y0, face.score, line);
    }
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

/// Draws the confidence with two decimals on a box-coloured label just
/// above (`x`, `y`), or just below it when the box touches the top edge.
fn draw_label(canvas: &mut impl Canvas, x: i64, y: i64, score: f32, line: i64) {
    let text = format!("{:.2}", score.clamp(0.0, 1.0));
    let scale = line;
    let margin = scale;
    let advance = (GLYPH_WIDTH + 1) * scale;
    let label_width = advance * text.len() as i64 + margin;
    let label_height = GLYPH_HEIGHT * scale + 2 * margin;
    let top = if y - label_height >= 0 {
        y - label_height
    } else {
        y + line
    };

    fill_clipped(
        canvas,
        x,
        top,
        x + label_width,
        top + label_height,
        BOX_COLOUR,
    );
    for (index, c) in text.chars().enumerate() {
        let left = x + margin + index as i64 * advance;
        for (row, bits) in glyph(c).iter().enumerate() {
            for column in 0..GLYPH_WIDTH {
                if bits & (0x10 >> column) != 0 {
                    let px = left + column * scale;
                    let py = top + margin + row as i64 * scale;
                    fill_clipped(canvas, px, py, px + scale, py + scale, TEXT_COLOUR);
                }
            }
        }
    }
}

/// A packed RGB-family plane (RGB, BGR, RGBx, xRGB, ...).
pub struct PackedCanvas<'a> {
    pub data: &'a mut [u8],
    pub stride: usize,
    pub width: usize,
    pub height: usize,
    pub bytes_per_pixel: usize,
    /// Byte offsets of red, green and blue inside a pixel.
    pub offsets: [usize; 3],
}

impl Canvas for PackedCanvas<'_> {
    fn width(&self) -> usize {
        self.width
    }

    fn height(&self) -> usize {
        self.height
    }

    fn fill(&mut self, x0: usize, y0: usize, x1: usize, y1: usize, colour: Rgb) {
        for y in y0..y1 {
            let row = &mut self.data[y * self.stride..];
            for x in x0..x1 {
                let pixel = &mut row[x * self.bytes_per_pixel..];
                for (offset, value) in self.offsets.iter().zip(colour) {
                    pixel[*offset] = value;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn canvas(data: &mut [u8], width: usize, height: usize) -> PackedCanvas<'_> {
        PackedCanvas {
            data,
            stride: width * 3,
            width,
            height,
            bytes_per_pixel: 3,
            offsets: [0, 1, 2],
        }
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
    fn line_width_scales_with_frame() {
        assert_eq!(line_width(640, 480), 1);
        assert_eq!(line_width(1280, 720), 2);
        assert_eq!(line_width(1920, 1080), 3);
        assert_eq!(line_width(1, 1), 1);
    }
}
