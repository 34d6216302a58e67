//! Description of an SCRFD network, read from its ncnn `.param` file.
//!
//! The `.param` text format: a magic number line (7767517), a line with the
//! layer and blob counts, then one line per layer:
//! `type name input_count output_count inputs... outputs... key=value...`.

use std::collections::{HashMap, HashSet};
use std::path::Path;

use super::Error;

/// The magic number on the first line of every text `.param` file.
const PARAM_MAGIC: &str = "7767517";

/// Feature strides of the SCRFD detection heads, finest first. Candidates
/// are generated in this order.
pub const STRIDES: [u32; 3] = [8, 16, 32];

/// Distances per anchor in a `bbox_<stride>` map: left, top, right, bottom.
pub const BOX_VALUES_PER_ANCHOR: usize = 4;

/// Landmarks per face in a `kps_<stride>` map, as (x, y) offsets in the
/// order left eye, right eye, nose tip, left mouth corner, right mouth
/// corner.
pub const LANDMARKS: usize = 5;

/// Values per anchor in a `kps_<stride>` map.
pub const LANDMARK_VALUES_PER_ANCHOR: usize = 2 * LANDMARKS;

/// Output blob names of one detection head.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeadOutputs {
    pub stride: u32,
    pub score: String,
    pub bbox: String,
    /// `None` for models trained without landmarks.
    pub landmarks: Option<String>,
}

/// Facts about an SCRFD network that the decoder needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelInfo {
    /// Name of the image input blob.
    pub input: String,
    /// One entry per stride of [`STRIDES`].
    pub heads: Vec<HeadOutputs>,
    /// Anchors per grid cell (2 for every published SCRFD model).
    pub anchors_per_cell: usize,
    pub has_landmarks: bool,
}

struct Layer<'a> {
    kind: &'a str,
    inputs: Vec<&'a str>,
    outputs: Vec<&'a str>,
    params: HashMap<&'a str, &'a str>,
}

impl ModelInfo {
    /// Reads the description from the `.param` file at `path`.
    pub fn from_param_file(path: &Path) -> Result<ModelInfo, Error> {
        let text = std::fs::read(path).map_err(|source| Error::Io {
            path: path.to_owned(),
            source,
        })?;
        let text = String::from_utf8(text).map_err(|_| Error::InvalidParam {
            path: path.to_owned(),
            reason: "it is not text (binary .param files are not supported)".to_owned(),
        })?;
        ModelInfo::from_param_text(&text).map_err(|reason| match reason {
            ParamError::Syntax(reason) => Error::InvalidParam {
                path: path.to_owned(),
                reason,
            },
            ParamError::NotScrfd(reason) => Error::NotScrfd {
                path: path.to_owned(),
                reason,
            },
        })
    }

    fn from_param_text(text: &str) -> Result<ModelInfo, ParamError> {
        let layers = parse_layers(text)?;

        let consumed: HashSet<&str> = layers
            .iter()
            .flat_map(|l| l.inputs.iter().copied())
            .collect();
        let producers: HashMap<&str, &Layer> = layers
            .iter()
            .flat_map(|layer| layer.outputs.iter().map(move |&blob| (blob, layer)))
            .collect();
        let outputs: Vec<&str> = layers
            .iter()
            .flat_map(|l| l.outputs.iter().copied())
            .filter(|blob| !consumed.contains(blob))
            .collect();

        let input = layers
            .iter()
            .find(|l| l.kind == "Input")
            .and_then(|l| l.outputs.first())
            .ok_or_else(|| ParamError::NotScrfd("it has no Input layer".to_owned()))?
            .to_string();

        let find_output = |name: &str| -> Result<Option<String>, ParamError> {
            if outputs.contains(&name) {
                Ok(Some(name.to_owned()))
            } else if producers.contains_key(name) {
                Err(ParamError::NotScrfd(format!(
                    "blob {name} is consumed by other layers, so it is not an output"
                )))
            } else {
                Ok(None)
            }
        };

        let mut heads = Vec::with_capacity(STRIDES.len());
        for stride in STRIDES {
            let missing = |name: String| {
                ParamError::NotScrfd(format!(
                    "it has no output blob named {name} (its outputs are: {}); an SCRFD model \
                     has outputs score_8, score_16, score_32, bbox_8, bbox_16, bbox_32 and, \
                     with landmarks, kps_8, kps_16, kps_32",
                    outputs.join(", ")
                ))
            };
            let score = format!("score_{stride}");
            let bbox = format!("bbox_{stride}");
            let score = find_output(&score)?.ok_or_else(|| missing(score))?;
            let bbox = find_output(&bbox)?.ok_or_else(|| missing(bbox))?;
            let landmarks = find_output(&format!("kps_{stride}"))?;
            heads.push(HeadOutputs {
                stride,
                score,
                bbox,
                landmarks,
            });
        }

        let with_landmarks = heads.iter().filter(|h| h.landmarks.is_some()).count();
        if with_landmarks != 0 && with_landmarks != heads.len() {
            return Err(ParamError::NotScrfd(
                "it has landmark outputs (kps_<stride>) for some strides but not all".to_owned(),
            ));
        }

        // The anchor count is the channel count of each score map: follow
        // the score blob back through one-input layers (Sigmoid, scaling)
        // to the convolution that produces it.
        let mut anchors_per_cell = None;
        for head in &heads {
            let anchors = output_channels(&producers, &head.score).ok_or_else(|| {
                ParamError::NotScrfd(format!(
                    "the channel count of {} cannot be read from the graph",
                    head.score
                ))
            })?;
            let expect_channels = |blob: &str, per_anchor: usize| {
                match output_channels(&producers, blob) {
                    Some(channels) if channels == anchors * per_anchor => Ok(()),
                    Some(channels) => Err(ParamError::NotScrfd(format!(
                        "{blob} has {channels} channels, but {} anchors per cell need {}",
                        anchors,
                        anchors * per_anchor
                    ))),
                    // A producer whose channel count is not written in the
                    // graph is checked against the real output shape instead.
                    None => Ok(()),
                }
            };
            expect_channels(&head.bbox, BOX_VALUES_PER_ANCHOR)?;
            if let Some(kps) = &head.landmarks {
                expect_channels(kps, LANDMARK_VALUES_PER_ANCHOR)?;
            }
            if *anchors_per_cell.get_or_insert(anchors) != anchors {
                return Err(ParamError::NotScrfd(
                    "its score maps have different anchor counts per stride".to_owned(),
                ));
            }
        }

        Ok(ModelInfo {
            input,
            anchors_per_cell: anchors_per_cell.unwrap_or(0),
            has_landmarks: with_landmarks > 0,
            heads,
        })
    }
}

enum ParamError {
    Syntax(String),
    NotScrfd(String),
}

fn parse_layers(text: &str) -> Result<Vec<Layer<'_>>, ParamError> {
    let mut lines = text.lines().filter(|l| !l.trim().is_empty());

    let magic = lines.next().map(str::trim).unwrap_or_default();
    if magic != PARAM_MAGIC {
        return Err(ParamError::Syntax(format!(
            "the first line is {magic:?}, not the magic number {PARAM_MAGIC}"
        )));
    }

    let counts: Vec<usize> = lines
        .next()
        .unwrap_or_default()
        .split_whitespace()
        .map(str::parse)
        .collect::<Result<_, _>>()
        .map_err(|_| ParamError::Syntax("the second line is not two counts".to_owned()))?;
    let [layer_count, _blob_count] = counts[..] else {
        return Err(ParamError::Syntax(
            "the second line is not a layer count and a blob count".to_owned(),
        ));
    };

    let mut layers = Vec::with_capacity(layer_count.min(4096));
    for (index, line) in lines.enumerate() {
        let syntax = |what: &str| ParamError::Syntax(format!("layer line {} {what}", index + 1));
        let mut fields = line.split_whitespace();
        let kind = fields.next().ok_or_else(|| syntax("is empty"))?;
        let _name = fields.next().ok_or_else(|| syntax("has no layer name"))?;
        let mut count = || -> Result<usize, ParamError> {
            fields
                .next()
                .and_then(|f| f.parse().ok())
                .ok_or_else(|| syntax("has no input and output counts"))
        };
        let (input_count, output_count) = (count()?, count()?);
        let inputs: Vec<&str> = fields.by_ref().take(input_count).collect();
        let outputs: Vec<&str> = fields.by_ref().take(output_count).collect();
        if inputs.len() != input_count || outputs.len() != output_count {
            return Err(syntax("lists fewer blobs than its counts say"));
        }
        let params = fields.filter_map(|f| f.split_once('=')).collect();
        layers.push(Layer {
            kind,
            inputs,
            outputs,
            params,
        });
    }

    if layers.len() != layer_count {
        return Err(ParamError::Syntax(format!(
            "the header announces {layer_count} layers but the file has {}",
            layers.len()
        )));
    }
    Ok(layers)
}

/// Returns the channel count of `blob` when the graph states it: the
/// `num_output` (parameter 0) of the convolution that produces it, possibly
/// through layers with one input that keep the channel count.
fn output_channels(producers: &HashMap<&str, &Layer>, blob: &str) -> Option<usize> {
    const SHAPE_KEEPING: [&str; 6] = ["Sigmoid", "BinaryOp", "Noop", "Split", "ReLU", "Scale"];
    let mut blob = blob;
    for _ in 0..16 {
        let layer = producers.get(blob)?;
        match layer.kind {
            "Convolution" | "ConvolutionDepthWise" => {
                return layer.params.get("0")?.parse().ok();
            }
            kind if SHAPE_KEEPING.contains(&kind) && layer.inputs.len() == 1 => {
                blob = layer.inputs[0];
            }
            _ => return None,
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn param(body: &str) -> String {
        let layers = body.lines().filter(|l| !l.trim().is_empty()).count();
        format!("7767517\n{layers} 0\n{body}")
    }

    const HEAD: &str = "Input in 0 1 data 0=3\n\
        Convolution c0 1 1 data f 0=16\n\
        Split sp 1 6 f f0 f1 f2 f3 f4 f5\n";

    fn heads(kps: bool) -> String {
        let mut s = String::from(HEAD);
        for (i, stride) in STRIDES.iter().enumerate() {
            s += &format!("Convolution cs{stride} 1 1 f{} s{stride} 0=2\n", 2 * i);
            s += &format!("Sigmoid sg{stride} 1 1 s{stride} score_{stride}\n");
            s += &format!("Convolution cb{stride} 1 1 f{} b{stride} 0=8\n", 2 * i + 1);
            s += &format!("BinaryOp m{stride} 1 1 b{stride} bbox_{stride} 0=2 1=1 2=1.0\n");
            if kps {
                s += &format!("Convolution ck{stride} 1 1 f{} kps_{stride} 0=20\n", 2 * i);
            }
        }
        s
    }

    fn parse(text: &str) -> Result<ModelInfo, String> {
        ModelInfo::from_param_text(text).map_err(|e| match e {
            ParamError::Syntax(s) => format!("syntax: {s}"),
            ParamError::NotScrfd(s) => format!("not scrfd: {s}"),
        })
    }

    #[test]
    fn reads_heads_with_landmarks() {
        // The kps convolutions share the score branch input, so the Split
        // outputs are consumed twice; that is fine for the parser.
        let info = parse(&param(&heads(true))).unwrap();
        assert_eq!(info.input, "data");
        assert_eq!(info.anchors_per_cell, 2);
        assert!(info.has_landmarks);
        assert_eq!(info.heads.len(), 3);
        assert_eq!(info.heads[1].score, "score_16");
        assert_eq!(info.heads[2].bbox, "bbox_32");
        assert_eq!(info.heads[0].landmarks.as_deref(), Some("kps_8"));
    }

    #[test]
    fn reads_heads_without_landmarks() {
        let info = parse(&param(&heads(false))).unwrap();
        assert!(!info.has_landmarks);
        assert!(info.heads.iter().all(|h| h.landmarks.is_none()));
    }

    #[test]
    fn rejects_bad_magic() {
        let err = parse("7767518\n1 1\nInput in 0 1 data\n").unwrap_err();
        assert!(err.starts_with("syntax: the first line"), "{err}");
    }

    #[test]
    fn rejects_truncated_file() {
        let text = param(&heads(true));
        let cut = &text[..text.len() / 2];
        let err = parse(cut).unwrap_err();
        assert!(err.starts_with("syntax:"), "{err}");
    }

    #[test]
    fn rejects_missing_output() {
        let text = param(&heads(true).replace("bbox_16", "bbox_x"));
        let err = parse(&text).unwrap_err();
        assert!(err.contains("no output blob named bbox_16"), "{err}");
        assert!(err.contains("bbox_x"), "{err}");
    }

    #[test]
    fn rejects_wrong_channel_count() {
        let text = param(&heads(true).replace("kps_16 0=20", "kps_16 0=16"));
        let err = parse(&text).unwrap_err();
        assert!(err.contains("kps_16 has 16 channels"), "{err}");
    }

    #[test]
    fn rejects_partial_landmarks() {
        let text = param(&heads(true).replace("kps_32", "k32"));
        let err = parse(&text).unwrap_err();
        assert!(err.contains("some strides but not all"), "{err}");
    }
}
