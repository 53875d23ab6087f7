//! The bounded session-frame "structure" point set: points of structural planes
//! (floor, walls, tables) that are not instances but anchor later ICP refinement.
//!
//! One averaged point (with mean normal) per voxel of `structure_voxel_size`;
//! when more than `max_structure_points` voxels are occupied the voxel size doubles
//! (deterministic thinning) until the set fits.

use nalgebra::{Point3, Vector3};

use super::voxel::{Sample, VoxelGrid};
use crate::frame::{PointCloud, Pose};

/// Voxel-downsampled structure points in the session frame.
#[derive(Debug, Clone)]
pub struct StructureMap {
    grid: VoxelGrid,
}

impl StructureMap {
    /// An empty set with voxels of `voxel_size` metres and at most `max_points`.
    pub fn new(voxel_size: f32, max_points: usize, max_weight: u32) -> StructureMap {
        StructureMap {
            grid: VoxelGrid::new(voxel_size, max_points, max_weight),
        }
    }

    /// Adds camera-frame points (and normals, used when there is one per point),
    /// transformed by `T_session_camera`. Returns the number of points accepted
    /// (finite ones).
    pub fn integrate(
        &mut self,
        T_session_camera: &Pose,
        points_camera: &[Point3<f32>],
        normals_camera: &[Vector3<f32>],
    ) -> usize {
        let use_n = normals_camera.len() == points_camera.len();
        let mut accepted = 0;
        for (i, p) in points_camera.iter().enumerate() {
            let normal = if use_n {
                normals_camera
                    .get(i)
                    .filter(|n| n.iter().all(|v| v.is_finite()))
                    .map(|n| T_session_camera.rotation * n)
                    .unwrap_or_else(Vector3::zeros)
            } else {
                Vector3::zeros()
            };
            let s = Sample {
                point: T_session_camera * p,
                normal,
                color: None,
            };
            if self.grid.insert_point(&s, 1).is_some() {
                accepted += 1;
            }
        }
        self.grid.enforce_cap();
        accepted
    }

    /// Structure points, session frame.
    pub fn points(&self) -> &[Point3<f32>] {
        self.grid.points()
    }

    /// Unit mean normal per structure point (zero where none was given).
    pub fn normals(&self) -> &[Vector3<f32>] {
        self.grid.normals()
    }

    /// Number of points.
    pub fn len(&self) -> usize {
        self.grid.len()
    }

    /// True without points.
    pub fn is_empty(&self) -> bool {
        self.grid.is_empty()
    }

    /// Current voxel size, metres.
    pub fn voxel_size(&self) -> f32 {
        self.grid.cell_size()
    }

    /// The set as a point cloud (points and normals).
    pub fn to_point_cloud(&self) -> PointCloud {
        PointCloud {
            points: self.points().to_vec(),
            normals: Some(self.normals().to_vec()),
            ..PointCloud::default()
        }
    }
}
