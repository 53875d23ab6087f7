//! Fusion: the live instance map.
//!
//! [`LiveMap`] turns per-frame object segments (camera frame, from
//! [`crate::segment`]) into persistent [`LiveInstance`]s in the device's SESSION
//! frame, using the tracking pose `T_session_camera` of each frame. Instances are
//! later described, matched against a scene database and used to relocalise and
//! detect changes.
//!
//! Guarantees:
//! - Frames and units: every stored point, normal, centroid and box is in the
//!   session frame, metres; normals are unit (or zero where none was observed).
//! - Points: one running-mean point per occupied voxel (`voxel_size`, default
//!   2 cm); at most `max_points_per_instance` per instance (the voxel size of an
//!   instance doubles, deterministically, when it would exceed the cap).
//! - Bounds: at most `max_instances` instances and `max_structure_points`
//!   structure points after every call, so [`LiveMap::memory_points`] is bounded.
//! - Ids are stable and increasing, never reused; a merged instance keeps the
//!   older (smaller) id.
//! - Deterministic: the same sequence of inputs gives the same ids, points and
//!   reports (instances live in a `BTreeMap`, voxels keep insertion order, hash
//!   maps are only used for look-ups, never iterated into results).
//!
//! Association: candidates are the instances whose centroid lies within
//! `max_centroid_distance` of the segment's (a kiddo k-d tree over centroids,
//! rebuilt per frame) and whose bounding box touches the segment's; the score is
//! the share of the segment's voxels whose overlap cell (`overlap_voxel_factor` ×
//! voxel size wide) the instance already occupies.

mod config;
mod instance;
mod map;
mod structure;
pub mod voxel;

#[cfg(test)]
mod test_scenes;
#[cfg(test)]
mod tests;

pub use config::{FuseConfig, FuseError};
pub use instance::LiveInstance;
pub use map::{IntegrateReport, LiveMap};
pub use structure::StructureMap;
