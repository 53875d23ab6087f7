//! Aligning a database object's points with a live object's: point-to-point
//! ICP from one start, or from several turns of the object about its own box
//! axes (an object turned in place by 90° or more is out of ICP's reach from
//! where it stood).

use nalgebra::{Point3, Translation3, UnitQuaternion, Vector3};

use super::PointGrid;
use crate::db::DbInstance;
use crate::eval::PoseError;
use crate::frame::Pose;
use crate::localise::umeyama::rigid_from_correspondences;

/// Largest pair distance of ICP's first step (metres); the cell of its grid.
const START: f32 = 0.3;

/// Point-to-point ICP of `src` onto `dst` from `init`; returns the transform and the
/// share of `src` within `radius` of `dst` at the end.
pub(super) fn align(
    src: &[Point3<f32>],
    dst: &[Point3<f32>],
    init: Pose,
    radius: f32,
) -> (Pose, f32) {
    // Every query is within START, so a grid of that cell answers each exactly as
    // a linear scan would (nearest, lowest index on ties), without visiting all of
    // `dst` per point.
    let grid = PointGrid::new(dst, START.max(radius));
    align_on(&grid, src, dst, init, radius, 25)
}

/// [`align`] with `grid` built over `dst` (cell at least [`START`] and
/// `radius`) and at most `steps` ICP steps.
fn align_on(
    grid: &PointGrid,
    src: &[Point3<f32>],
    dst: &[Point3<f32>],
    init: Pose,
    radius: f32,
    steps: usize,
) -> (Pose, f32) {
    let mut T = init;
    let mut max_d = START;
    // The pairs of the last step and the gate they were found with: the same
    // pairs under the same gate give the same transform again (a fixed point).
    let mut last: (Vec<usize>, f32) = (Vec::new(), f32::NAN);
    for _ in 0..steps {
        let (mut a, mut b, mut pairs) = (Vec::new(), Vec::new(), Vec::new());
        for p in src {
            let q = T * p;
            if let Some((j, _)) = grid.nearest_within(&q, max_d)
                && let Some(t) = dst.get(j)
            {
                a.push(*p);
                b.push(*t);
                pairs.push(j);
            } else {
                pairs.push(usize::MAX);
            }
        }
        if a.len() < 6 || (last.1 == max_d && last.0 == pairs) {
            break;
        }
        match rigid_from_correspondences(&a, &b, None) {
            Ok(next) => T = next,
            Err(_) => break,
        }
        last = (pairs, max_d);
        max_d = (max_d * 0.7).max(radius * 1.5);
    }
    let moved: Vec<Point3<f32>> = src.iter().map(|p| T * p).collect();
    (T, grid.share_within(&moved, radius))
}

/// How far an object whose centroid was at `c` is moved by `T`: its centroid's
/// displacement and the angle of the turn (the translation of `T` itself also
/// holds the turn about the map origin).
pub(super) fn object_motion(T: &Pose, c: &Point3<f32>) -> PoseError {
    PoseError {
        translation_m: (T * c - c).norm(),
        rotation_deg: T.rotation.angle().to_degrees(),
    }
}

/// A turned start replaces the first fit only when it fits this share of the
/// points more (a symmetric object fits as well turned as not).
const TURN_GAIN: f32 = 0.05;

/// Quarter turns tried about each box axis by [`align_with_turns`].
const TURNS_DEG: [f32; 3] = [90.0, 180.0, 270.0];

/// Points of `src` a turned start is probed with, and ICP steps per probe.
const PROBE_POINTS: usize = 100;
const PROBE_STEPS: usize = 6;

/// A quarter turn of an object about one of its box axes: (axis 0..3, index
/// into [`TURNS_DEG`]).
pub(super) type Turn = (usize, usize);

/// Which turned starts [`align_with_turns`] tries.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum TurnSearch {
    /// Probe every quarter turn and refine the most promising.
    All,
    /// Only this one (a turn found before), or none.
    Known(Option<Turn>),
}

/// The start `init` after `turn` of the object about its box axis through
/// `c`.
fn turned_start(init: &Pose, inst: &DbInstance, turn: Turn) -> Pose {
    let (k, d) = turn;
    let axis = inst.bbox.rotation * Vector3::ith_axis(k.min(2));
    let deg = TURNS_DEG.get(d).copied().unwrap_or(0.0);
    let R = UnitQuaternion::from_axis_angle(&axis, deg.to_radians());
    let c = inst.centroid;
    init * Pose::from_parts(Translation3::from(c.coords - R * c.coords), R)
}

/// [`align`] of `src` (points of database object `inst`) onto `dst` from
/// `init`, and when that fits less than `search_below` of `src`, also from
/// `init` after a quarter turn of the object about one of its box axes through
/// its centroid: with [`TurnSearch::All`] every turn (90°, 180°, 270° about
/// each axis) is probed by a short ICP of a sample and the most promising one
/// refined. The turned fit wins when it fits at least [`TURN_GAIN`] more.
/// Returns the alignment, its fit, and the turn that won (if any).
pub(super) fn align_with_turns(
    src: &[Point3<f32>],
    dst: &[Point3<f32>],
    init: Pose,
    inst: &DbInstance,
    radius: f32,
    search_below: f32,
    search: TurnSearch,
) -> (Pose, f32, Option<Turn>) {
    let grid = PointGrid::new(dst, START.max(radius));
    let first = align_on(&grid, src, dst, init, radius, 25);
    if first.1 >= search_below {
        return (first.0, first.1, None);
    }
    let candidate = match search {
        TurnSearch::Known(t) => t,
        TurnSearch::All => {
            let stride = src.len().div_ceil(PROBE_POINTS).max(1);
            let probe: Vec<Point3<f32>> = src.iter().step_by(stride).copied().collect();
            // The first fit measured on the probe's points: a turn no probe
            // shows clearly better is not refined.
            let moved: Vec<Point3<f32>> = probe.iter().map(|p| first.0 * p).collect();
            let mut best = (None, grid.share_within(&moved, radius) + TURN_GAIN);
            for k in 0..3 {
                for d in 0..TURNS_DEG.len() {
                    let start = turned_start(&init, inst, (k, d));
                    let (_, fit) = align_on(&grid, &probe, dst, start, radius, PROBE_STEPS);
                    if fit > best.1 {
                        best = (Some((k, d)), fit);
                    }
                }
            }
            best.0
        }
    };
    if let Some(turn) = candidate {
        let turned = align_on(&grid, src, dst, turned_start(&init, inst, turn), radius, 25);
        if turned.1 > first.1 + TURN_GAIN {
            return (turned.0, turned.1, Some(turn));
        }
    }
    (first.0, first.1, None)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_shapes::box_instance;

    #[test]
    fn a_turn_out_of_reach_of_icp_is_found_from_the_turned_starts() {
        // An L-shaped object (a chair seen from above: seat and back) turned
        // 100° about its vertical axis in place.
        let mut inst = box_instance(
            1,
            Point3::new(1.0, 2.0, 0.4),
            Vector3::new(0.5, 0.5, 0.8),
            vec![1.0],
        );
        let seat = crate::test_shapes::box_points(
            Point3::new(1.0, 2.0, 0.25),
            Vector3::new(0.5, 0.5, 0.1),
        );
        let back = crate::test_shapes::box_points(
            Point3::new(1.0, 2.22, 0.6),
            Vector3::new(0.5, 0.06, 0.6),
        );
        inst.points = seat.iter().chain(&back).copied().collect();
        inst.centroid = crate::frame::centroid(&inst.points);
        let c = inst.centroid;
        let R = UnitQuaternion::from_axis_angle(&Vector3::z_axis(), 100f32.to_radians());
        let truth = Pose::from_parts(Translation3::from(c.coords - R * c.coords), R);
        let live: Vec<Point3<f32>> = inst.points.iter().map(|p| truth * p).collect();
        let (plain, plain_fit) = align(&inst.points, &live, Pose::identity(), 0.03);
        let turned = |dst: &[Point3<f32>], search| {
            align_with_turns(
                &inst.points,
                dst,
                Pose::identity(),
                &inst,
                0.03,
                0.9,
                search,
            )
        };
        let (T, fit, turn) = turned(&live, TurnSearch::All);
        assert!(turn.is_some());
        // The turn found, tried alone, gives the same alignment.
        let (T2, fit2, _) = turned(&live, TurnSearch::Known(turn));
        assert!(fit2 == fit && crate::eval::pose_error(&T2, &T).rotation_deg < 1e-3);
        // Without it, the first fit stays.
        let (_, fit3, none) = turned(&live, TurnSearch::Known(None));
        assert!(none.is_none() && fit3 < 0.9);
        assert!(fit > 0.95, "{fit}");
        let e = crate::eval::pose_error(&T, &truth);
        assert!(e.rotation_deg < 2.0 && e.translation_m < 0.02, "{e:?}");
        // From where it stood alone, ICP stays in a wrong minimum.
        let e0 = crate::eval::pose_error(&plain, &truth);
        assert!(
            plain_fit < 0.9 && e0.rotation_deg > 20.0,
            "{plain_fit} {e0:?}"
        );
        // A good first fit is kept without trying the turns.
        let (same, f, _) = turned(&inst.points, TurnSearch::All);
        assert!(f > 0.99 && crate::eval::pose_error(&same, &Pose::identity()).rotation_deg < 0.1);
    }
}
