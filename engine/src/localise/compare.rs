//! Comparing two poses: how far apart they put a reference point and the angle
//! between their rotations. Used to tell RANSAC hypotheses apart and in tests.

use nalgebra::Point3;

use crate::frame::Pose;

/// The difference between two poses `T_a_b` and `T'_a_b` that map the same frame.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PoseDifference {
    /// Distance, metres, between the images of the reference point under both poses.
    pub translation_m: f32,
    /// Angle, radians, of the relative rotation (in `[0, π]`).
    pub rotation_rad: f32,
}

impl PoseDifference {
    /// The rotation difference in degrees.
    pub fn rotation_deg(&self) -> f32 {
        self.rotation_rad.to_degrees()
    }

    /// True when both differences are strictly below the given bounds.
    pub fn within(&self, translation_m: f32, rotation_rad: f32) -> bool {
        self.translation_m < translation_m && self.rotation_rad < rotation_rad
    }
}

/// Difference between two poses of the same frames, measured at `at` (a point of
/// the source frame `b`, e.g. the centroid of the data being registered, so that
/// the translation part does not depend on where the frame's origin happens to
/// be).
pub fn pose_difference(T_a: &Pose, T_b: &Pose, at: &Point3<f32>) -> PoseDifference {
    PoseDifference {
        translation_m: (T_a * at - T_b * at).norm(),
        rotation_rad: T_a.rotation.angle_to(&T_b.rotation),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use nalgebra::Vector3;

    #[test]
    fn difference_is_measured_at_the_reference_point() {
        let a = Pose::identity();
        let b = Pose::new(Vector3::zeros(), Vector3::z() * 0.1);
        let at_origin = pose_difference(&a, &b, &Point3::origin());
        assert!(at_origin.translation_m < 1e-6);
        assert!((at_origin.rotation_rad - 0.1).abs() < 1e-5);
        let far = pose_difference(&a, &b, &Point3::new(10.0, 0.0, 0.0));
        assert!((far.translation_m - 2.0 * 10.0 * (0.05f32).sin()).abs() < 1e-4);
        assert!(!far.within(0.5, 1.0) && at_origin.within(0.5, 0.2));
    }
}
