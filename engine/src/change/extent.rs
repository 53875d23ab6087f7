//! A tight size of a point set, for telling objects of different sizes apart.
//!
//! The PCA box of an object whose footprint is about square (a box, a chair
//! seen from above) has arbitrary axes in that footprint, often near its
//! diagonal, and so comes out up to √2 times too wide. Here the PCA axes are
//! turned about each of themselves in steps of 15° and the box of least volume
//! is kept: for an object with a flat face along one principal axis this finds
//! the object's own box.

use nalgebra::{Point3, Rotation3, Unit, Vector3};

use crate::db::build::oriented_box;
use crate::frame::centroid;

/// Turns tried about each principal axis (15° steps over a quarter turn).
const STEPS: usize = 6;

/// The half extents of the least-volume box among the PCA box and the PCA box
/// turned about each of its own axes in 15° steps, sorted smallest first.
/// Zeros for an empty set.
pub fn tight_half_extents(points: &[Point3<f32>]) -> [f32; 3] {
    if points.is_empty() {
        return [0.0; 3];
    }
    let pca = oriented_box(points).rotation.to_rotation_matrix();
    let c = centroid(points);
    let local: Vec<Vector3<f32>> = points.iter().map(|p| pca.inverse() * (p - c)).collect();
    let mut best: Option<(f32, Vector3<f32>)> = None;
    for axis in 0..3 {
        let mut a = Vector3::zeros();
        a[axis] = 1.0;
        let a = Unit::new_normalize(a);
        for step in 0..STEPS {
            if axis > 0 && step == 0 {
                continue;
            }
            let angle = (step as f32) * std::f32::consts::FRAC_PI_2 / STEPS as f32;
            let r = Rotation3::from_axis_angle(&a, angle);
            let (mut lo, mut hi) = (Vector3::repeat(f32::MAX), Vector3::repeat(f32::MIN));
            for l in &local {
                let q = r * l;
                lo = lo.inf(&q);
                hi = hi.sup(&q);
            }
            let half = (hi - lo) / 2.0;
            let volume = half.x * half.y * half.z;
            if best.is_none_or(|(v, _)| volume < v) {
                best = Some((volume, half));
            }
        }
    }
    let half = best.map_or(Vector3::zeros(), |(_, h)| h);
    let mut h = [half.x, half.y, half.z];
    h.sort_by(f32::total_cmp);
    h
}

/// Whether sorted half extents `a` exceed sorted half extents `b` by more than
/// `ratio` in some place (extents under 2 cm count as 2 cm).
pub fn larger_than(a: &[f32; 3], b: &[f32; 3], ratio: f32) -> bool {
    a.iter().zip(b).any(|(x, y)| *x > ratio * y.max(0.02))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Points on the faces of a box of half extents `h`, turned by `yaw` about z.
    fn box_surface(h: [f32; 3], yaw: f32) -> Vec<Point3<f32>> {
        let r = Rotation3::from_axis_angle(&Vector3::z_axis(), yaw);
        let n = 12;
        let mut pts = Vec::new();
        for i in 0..=n {
            for j in 0..=n {
                let u = -1.0 + 2.0 * i as f32 / n as f32;
                let v = -1.0 + 2.0 * j as f32 / n as f32;
                for s in [-1.0, 1.0] {
                    pts.push(Point3::new(s * h[0], u * h[1], v * h[2]));
                    pts.push(Point3::new(u * h[0], s * h[1], v * h[2]));
                    pts.push(Point3::new(u * h[0], v * h[1], s * h[2]));
                }
            }
        }
        pts.iter()
            .map(|p| Point3::from(r * p.coords + Vector3::new(1.0, -2.0, 0.5)))
            .collect()
    }

    #[test]
    fn a_box_with_a_square_footprint_gets_its_own_size() {
        // Square footprint: PCA alone is free to pick the diagonal.
        let h = tight_half_extents(&box_surface([0.2, 0.2, 0.12], 0.3));
        for (got, want) in h.iter().zip([0.12, 0.2, 0.2]) {
            assert!((got - want).abs() < 0.01, "{h:?}");
        }
        let h = tight_half_extents(&box_surface([0.3, 0.1, 0.5], 1.0));
        for (got, want) in h.iter().zip([0.1, 0.3, 0.5]) {
            assert!((got - want).abs() < 0.01, "{h:?}");
        }
        assert_eq!(tight_half_extents(&[]), [0.0; 3]);
    }

    #[test]
    fn larger_compares_sorted_extents_with_a_floor() {
        assert!(larger_than(&[0.1, 0.2, 0.5], &[0.1, 0.2, 0.3], 1.6));
        assert!(!larger_than(&[0.1, 0.2, 0.45], &[0.1, 0.2, 0.3], 1.6));
        // Smaller is never larger.
        assert!(!larger_than(&[0.01, 0.05, 0.1], &[0.1, 0.2, 0.3], 1.6));
        // Thin extents count as 2 cm.
        assert!(!larger_than(&[0.03, 0.2, 0.3], &[0.001, 0.2, 0.3], 1.6));
        assert!(larger_than(&[0.04, 0.2, 0.3], &[0.001, 0.2, 0.3], 1.6));
    }
}
