//! The instance labels of a written synthetic scan, for building a database
//! scene's annotated objects from it ([`crate::db::build::FrameAnnotations`]).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::truth::{load_scan_truth, read_instance_mask};
use crate::db::build::{BuildError, FrameAnnotations};
use crate::frame::RgbdFrame;

/// Instance masks (`frame-NNNNNN.instances.png`) and object names
/// (`scene.json`) of one scan folder.
#[derive(Debug, Clone)]
pub struct ScanAnnotations {
    dir: PathBuf,
    labels: BTreeMap<u16, String>,
}

impl ScanAnnotations {
    /// The annotations of the scan in `dir`, or `None` when it has no
    /// `scene.json` (not a synthetic scan).
    pub fn open(dir: &Path) -> Option<ScanAnnotations> {
        let truth = load_scan_truth(dir).ok()?;
        let labels = truth
            .instances
            .iter()
            .filter_map(|i| Some((u16::try_from(i.id).ok()?, i.description.clone())))
            .collect();
        Some(ScanAnnotations {
            dir: dir.to_path_buf(),
            labels,
        })
    }
}

impl FrameAnnotations for ScanAnnotations {
    /// The frame's mask; a frame without a mask file has none, and a mask that
    /// cannot be read is an error.
    fn mask(&mut self, frame: &RgbdFrame) -> Result<Option<Vec<u16>>, BuildError> {
        let path = self
            .dir
            .join(format!("frame-{:06}.instances.png", frame.index));
        if !path.exists() {
            return Ok(None);
        }
        read_instance_mask(&path)
            .map(Some)
            .map_err(|e| BuildError::Annotations(e.to_string()))
    }

    fn labels(&self) -> BTreeMap<u16, String> {
        self.labels.clone()
    }
}
