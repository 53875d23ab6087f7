//! # crossloc
//!
//! A real-time mixed-reality localisation engine: it streams RGB-D frames with the
//! device's own tracking pose, segments them into object instances, matches those
//! against a prebuilt scene database to find which known room the device is in and
//! the transform from the device's session frame to the map, and reports what
//! changed in the room. See `DESIGN.md` in the shared folder for the blueprint.
//!
//! Modules:
//! - [`frame`]: cameras, images, RGB-D frames, point clouds, poses (`T_a_b`).
//! - [`io`]: dataset readers and writers (7-Scenes, TUM, Redwood/ICL-NUIM, single
//!   frames, ScanNet NumPy, PLY).
//! - [`synth`]: deterministic synthetic rooms, rescans with changes, RGB-D rendering
//!   with ground truth.
//! - [`rng`]: the seeded generator behind every random choice.

pub mod change;
pub mod db;
pub mod encode;
pub mod eval;
pub mod frame;
pub mod fuse;
pub mod io;
pub mod localise;
pub mod matching;
pub mod pipeline;
pub mod rng;
pub mod segment;
pub mod synth;
#[cfg(test)]
mod test_shapes;

pub use frame::{CameraIntrinsics, DepthData, DepthImage, PointCloud, Pose, RgbImage, RgbdFrame};
