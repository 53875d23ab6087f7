//! Depth-test visibility of a database instance in one frame: is its place in view,
//! and does the live depth show its surface there, or the space behind it?

use nalgebra::Point3;

use crate::frame::{CameraIntrinsics, DepthImage, Pose};

/// Evidence from one frame about one database instance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct VisibilityEvidence {
    /// Sample points in view whose depth agrees with the observed depth.
    pub present: u32,
    /// Sample points in view where the observed depth lies clearly behind them
    /// (the sensor sees through where the surface should be).
    pub see_through: u32,
    /// Sample points in view but hidden behind something nearer.
    pub occluded: u32,
}

impl VisibilityEvidence {
    /// Samples that tell presence from absence.
    pub fn decisive(&self) -> u32 {
        self.present + self.see_through
    }
}

/// Tests up to `max_samples` of an instance's surface points (map frame) against the
/// depth of a frame taken at `T_map_camera`. The tolerance grows with depth
/// (`0.04 m + 0.02·z`) to absorb sensor noise, up to `max_tolerance` metres: for
/// a small object the surface it stands on lies within the grown tolerance
/// behind it, and would pass for the object itself.
pub fn instance_visibility(
    points_map: &[Point3<f32>],
    max_samples: usize,
    T_map_camera: &Pose,
    intrinsics: &CameraIntrinsics,
    depth: &DepthImage,
    max_tolerance: f32,
) -> VisibilityEvidence {
    let mut ev = VisibilityEvidence::default();
    if points_map.is_empty() || max_samples == 0 {
        return ev;
    }
    let T_camera_map = T_map_camera.inverse();
    let stride = points_map.len().div_ceil(max_samples).max(1);
    let sx = depth.width as f32 / intrinsics.width.max(1) as f32;
    let sy = depth.height as f32 / intrinsics.height.max(1) as f32;
    for p in points_map.iter().step_by(stride) {
        let pc = T_camera_map * p;
        if pc.z < 0.3 || pc.z > 6.0 {
            continue;
        }
        let Some((u, v)) = intrinsics.project(&pc) else {
            continue;
        };
        if !intrinsics.contains(u, v) {
            continue;
        }
        let (ui, vi) = (
            (u * sx).round().max(0.0) as u32,
            (v * sy).round().max(0.0) as u32,
        );
        let Some(d) = depth.metres_at(ui, vi) else {
            continue;
        };
        let tol = (0.04 + 0.02 * pc.z).min(max_tolerance);
        if (d - pc.z).abs() <= tol {
            ev.present += 1;
        } else if d > pc.z + tol {
            ev.see_through += 1;
        } else {
            ev.occluded += 1;
        }
    }
    ev
}

#[cfg(test)]
mod tests {
    use super::*;
    use nalgebra::Vector3;

    fn flat_depth(z: f32) -> DepthImage {
        let k = CameraIntrinsics::KINECT_7SCENES.scaled(0.25);
        DepthImage::from_metres(k.width, k.height, vec![z; k.pixel_count()])
    }

    #[test]
    fn present_see_through_and_occluded() {
        let k = CameraIntrinsics::KINECT_7SCENES.scaled(0.25);
        let pts: Vec<Point3<f32>> = (0..10)
            .map(|i| Point3::new(i as f32 * 0.02, 0.0, 2.0))
            .collect();
        let I = Pose::identity();
        let at = instance_visibility(&pts, 64, &I, &k, &flat_depth(2.01), f32::INFINITY);
        assert_eq!((at.present, at.see_through, at.occluded), (10, 0, 0));
        let behind = instance_visibility(&pts, 64, &I, &k, &flat_depth(3.0), f32::INFINITY);
        assert_eq!((behind.present, behind.see_through), (0, 10));
        let front = instance_visibility(&pts, 64, &I, &k, &flat_depth(1.0), f32::INFINITY);
        assert_eq!((front.occluded, front.decisive()), (10, 0));
        // Behind the camera: nothing decisive.
        let T = Pose::new(Vector3::zeros(), Vector3::y() * std::f32::consts::PI);
        assert_eq!(
            instance_visibility(&pts, 64, &T, &k, &flat_depth(2.0), f32::INFINITY).decisive(),
            0
        );
        // A surface 7 cm behind (a table top behind where a mug stood) is
        // within the tolerance at 2 m (0.08 m), not within a 5 cm cap.
        let table = flat_depth(2.07);
        let wide = instance_visibility(&pts, 64, &I, &k, &table, f32::INFINITY);
        assert_eq!((wide.present, wide.see_through), (10, 0));
        let capped = instance_visibility(&pts, 64, &I, &k, &table, 0.05);
        assert_eq!((capped.present, capped.see_through), (0, 10));
        // Sampling caps the work.
        assert_eq!(
            instance_visibility(&pts, 5, &I, &k, &flat_depth(2.0), f32::INFINITY).present,
            5
        );
    }
}
