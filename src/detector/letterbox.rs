//! The transform from image pixels to net input pixels and its inverse.

/// Net input sides are padded to a multiple of this, the largest stride.
pub const SIZE_ALIGNMENT: usize = 32;

/// How an image of `image_width` x `image_height` is placed in the net
/// input: scaled by `scale` to `width` x `height` (long side = input size),
/// then padded to `padded_width` x `padded_height` (multiples of 32) with
/// `left` columns and `top` rows before the image.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Letterbox {
    pub image_width: usize,
    pub image_height: usize,
    pub scale: f32,
    pub width: usize,
    pub height: usize,
    pub left: usize,
    pub top: usize,
    pub padded_width: usize,
    pub padded_height: usize,
}

impl Letterbox {
    /// Computes the placement of an image in a net input whose long side is
    /// `input_size`, with the arithmetic of the SCRFD ncnn port: the scale
    /// in f32, the short side truncated to an integer, padding split with
    /// the odd pixel on the right or bottom.
    ///
    /// Returns `None` when the image is empty or so elongated that its short
    /// side scales to zero pixels; such an image cannot hold a face.
    pub fn new(image_width: usize, image_height: usize, input_size: usize) -> Option<Letterbox> {
        if image_width == 0 || image_height == 0 || input_size == 0 {
            return None;
        }

        let (scale, width, height) = if image_width > image_height {
            let scale = input_size as f32 / image_width as f32;
            (scale, input_size, (image_height as f32 * scale) as usize)
        } else {
            let scale = input_size as f32 / image_height as f32;
            (scale, (image_width as f32 * scale) as usize, input_size)
        };
        if width == 0 || height == 0 {
            return None;
        }

        let padded_width = width.next_multiple_of(SIZE_ALIGNMENT);
        let padded_height = height.next_multiple_of(SIZE_ALIGNMENT);
        Some(Letterbox {
            image_width,
            image_height,
            scale,
            width,
            height,
            left: (padded_width - width) / 2,
            top: (padded_height - height) / 2,
            padded_width,
            padded_height,
        })
    }

    /// Maps a point from net input pixels to image pixels.
    pub fn to_image(&self, x: f32, y: f32) -> (f32, f32) {
        (
            (x - self.left as f32) / self.scale,
            (y - self.top as f32) / self.scale,
        )
    }

    /// Maps a point from image pixels to net input pixels.
    pub fn to_net(&self, x: f32, y: f32) -> (f32, f32) {
        (
            x * self.scale + self.left as f32,
            y * self.scale + self.top as f32,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn landscape_pads_top_and_bottom() {
        // 1280x720 at 640: 640x360, padded to 640x384 with 12 rows on top.
        let lb = Letterbox::new(1280, 720, 640).unwrap();
        assert_eq!(lb.scale, 0.5);
        assert_eq!((lb.width, lb.height), (640, 360));
        assert_eq!((lb.padded_width, lb.padded_height), (640, 384));
        assert_eq!((lb.left, lb.top), (0, 12));
    }

    #[test]
    fn inverse_undoes_padding() {
        let lb = Letterbox::new(1280, 720, 640).unwrap();
        assert_eq!(lb.to_image(100.0, 112.0), (200.0, 200.0));
        assert_eq!(lb.to_image(200.0, 212.0), (400.0, 400.0));
        assert_eq!(lb.to_net(200.0, 200.0), (100.0, 112.0));
    }

    #[test]
    fn odd_sizes_round_up_to_32() {
        // 641x479: 640x478 padded to 640x480, one row on top.
        let lb = Letterbox::new(641, 479, 640).unwrap();
        assert_eq!((lb.width, lb.height), (640, 478));
        assert_eq!((lb.padded_width, lb.padded_height), (640, 480));
        assert_eq!((lb.left, lb.top), (0, 1));

        // 300x300 is scaled up to 640x640, already aligned.
        let lb = Letterbox::new(300, 300, 640).unwrap();
        assert_eq!((lb.padded_width, lb.padded_height), (640, 640));
        assert_eq!((lb.left, lb.top), (0, 0));

        // Portrait: the padding goes left and right, the odd column right.
        let lb = Letterbox::new(491, 1137, 640).unwrap();
        assert_eq!((lb.width, lb.height), (276, 640));
        assert_eq!((lb.padded_width, lb.left), (288, 6));
    }

    #[test]
    fn tiny_and_degenerate_images() {
        let lb = Letterbox::new(1, 1, 640).unwrap();
        assert_eq!((lb.width, lb.height), (640, 640));

        assert!(Letterbox::new(1000, 1, 640).is_none());
        assert!(Letterbox::new(0, 10, 640).is_none());
    }
}
