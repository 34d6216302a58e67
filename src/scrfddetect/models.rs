//! Model choice and the search for model files.

use std::path::{Path, PathBuf};

use gst::glib;

/// Environment variable with folders (separated by `:`) to search for
/// models when the `model-dir` property is not set.
pub const MODEL_PATH_ENV: &str = "SCRFD_MODEL_PATH";

/// The model folder of the installed plugin, fixed at build time.
pub const INSTALLED_MODELS_DIR: &str = env!("SCRFD_MODELS_DIR");

/// Sub-folder of each XDG data directory that contains models.
const DATA_SUBDIR: &str = "gst-plugin-scrfd/models";

/// The published SCRFD variants; names follow the InsightFace model zoo
/// (GFLOPs at 640x640, `-kps` with five landmarks).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, glib::Enum)]
#[repr(u32)]
#[enum_type(name = "GstScrfdModel")]
pub enum ModelVariant {
    #[enum_value(name = "SCRFD 0.5 GFLOPs, no landmarks (scrfd_500m)", nick = "500m")]
    Scrfd500m,
    #[enum_value(
        name = "SCRFD 0.5 GFLOPs with landmarks (scrfd_500m_kps)",
        nick = "500m-kps"
    )]
    Scrfd500mKps,
    #[enum_value(name = "SCRFD 1 GFLOPs, no landmarks (scrfd_1g)", nick = "1g")]
    Scrfd1g,
    #[enum_value(name = "SCRFD 2.5 GFLOPs, no landmarks (scrfd_2.5g)", nick = "2.5g")]
    Scrfd2_5g,
    #[enum_value(
        name = "SCRFD 2.5 GFLOPs with landmarks (scrfd_2.5g_kps)",
        nick = "2.5g-kps"
    )]
    Scrfd2_5gKps,
    #[enum_value(name = "SCRFD 10 GFLOPs, no landmarks (scrfd_10g)", nick = "10g")]
    Scrfd10g,
    #[enum_value(
        name = "SCRFD 10 GFLOPs with landmarks (scrfd_10g_kps)",
        nick = "10g-kps"
    )]
    Scrfd10gKps,
    #[enum_value(name = "SCRFD 34 GFLOPs, no landmarks (scrfd_34g)", nick = "34g")]
    Scrfd34g,
    #[enum_value(
        name = "SCRFD 34 GFLOPs with landmarks (scrfd_34g_kps)",
        nick = "34g-kps"
    )]
    Scrfd34gKps,
}

impl ModelVariant {
    /// File name stem of the model's `.param` and `.bin` files.
    pub fn stem(self) -> &'static str {
        match self {
            ModelVariant::Scrfd500m => "scrfd_500m",
            ModelVariant::Scrfd500mKps => "scrfd_500m_kps",
            ModelVariant::Scrfd1g => "scrfd_1g",
            ModelVariant::Scrfd2_5g => "scrfd_2.5g",
            ModelVariant::Scrfd2_5gKps => "scrfd_2.5g_kps",
            ModelVariant::Scrfd10g => "scrfd_10g",
            ModelVariant::Scrfd10gKps => "scrfd_10g_kps",
            ModelVariant::Scrfd34g => "scrfd_34g",
            ModelVariant::Scrfd34gKps => "scrfd_34g_kps",
        }
    }
}

/// When the element posts a `facedetect` element message, with the
/// choices of the `facedetect` element of gst-plugins-bad.
#[derive(Debug, Clone, Copy, PartialEq, Eq, glib::Enum)]
#[repr(u32)]
#[enum_type(name = "GstScrfdDetectUpdates")]
pub enum Updates {
    #[enum_value(name = "Post a message for every analysed frame", nick = "every_frame")]
    EveryFrame = 0,
    #[enum_value(
        name = "Post a message when the number of faces changes",
        nick = "on_change"
    )]
    OnChange = 1,
    #[enum_value(name = "Post a message for every frame with a face", nick = "on_face")]
    OnFace = 2,
    #[enum_value(name = "Post no messages", nick = "none")]
    None = 3,
}

/// Content of frames that are not analysed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, glib::Enum)]
#[repr(u32)]
#[enum_type(name = "GstScrfdCarry")]
pub enum Carry {
    #[enum_value(
        name = "The newest results, marked as carried with their age, until they are older than max-age",
        nick = "last"
    )]
    Last = 0,
    #[enum_value(name = "No faces", nick = "none")]
    None = 1,
}

/// Whether frames wait for the detector.
#[derive(Debug, Clone, Copy, PartialEq, Eq, glib::Enum)]
#[repr(u32)]
#[enum_type(name = "GstScrfdMode")]
pub enum Mode {
    #[enum_value(
        name = "Each analysed frame waits for its detection and carries its own faces",
        nick = "blocking"
    )]
    Blocking = 0,
    #[enum_value(
        name = "Frames never wait: a worker thread analyses the newest frame whenever it is free, and \
                every frame carries the newest finished results",
        nick = "live"
    )]
    Live = 1,
}

/// Method of hiding faces for privacy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, glib::Enum)]
#[repr(u32)]
#[enum_type(name = "GstScrfdAnonymize")]
pub enum Anonymize {
    #[enum_value(name = "Leave faces as they are", nick = "none")]
    None = 0,
    #[enum_value(name = "Blur each face region strongly", nick = "blur")]
    Blur = 1,
    #[enum_value(
        name = "Pixelate each face region into coarse blocks",
        nick = "pixelate"
    )]
    Pixelate = 2,
    #[enum_value(name = "Fill each face region with black", nick = "fill")]
    Fill = 3,
}

/// The `.param` and `.bin` files of a model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelFiles {
    pub param: PathBuf,
    pub bin: PathBuf,
}

/// Model search settings, copied from the element's properties.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelChoice {
    pub variant: ModelVariant,
    pub model_dir: Option<PathBuf>,
    pub param_location: Option<PathBuf>,
    pub bin_location: Option<PathBuf>,
}

/// Folders searched for a model when `model-dir` is not set, in order.
pub fn default_model_dirs() -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::env::var_os(MODEL_PATH_ENV)
        .map(|paths| {
            std::env::split_paths(&paths)
                .filter(|p| !p.as_os_str().is_empty())
                .collect()
        })
        .unwrap_or_default();
    dirs.push(PathBuf::from(INSTALLED_MODELS_DIR));

    let data_home = std::env::var_os("XDG_DATA_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| Path::new(&home).join(".local/share")));
    let data_dirs = std::env::var_os("XDG_DATA_DIRS")
        .map(|dirs| std::env::split_paths(&dirs).collect::<Vec<_>>())
        .unwrap_or_else(|| {
            vec![
                PathBuf::from("/usr/local/share"),
                PathBuf::from("/usr/share"),
            ]
        });
    for dir in data_home.into_iter().chain(data_dirs) {
        let dir = dir.join(DATA_SUBDIR);
        if !dirs.contains(&dir) {
            dirs.push(dir);
        }
    }
    dirs
}

/// Finds the files of the chosen model, or explains what to set.
pub fn resolve(choice: &ModelChoice) -> Result<ModelFiles, String> {
    if let Some(param) = &choice.param_location {
        let bin = choice
            .bin_location
            .clone()
            .unwrap_or_else(|| param.with_extension("bin"));
        return Ok(ModelFiles {
            param: param.clone(),
            bin,
        });
    }
    if let Some(bin) = &choice.bin_location {
        return Err(format!(
            "bin-location is set to {} but param-location is not; set param-location to the \
             matching .param file",
            bin.display()
        ));
    }

    let stem = choice.variant.stem();
    if let Some(dir) = &choice.model_dir
        && !dir.is_dir()
    {
        let problem = if dir.exists() {
            "is not a folder"
        } else {
            "does not exist"
        };
        return Err(format!(
            "model-dir {} {problem}; set model-dir to the folder that holds {stem}.param and \
             {stem}.bin, or set param-location and bin-location",
            dir.display()
        ));
    }

    let dirs = match &choice.model_dir {
        Some(dir) => vec![dir.clone()],
        None => default_model_dirs(),
    };
    // Files renamed as in the model table, or kept with the `-opt2` suffix
    // they have in the upstream ncnn-android-scrfd repository.
    for dir in &dirs {
        for name in [stem.to_owned(), format!("{stem}-opt2")] {
            let param = dir.join(format!("{name}.param"));
            if param.is_file() {
                return Ok(ModelFiles {
                    bin: param.with_extension("bin"),
                    param,
                });
            }
        }
    }

    let searched: Vec<String> = dirs.iter().map(|d| d.display().to_string()).collect();
    let how = if choice.model_dir.is_some() {
        "put the model files there or change model-dir"
    } else {
        "put the model files into one of these folders, or set the model-dir property or the \
         SCRFD_MODEL_PATH environment variable to the folder that contains them"
    };
    let source = if choice.variant == ModelVariant::Scrfd34gKps {
        "upstream publishes no ncnn conversion of this variant, so convert it yourself"
    } else {
        "scripts/fetch-models.sh in the plugin's sources downloads them, models/README.md lists \
         them"
    };
    Err(format!(
        "model {stem}.param was not found in {}; {how} ({source}), or set param-location and \
         bin-location",
        searched.join(", ")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn choice() -> ModelChoice {
        ModelChoice {
            variant: ModelVariant::Scrfd2_5gKps,
            model_dir: None,
            param_location: None,
            bin_location: None,
        }
    }

    #[test]
    fn explicit_param_implies_bin() {
        let mut choice = choice();
        choice.param_location = Some(PathBuf::from("/m/face.param"));
        let files = resolve(&choice).unwrap();
        assert_eq!(files.bin, PathBuf::from("/m/face.bin"));

        choice.bin_location = Some(PathBuf::from("/w/weights.bin"));
        assert_eq!(
            resolve(&choice).unwrap().bin,
            PathBuf::from("/w/weights.bin")
        );
    }

    #[test]
    fn bin_without_param_is_an_error() {
        let mut choice = choice();
        choice.bin_location = Some(PathBuf::from("/w/weights.bin"));
        let err = resolve(&choice).unwrap_err();
        assert!(err.contains("param-location is not"), "{err}");
    }

    #[test]
    fn missing_model_names_folder_and_fix() {
        let dir = std::env::temp_dir().join(format!("scrfd-empty-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let mut choice = choice();
        choice.model_dir = Some(dir.clone());
        let err = resolve(&choice).unwrap_err();
        std::fs::remove_dir_all(&dir).unwrap();
        assert!(err.contains("scrfd_2.5g_kps.param was not found"), "{err}");
        assert!(err.contains(&dir.display().to_string()), "{err}");
        assert!(err.contains("model-dir"), "{err}");
    }

    #[test]
    fn model_dir_that_is_no_folder_is_named() {
        let mut choice = choice();
        choice.model_dir = Some(PathBuf::from("/nonexistent/models"));
        let err = resolve(&choice).unwrap_err();
        assert!(
            err.starts_with("model-dir /nonexistent/models does not exist;"),
            "{err}"
        );
        assert!(err.contains("scrfd_2.5g_kps.param"), "{err}");

        let file = std::env::temp_dir().join(format!("scrfd-file-{}", std::process::id()));
        std::fs::write(&file, "").unwrap();
        choice.model_dir = Some(file.clone());
        let err = resolve(&choice).unwrap_err();
        std::fs::remove_file(&file).unwrap();
        assert!(err.contains("is not a folder"), "{err}");
    }

    #[test]
    fn finds_upstream_file_names() {
        let dir = std::env::temp_dir().join(format!("scrfd-models-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("scrfd_1g-opt2.param"), "").unwrap();

        let mut choice = choice();
        choice.variant = ModelVariant::Scrfd1g;
        choice.model_dir = Some(dir.clone());
        let files = resolve(&choice).unwrap();
        assert_eq!(files.param, dir.join("scrfd_1g-opt2.param"));
        assert_eq!(files.bin, dir.join("scrfd_1g-opt2.bin"));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
