//! Format detection of a dataset path and opening of frame sequences.
//!
//! [`detect_format`] looks only at names on disk (and at `dataset.json`'s `"format"`
//! field); it decodes no image. The checks run in this order, the first match wins:
//!
//! | format | rule |
//! |---|---|
//! | [`DatasetFormat::SyntheticDataset`] | folder with `dataset.json` whose `"format"` is `"crossloc-synth"` |
//! | [`DatasetFormat::SyntheticScan`] | folder with `scene.json` and `frame-*.color.*` files |
//! | [`DatasetFormat::SevenScenes`] | folder with `frame-*.color.*` files |
//! | [`DatasetFormat::Tum`] | folder with `rgb.txt` and `depth.txt` |
//! | [`DatasetFormat::Redwood`] | folder with `depth/` and one of `image/`, `rgb/`, `color/` |
//! | [`DatasetFormat::ScanNetNpy`] | `*_vert_all.npy` / `*_vert.npy` file, or a folder holding one |
//! | [`DatasetFormat::Ply`] | a `.ply` file, or a folder holding one |
//! | [`DatasetFormat::SingleFrames`] | folder with `<PREFIX>_color.*` + `<PREFIX>_depth.*` pairs |
//!
//! Anything else is [`IoError::Unsupported`] listing what was looked for.
//! [`open_sequence`] opens the RGB-D sequence formats as a [`FrameSource`]; scans and
//! synthetic datasets are read by other modules.

use std::path::{Path, PathBuf};

use crate::io::redwood::{RedwoodReader, redwood_folders};
use crate::io::seven_scenes::{SevenScenesReader, has_seven_scenes_frames};
use crate::io::single::{SingleFrameSource, find_single_frames};
use crate::io::tum::TumReader;
use crate::io::{FrameSelection, FrameSource, IoError};

/// A dataset format the engine can read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum DatasetFormat {
    /// Microsoft 7-Scenes frame layout (`frame-XXXXXX.color.jpg` …).
    SevenScenes,
    /// TUM RGB-D (`rgb.txt`, `depth.txt`, `groundtruth.txt`).
    Tum,
    /// Redwood / ICL-NUIM (`image/`, `depth/`, `camera-intrinsics.json`, `.log`).
    Redwood,
    /// Single RGB-D frames (`<PREFIX>_color.*` + `<PREFIX>_depth.*`).
    SingleFrames,
    /// ScanNet scans exported as NumPy arrays (`*_vert_all.npy` …).
    ScanNetNpy,
    /// A PLY point cloud or mesh.
    Ply,
    /// A synthetic dataset written by `crossloc synth` (`dataset.json`).
    SyntheticDataset,
    /// One synthetic scan (7-Scenes layout plus `scene.json`).
    SyntheticScan,
}

impl DatasetFormat {
    /// The short name used on the command line and in reports.
    pub fn name(self) -> &'static str {
        match self {
            DatasetFormat::SevenScenes => "7scenes",
            DatasetFormat::Tum => "tum",
            DatasetFormat::Redwood => "redwood",
            DatasetFormat::SingleFrames => "single-frames",
            DatasetFormat::ScanNetNpy => "scannet-npy",
            DatasetFormat::Ply => "ply",
            DatasetFormat::SyntheticDataset => "synthetic",
            DatasetFormat::SyntheticScan => "synthetic-scan",
        }
    }

    /// True for the formats [`open_sequence`] opens as a frame stream.
    pub fn is_sequence(self) -> bool {
        matches!(
            self,
            DatasetFormat::SevenScenes
                | DatasetFormat::SyntheticScan
                | DatasetFormat::Tum
                | DatasetFormat::Redwood
                | DatasetFormat::SingleFrames
        )
    }
}

impl std::fmt::Display for DatasetFormat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// One entry of a folder listing.
#[derive(Debug, Clone)]
pub(crate) struct DirEntryInfo {
    /// The file name (entries whose name is not UTF-8 are skipped).
    pub name: String,
    /// The full path.
    pub path: PathBuf,
    /// True for a folder (symbolic links are followed).
    pub is_dir: bool,
}

/// The entries of a folder sorted by name. A missing folder is [`IoError::Missing`].
pub(crate) fn dir_entries(dir: &Path) -> Result<Vec<DirEntryInfo>, IoError> {
    if !dir.is_dir() {
        return Err(IoError::Missing {
            path: dir.to_path_buf(),
            what: "dataset folder".into(),
        });
    }
    let rd = std::fs::read_dir(dir).map_err(|e| IoError::os(dir, e))?;
    let mut out = Vec::new();
    for entry in rd {
        let entry = entry.map_err(|e| IoError::os(dir, e))?;
        let Ok(name) = entry.file_name().into_string() else {
            log::warn!("{}: skipping a non-UTF-8 file name", dir.display());
            continue;
        };
        let path = entry.path();
        let is_dir = path.is_dir();
        out.push(DirEntryInfo { name, path, is_dir });
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(out)
}

fn is_scannet_npy_name(name: &str) -> bool {
    name.ends_with("_vert_all.npy") || name.ends_with("_vert.npy")
}

fn is_ply_name(name: &str) -> bool {
    name.to_ascii_lowercase().ends_with(".ply")
}

fn is_crossloc_synth(path: &Path) -> bool {
    let Ok(text) = std::fs::read_to_string(path) else {
        return false;
    };
    match serde_json::from_str::<serde_json::Value>(&text) {
        Ok(v) => v.get("format").and_then(|f| f.as_str()) == Some("crossloc-synth"),
        Err(e) => {
            log::warn!(
                "{}: not valid JSON ({e}); not a synthetic dataset",
                path.display()
            );
            false
        }
    }
}

/// Detects the format of a dataset file or folder (see the module doc for the rules).
pub fn detect_format(path: &Path) -> Result<DatasetFormat, IoError> {
    if path.is_file() {
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if is_scannet_npy_name(name) {
            return Ok(DatasetFormat::ScanNetNpy);
        }
        if is_ply_name(name) {
            return Ok(DatasetFormat::Ply);
        }
        return Err(IoError::Unsupported {
            path: path.to_path_buf(),
            message:
                "a file that is neither a ScanNet `*_vert_all.npy`/`*_vert.npy` nor a `.ply`; \
                      sequences are given as folders"
                    .into(),
        });
    }
    let entries = dir_entries(path)?;
    let has_file = |n: &str| entries.iter().any(|e| !e.is_dir && e.name == n);
    let has_dir = |n: &str| entries.iter().any(|e| e.is_dir && e.name == n);

    if has_file("dataset.json") && is_crossloc_synth(&path.join("dataset.json")) {
        return Ok(DatasetFormat::SyntheticDataset);
    }
    let seven = has_seven_scenes_frames(path);
    if seven && has_file("scene.json") {
        return Ok(DatasetFormat::SyntheticScan);
    }
    if seven {
        return Ok(DatasetFormat::SevenScenes);
    }
    if has_file("rgb.txt") && has_file("depth.txt") {
        return Ok(DatasetFormat::Tum);
    }
    if has_dir("depth") && redwood_folders(path).is_some() {
        return Ok(DatasetFormat::Redwood);
    }
    if entries
        .iter()
        .any(|e| !e.is_dir && is_scannet_npy_name(&e.name))
    {
        return Ok(DatasetFormat::ScanNetNpy);
    }
    if entries.iter().any(|e| !e.is_dir && is_ply_name(&e.name)) {
        return Ok(DatasetFormat::Ply);
    }
    if find_single_frames(path).is_ok_and(|pairs| !pairs.is_empty()) {
        return Ok(DatasetFormat::SingleFrames);
    }
    Err(IoError::Unsupported {
        path: path.to_path_buf(),
        message: "no known dataset format; looked for dataset.json (format crossloc-synth), \
                  scene.json + frame-*.color.*, frame-*.color.* (7-Scenes), rgb.txt + depth.txt \
                  (TUM), depth/ + image|rgb|color/ (Redwood/ICL-NUIM), *_vert_all.npy or \
                  *_vert.npy (ScanNet), *.ply, and <PREFIX>_color.* + <PREFIX>_depth.* pairs \
                  (single frames)"
            .into(),
    })
}

/// Opens a folder holding an RGB-D sequence as a [`FrameSource`] (7-Scenes, synthetic
/// scan, TUM, Redwood/ICL-NUIM or single frames), detecting its format. Scans and
/// synthetic datasets are not frame sequences: they give [`IoError::Unsupported`]
/// naming what reads them.
pub fn open_sequence(
    path: &Path,
    selection: FrameSelection,
) -> Result<Box<dyn FrameSource>, IoError> {
    let format = detect_format(path)?;
    log::info!("{}: detected format {}", path.display(), format.name());
    match format {
        DatasetFormat::SevenScenes | DatasetFormat::SyntheticScan => {
            Ok(Box::new(SevenScenesReader::open(path, selection)?))
        }
        DatasetFormat::Tum => Ok(Box::new(TumReader::open(path, selection)?)),
        DatasetFormat::Redwood => Ok(Box::new(RedwoodReader::open(path, selection)?)),
        DatasetFormat::SingleFrames => Ok(Box::new(SingleFrameSource::open(path, selection)?)),
        DatasetFormat::ScanNetNpy | DatasetFormat::Ply => Err(IoError::Unsupported {
            path: path.to_path_buf(),
            message: format!(
                "a {} scan (point cloud), not an RGB-D frame sequence: read it with the scan \
                 readers (`crossloc::io::scan`), e.g. to build a scene database",
                format.name()
            ),
        }),
        DatasetFormat::SyntheticDataset => Err(IoError::Unsupported {
            path: path.to_path_buf(),
            message: "a synthetic dataset of several rooms and scans, not one sequence: open \
                      one scan folder (e.g. room_000/scan_01) as a sequence, or read the \
                      dataset with the synth module"
                .into(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::io::image_io::tests::{write_gray16, write_rgb};

    fn touch(p: &Path) {
        if let Some(parent) = p.parent() {
            std::fs::create_dir_all(parent).unwrap();
        }
        std::fs::write(p, b"").unwrap();
    }

    #[test]
    fn names_are_stable() {
        let all = [
            (DatasetFormat::SevenScenes, "7scenes"),
            (DatasetFormat::Tum, "tum"),
            (DatasetFormat::Redwood, "redwood"),
            (DatasetFormat::SingleFrames, "single-frames"),
            (DatasetFormat::ScanNetNpy, "scannet-npy"),
            (DatasetFormat::Ply, "ply"),
            (DatasetFormat::SyntheticDataset, "synthetic"),
            (DatasetFormat::SyntheticScan, "synthetic-scan"),
        ];
        for (f, n) in all {
            assert_eq!(f.name(), n);
            assert_eq!(f.to_string(), n);
        }
    }

    #[test]
    fn detects_each_layout() {
        let root = tempfile::tempdir().unwrap();
        let r = root.path();
        let case = |name: &str, files: &[&str]| -> PathBuf {
            let d = r.join(name);
            std::fs::create_dir_all(&d).unwrap();
            for f in files {
                touch(&d.join(f));
            }
            d
        };
        let synth = case("synth", &[]);
        std::fs::write(
            synth.join("dataset.json"),
            r#"{"format": "crossloc-synth", "version": 1}"#,
        )
        .unwrap();
        assert_eq!(
            detect_format(&synth).unwrap(),
            DatasetFormat::SyntheticDataset
        );
        let other_json = case("other_json", &["frame-000000.color.jpg"]);
        std::fs::write(other_json.join("dataset.json"), r#"{"format": "other"}"#).unwrap();
        assert_eq!(
            detect_format(&other_json).unwrap(),
            DatasetFormat::SevenScenes
        );
        let scan = case(
            "scan",
            &[
                "scene.json",
                "frame-000000.color.jpg",
                "frame-000000.depth.png",
            ],
        );
        assert_eq!(detect_format(&scan).unwrap(), DatasetFormat::SyntheticScan);
        let seven = case(
            "seven",
            &["frame-000003.color.png", "frame-000003.depth.png"],
        );
        assert_eq!(detect_format(&seven).unwrap(), DatasetFormat::SevenScenes);
        let tum = case("tum", &["rgb.txt", "depth.txt", "groundtruth.txt"]);
        assert_eq!(detect_format(&tum).unwrap(), DatasetFormat::Tum);
        let redwood = case("redwood", &["depth/00000.png", "rgb/00000.jpg"]);
        assert_eq!(detect_format(&redwood).unwrap(), DatasetFormat::Redwood);
        let scannet = case(
            "scannet",
            &["scene0000_00_vert_all.npy", "scene0000_00_bbox.npy"],
        );
        assert_eq!(detect_format(&scannet).unwrap(), DatasetFormat::ScanNetNpy);
        assert_eq!(
            detect_format(&scannet.join("scene0000_00_vert_all.npy")).unwrap(),
            DatasetFormat::ScanNetNpy
        );
        let ply = case("ply", &["room.PLY"]);
        assert_eq!(detect_format(&ply).unwrap(), DatasetFormat::Ply);
        assert_eq!(
            detect_format(&ply.join("room.PLY")).unwrap(),
            DatasetFormat::Ply
        );
        let single = case("single", &["TUM_color.png", "TUM_depth.png"]);
        assert_eq!(detect_format(&single).unwrap(), DatasetFormat::SingleFrames);
        let empty = case("empty", &["notes.txt", "depth/x.png"]);
        match detect_format(&empty) {
            Err(IoError::Unsupported { message, .. }) => {
                assert!(message.contains("rgb.txt") && message.contains("_vert_all.npy"));
            }
            other => panic!("expected Unsupported, got {other:?}"),
        }
        assert!(matches!(
            detect_format(&r.join("absent")),
            Err(IoError::Missing { .. })
        ));
    }

    #[test]
    fn opens_sequences_and_refuses_scans() {
        let root = tempfile::tempdir().unwrap();
        let d = root.path().join("seq");
        std::fs::create_dir_all(&d).unwrap();
        for i in 0..3 {
            write_gray16(
                &d.join(format!("frame-{i:06}.depth.png")),
                4,
                3,
                &[1000; 12],
            );
            write_rgb(&d.join(format!("frame-{i:06}.color.png")), 4, 3, &[5; 36]);
        }
        std::fs::write(d.join("camera-intrinsics.txt"), "4 0 2\n0 4 1.5\n0 0 1\n").unwrap();
        let mut src = open_sequence(&d, FrameSelection::range(1, 3)).unwrap();
        assert_eq!(src.frame_count(), 2);
        assert_eq!(src.intrinsics().width, 4);
        assert_eq!(src.next().unwrap().unwrap().index, 1);

        let ply = root.path().join("scan");
        std::fs::create_dir_all(&ply).unwrap();
        touch(&ply.join("scan.ply"));
        match open_sequence(&ply, FrameSelection::ALL) {
            Err(IoError::Unsupported { message, .. }) => assert!(message.contains("scan")),
            Err(other) => panic!("expected Unsupported, got {other}"),
            Ok(_) => panic!("a scan must not open as a sequence"),
        }
    }
}
