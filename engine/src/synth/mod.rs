//! A deterministic synthetic world with ground truth: furnished rooms, rescans
//! with moved/removed/added objects, hand-held camera walks, and rendered RGB-D
//! frames with a Kinect-like noise model and exact instance masks. It is the
//! benchmark of segmentation, instance matching, relocalisation and change
//! detection.
//!
//! # Conventions
//! - Map frame: z up, floor at z = 0, the floor plan's bounding box centred on the
//!   origin, metres. Object frames: origin at the floor contact centre (bottom
//!   centre of the bounding box), z up, front +y ([`objects`]).
//! - Camera frame: x right, y down, z forward; poses are `T_map_camera`.
//! - Instance ids: 0 = structure (floor, walls, ceiling, door vestibules, windows)
//!   or nothing; objects 1.. unique within a room and stable across its rescans;
//!   objects added by rescan `r` get ids from `max reference id + 1 + 64 (r − 1)`.
//! - Changes are relative to the reference scan `scan_00`; a change counts as a
//!   move only beyond 5 cm or 1° ([`rescan::is_moved`]).
//!
//! # Determinism
//! The same [`SynthConfig`] gives byte-identical files; every random choice comes
//! from [`crate::rng::Rng`] streams derived from the seed and what is being made
//! (room, scan, frame, instance), never from thread timing.
//!
//! # Layout on disk
//! ```text
//! DIR/dataset.json                 {"format": "crossloc-synth", "version": 1, "seed": S, "rooms": [...], "scans": [...]}
//! DIR/room_000/scan_00/            reference scan (7-Scenes layout)
//!    camera-intrinsics.txt         3x3 K
//!    frame-000000.color.jpg        RGB8 JPEG (quality 90, 4:2:0)
//!    frame-000000.depth.png        16-bit millimetres, 0 = invalid
//!    frame-000000.pose.txt         4x4 T_map_camera, row-major, metres
//!    frame-000000.instances.png    16-bit instance ids (0 = structure / nothing)
//!    scene.json                    ground truth ([`truth::ScanTruth`])
//!    surface.ply                   surface samples, 1 per 2 cm², normals, colours, instance ids
//! DIR/room_000/scan_01/ ...        rescans
//! ```

pub mod annotations;
pub mod footprint;
pub mod furniture;
pub mod jpeg;
pub mod layout;
pub mod mesh;
pub mod noise;
pub mod objects;
pub mod palette;
pub mod props;
pub mod recipes;
pub mod render;
pub mod rescan;
pub mod room;
pub mod seating;
pub mod structure;
pub mod surface;
pub mod texture;
pub mod trajectory;
pub mod truth;
pub mod writer;

#[cfg(test)]
mod tests;

use std::path::PathBuf;

use crate::frame::{CameraIntrinsics, Pose};
use crate::io::IoError;
use crate::rng::Rng;

pub use objects::{Material, Object, ObjectKind, ObjectModel};
pub use render::{RenderedFrame, Renderer};
pub use rescan::{Change, ChangeKind, is_moved, pose_delta};
pub use room::{FloorPlan, Room, RoomKind};
pub use truth::{
    FrameTruth, InstanceTruth, ScanTruth, SynthDataset, load_dataset, load_scan_truth,
    read_instance_mask,
};
pub use writer::generate_dataset;

/// What went wrong generating, writing or reading a synthetic dataset.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SynthError {
    /// Reading or writing a file failed (the error names the file).
    #[error(transparent)]
    Io(#[from] IoError),
    /// A JSON file could not be written or parsed.
    #[error("{path}: {source}")]
    Json {
        /// The file.
        path: PathBuf,
        /// The serde error.
        #[source]
        source: serde_json::Error,
    },
    /// A file parsed but does not hold what the format requires.
    #[error("{path}: {message}")]
    Format {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// The configuration cannot be generated.
    #[error("invalid synthetic dataset configuration: {0}")]
    Config(String),
}

/// What to generate.
#[derive(Debug, Clone, PartialEq)]
pub struct SynthConfig {
    /// Seed of every random choice.
    pub seed: u64,
    /// Number of rooms.
    pub rooms: usize,
    /// Rescans per room (besides the reference scan).
    pub rescans: usize,
    /// Frames per scan.
    pub frames: usize,
    /// Frames of the reference scan (`scan_00`, the mapping pass) when it should
    /// differ from `frames`; its walk goes once around the room when given enough
    /// frames (about 30 per metre of the loop).
    pub reference_frames: Option<usize>,
    /// Camera intrinsics (image size included).
    pub intrinsics: CameraIntrinsics,
    /// Primary changes per rescan; `None` draws 2..=5 per rescan.
    pub changes: Option<usize>,
    /// Apply the depth and colour noise models.
    pub noise: bool,
}

impl SynthConfig {
    /// Frames of scan `scan` (0 is the reference scan).
    pub fn frames_of_scan(&self, scan: usize) -> usize {
        match (scan, self.reference_frames) {
            (0, Some(f)) => f,
            _ => self.frames,
        }
    }
}

impl Default for SynthConfig {
    /// Seed 1, one room, one rescan, 300 frames of 640×480 (fx = fy = 525), noise on.
    fn default() -> Self {
        SynthConfig {
            seed: 1,
            rooms: 1,
            rescans: 1,
            frames: 300,
            reference_frames: None,
            intrinsics: CameraIntrinsics::TUM_DEFAULT,
            changes: None,
            noise: true,
        }
    }
}

/// Progress of [`generate_dataset`], reported after every frame written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SynthProgress {
    /// Room index.
    pub room: usize,
    /// Scan index (0 = reference).
    pub scan: usize,
    /// Frame index within the scan.
    pub frame: usize,
    /// Frames written so far over the whole dataset.
    pub frames_done: usize,
    /// Frames the dataset will have.
    pub frames_total: usize,
}

/// What [`generate_dataset`] wrote.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DatasetSummary {
    /// Rooms written.
    pub rooms: usize,
    /// Scans written (rooms × (1 + rescans)).
    pub scans: usize,
    /// Frames written.
    pub frames: usize,
    /// Object instances summed over scans.
    pub instances: usize,
    /// Changes summed over rescans.
    pub changes: usize,
    /// Wall-clock time, seconds.
    pub seconds: f64,
    /// Frames written per second.
    pub frames_per_second: f64,
}

/// Generates room `room_index` of the dataset with `seed` (its reference state).
pub fn generate_room(seed: u64, room_index: usize) -> Room {
    room::generate_room(seed, room_index)
}

/// Rescan `rescan_index` (≥ 1) of `room` with `k` primary changes (`None`: 2..=5),
/// and the ground-truth change list.
pub fn make_rescan(
    room: &Room,
    seed: u64,
    rescan_index: usize,
    k: Option<usize>,
) -> (Room, Vec<Change>) {
    rescan::make_rescan(room, seed, rescan_index, k)
}

/// Renders `room` from `T_map_camera`; with `noise`, applies the sensor noise
/// models (the instance mask stays exact).
pub fn render(
    room: &Room,
    T_map_camera: &Pose,
    intrinsics: &CameraIntrinsics,
    noise: Option<&mut Rng>,
) -> RenderedFrame {
    render::render(room, T_map_camera, intrinsics, noise)
}
