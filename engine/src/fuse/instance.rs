//! One live instance: a voxel-downsampled object in the session frame.
//!
//! Points, normals and colours are read through methods (they are the voxel
//! storage itself); the public scalar fields are kept in sync by the map after
//! every frame. The voxel index and overlap set are private.

use std::collections::HashSet;
use std::hash::BuildHasherDefault;

use nalgebra::{Point3, Vector3};

use super::voxel::{KeyHasher, Sample, VoxelGrid, VoxelKey};
use crate::frame::PointCloud;

/// Set of voxel keys with the deterministic hasher (only queried, never iterated
/// into results).
pub(crate) type KeySet = HashSet<VoxelKey, BuildHasherDefault<KeyHasher>>;

/// An object instance of the live map, in the SESSION frame (metres).
#[derive(Debug, Clone)]
pub struct LiveInstance {
    /// Stable id; ids increase in order of creation and are never reused.
    pub id: u32,
    /// Mean of [`Self::points`] (the voxel-downsampled surface, so independent of
    /// how densely each part was sampled).
    pub centroid: Point3<f32>,
    /// Number of frames in which the instance was observed.
    pub observations: u32,
    /// Frame index of the first observation.
    pub first_seen: u64,
    /// Frame index of the latest observation.
    pub last_seen: u64,
    /// Minimum corner of the session-frame axis-aligned bounding box of the points.
    pub bbox_min: Point3<f32>,
    /// Maximum corner of the session-frame axis-aligned bounding box of the points.
    pub bbox_max: Point3<f32>,
    grid: VoxelGrid,
    overlap: KeySet,
    overlap_factor: i32,
}

impl LiveInstance {
    /// A new empty instance (filled by the map).
    pub(crate) fn new(
        id: u32,
        frame_index: u64,
        voxel_size: f32,
        max_points: usize,
        max_weight: u32,
        overlap_factor: i32,
    ) -> LiveInstance {
        LiveInstance {
            id,
            centroid: Point3::origin(),
            observations: 0,
            first_seen: frame_index,
            last_seen: frame_index,
            bbox_min: Point3::origin(),
            bbox_max: Point3::origin(),
            grid: VoxelGrid::new(voxel_size, max_points, max_weight),
            overlap: KeySet::default(),
            overlap_factor,
        }
    }

    /// The instance as a point cloud (points, colours, normals) for descriptors.
    pub fn to_point_cloud(&self) -> PointCloud {
        PointCloud {
            points: self.points().to_vec(),
            colors: Some(self.colors().to_vec()),
            normals: Some(self.normals().to_vec()),
            instance_ids: None,
            semantic_ids: None,
        }
    }

    /// One averaged point per occupied voxel, session frame, metres.
    pub fn points(&self) -> &[Point3<f32>] {
        self.grid.points()
    }

    /// Unit mean normal per point (zero where no normal was observed).
    pub fn normals(&self) -> &[Vector3<f32>] {
        self.grid.normals()
    }

    /// Mean colour per point (grey where no colour was observed).
    pub fn colors(&self) -> &[[u8; 3]] {
        self.grid.colors()
    }

    /// Number of stored points.
    pub fn len(&self) -> usize {
        self.grid.len()
    }

    /// True without points.
    pub fn is_empty(&self) -> bool {
        self.grid.is_empty()
    }

    /// Current voxel size of the instance's points, metres (the configured size,
    /// doubled each time the point cap forced thinning).
    pub fn voxel_size(&self) -> f32 {
        self.grid.cell_size()
    }

    /// The overlap-grid factor relative to base voxels used by this instance:
    /// the configured factor, or the instance's own cell scale when coarser.
    pub(crate) fn overlap_scale(&self) -> i32 {
        self.overlap_factor.max(self.grid.scale())
    }

    /// True when the overlap set holds the key (at [`Self::overlap_scale`]).
    pub(crate) fn overlap_contains(&self, key: &VoxelKey) -> bool {
        self.overlap.contains(key)
    }

    /// Adds base-level samples (keys at the base voxel size).
    /// The bounding box grows at once; call [`Self::refresh`] for the rest of the
    /// snapshot.
    pub(crate) fn add_samples(&mut self, keys: &[VoxelKey], samples: &[Sample]) {
        let to_overlap = self.overlap_scale() / self.grid.scale();
        self.grow_box(samples.iter().map(|s| s.point));
        for (k, s) in keys.iter().zip(samples) {
            let (key, new) = self.grid.insert(*k, s, 1);
            if new {
                self.overlap.insert(key.coarsen(to_overlap));
            }
        }
        self.after_growth();
    }

    /// Moves every point of `other` into this instance and combines the bookkeeping
    /// (observations: the larger count; first/last seen: the extremes). The
    /// bounding box grows at once; call [`Self::refresh`] for the rest.
    pub(crate) fn absorb(&mut self, other: &LiveInstance) {
        let to_overlap = self.overlap_scale() / self.grid.scale();
        if !other.grid.is_empty() {
            self.grow_box([other.bbox_min, other.bbox_max].into_iter());
        }
        for i in 0..other.grid.len() {
            if let Some((s, w)) = other.grid.sample(i)
                && let Some((key, true)) = self.grid.insert_point(&s, w)
            {
                self.overlap.insert(key.coarsen(to_overlap));
            }
        }
        self.observations = self.observations.max(other.observations);
        self.first_seen = self.first_seen.min(other.first_seen);
        self.last_seen = self.last_seen.max(other.last_seen);
        self.after_growth();
    }

    /// Records an observation in `frame_index` (counted once per frame).
    pub(crate) fn observe(&mut self, frame_index: u64) {
        if self.observations == 0 || frame_index > self.last_seen {
            self.observations = self.observations.saturating_add(1);
        }
        self.last_seen = self.last_seen.max(frame_index);
    }

    fn grow_box(&mut self, points: impl Iterator<Item = Point3<f32>>) {
        if self.grid.is_empty() {
            self.bbox_min = Point3::new(f32::INFINITY, f32::INFINITY, f32::INFINITY);
            self.bbox_max = Point3::new(f32::NEG_INFINITY, f32::NEG_INFINITY, f32::NEG_INFINITY);
        }
        for p in points {
            self.bbox_min = self.bbox_min.inf(&p);
            self.bbox_max = self.bbox_max.sup(&p);
        }
    }

    fn after_growth(&mut self) {
        if self.grid.enforce_cap() {
            let to_overlap = self.overlap_scale() / self.grid.scale();
            self.overlap = self.grid.keys().map(|k| k.coarsen(to_overlap)).collect();
        }
    }

    /// Recomputes the centroid and bounding box from the points.
    pub(crate) fn refresh(&mut self) {
        let points = self.grid.points();
        let mut sum = Vector3::<f64>::zeros();
        let mut lo = Point3::new(f32::INFINITY, f32::INFINITY, f32::INFINITY);
        let mut hi = Point3::new(f32::NEG_INFINITY, f32::NEG_INFINITY, f32::NEG_INFINITY);
        for p in points {
            sum += p.coords.cast::<f64>();
            lo = lo.inf(p);
            hi = hi.sup(p);
        }
        if points.is_empty() {
            lo = Point3::origin();
            hi = Point3::origin();
        }
        self.centroid = Point3::from((sum / points.len().max(1) as f64).cast::<f32>());
        self.bbox_min = lo;
        self.bbox_max = hi;
    }

    /// Number of overlap-grid keys (for memory accounting in tests).
    #[cfg(test)]
    pub(crate) fn overlap_len(&self) -> usize {
        self.overlap.len()
    }
}
