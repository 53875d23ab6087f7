//! Parameters of the live instance map and their validation.

/// Why a [`FuseConfig`] is unusable.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum FuseError {
    /// A configuration value out of range.
    #[error("invalid fusion config: {0}")]
    InvalidConfig(String),
}

/// Parameters of [`crate::fuse::LiveMap`]. Distances are metres, counts are points
/// (one per voxel) or frames.
#[derive(Debug, Clone, PartialEq)]
pub struct FuseConfig {
    /// Voxel size of instance points (default 0.02 m): one averaged point per voxel.
    pub voxel_size: f32,
    /// The overlap test runs on voxels this many times larger than `voxel_size`
    /// (default 2, i.e. 4 cm), so two sparse samplings of the same surface still
    /// share voxels. Rounded up to a power of two.
    pub overlap_voxel_factor: u32,
    /// Largest distance between a segment's centroid and an instance's centroid for
    /// the instance to be a candidate (default 1.5 m).
    pub max_centroid_distance: f32,
    /// Least share of a segment's voxels whose overlap cell (see
    /// `overlap_voxel_factor`) an instance already occupies, for the segment to
    /// join it (default 0.25).
    pub min_overlap_ratio: f32,
    /// When a segment joins an instance, every other candidate holding at least this
    /// share of the segment's voxels is merged into the same instance
    /// (over-segmentation repair; default 0.3).
    pub merge_overlap_ratio: f32,
    /// A merge is made only while the bounding box around the segment and the
    /// merged instances has a diagonal of at most this (default 3.0 m), so
    /// under-segmented clutter does not snowball into one room-sized instance.
    pub max_merge_extent: f32,
    /// Fewest voxels a segment needs to be integrated (default 10); smaller ones
    /// are ignored as noise.
    pub min_segment_voxels: usize,
    /// Most points per instance (default 4,000); above it the instance's voxel size
    /// doubles (deterministic grid thinning) until it fits.
    pub max_points_per_instance: usize,
    /// Running means weigh at most this many observations per voxel (default 32), so
    /// a voxel follows slow changes.
    pub max_voxel_weight: u32,
    /// An instance unseen for more than this many frames is retired (default 90) ...
    pub stale_frames: u64,
    /// ... unless it was observed in at least this many frames (default 5).
    pub keep_observations: u32,
    /// Most live instances (default 512); beyond it the least-observed are dropped.
    pub max_instances: usize,
    /// Observations for an instance to count as stable (default 3); see
    /// [`crate::fuse::LiveMap::stable`].
    pub stable_observations: u32,
    /// Voxel size of the structure (floor/wall) point set (default 0.05 m).
    pub structure_voxel_size: f32,
    /// Most structure points (default 20,000); above it the structure voxel size
    /// doubles until it fits.
    pub max_structure_points: usize,
}

impl Default for FuseConfig {
    fn default() -> Self {
        FuseConfig {
            voxel_size: 0.02,
            overlap_voxel_factor: 2,
            max_centroid_distance: 1.5,
            min_overlap_ratio: 0.25,
            merge_overlap_ratio: 0.3,
            max_merge_extent: 3.0,
            min_segment_voxels: 10,
            max_points_per_instance: 4000,
            max_voxel_weight: 32,
            stale_frames: 90,
            keep_observations: 5,
            max_instances: 512,
            stable_observations: 3,
            structure_voxel_size: 0.05,
            max_structure_points: 20_000,
        }
    }
}

impl FuseConfig {
    /// Checks that every value is usable: positive finite voxel sizes and centroid
    /// distance, ratios in `[0, 1]`, non-zero caps.
    pub fn validate(&self) -> Result<(), FuseError> {
        let bad = |m: &str| Err(FuseError::InvalidConfig(m.to_string()));
        let positive = |x: f32| x.is_finite() && x > 0.0;
        if !positive(self.voxel_size) || !positive(self.structure_voxel_size) {
            return bad("voxel sizes must be finite and positive");
        }
        if !positive(self.max_centroid_distance) || !positive(self.max_merge_extent) {
            return bad("max_centroid_distance and max_merge_extent must be finite and positive");
        }
        let unit = |x: f32| (0.0..=1.0).contains(&x);
        if !unit(self.min_overlap_ratio) || !unit(self.merge_overlap_ratio) {
            return bad("overlap ratios must lie in [0, 1]");
        }
        if self.overlap_voxel_factor == 0 || self.overlap_voxel_factor > 1 << 16 {
            return bad("overlap_voxel_factor must be in 1..=65536");
        }
        if self.max_points_per_instance == 0
            || self.max_instances == 0
            || self.max_structure_points == 0
        {
            return bad("point and instance caps must be at least 1");
        }
        Ok(())
    }

    /// `overlap_voxel_factor` rounded up to a power of two.
    pub fn overlap_factor(&self) -> i32 {
        self.overlap_voxel_factor
            .max(1)
            .next_power_of_two()
            .min(1 << 16) as i32
    }
}
