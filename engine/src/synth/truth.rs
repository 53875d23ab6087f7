//! Ground-truth files of a synthetic dataset: `dataset.json` at the root and
//! `scene.json` per scan, their serde types, and the loaders.
//!
//! Poses are written as 4×4 row-major matrices (`[[r00, r01, r02, tx], …,
//! [0, 0, 0, 1]]`, metres) and read back with a check that the rotation part is
//! orthonormal (deviation below 1e-3). Instance ids are those of the per-frame
//! instance masks (16-bit PNG); 0 is the room structure.

use std::path::{Path, PathBuf};

use nalgebra::{Matrix3, Rotation3, Translation3, UnitQuaternion};
use serde::{Deserialize, Serialize};

use super::SynthError;
use super::objects::ObjectKind;
use super::rescan::Change;
use super::room::{Opening, RoomKind};
use crate::frame::{CameraIntrinsics, Pose};
use crate::io::IoError;

/// `format` of `dataset.json`.
pub const DATASET_FORMAT: &str = "crossloc-synth";
/// `format` of `scene.json`.
pub const SCAN_FORMAT: &str = "crossloc-synth-scan";
/// Version of both formats.
pub const FORMAT_VERSION: u32 = 1;

/// A pose as 4×4 row-major rows.
pub fn pose_to_rows(T: &Pose) -> [[f32; 4]; 4] {
    let m = T.to_homogeneous();
    let mut out = [[0.0; 4]; 4];
    for (r, row) in out.iter_mut().enumerate() {
        for (c, v) in row.iter_mut().enumerate() {
            *v = m[(r, c)];
        }
    }
    out
}

/// A pose from 4×4 row-major rows; `Err` with the deviation when the rotation is
/// not orthonormal, or a value is not finite.
pub fn rows_to_pose(rows: &[[f32; 4]; 4]) -> Result<Pose, String> {
    if rows.iter().flatten().any(|v| !v.is_finite()) {
        return Err("pose has a non-finite value".into());
    }
    let r = Matrix3::new(
        rows[0][0], rows[0][1], rows[0][2], rows[1][0], rows[1][1], rows[1][2], rows[2][0],
        rows[2][1], rows[2][2],
    );
    let dev = (r.transpose() * r - Matrix3::identity()).abs().max();
    let det = r.determinant();
    if dev > 1e-3 || (det - 1.0).abs() > 1e-3 {
        return Err(format!(
            "rotation is not orthonormal (deviation {dev:.2e}, determinant {det:.4})"
        ));
    }
    let q = UnitQuaternion::from_rotation_matrix(&Rotation3::from_matrix_unchecked(r));
    Ok(Pose::from_parts(
        Translation3::new(rows[0][3], rows[1][3], rows[2][3]),
        q,
    ))
}

/// Serde adapter: [`Pose`] as 4×4 row-major rows.
pub mod pose_rows {
    use super::*;

    /// Serialises a pose as rows.
    pub fn serialize<S: serde::Serializer>(T: &Pose, s: S) -> Result<S::Ok, S::Error> {
        pose_to_rows(T).serialize(s)
    }

    /// Deserialises rows into a pose (checked).
    pub fn deserialize<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Pose, D::Error> {
        let rows = <[[f32; 4]; 4]>::deserialize(d)?;
        rows_to_pose(&rows).map_err(serde::de::Error::custom)
    }
}

/// Serde adapter: `Option<Pose>` as rows or `null`.
pub mod opt_pose_rows {
    use super::*;

    /// Serialises an optional pose.
    pub fn serialize<S: serde::Serializer>(T: &Option<Pose>, s: S) -> Result<S::Ok, S::Error> {
        T.as_ref().map(pose_to_rows).serialize(s)
    }

    /// Deserialises an optional pose (checked).
    pub fn deserialize<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Pose>, D::Error> {
        let rows = Option::<[[f32; 4]; 4]>::deserialize(d)?;
        rows.map(|r| rows_to_pose(&r).map_err(serde::de::Error::custom))
            .transpose()
    }
}

/// One object instance of a scan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InstanceTruth {
    /// Instance id (≥ 1), as in the masks.
    pub id: u32,
    /// Object kind.
    pub kind: ObjectKind,
    /// Pose of the object frame (origin at the floor contact centre, z up, front +y).
    #[serde(with = "pose_rows")]
    pub T_map_object: Pose,
    /// Bounding box minimum, object frame, metres.
    pub bbox_min: [f32; 3],
    /// Bounding box maximum, object frame, metres.
    pub bbox_max: [f32; 3],
    /// Representative colour.
    pub color: [u8; 3],
    /// Id of the object it stands on, if any.
    pub support: Option<u32>,
    /// True when part of it is shiny (expect depth dropouts).
    pub shiny: bool,
    /// Short text description ("blue chair").
    pub description: String,
}

/// One frame of a scan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FrameTruth {
    /// Frame index (as in the file names).
    pub index: u64,
    /// Camera pose.
    #[serde(with = "pose_rows")]
    pub T_map_camera: Pose,
    /// Sorted ids present in the frame's instance mask.
    pub visible: Vec<u32>,
}

/// `scene.json`: the ground truth of one scan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScanTruth {
    /// Always [`SCAN_FORMAT`].
    pub format: String,
    /// Always [`FORMAT_VERSION`].
    pub version: u32,
    /// Room name (`room_000`).
    pub room: String,
    /// Room kind.
    pub room_kind: RoomKind,
    /// Scan index (0 = reference).
    pub scan: u32,
    /// Dataset seed.
    pub seed: u64,
    /// Camera intrinsics of every frame.
    pub intrinsics: CameraIntrinsics,
    /// Floor outline, counter-clockwise, map frame (z up), metres.
    pub floor_outline: Vec<[f32; 2]>,
    /// Wall height, metres.
    pub wall_height: f32,
    /// Doors and windows.
    pub openings: Vec<Opening>,
    /// True when the reference layout is symmetric under a 180° turn.
    pub symmetric: bool,
    /// Objects present in this scan, sorted by id.
    pub instances: Vec<InstanceTruth>,
    /// Changes relative to scan 0 (empty for scan 0), sorted by instance.
    pub changes: Vec<Change>,
    /// Frames in order.
    pub frames: Vec<FrameTruth>,
    /// File name of the sampled surface (`surface.ply`).
    pub surface: String,
}

/// One scan listed in `dataset.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScanEntry {
    /// Room name.
    pub room: String,
    /// Scan index.
    pub scan: u32,
    /// Folder relative to the dataset root (`room_000/scan_01`).
    pub path: String,
    /// Number of frames.
    pub frames: usize,
    /// Number of objects.
    pub instances: usize,
    /// Number of changes relative to scan 0.
    pub changes: usize,
}

/// `dataset.json`: what a synthetic dataset holds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SynthDataset {
    /// Always [`DATASET_FORMAT`].
    pub format: String,
    /// Always [`FORMAT_VERSION`].
    pub version: u32,
    /// The generation seed.
    pub seed: u64,
    /// Room names in order.
    pub rooms: Vec<String>,
    /// Rescans per room.
    pub rescans: usize,
    /// Frames per rescan (each scan's own count, the reference scan's included, is
    /// in its [`ScanEntry`]).
    pub frames_per_scan: usize,
    /// Camera intrinsics.
    pub intrinsics: CameraIntrinsics,
    /// Whether sensor noise was applied.
    pub noise: bool,
    /// Every scan, room by room.
    pub scans: Vec<ScanEntry>,
    /// The folder it was loaded from (not stored in the file).
    #[serde(skip)]
    pub root: PathBuf,
}

impl SynthDataset {
    /// The folder of a scan: `room` indexes [`SynthDataset::rooms`] (the folder is
    /// the room's listed name, so a dataset file that lists a subset of the rooms
    /// still points at the right folders).
    pub fn scan_dir(&self, room: usize, scan: usize) -> PathBuf {
        let name = self
            .rooms
            .get(room)
            .cloned()
            .unwrap_or_else(|| format!("room_{room:03}"));
        self.root.join(name).join(format!("scan_{scan:02}"))
    }
}

fn read_json<T: for<'de> Deserialize<'de>>(path: &Path) -> Result<T, SynthError> {
    let bytes = std::fs::read(path).map_err(|e| IoError::os(path, e))?;
    serde_json::from_slice(&bytes).map_err(|source| SynthError::Json {
        path: path.to_path_buf(),
        source,
    })
}

fn check_format(path: &Path, format: &str, version: u32, want: &str) -> Result<(), SynthError> {
    if format != want {
        return Err(SynthError::Format {
            path: path.to_path_buf(),
            message: format!("format is {format:?}, expected {want:?}"),
        });
    }
    if version != FORMAT_VERSION {
        return Err(SynthError::Format {
            path: path.to_path_buf(),
            message: format!("version {version} is not supported (expected {FORMAT_VERSION})"),
        });
    }
    Ok(())
}

/// Loads `dir/dataset.json`.
pub fn load_dataset(dir: &Path) -> Result<SynthDataset, SynthError> {
    let path = dir.join("dataset.json");
    let mut d: SynthDataset = read_json(&path)?;
    check_format(&path, &d.format, d.version, DATASET_FORMAT)?;
    d.root = dir.to_path_buf();
    Ok(d)
}

/// Loads `scan_dir/scene.json`.
pub fn load_scan_truth(scan_dir: &Path) -> Result<ScanTruth, SynthError> {
    let path = scan_dir.join("scene.json");
    let t: ScanTruth = read_json(&path)?;
    check_format(&path, &t.format, t.version, SCAN_FORMAT)?;
    Ok(t)
}

/// Reads a 16-bit instance mask PNG (row-major ids; the size is the scan's image
/// size).
pub fn read_instance_mask(path: &Path) -> Result<Vec<u16>, SynthError> {
    let img = image::open(path).map_err(|e| match e {
        image::ImageError::IoError(io) => IoError::os(path, io),
        other => IoError::Image {
            path: path.to_path_buf(),
            message: other.to_string(),
        },
    })?;
    match img {
        image::DynamicImage::ImageLuma16(buf) => Ok(buf.into_raw()),
        other => Err(SynthError::Format {
            path: path.to_path_buf(),
            message: format!(
                "an instance mask must be 16-bit grey, found {:?}",
                other.color()
            ),
        }),
    }
}
