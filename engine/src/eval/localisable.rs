//! Which query frames are *localisable*: they view the mapped area.
//!
//! A query frame is localisable when at least [`LOCALISABLE_SHARE`] of its valid
//! depth points, moved into the map frame with the true pose, are explained by the
//! map:
//! - for a map built from a posed RGB-D sequence ([`DepthCoverage`]): seen
//!   consistently (depth within 5 cm) by at least one frame the map was built from;
//! - for scans and synthetic rooms ([`SurfaceCoverage`]): lying within 5 cm of the
//!   mapped surface.
//!
//! Both test a fixed, evenly spread subset of the query's valid pixels (every
//! `step`-th row and column), so the answer is deterministic.

use std::collections::HashMap;

use nalgebra::Point3;

use crate::frame::{CameraIntrinsics, Pose, RgbdFrame};

/// Share of a frame's points that must be explained by the map.
pub const LOCALISABLE_SHARE: f32 = 0.3;
/// Agreement tolerance, metres.
pub const TOLERANCE_M: f32 = 0.05;

/// Valid depth points of a frame in the map frame (every `step`-th pixel).
fn map_points(frame: &RgbdFrame, T_map_camera: &Pose, step: u32) -> Vec<Point3<f32>> {
    let mut pts = Vec::new();
    let k = &frame.intrinsics;
    for v in (0..frame.depth.height).step_by(step.max(1) as usize) {
        for u in (0..frame.depth.width).step_by(step.max(1) as usize) {
            if let Some(z) = frame.depth.metres_at(u, v) {
                pts.push(T_map_camera * k.unproject(u as f32, v as f32, z));
            }
        }
    }
    pts
}

/// The depth of the frames a map was built from, downsampled, for the
/// seen-consistently test.
#[derive(Debug, Clone, Default)]
pub struct DepthCoverage {
    frames: Vec<(Pose, CameraIntrinsics, Vec<f32>)>,
    factor: u32,
}

impl DepthCoverage {
    /// An empty coverage keeping every `factor`-th pixel of each map frame's depth.
    pub fn new(factor: u32) -> DepthCoverage {
        DepthCoverage {
            frames: Vec::new(),
            factor: factor.max(1),
        }
    }

    /// Number of map frames held.
    pub fn len(&self) -> usize {
        self.frames.len()
    }

    /// True when no map frame is held.
    pub fn is_empty(&self) -> bool {
        self.frames.is_empty()
    }

    /// Adds a map frame taken at `T_map_camera`.
    pub fn add_frame(&mut self, frame: &RgbdFrame, T_map_camera: &Pose) {
        let f = self.factor;
        let k = frame.intrinsics;
        let (w, h) = (
            frame.depth.width.div_ceil(f),
            frame.depth.height.div_ceil(f),
        );
        let mut d = Vec::with_capacity(w as usize * h as usize);
        for v in 0..h {
            for u in 0..w {
                d.push(frame.depth.metres_at(u * f, v * f).unwrap_or(0.0));
            }
        }
        let small = CameraIntrinsics {
            fx: k.fx / f as f32,
            fy: k.fy / f as f32,
            cx: k.cx / f as f32,
            cy: k.cy / f as f32,
            width: w,
            height: h,
        };
        self.frames.push((T_map_camera.inverse(), small, d));
    }

    /// Share of the query's points seen consistently by some map frame.
    pub fn explained_share(&self, frame: &RgbdFrame, T_map_camera: &Pose, step: u32) -> f32 {
        let pts = map_points(frame, T_map_camera, step);
        if pts.is_empty() {
            return 0.0;
        }
        let seen = pts
            .iter()
            .filter(|p| {
                self.frames.iter().any(|(T_camera_map, k, d)| {
                    let q = T_camera_map * *p;
                    let Some((u, v)) = k.project(&q) else {
                        return false;
                    };
                    if !k.contains(u, v) {
                        return false;
                    }
                    let i = v.round() as usize * k.width as usize + u.round() as usize;
                    d.get(i)
                        .is_some_and(|z| *z > 0.0 && (z - q.z).abs() <= TOLERANCE_M)
                })
            })
            .count();
        seen as f32 / pts.len() as f32
    }

    /// True when the query frame (at its true `T_map_camera`) is localisable.
    pub fn is_localisable(&self, frame: &RgbdFrame, T_map_camera: &Pose) -> bool {
        self.explained_share(frame, T_map_camera, 8) >= LOCALISABLE_SHARE
    }
}

/// A mapped surface (scan or synthetic room) in a hash grid, for the
/// within-5-cm test.
#[derive(Debug, Clone, Default)]
pub struct SurfaceCoverage {
    cells: HashMap<(i32, i32, i32), Vec<Point3<f32>>>,
}

fn cell(p: &Point3<f32>) -> (i32, i32, i32) {
    let s = TOLERANCE_M;
    (
        (p.x / s).floor() as i32,
        (p.y / s).floor() as i32,
        (p.z / s).floor() as i32,
    )
}

impl SurfaceCoverage {
    /// A coverage of the given surface points (map frame).
    pub fn new(points: &[Point3<f32>]) -> SurfaceCoverage {
        let mut cells: HashMap<(i32, i32, i32), Vec<Point3<f32>>> = HashMap::new();
        for p in points
            .iter()
            .filter(|p| p.coords.iter().all(|v| v.is_finite()))
        {
            cells.entry(cell(p)).or_default().push(*p);
        }
        SurfaceCoverage { cells }
    }

    /// True when `p` lies within 5 cm of the surface.
    pub fn near(&self, p: &Point3<f32>) -> bool {
        let (x, y, z) = cell(p);
        let t2 = TOLERANCE_M * TOLERANCE_M;
        for dx in -1..=1 {
            for dy in -1..=1 {
                for dz in -1..=1 {
                    if let Some(c) = self.cells.get(&(x + dx, y + dy, z + dz))
                        && c.iter().any(|q| (q - p).norm_squared() <= t2)
                    {
                        return true;
                    }
                }
            }
        }
        false
    }

    /// Share of the given points within 5 cm of the surface.
    pub fn explained_share_points(&self, pts: &[Point3<f32>]) -> f32 {
        if pts.is_empty() {
            return 0.0;
        }
        pts.iter().filter(|p| self.near(p)).count() as f32 / pts.len() as f32
    }

    /// True when the query frame (at its true `T_map_camera`) is localisable.
    pub fn is_localisable(&self, frame: &RgbdFrame, T_map_camera: &Pose) -> bool {
        self.explained_share_points(&map_points(frame, T_map_camera, 8)) >= LOCALISABLE_SHARE
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frame::{DepthImage, RgbImage};
    use nalgebra::Vector3;

    fn wall_frame(z: f32) -> RgbdFrame {
        let k = CameraIntrinsics::KINECT_7SCENES.scaled(0.25);
        RgbdFrame {
            index: 0,
            timestamp: 0.0,
            intrinsics: k,
            color: RgbImage::new(k.width, k.height),
            depth: DepthImage::from_metres(k.width, k.height, vec![z; k.pixel_count()]),
            T_session_camera: None,
        }
    }

    #[test]
    fn depth_coverage_sees_the_same_wall_not_another() {
        let mut cov = DepthCoverage::new(2);
        cov.add_frame(&wall_frame(2.0), &Pose::identity());
        let q = wall_frame(1.5);
        // Half a metre closer, the same wall: explained.
        let T = Pose::new(Vector3::new(0.0, 0.0, 0.5), Vector3::zeros());
        assert!(cov.is_localisable(&q, &T));
        // Looking the other way: nothing explained.
        let back = Pose::new(Vector3::zeros(), Vector3::y() * std::f32::consts::PI);
        assert!(!cov.is_localisable(&q, &back));
        assert_eq!(cov.explained_share(&q, &back, 4), 0.0);
    }

    #[test]
    fn surface_coverage_within_five_centimetres() {
        let surface: Vec<Point3<f32>> = (0..100)
            .flat_map(|i| {
                (0..100)
                    .map(move |j| Point3::new(i as f32 * 0.02 - 1.0, j as f32 * 0.02 - 1.0, 2.0))
            })
            .collect();
        let cov = SurfaceCoverage::new(&surface);
        assert!(cov.near(&Point3::new(0.0, 0.0, 2.04)));
        assert!(!cov.near(&Point3::new(0.0, 0.0, 2.07)));
        assert!(cov.is_localisable(&wall_frame(2.0), &Pose::identity()));
        assert!(!cov.is_localisable(&wall_frame(2.5), &Pose::identity()));
    }
}
