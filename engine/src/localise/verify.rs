//! Verification of a relocalisation hypothesis: how much of the live surface a
//! pose lays onto the map, counted strictly enough that a wrong pose which merely
//! aligns the floor, one wall, or a look-alike object of another room scores low.
//!
//! A live point (session frame, with its unit normal) *agrees* at a pose when,
//! moved into the map frame, its nearest map point lies within
//! [`Agreement::search_radius`], its distance to that point's tangent plane is at
//! most [`Agreement::plane_distance`], and the two normals are within
//! `acos(min_cos)` (either orientation; normals of thin parts flip). The plane
//! distance, not the point distance, is what is bounded, so sparse map samples
//! (structure is stored at 10–20 cm spacing) do not make the correct pose look
//! bad. Object points must in addition land on a map OBJECT point of a similar
//! colour ([`colours_agree`]): the same furniture model in another room usually
//! differs in colour.

use nalgebra::{Point3, Vector3};

use super::icp::IcpTarget;
use crate::frame::Pose;

/// Tolerances of the agreement test (metres, cosine).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Agreement {
    /// Largest distance to the nearest map point.
    pub search_radius: f32,
    /// Largest distance to that point's tangent plane.
    pub plane_distance: f32,
    /// Least |cos| between the live and the map normal.
    pub min_cos: f32,
}

impl Default for Agreement {
    fn default() -> Self {
        Agreement {
            search_radius: 0.15,
            plane_distance: 0.05,
            min_cos: 0.8,
        }
    }
}

/// The map side of a verification: the whole surface (structure and objects) and
/// the object points alone with their colours.
#[derive(Debug)]
pub struct VerificationTarget {
    /// Structure and object points with normals (also the ICP target).
    pub surface: IcpTarget,
    /// `surface` thinned to one point per cell of a few centimetres: the target
    /// of the coarse look and the coarse ICP stage, whose tolerances are a
    /// decimetre or more (a smaller index answers faster).
    pub coarse: IcpTarget,
    /// Object points only, with normals.
    pub objects: Option<IcpTarget>,
    /// Structure points only (walls, floor), with normals.
    pub structure: Option<IcpTarget>,
    /// One colour per object point (empty when the map has no colours).
    pub object_colors: Vec<[u8; 3]>,
}

/// Live points to verify with, session frame.
#[derive(Debug, Clone, Default)]
pub struct LiveSample {
    /// Points.
    pub points: Vec<Point3<f32>>,
    /// Unit normals (zero: unknown, the point is skipped), one per point.
    pub normals: Vec<Vector3<f32>>,
    /// Colours, one per point, or empty.
    pub colors: Vec<[u8; 3]>,
}

/// True when two observed colours can be the same surface under different
/// exposure and white balance: both dark, or similar chromaticity (L1 distance of
/// `rgb / (r + g + b)` at most 0.12) at brightness within a factor of 2.5.
pub fn colours_agree(a: [u8; 3], b: [u8; 3]) -> bool {
    let sa = a.iter().map(|&v| v as f32).sum::<f32>();
    let sb = b.iter().map(|&v| v as f32).sum::<f32>();
    const DARK: f32 = 90.0;
    if sa < DARK || sb < DARK {
        return sa < 2.0 * DARK && sb < 2.0 * DARK;
    }
    let ratio = sa / sb;
    if !(0.4..=2.5).contains(&ratio) {
        return false;
    }
    let d: f32 = (0..3)
        .map(|i| (a[i] as f32 / sa - b[i] as f32 / sb).abs())
        .sum();
    d <= 0.12
}

/// Share of `live` points that agree with `target` at `T_map_session`; with
/// `target_colors` (one per target point) and live colours, colours must agree
/// too. 0 when no live point has a usable normal.
pub fn agreement(
    target: &IcpTarget,
    target_colors: &[[u8; 3]],
    live: &LiveSample,
    T_map_session: &Pose,
    tol: &Agreement,
) -> f32 {
    let (mut used, mut good) = (0usize, 0usize);
    for a in point_agreements(target, target_colors, live, T_map_session, tol).flatten() {
        used += 1;
        good += usize::from(a);
    }
    if used == 0 {
        0.0
    } else {
        good as f32 / used as f32
    }
}

/// Per live point: whether it agrees with `target` at `T_map_session` (as in
/// [`agreement`]), `None` for a point without a usable normal.
pub fn agreement_mask(
    target: &IcpTarget,
    target_colors: &[[u8; 3]],
    live: &LiveSample,
    T_map_session: &Pose,
    tol: &Agreement,
) -> Vec<Option<bool>> {
    point_agreements(target, target_colors, live, T_map_session, tol).collect()
}

/// The per-point test behind [`agreement`] and [`agreement_mask`].
fn point_agreements<'a>(
    target: &'a IcpTarget,
    target_colors: &'a [[u8; 3]],
    live: &'a LiveSample,
    T_map_session: &'a Pose,
    tol: &'a Agreement,
) -> impl Iterator<Item = Option<bool>> + 'a {
    let use_colour = !target_colors.is_empty()
        && target_colors.len() == target.len()
        && live.colors.len() == live.points.len();
    live.points
        .iter()
        .zip(&live.normals)
        .enumerate()
        .map(move |(i, (p, n))| {
            let len = n.norm();
            if !(len.is_finite() && len > 1e-6 && p.coords.iter().all(|v| v.is_finite())) {
                return None;
            }
            let q = T_map_session * p;
            let Some((j, _)) = target.nearest_within(&q, tol.search_radius) else {
                return Some(false);
            };
            let (Some(tp), Some(tn)) = (target.points().get(j), target.normals().get(j)) else {
                return Some(false);
            };
            let colour_ok = !use_colour
                || matches!(
                    (live.colors.get(i), target_colors.get(j)),
                    (Some(&a), Some(&b)) if colours_agree(a, b)
                );
            Some(
                tn.dot(&(q - tp)).abs() <= tol.plane_distance
                    && (T_map_session.rotation * n).dot(tn).abs() >= tol.min_cos * len
                    && colour_ok,
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A 2 m × 2 m floor (z = 0) and a 1 m wall (x = 1), sampled every 5 cm.
    fn corner() -> (Vec<Point3<f32>>, Vec<Vector3<f32>>) {
        let mut p = Vec::new();
        let mut n = Vec::new();
        for i in 0..40 {
            for j in 0..40 {
                p.push(Point3::new(
                    -1.0 + i as f32 * 0.05,
                    -1.0 + j as f32 * 0.05,
                    0.0,
                ));
                n.push(Vector3::z());
            }
        }
        for j in 0..40 {
            for k in 0..20 {
                p.push(Point3::new(
                    1.0,
                    -1.0 + j as f32 * 0.05,
                    0.05 + k as f32 * 0.05,
                ));
                n.push(Vector3::x());
            }
        }
        (p, n)
    }

    fn sample(points: &[Point3<f32>], normals: &[Vector3<f32>]) -> LiveSample {
        LiveSample {
            points: points.to_vec(),
            normals: normals.to_vec(),
            colors: Vec::new(),
        }
    }

    #[test]
    fn the_true_pose_agrees_and_a_floor_only_alignment_does_not() {
        let (p, n) = corner();
        let target = IcpTarget::new(p.clone(), n.clone()).unwrap();
        let live = sample(&p, &n);
        let tol = Agreement::default();
        let good = agreement(&target, &[], &live, &Pose::identity(), &tol);
        assert!(good > 0.99, "{good}");
        // Turned 30° about the vertical: the floor still lies on the floor, the
        // wall does not.
        let turned = Pose::new(Vector3::zeros(), Vector3::z() * 30f32.to_radians());
        let bad = agreement(&target, &[], &live, &turned, &tol);
        assert!(bad < 0.75 && bad > 0.3, "{bad}");
        // Lifted 20 cm: the floor points (two thirds) leave their plane, the wall
        // points slide along theirs.
        let lifted = Pose::new(Vector3::new(0.0, 0.0, 0.2), Vector3::zeros());
        let l = agreement(&target, &[], &live, &lifted, &tol);
        assert!(l > 0.25 && l < 0.4, "{l}");
        // Lifted and pushed 20 cm into the wall: nothing agrees.
        let off = Pose::new(Vector3::new(0.2, 0.0, 0.2), Vector3::zeros());
        assert!(agreement(&target, &[], &live, &off, &tol) < 0.02);
    }

    #[test]
    fn the_mask_marks_the_agreeing_points() {
        let (p, mut n) = corner();
        let target = IcpTarget::new(p.clone(), n.clone()).unwrap();
        // One live point without a usable normal.
        n[0] = Vector3::zeros();
        let live = sample(&p, &n);
        let tol = Agreement::default();
        let turned = Pose::new(Vector3::zeros(), Vector3::z() * 30f32.to_radians());
        let mask = agreement_mask(&target, &[], &live, &turned, &tol);
        assert_eq!(mask.len(), p.len());
        assert_eq!(mask[0], None);
        // Turned about the vertical: floor points agree, wall points do not.
        let floor = 1600;
        assert!(mask[1..floor].iter().filter(|m| **m == Some(true)).count() > 1400);
        let wall_agreeing = mask[floor..].iter().filter(|m| **m == Some(true)).count();
        assert!(wall_agreeing < 200, "{wall_agreeing} of 800 wall points");
        let share = mask.iter().filter(|m| **m == Some(true)).count() as f32
            / mask.iter().flatten().count() as f32;
        assert_eq!(agreement(&target, &[], &live, &turned, &tol), share);
    }

    #[test]
    fn sparse_map_samples_still_agree_with_the_plane_they_sample() {
        // The map samples the floor every 20 cm; the live points lie between them.
        let mut p = Vec::new();
        for i in 0..10 {
            for j in 0..10 {
                p.push(Point3::new(i as f32 * 0.2, j as f32 * 0.2, 0.0));
            }
        }
        let n = vec![Vector3::z(); p.len()];
        let target = IcpTarget::new(p, n).unwrap();
        let live: Vec<Point3<f32>> = (0..50)
            .map(|i| Point3::new(0.1 + (i % 9) as f32 * 0.2, 0.1 + (i / 9) as f32 * 0.2, 0.01))
            .collect();
        let ln = vec![-Vector3::z(); live.len()];
        let a = agreement(
            &target,
            &[],
            &sample(&live, &ln),
            &Pose::identity(),
            &Agreement::default(),
        );
        assert!(a > 0.99, "{a}");
    }

    #[test]
    fn colours_must_agree_when_both_sides_have_them() {
        let (p, n) = corner();
        let target = IcpTarget::new(p.clone(), n.clone()).unwrap();
        let red = vec![[200u8, 40, 30]; p.len()];
        let mut live = sample(&p, &n);
        // Same surface, darker exposure and a slight tint: agrees.
        live.colors = vec![[120u8, 28, 20]; p.len()];
        let tol = Agreement::default();
        assert!(agreement(&target, &red, &live, &Pose::identity(), &tol) > 0.99);
        // Same shape, blue: does not.
        live.colors = vec![[30u8, 60, 200]; p.len()];
        assert!(agreement(&target, &red, &live, &Pose::identity(), &tol) < 0.01);
        // No live colours: geometry only.
        live.colors.clear();
        assert!(agreement(&target, &red, &live, &Pose::identity(), &tol) > 0.99);
    }

    #[test]
    fn colour_rule() {
        assert!(colours_agree([200, 40, 30], [100, 20, 15]));
        assert!(!colours_agree([200, 40, 30], [40, 200, 30]));
        assert!(colours_agree([20, 20, 25], [40, 30, 30]));
        assert!(!colours_agree([20, 20, 25], [220, 220, 220]));
        assert!(!colours_agree([250, 250, 250], [60, 60, 60]));
    }

    #[test]
    fn points_without_normals_are_skipped_and_empty_input_scores_zero() {
        let (p, n) = corner();
        let target = IcpTarget::new(p.clone(), n).unwrap();
        let live = LiveSample {
            points: p.clone(),
            normals: vec![Vector3::zeros(); p.len()],
            colors: Vec::new(),
        };
        let tol = Agreement::default();
        assert_eq!(agreement(&target, &[], &live, &Pose::identity(), &tol), 0.0);
        assert_eq!(
            agreement(
                &target,
                &[],
                &LiveSample::default(),
                &Pose::identity(),
                &tol
            ),
            0.0
        );
    }
}
