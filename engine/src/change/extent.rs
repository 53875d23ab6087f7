//! A tight size of a point set, for telling objects of different sizes apart.
//!
//! The PCA box of an object whose footprint is about square (a box, a chair
//! seen from above) has arbitrary axes in that footprint, often near its
//! diagonal, and so comes out up to √2 times too wide; that of a cabinet seen
//! from the front and above leans. Here the box is turned about each of its
//! own axes in turn to the angle where the points lie nearest its faces
//! (coordinate descent from the PCA box): for a box-like object this finds the
//! object's own box.

use nalgebra::{Point3, Rotation3, Unit, UnitQuaternion, Vector3};

use crate::db::OrientedBox;
use crate::db::build::oriented_box;
use crate::frame::centroid;

/// Turns tried about each axis (7.5° steps over a quarter turn).
const STEPS: usize = 12;
/// Rounds of turning about the three axes.
const ROUNDS: usize = 3;

/// The box of `local` turned by `r`: how far its points lie from the box's
/// surface in all (each point's distance to its nearest face), half extents
/// and middle.
fn box_under(local: &[Vector3<f32>], r: &Rotation3<f32>) -> (f32, Vector3<f32>, Vector3<f32>) {
    let (mut lo, mut hi) = (Vector3::repeat(f32::MAX), Vector3::repeat(f32::MIN));
    let turned: Vec<Vector3<f32>> = local.iter().map(|l| r * l).collect();
    for q in &turned {
        lo = lo.inf(q);
        hi = hi.sup(q);
    }
    let off: f32 = turned
        .iter()
        .map(|q| {
            (0..3)
                .map(|k| (q[k] - lo[k]).min(hi[k] - q[k]))
                .fold(f32::INFINITY, f32::min)
        })
        .sum();
    (off, (hi - lo) / 2.0, (hi + lo) / 2.0)
}

/// A box whose faces the points lie on: from the PCA box, turned about each of
/// its own axes in turn to the angle (7.5° steps over a quarter turn) where the
/// points lie nearest its faces, for [`ROUNDS`] rounds (coordinate descent,
/// which also rights a box whose PCA axes all lean). For surface samples of a
/// box-like object, seen whole or from one corner, this is the object's own
/// box. A zero box at the origin for an empty set.
pub fn tight_box(points: &[Point3<f32>]) -> OrientedBox {
    if points.is_empty() {
        return OrientedBox::axis_aligned(Point3::origin(), Vector3::zeros());
    }
    let pca = oriented_box(points).rotation.to_rotation_matrix();
    let c = centroid(points);
    let local: Vec<Vector3<f32>> = points.iter().map(|p| pca.inverse() * (p - c)).collect();
    let mut r = Rotation3::identity();
    let (mut off, mut half, mut mid) = box_under(&local, &r);
    for _ in 0..ROUNDS {
        for axis in 0..3 {
            let mut a = Vector3::zeros();
            a[axis] = 1.0;
            // About the box's own axis as turned so far.
            let a = Unit::new_normalize(r.inverse() * a);
            for step in 1..STEPS {
                let angle = (step as f32) * std::f32::consts::FRAC_PI_2 / STEPS as f32;
                let t = r * Rotation3::from_axis_angle(&a, angle);
                let (v, h, m) = box_under(&local, &t);
                if v < off {
                    (off, half, mid) = (v, h, m);
                    r = t;
                }
            }
        }
    }
    // Box axes in the map frame: the PCA axes turned by `r`'s inverse.
    let rot = pca * r.inverse();
    OrientedBox {
        center: c + rot * mid,
        half_extents: half,
        rotation: UnitQuaternion::from_rotation_matrix(&rot),
    }
}

/// The half extents of [`tight_box`], sorted smallest first.
pub fn tight_half_extents(points: &[Point3<f32>]) -> [f32; 3] {
    sorted_half_extents(&tight_box(points))
}

/// A box's half extents, sorted smallest first.
pub fn sorted_half_extents(b: &OrientedBox) -> [f32; 3] {
    let mut h = [b.half_extents.x, b.half_extents.y, b.half_extents.z];
    h.sort_by(f32::total_cmp);
    h
}

/// Whether sorted half extents `a` exceed sorted half extents `b` by more than
/// `ratio` in some place (extents under 2 cm count as 2 cm).
pub fn larger_than(a: &[f32; 3], b: &[f32; 3], ratio: f32) -> bool {
    a.iter().zip(b).any(|(x, y)| *x > ratio * y.max(0.02))
}

/// The volume of the box of sorted half extents `a` over that of `b` (extents
/// under 2 cm count as 2 cm).
pub fn volume_ratio(a: &[f32; 3], b: &[f32; 3]) -> f32 {
    let v = |h: &[f32; 3]| h.iter().map(|x| x.max(0.02)).product::<f32>();
    v(a) / v(b)
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
    fn the_tight_box_holds_the_points_and_not_much_more() {
        let pts = box_surface([0.45, 0.25, 0.36], 0.7);
        let b = tight_box(&pts);
        assert!(pts.iter().all(|p| {
            let mut g = b;
            g.half_extents += Vector3::repeat(1e-4);
            g.contains(p)
        }));
        // Just above the top face is outside; PCA's own box may hold it.
        assert!(!b.contains(&Point3::new(1.0, -2.0, 0.5 + 0.36 + 0.03)));
        let h = sorted_half_extents(&b);
        for (got, want) in h.iter().zip([0.25, 0.36, 0.45]) {
            assert!((got - want).abs() < 0.01, "{h:?}");
        }
    }

    #[test]
    fn a_box_seen_from_the_front_and_above_gets_an_upright_box() {
        // Only the front (-y) and top (+z) faces: PCA's axes lean.
        let pts: Vec<Point3<f32>> = box_surface([0.45, 0.25, 0.36], 0.7)
            .into_iter()
            .filter(|p| {
                let q = Rotation3::from_axis_angle(&Vector3::z_axis(), -0.7)
                    * (p.coords - Vector3::new(1.0, -2.0, 0.5));
                q.y < -0.2499 || q.z > 0.3599
            })
            .collect();
        let pca = oriented_box(&pts);
        let b = tight_box(&pts);
        let above = Point3::new(1.0, -2.0, 0.5 + 0.36 + 0.04);
        assert!(pca.contains(&above), "PCA's box no longer leans: {pca:?}");
        assert!(!b.contains(&above), "{b:?}");
        let h = sorted_half_extents(&b);
        for (got, want) in h.iter().zip([0.25, 0.36, 0.45]) {
            assert!((got - want).abs() < 0.02, "{h:?}");
        }
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
        assert!((volume_ratio(&[0.15, 0.15, 0.25], &[0.1, 0.15, 0.25]) - 1.5).abs() < 1e-5);
        assert!((volume_ratio(&[0.04, 0.2, 0.3], &[0.001, 0.2, 0.3]) - 2.0).abs() < 1e-5);
    }
}
