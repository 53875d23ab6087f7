//! Core frame types shared by every stage: camera intrinsics, colour and depth
//! images, RGB-D frames and point clouds.
//!
//! Conventions (see `DESIGN.md`):
//! - Poses are [`Pose`] (`Isometry3<f32>`) named `T_a_b`: they map points from
//!   frame `b` into frame `a`.
//! - Camera frames follow the pinhole/OpenCV convention: x right, y down, z forward.
//! - Depth is metric (metres) along the optical axis (z), not along the ray.
//! - Pixel `(u, v)` is the column and row; pixel centres are at integer coordinates.

use nalgebra::{Isometry3, Point3, Vector3};
use serde::{Deserialize, Serialize};

/// A rigid transform `T_a_b` mapping points from frame `b` into frame `a`.
pub type Pose = Isometry3<f32>;

/// Mean of `points` (the origin for none).
pub fn centroid(points: &[Point3<f32>]) -> Point3<f32> {
    let n = points.len().max(1) as f32;
    Point3::from(points.iter().fold(Vector3::zeros(), |a, p| a + p.coords) / n)
}

/// Pinhole camera intrinsics in pixels, with the image size they apply to.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct CameraIntrinsics {
    /// Focal length along x, pixels.
    pub fx: f32,
    /// Focal length along y, pixels.
    pub fy: f32,
    /// Principal point x (column), pixels.
    pub cx: f32,
    /// Principal point y (row), pixels.
    pub cy: f32,
    /// Image width, pixels.
    pub width: u32,
    /// Image height, pixels.
    pub height: u32,
}

impl CameraIntrinsics {
    /// Intrinsics of the Kinect v1 as used by 7-Scenes (fx = fy = 585, 640×480).
    pub const KINECT_7SCENES: CameraIntrinsics = CameraIntrinsics {
        fx: 585.0,
        fy: 585.0,
        cx: 320.0,
        cy: 240.0,
        width: 640,
        height: 480,
    };

    /// Intrinsics of the TUM RGB-D default (ROS) calibration (fx = fy = 525, 640×480).
    pub const TUM_DEFAULT: CameraIntrinsics = CameraIntrinsics {
        fx: 525.0,
        fy: 525.0,
        cx: 319.5,
        cy: 239.5,
        width: 640,
        height: 480,
    };

    /// True when every parameter is finite, the focal lengths are positive and the
    /// image is non-empty.
    pub fn is_valid(&self) -> bool {
        self.fx.is_finite()
            && self.fy.is_finite()
            && self.cx.is_finite()
            && self.cy.is_finite()
            && self.fx > 0.0
            && self.fy > 0.0
            && self.width > 0
            && self.height > 0
    }

    /// Number of pixels, `width * height`.
    pub fn pixel_count(&self) -> usize {
        self.width as usize * self.height as usize
    }

    /// Back-projects pixel `(u, v)` with depth `z` (metres, along the optical axis)
    /// to a point in the camera frame.
    pub fn unproject(&self, u: f32, v: f32, z: f32) -> Point3<f32> {
        Point3::new((u - self.cx) * z / self.fx, (v - self.cy) * z / self.fy, z)
    }

    /// Projects a camera-frame point to pixel coordinates `(u, v)`; `None` when the
    /// point is not in front of the camera (z ≤ 0).
    pub fn project(&self, p: &Point3<f32>) -> Option<(f32, f32)> {
        if p.z <= 0.0 {
            return None;
        }
        Some((self.fx * p.x / p.z + self.cx, self.fy * p.y / p.z + self.cy))
    }

    /// True when pixel coordinates `(u, v)` fall inside the image (pixel centres at
    /// integers, so the valid range is `[-0.5, width - 0.5)`).
    pub fn contains(&self, u: f32, v: f32) -> bool {
        u >= -0.5 && v >= -0.5 && u < self.width as f32 - 0.5 && v < self.height as f32 - 0.5
    }

    /// Intrinsics for the image scaled by `factor` (e.g. 0.5 for half resolution).
    pub fn scaled(&self, factor: f32) -> CameraIntrinsics {
        CameraIntrinsics {
            fx: self.fx * factor,
            fy: self.fy * factor,
            cx: (self.cx + 0.5) * factor - 0.5,
            cy: (self.cy + 0.5) * factor - 0.5,
            width: ((self.width as f32 * factor).round() as u32).max(1),
            height: ((self.height as f32 * factor).round() as u32).max(1),
        }
    }
}

/// An 8-bit RGB image, row-major, 3 bytes per pixel.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RgbImage {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// `width * height * 3` bytes, R G B per pixel, rows top to bottom.
    pub data: Vec<u8>,
}

impl RgbImage {
    /// A black image of the given size.
    pub fn new(width: u32, height: u32) -> RgbImage {
        RgbImage {
            width,
            height,
            data: vec![0; width as usize * height as usize * 3],
        }
    }

    /// The colour of pixel `(u, v)`, or `None` outside the image.
    pub fn get(&self, u: u32, v: u32) -> Option<[u8; 3]> {
        if u >= self.width || v >= self.height {
            return None;
        }
        let i = (v as usize * self.width as usize + u as usize) * 3;
        self.data.get(i..i + 3).map(|c| [c[0], c[1], c[2]])
    }
}

/// How depth values are stored.
#[derive(Debug, Clone, PartialEq)]
pub enum DepthData {
    /// Metres as `f32`; 0, negative or non-finite means invalid.
    Metres(Vec<f32>),
    /// Raw 16-bit values; metres = raw / `units_per_metre`; 0 means invalid.
    U16 {
        /// Raw values, row-major.
        raw: Vec<u16>,
        /// Raw units per metre (1000 for millimetres, 5000 for TUM).
        units_per_metre: f32,
    },
}

/// A depth image: metric depth along the optical axis.
#[derive(Debug, Clone, PartialEq)]
pub struct DepthImage {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// The values, row-major.
    pub data: DepthData,
}

impl DepthImage {
    /// A depth image from metric values.
    pub fn from_metres(width: u32, height: u32, metres: Vec<f32>) -> DepthImage {
        DepthImage {
            width,
            height,
            data: DepthData::Metres(metres),
        }
    }

    /// A depth image from raw 16-bit values with their scale (units per metre).
    pub fn from_u16(width: u32, height: u32, raw: Vec<u16>, units_per_metre: f32) -> DepthImage {
        DepthImage {
            width,
            height,
            data: DepthData::U16 {
                raw,
                units_per_metre,
            },
        }
    }

    /// Number of pixels.
    pub fn len(&self) -> usize {
        self.width as usize * self.height as usize
    }

    /// True for an image without pixels.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Depth in metres at linear index `i`, `None` when invalid or out of range.
    /// A raw value of 0 or 65535 (the Kinect "no reading" code) is invalid.
    pub fn metres_at_index(&self, i: usize) -> Option<f32> {
        match &self.data {
            DepthData::Metres(m) => m.get(i).copied().filter(|z| z.is_finite() && *z > 0.0),
            DepthData::U16 {
                raw,
                units_per_metre,
            } => raw
                .get(i)
                .copied()
                .filter(|r| *r != 0 && *r != u16::MAX)
                .map(|r| r as f32 / units_per_metre),
        }
    }

    /// Depth in metres at pixel `(u, v)`, `None` when invalid or outside.
    pub fn metres_at(&self, u: u32, v: u32) -> Option<f32> {
        if u >= self.width || v >= self.height {
            return None;
        }
        self.metres_at_index(v as usize * self.width as usize + u as usize)
    }

    /// All depths in metres, with 0.0 for invalid pixels.
    pub fn to_metres(&self) -> Vec<f32> {
        (0..self.len())
            .map(|i| self.metres_at_index(i).unwrap_or(0.0))
            .collect()
    }

    /// Share of pixels with a valid depth, in `[0, 1]`.
    pub fn valid_fraction(&self) -> f32 {
        if self.is_empty() {
            return 0.0;
        }
        let valid = (0..self.len())
            .filter(|&i| self.metres_at_index(i).is_some())
            .count();
        valid as f32 / self.len() as f32
    }
}

/// One RGB-D frame as the engine receives it.
#[derive(Debug, Clone, PartialEq)]
pub struct RgbdFrame {
    /// Index of the frame in its source (the number in the file name where there is one).
    pub index: u64,
    /// Capture time in seconds (source clock; frame index / 30 where the source has none).
    pub timestamp: f64,
    /// Intrinsics of the depth camera (colour is taken as registered to depth).
    pub intrinsics: CameraIntrinsics,
    /// Colour image.
    pub color: RgbImage,
    /// Depth image, same size as `color`.
    pub depth: DepthImage,
    /// The camera pose in the device's tracking (session) frame, when known. For a
    /// recorded dataset this is the dataset's own pose frame.
    pub T_session_camera: Option<Pose>,
}

impl RgbdFrame {
    /// Back-projects every valid depth pixel (every `step`-th row and column) into the
    /// camera frame, with its colour.
    pub fn to_camera_points(&self, step: u32) -> PointCloud {
        let step = step.max(1);
        let mut cloud = PointCloud::default();
        let mut colors = Vec::new();
        let w = self.depth.width;
        for v in (0..self.depth.height).step_by(step as usize) {
            for u in (0..w).step_by(step as usize) {
                if let Some(z) = self.depth.metres_at(u, v) {
                    cloud
                        .points
                        .push(self.intrinsics.unproject(u as f32, v as f32, z));
                    colors.push(self.color.get(u, v).unwrap_or([0, 0, 0]));
                }
            }
        }
        cloud.colors = Some(colors);
        cloud
    }
}

/// A point cloud with optional per-point attributes. Every present attribute has
/// exactly one entry per point.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct PointCloud {
    /// Positions, metres.
    pub points: Vec<Point3<f32>>,
    /// Per-point RGB colour.
    pub colors: Option<Vec<[u8; 3]>>,
    /// Per-point unit normals.
    pub normals: Option<Vec<Vector3<f32>>>,
    /// Per-point instance ids (0 = unlabelled / background by convention of the source).
    pub instance_ids: Option<Vec<u32>>,
    /// Per-point semantic class ids.
    pub semantic_ids: Option<Vec<u32>>,
}

impl PointCloud {
    /// Number of points.
    pub fn len(&self) -> usize {
        self.points.len()
    }

    /// True when the cloud has no points.
    pub fn is_empty(&self) -> bool {
        self.points.is_empty()
    }

    /// True when every present attribute has one entry per point.
    pub fn is_consistent(&self) -> bool {
        let n = self.points.len();
        self.colors.as_ref().is_none_or(|c| c.len() == n)
            && self.normals.as_ref().is_none_or(|c| c.len() == n)
            && self.instance_ids.as_ref().is_none_or(|c| c.len() == n)
            && self.semantic_ids.as_ref().is_none_or(|c| c.len() == n)
    }

    /// Number of distinct instance ids (0 excluded), or 0 without instance labels.
    pub fn instance_count(&self) -> usize {
        let Some(ids) = &self.instance_ids else {
            return 0;
        };
        let mut ids: Vec<u32> = ids.iter().copied().filter(|&i| i != 0).collect();
        ids.sort_unstable();
        ids.dedup();
        ids.len()
    }

    /// Applies `T_a_b` to a cloud in frame `b`, giving the cloud in frame `a`
    /// (points and normals).
    pub fn transform(&mut self, T_a_b: &Pose) {
        for p in &mut self.points {
            *p = T_a_b * *p;
        }
        if let Some(normals) = &mut self.normals {
            for n in normals {
                *n = T_a_b.rotation * *n;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn project_unproject_round_trip() {
        let k = CameraIntrinsics::KINECT_7SCENES;
        let p = k.unproject(100.0, 400.0, 2.5);
        let (u, v) = k.project(&p).unwrap();
        assert!((u - 100.0).abs() < 1e-3 && (v - 400.0).abs() < 1e-3);
        assert!(k.project(&Point3::new(0.0, 0.0, -1.0)).is_none());
    }

    #[test]
    fn u16_depth_scale_and_invalid_codes() {
        let d = DepthImage::from_u16(2, 2, vec![0, 1000, u16::MAX, 5000], 1000.0);
        assert_eq!(d.metres_at(0, 0), None);
        assert_eq!(d.metres_at(1, 0), Some(1.0));
        assert_eq!(d.metres_at(0, 1), None);
        assert_eq!(d.metres_at(1, 1), Some(5.0));
        assert_eq!(d.valid_fraction(), 0.5);
    }

    #[test]
    fn half_scale_keeps_principal_point_centred() {
        let k = CameraIntrinsics::KINECT_7SCENES.scaled(0.5);
        assert_eq!((k.width, k.height), (320, 240));
        assert!((k.cx - 159.75).abs() < 1e-4);
        assert!((k.fx - 292.5).abs() < 1e-4);
    }

    #[test]
    fn cloud_transform_moves_points_and_rotates_normals() {
        let mut c = PointCloud {
            points: vec![Point3::new(1.0, 0.0, 0.0)],
            normals: Some(vec![Vector3::x()]),
            ..Default::default()
        };
        let T = Pose::new(
            Vector3::new(0.0, 0.0, 1.0),
            Vector3::z() * std::f32::consts::FRAC_PI_2,
        );
        c.transform(&T);
        assert!((c.points[0] - Point3::new(0.0, 1.0, 1.0)).norm() < 1e-5);
        assert!((c.normals.as_ref().unwrap()[0] - Vector3::y()).norm() < 1e-5);
        assert!(c.is_consistent());
    }
}
