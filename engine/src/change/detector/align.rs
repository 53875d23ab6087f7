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

/// Turns tried about each box axis by [`align_with_turns`] (degrees): every
/// 30°.
const TURNS_DEG: [f32; 11] = [
    30.0, 60.0, 90.0, 120.0, 150.0, 180.0, 210.0, 240.0, 270.0, 300.0, 330.0,
];

/// Half the coarse step: the best coarse turns are also probed this much
/// either way (a turn midway between two coarse ones is out of ICP's reach
/// from both for a long object seen partially).
const FINE_DEG: f32 = 15.0;

/// Turns refined in full after the probes: the best probed ones (each coarse
/// one of them also probed [`FINE_DEG`] either way first).
const REFINED: usize = 3;

/// Points of `src` a turned start is probed with, and ICP steps per probe.
const PROBE_POINTS: usize = 100;
const PROBE_STEPS: usize = 6;

/// A turn of an object about one of its box axes: (axis 0..3, degrees).
pub(super) type Turn = (usize, f32);

/// Which turned starts [`align_with_turns`] tries.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum TurnSearch {
    /// Probe every turn and refine the most promising.
    All,
    /// Only this one (a turn found before), or none.
    Known(Option<Turn>),
}

/// The axes an object is turned about: those of its box (`axes`, the box's
/// rotation) through its centroid `centre`.
#[derive(Debug, Clone, Copy)]
pub(super) struct TurnAxes {
    /// The box's rotation (its columns are the axes).
    pub axes: UnitQuaternion<f32>,
    /// The object's centroid.
    pub centre: Point3<f32>,
}

impl TurnAxes {
    /// The axes of `inst`'s own (PCA) box through its centroid.
    pub(super) fn of(inst: &DbInstance) -> TurnAxes {
        TurnAxes {
            axes: inst.bbox.rotation,
            centre: inst.centroid,
        }
    }
}

/// The start `init` after `turn` of the object about one of `about`'s axes.
fn turned_start(init: &Pose, about: &TurnAxes, turn: Turn) -> Pose {
    let (k, deg) = turn;
    let axis = about.axes * Vector3::ith_axis(k.min(2));
    let R = UnitQuaternion::from_axis_angle(&axis, deg.to_radians());
    let c = about.centre;
    init * Pose::from_parts(Translation3::from(c.coords - R * c.coords), R)
}

/// [`align`] of `src` (points of database object `inst`) onto `dst` from
/// `init`, and when that fits less than `search_below` of `src`, also from
/// `init` after a turn of the object about one of the axes `about`: with
/// [`TurnSearch::All`] every turn of [`TURNS_DEG`] about each axis is probed
/// by a short ICP of a sample, the [`REFINED`] best also [`FINE_DEG`] either
/// way, and the [`REFINED`] best of all probes refined in full. Alignments are
/// compared by `score` (how well a pose of the object explains the live
/// points: `src` and `dst` are samples, and for a large object the share of
/// one sample near the other says little); a turned one wins when it scores at
/// least [`TURN_GAIN`] more than the first (the best such). Returns the
/// alignment, its fit (the share of `src` within `radius` of `dst`), and the
/// turn that won (if any).
pub(super) fn align_with_turns(
    src: &[Point3<f32>],
    dst: &[Point3<f32>],
    init: Pose,
    about: &TurnAxes,
    radius: f32,
    search_below: f32,
    search: TurnSearch,
    score: &dyn Fn(&Pose) -> f32,
) -> (Pose, f32, Option<Turn>) {
    let grid = PointGrid::new(dst, START.max(radius));
    let first = align_on(&grid, src, dst, init, radius, 25);
    if first.1 >= search_below {
        return (first.0, first.1, None);
    }
    let first_score = score(&first.0);
    let candidates: Vec<Turn> = match search {
        TurnSearch::Known(t) => t.into_iter().collect(),
        TurnSearch::All => {
            let stride = src.len().div_ceil(PROBE_POINTS).max(1);
            let probe: Vec<Point3<f32>> = src.iter().step_by(stride).copied().collect();
            let probe_fit = |turn: Turn| {
                let start = turned_start(&init, about, turn);
                let (T, _) = align_on(&grid, &probe, dst, start, radius, PROBE_STEPS);
                (turn, score(&T))
            };
            let mut probed: Vec<(Turn, f32)> = (0..3)
                .flat_map(|k| TURNS_DEG.map(|deg| (k, deg)))
                .map(probe_fit)
                .collect();
            let mut best = probed.clone();
            best.sort_by(|a, b| b.1.total_cmp(&a.1));
            for &((k, deg), _) in best.iter().take(REFINED) {
                probed.extend([deg - FINE_DEG, deg + FINE_DEG].map(|d| probe_fit((k, d))));
            }
            // Stable: on equal probe fits the earlier turn first.
            probed.sort_by(|a, b| b.1.total_cmp(&a.1));
            probed.iter().take(REFINED).map(|(t, _)| *t).collect()
        }
    };
    let mut best: Option<(Pose, f32, f32, Turn)> = None;
    for turn in candidates {
        let (T, fit) = align_on(
            &grid,
            src,
            dst,
            turned_start(&init, about, turn),
            radius,
            25,
        );
        let s = score(&T);
        if s > first_score + TURN_GAIN && best.is_none_or(|b| s > b.2) {
            best = Some((T, fit, s, turn));
        }
    }
    match best {
        Some((T, fit, _, turn)) => (T, fit, Some(turn)),
        None => (first.0, first.1, None),
    }
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
        let grid = PointGrid::new(&inst.points, 0.05);
        let turned = |dst: &[Point3<f32>], search| {
            // The share of the live points on the object so placed.
            let score = |T: &Pose| {
                let back: Vec<Point3<f32>> = dst.iter().map(|p| T.inverse() * p).collect();
                grid.share_within(&back, 0.03)
            };
            align_with_turns(
                &inst.points,
                dst,
                Pose::identity(),
                &TurnAxes::of(&inst),
                0.03,
                0.9,
                search,
                &score,
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

    #[test]
    fn a_long_object_turned_between_coarse_turns_and_seen_sparsely_is_found() {
        // A bed-like object (2 x 1 x 0.4 m base, a headboard at one end)
        // turned 105° about the vertical and shifted 0.4 m; the live side is
        // a sparse sample of part of it (every 9th point), the database side
        // every 3rd, as the detector pairs them.
        let base =
            crate::test_shapes::box_points(Point3::new(0.0, 0.0, 0.2), Vector3::new(2.0, 1.0, 0.4));
        let head = crate::test_shapes::box_points(
            Point3::new(-0.95, 0.0, 0.6),
            Vector3::new(0.1, 1.0, 0.8),
        );
        let mut inst = box_instance(
            1,
            Point3::new(0.0, 0.0, 0.5),
            Vector3::new(2.0, 1.0, 1.0),
            vec![1.0],
        );
        inst.points = base.iter().chain(&head).copied().collect();
        inst.centroid = crate::frame::centroid(&inst.points);
        let c = inst.centroid;
        let R = UnitQuaternion::from_axis_angle(&Vector3::z_axis(), 105f32.to_radians());
        let truth = Pose::from_parts(
            Translation3::from(c.coords - R * c.coords + Vector3::new(0.4, 0.0, 0.0)),
            R,
        );
        // Seen partially: the foot end out of view.
        let live: Vec<Point3<f32>> = inst
            .points
            .iter()
            .filter(|p| p.x < 0.4)
            .step_by(9)
            .map(|p| truth * p)
            .collect();
        let src: Vec<Point3<f32>> = inst.points.iter().step_by(3).copied().collect();
        let grid = PointGrid::new(&inst.points, 0.05);
        let score = |T: &Pose| {
            let back: Vec<Point3<f32>> = live.iter().map(|p| T.inverse() * p).collect();
            grid.share_within(&back, 0.05)
        };
        let to = crate::frame::centroid(&live) - c;
        let init = Pose::translation(to.x, to.y, to.z);
        let search = |search| {
            let about = TurnAxes::of(&inst);
            align_with_turns(&src, &live, init, &about, 0.05, 0.9, search, &score)
        };
        let (T, _, turn) = search(TurnSearch::All);
        // The turn is found, and more of the live points lie on the object
        // than without the turns (the pose itself is only as close as the two
        // samples allow: `ChangeDetector::polish` refines it).
        assert!(turn.is_some());
        let e = crate::eval::pose_error(&T, &truth);
        assert!(e.rotation_deg < 3.0, "{e:?} {turn:?}");
        let (plain, _, _) = search(TurnSearch::Known(None));
        assert!(
            score(&T) > score(&plain) + 0.1,
            "{} {}",
            score(&T),
            score(&plain)
        );
    }
}
