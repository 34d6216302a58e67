//! Decoding of SCRFD output maps into candidate faces, and NMS.

use super::Face;
use super::model::{BOX_VALUES_PER_ANCHOR, LANDMARK_VALUES_PER_ANCHOR, LANDMARKS};

/// A read-only C x H x W output map given as one slice per channel, so
/// that channels are found through ncnn's channel step and never at
/// `c * width * height`.
#[derive(Debug, Clone)]
pub struct FeatureMap<'a> {
    pub width: usize,
    pub height: usize,
    channels: Vec<&'a [f32]>,
}

impl<'a> FeatureMap<'a> {
    /// Builds a map from per-channel slices of at least `width * height`
    /// floats each.
    ///
    /// # Panics
    /// When a channel slice is shorter than `width * height`.
    pub fn new(width: usize, height: usize, channels: Vec<&'a [f32]>) -> FeatureMap<'a> {
        for channel in &channels {
            assert!(
                channel.len() >= width * height,
                "channel shorter than its map"
            );
        }
        FeatureMap {
            width,
            height,
            channels,
        }
    }

    /// Builds a map from one buffer whose channels start `channel_step`
    /// floats apart.
    pub fn from_strided(
        data: &'a [f32],
        width: usize,
        height: usize,
        channels: usize,
        channel_step: usize,
    ) -> FeatureMap<'a> {
        let channels = (0..channels)
            .map(|c| &data[c * channel_step..c * channel_step + width * height])
            .collect();
        FeatureMap::new(width, height, channels)
    }

    pub fn channel_count(&self) -> usize {
        self.channels.len()
    }

    fn at(&self, channel: usize, row: usize, column: usize) -> f32 {
        self.channels[channel][row * self.width + column]
    }
}

/// The outputs of one detection head.
#[derive(Debug, Clone)]
pub struct HeadMaps<'a> {
    pub stride: u32,
    pub score: FeatureMap<'a>,
    pub bbox: FeatureMap<'a>,
    pub landmarks: Option<FeatureMap<'a>>,
}

/// An output map whose shape does not fit the net input.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "output {map} of stride {stride} has shape {actual:?} (channels, height, width) but a \
     {input_width}x{input_height} input needs {expected:?}"
)]
pub struct ShapeError {
    pub map: &'static str,
    pub stride: u32,
    pub expected: (usize, usize, usize),
    pub actual: (usize, usize, usize),
    pub input_width: usize,
    pub input_height: usize,
}

/// Appends every anchor of `head` whose score is at least `threshold` to
/// `out`, with box and landmarks in net input pixels.
///
/// The grid size comes from the padded input size; a map of another shape
/// is an error, so the decoder never reads past a map. Candidates are
/// appended anchor by anchor, then row by row, then column by column.
pub fn generate_candidates(
    head: &HeadMaps<'_>,
    anchors_per_cell: usize,
    input_width: usize,
    input_height: usize,
    threshold: f32,
    out: &mut Vec<Face>,
) -> Result<(), ShapeError> {
    let stride = head.stride as usize;
    let (rows, columns) = (input_height / stride, input_width / stride);

    let check = |map: &'static str, feature: &FeatureMap, per_anchor: usize| {
        let expected = (anchors_per_cell * per_anchor, rows, columns);
        let actual = (feature.channel_count(), feature.height, feature.width);
        if expected == actual {
            Ok(())
        } else {
            Err(ShapeError {
                map,
                stride: head.stride,
                expected,
                actual,
                input_width,
                input_height,
            })
        }
    };
    check("score", &head.score, 1)?;
    check("bbox", &head.bbox, BOX_VALUES_PER_ANCHOR)?;
    if let Some(landmarks) = &head.landmarks {
        check("kps", landmarks, LANDMARK_VALUES_PER_ANCHOR)?;
    }

    let s = head.stride as f32;
    for anchor in 0..anchors_per_cell {
        for i in 0..rows {
            for j in 0..columns {
                let score = head.score.at(anchor, i, j);
                if score < threshold {
                    continue;
                }

                // Anchor centre at the cell's top-left corner, no half-cell
                // offset, as in the SCRFD ncnn port.
                let (cx, cy) = ((j * stride) as f32, (i * stride) as f32);
                let distance =
                    |k: usize| head.bbox.at(BOX_VALUES_PER_ANCHOR * anchor + k, i, j) * s;
                let landmarks = head.landmarks.as_ref().map(|map| {
                    std::array::from_fn(|k| {
                        let base = LANDMARK_VALUES_PER_ANCHOR * anchor + 2 * k;
                        [cx + map.at(base, i, j) * s, cy + map.at(base + 1, i, j) * s]
                    })
                });

                out.push(Face {
                    x0: cx - distance(0),
                    y0: cy - distance(1),
                    x1: cx + distance(2),
                    y1: cy + distance(3),
                    score,
                    landmarks,
                });
            }
        }
    }
    Ok(())
}

const _: () = assert!(LANDMARK_VALUES_PER_ANCHOR == 2 * LANDMARKS);

fn area(face: &Face) -> f32 {
    (face.x1 - face.x0) * (face.y1 - face.y0)
}

fn intersection(a: &Face, b: &Face) -> f32 {
    let width = a.x1.min(b.x1) - a.x0.max(b.x0);
    let height = a.y1.min(b.y1) - a.y0.max(b.y0);
    if width <= 0.0 || height <= 0.0 {
        0.0
    } else {
        width * height
    }
}

/// Sorts `candidates` by descending score (stable, so ties keep their
/// order) and keeps each one whose IoU with every already kept face is at
/// most `threshold`.
pub fn non_max_suppression(mut candidates: Vec<Face>, threshold: f32) -> Vec<Face> {
    candidates.sort_by(|a, b| b.score.total_cmp(&a.score));

    let mut kept: Vec<Face> = Vec::new();
    let mut kept_areas: Vec<f32> = Vec::new();
    for candidate in candidates {
        let candidate_area = area(&candidate);
        let suppressed = kept.iter().zip(&kept_areas).any(|(face, &face_area)| {
            let inter = intersection(&candidate, face);
            inter / (candidate_area + face_area - inter) > threshold
        });
        if !suppressed {
            kept.push(candidate);
            kept_areas.push(candidate_area);
        }
    }
    kept
}

#[cfg(test)]
mod tests {
    use super::*;

    fn face(x0: f32, y0: f32, x1: f32, y1: f32, score: f32) -> Face {
        Face {
            x0,
            y0,
            x1,
            y1,
            score,
            landmarks: None,
        }
    }

    /// Zeroed maps for a `width` x `height` input at `stride`, with the
    /// channel step of ncnn (rounded up to 4 floats) and a marker value in
    /// the gap between channels.
    struct Maps {
        rows: usize,
        columns: usize,
        step: usize,
        score: Vec<f32>,
        bbox: Vec<f32>,
        kps: Vec<f32>,
    }

    const GAP_MARKER: f32 = 1e6;

    impl Maps {
        fn new(width: usize, height: usize, stride: usize) -> Maps {
            let (rows, columns) = (height / stride, width / stride);
            let step = (rows * columns).next_multiple_of(4);
            let filled = |channels: usize| {
                let mut data = vec![GAP_MARKER; channels * step];
                for c in 0..channels {
                    data[c * step..c * step + rows * columns].fill(0.0);
                }
                data
            };
            Maps {
                rows,
                columns,
                step,
                score: filled(2),
                bbox: filled(8),
                kps: filled(20),
            }
        }

        fn set(
            data: &mut [f32],
            step: usize,
            columns: usize,
            c: usize,
            i: usize,
            j: usize,
            v: f32,
        ) {
            data[c * step + i * columns + j] = v;
        }

        fn head(&self, stride: u32) -> HeadMaps<'_> {
            let map = |data, channels| {
                FeatureMap::from_strided(data, self.columns, self.rows, channels, self.step)
            };
            HeadMaps {
                stride,
                score: map(&self.score, 2),
                bbox: map(&self.bbox, 8),
                landmarks: Some(map(&self.kps, 20)),
            }
        }
    }

    #[test]
    fn anchor_grid_of_non_square_input() {
        // 640x480 input, stride 16: a 30x40 grid. Hot cell row 5, column
        // 30, anchor 1, all distances 1: the box spans one stride around
        // the centre (480, 80).
        let mut maps = Maps::new(640, 480, 16);
        let (step, columns) = (maps.step, maps.columns);
        Maps::set(&mut maps.score, step, columns, 1, 5, 30, 0.9);
        for k in 0..4 {
            Maps::set(&mut maps.bbox, step, columns, 4 + k, 5, 30, 1.0);
        }

        let mut out = Vec::new();
        generate_candidates(&maps.head(16), 2, 640, 480, 0.5, &mut out).unwrap();
        assert_eq!(out.len(), 1);
        assert_eq!(
            (out[0].x0, out[0].y0, out[0].x1, out[0].y1),
            (464.0, 64.0, 496.0, 96.0)
        );
        assert_eq!(out[0].score, 0.9);
    }

    #[test]
    fn second_anchor_reads_its_own_landmarks() {
        // Only channels 10..19 (anchor 1) carry landmark offsets; anchor 0's
        // channels 0..9 stay zero. Reading 8 * q instead of 10 * q would
        // mix the two.
        let mut maps = Maps::new(64, 64, 8);
        let (step, columns) = (maps.step, maps.columns);
        Maps::set(&mut maps.score, step, columns, 1, 2, 3, 0.8);
        for k in 0..10 {
            Maps::set(&mut maps.kps, step, columns, 10 + k, 2, 3, (k + 1) as f32);
        }

        let mut out = Vec::new();
        generate_candidates(&maps.head(8), 2, 64, 64, 0.5, &mut out).unwrap();
        assert_eq!(out.len(), 1);
        let landmarks = out[0].landmarks.unwrap();
        let (cx, cy) = (24.0, 16.0);
        for (k, point) in landmarks.iter().enumerate() {
            let expected = [cx + (2 * k + 1) as f32 * 8.0, cy + (2 * k + 2) as f32 * 8.0];
            assert_eq!(*point, expected, "landmark {k}");
        }
    }

    #[test]
    fn channel_step_is_honoured() {
        // input-size 320 on 1280x800: 320x224 input, stride 32 map 10x7 =
        // 70 floats per channel with a channel step of 72. The gap contains a
        // marker that would pass the threshold if read as a score.
        let mut maps = Maps::new(320, 224, 32);
        assert_eq!((maps.columns, maps.rows, maps.step), (10, 7, 72));
        let (step, columns) = (maps.step, maps.columns);
        Maps::set(&mut maps.score, step, columns, 1, 0, 0, 0.7);
        Maps::set(&mut maps.bbox, step, columns, 4, 0, 0, 0.5);

        let mut out = Vec::new();
        generate_candidates(&maps.head(32), 2, 320, 224, 0.5, &mut out).unwrap();
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].score, 0.7);
        assert_eq!(out[0].x0, -16.0);
    }

    #[test]
    fn candidates_in_generation_order() {
        let mut maps = Maps::new(64, 64, 8);
        let (step, columns) = (maps.step, maps.columns);
        Maps::set(&mut maps.score, step, columns, 1, 0, 0, 0.6);
        Maps::set(&mut maps.score, step, columns, 0, 7, 7, 0.6);
        Maps::set(&mut maps.score, step, columns, 0, 0, 1, 0.6);

        let mut out = Vec::new();
        generate_candidates(&maps.head(8), 2, 64, 64, 0.5, &mut out).unwrap();
        let cells: Vec<(f32, f32)> = out.iter().map(|f| (f.x0, f.y0)).collect();
        assert_eq!(cells, [(8.0, 0.0), (56.0, 56.0), (0.0, 0.0)]);
    }

    #[test]
    fn threshold_is_inclusive() {
        let mut maps = Maps::new(64, 64, 8);
        let (step, columns) = (maps.step, maps.columns);
        Maps::set(&mut maps.score, step, columns, 0, 1, 1, 0.5);

        let mut out = Vec::new();
        generate_candidates(&maps.head(8), 2, 64, 64, 0.5, &mut out).unwrap();
        assert_eq!(out.len(), 1);
    }

    #[test]
    fn grid_from_padded_input_or_error() {
        // A 641x479 frame at 640 becomes 640x478, padded to 640x480: the
        // stride-8 grid is 80x60, 4800 cells; with strides 16 and 32 and
        // two anchors that is 12600 anchors.
        let maps = Maps::new(640, 480, 8);
        assert_eq!(maps.rows * maps.columns, 4800);
        let anchors: usize = [8, 16, 32].iter().map(|s| (640 / s) * (480 / s) * 2).sum();
        assert_eq!(anchors, 12600);

        // Decoding these maps as if the input were 640x512 must fail
        // instead of reading rows that do not exist.
        let mut out = Vec::new();
        let err = generate_candidates(&maps.head(8), 2, 640, 512, 0.5, &mut out).unwrap_err();
        assert_eq!(err.map, "score");
        assert_eq!(err.expected, (2, 64, 80));
        assert_eq!(err.actual, (2, 60, 80));
        assert!(out.is_empty());
    }

    #[test]
    fn nms_keeps_higher_score() {
        let kept = non_max_suppression(
            vec![
                face(105.0, 105.0, 205.0, 205.0, 0.6),
                face(100.0, 100.0, 200.0, 200.0, 0.9),
            ],
            0.4,
        );
        assert_eq!(kept.len(), 1);
        assert_eq!(kept[0].score, 0.9);
        assert_eq!(kept[0].x0, 100.0);
    }

    #[test]
    fn nms_keeps_one_of_twins() {
        let twin = face(10.0, 10.0, 50.0, 50.0, 0.7);
        let kept = non_max_suppression(vec![twin.clone(), twin], 0.45);
        assert_eq!(kept.len(), 1);
    }

    #[test]
    fn nms_of_nothing_is_nothing() {
        assert!(non_max_suppression(Vec::new(), 0.45).is_empty());
    }

    #[test]
    fn nms_is_stable_and_sorted() {
        let kept = non_max_suppression(
            vec![
                face(0.0, 0.0, 10.0, 10.0, 0.5),
                face(100.0, 0.0, 110.0, 10.0, 0.8),
                face(200.0, 0.0, 210.0, 10.0, 0.5),
            ],
            0.45,
        );
        let order: Vec<f32> = kept.iter().map(|f| f.x0).collect();
        assert_eq!(order, [100.0, 0.0, 200.0]);
    }

    #[test]
    fn nms_threshold_is_exclusive() {
        // [0,100]x[0,100] and [0,100]x[0,50] overlap by 5000 of a union of
        // 10000: IoU 0.5, which is not above a threshold of 0.5.
        let kept = non_max_suppression(
            vec![
                face(0.0, 0.0, 100.0, 100.0, 0.9),
                face(0.0, 0.0, 100.0, 50.0, 0.8),
            ],
            0.5,
        );
        assert_eq!(kept.len(), 2);
    }
}
