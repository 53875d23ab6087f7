//! Pose hypotheses from the room's shape alone: its floor, walls and ceiling.
//!
//! Object correspondences need recognisable objects that have not moved. Early in
//! a session the device may see only bare walls, or only furniture that has been
//! moved since the scan. The structure still fixes the pose when it is seen along
//! three independent directions (the floor and two walls that meet):
//!
//! 1. **Rotation.** The two strongest live surface directions at a clear angle are
//!    taken onto every ordered pair of the map's dominant directions at the same
//!    angle, with either sign: in a room with square corners, the 24 rotations
//!    that take one box onto another.
//! 2. **Translation, one axis at a time.** Along each map direction, the planes
//!    are the peaks of the offsets `d · p` of the points whose normal is along
//!    `d`. A shift along `d` is scored by the share of the live planes' points it
//!    lays onto a map plane; the best shifts of three independent axes give the
//!    translation.
//!
//! Each pose is then checked in 3-D (the share of live structure points it puts
//! within a cell of the map's structure) and ranked by that share. A view that
//! fits the room in many equally good ways (a bare corner) gives none. The rest
//! are only hypotheses: they go through the same ICP and agreement verification
//! as every other one.

use nalgebra::{Matrix3, Point3, Rotation3, Translation3, UnitQuaternion, Vector3};

use super::correspondence::Correspondence;
use super::near_cells::NearCells;
use super::pairs::Direction;
use crate::frame::Pose;

/// Tuning of [`RoomShape::hypotheses`].
#[derive(Debug, Clone, PartialEq)]
pub struct ShapeConfig {
    /// A normal belongs to a direction when within this angle of it (either
    /// sign), degrees; also the tolerance on the angle between two directions.
    pub direction_tolerance_deg: f32,
    /// The two live directions that fix the rotation must be at least this far
    /// from parallel, degrees.
    pub min_axis_angle_deg: f32,
    /// Histogram bin of the plane offsets, metres.
    pub bin_m: f32,
    /// A live plane lies on a map plane when their offsets differ by at most
    /// this, metres.
    pub plane_match_m: f32,
    /// Least share of an axis's points for a peak of the live offsets to count
    /// as a plane.
    pub min_plane_share: f32,
    /// The same for the map's offsets. The map holds the whole room, so a
    /// small face of it (a doorway's side, a recess) is a small share of the
    /// map's points along its axis, yet may be the only plane along that axis
    /// in a view.
    pub map_min_plane_share: f32,
    /// Best shifts kept per axis (more when more are as good as the best).
    pub shifts_per_axis: usize,
    /// Least share of the live plane points the hypothesis lays onto map planes.
    pub min_plane_score: f32,
    /// Cell of the map structure's occupancy for the 3-D check, metres (a live
    /// point is near the structure within one cell of an occupied one).
    pub cell_m: f32,
    /// Live structure points the 3-D check uses (evenly thinned).
    pub check_points: usize,
    /// Least share of those points the hypothesis puts near the map structure.
    pub min_score: f32,
    /// Hypotheses within this share of the best score count as equally good.
    pub tie_margin: f32,
    /// Most combinations of the axes' shifts under one rotation; a view with
    /// more (many planes equally spaced) fits the room in too many ways and
    /// gives no hypothesis.
    pub max_combinations: usize,
    /// Most hypotheses returned (best first). When more than this many are
    /// equally good, the shape in view fits the room in too many ways (a bare
    /// corner) and none is returned.
    pub max_hypotheses: usize,
    /// A pinned hypothesis ([`RoomShape::pinned_hypotheses`]) needs its object
    /// correspondence's centroids within this distance (plus the
    /// correspondence's slack) across the free direction, metres.
    pub pin_max_offset_m: f32,
    /// Most pinned hypotheses returned (best first).
    pub max_pinned: usize,
}

impl Default for ShapeConfig {
    fn default() -> Self {
        ShapeConfig {
            direction_tolerance_deg: 10.0,
            min_axis_angle_deg: 60.0,
            bin_m: 0.05,
            plane_match_m: 0.08,
            min_plane_share: 0.1,
            map_min_plane_share: 0.03,
            shifts_per_axis: 2,
            min_plane_score: 0.8,
            cell_m: 0.1,
            check_points: 300,
            min_score: 0.8,
            tie_margin: 0.03,
            max_combinations: 64,
            max_hypotheses: 6,
            pin_max_offset_m: 0.3,
            max_pinned: 12,
        }
    }
}

/// A pose from the room's shape.
#[derive(Debug, Clone, PartialEq)]
pub struct ShapeHypothesis {
    /// Maps session points into the map frame.
    pub T_map_session: Pose,
    /// Share of the live structure points it puts near the map's, `[0, 1]`.
    pub score: f32,
}

/// The planes of one direction: offsets along it and each plane's share of the
/// points along it.
#[derive(Debug, Clone, PartialEq)]
pub struct AxisPlanes {
    /// Unit direction.
    pub dir: Vector3<f32>,
    /// `(offset, share)` per plane, offsets in metres along `dir`.
    pub planes: Vec<(f32, f32)>,
    /// Points whose normal is along `dir`.
    pub points: usize,
}

/// The planes of a point set along each of `dirs` (see the module text).
pub fn axis_planes(
    points: &[Point3<f32>],
    normals: &[Vector3<f32>],
    dirs: &[Vector3<f32>],
    cfg: &ShapeConfig,
) -> Vec<AxisPlanes> {
    let cos_tol = cfg.direction_tolerance_deg.to_radians().cos();
    dirs.iter()
        .map(|d| {
            let offsets: Vec<f32> = points
                .iter()
                .zip(normals)
                .filter(|(_, n)| n.norm() > 1e-6 && (n.dot(d) / n.norm()).abs() >= cos_tol)
                .map(|(p, _)| d.dot(&p.coords))
                .filter(|o| o.is_finite())
                .collect();
            AxisPlanes {
                dir: *d,
                planes: peaks(&offsets, cfg),
                points: offsets.len(),
            }
        })
        .collect()
}

/// Peaks of a histogram of `offsets`: bins at least as full as both
/// neighbours (strictly fuller than the left one, so a flat top counts once)
/// holding `min_plane_share` of the offsets; each peak's offset is the mean of
/// its bin and the two beside it.
fn peaks(offsets: &[f32], cfg: &ShapeConfig) -> Vec<(f32, f32)> {
    if offsets.is_empty() || cfg.bin_m <= 0.0 {
        return Vec::new();
    }
    let lo = offsets.iter().copied().fold(f32::INFINITY, f32::min);
    let hi = offsets.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    // Bounded: a few hundred metres of offsets at most is any room's structure.
    let bins = (((hi - lo) / cfg.bin_m) as usize + 1).min(100_000);
    let mut count = vec![0usize; bins];
    let mut sum = vec![0f32; bins];
    for &o in offsets {
        let b = (((o - lo) / cfg.bin_m) as usize).min(bins - 1);
        count[b] += 1;
        sum[b] += o;
    }
    let total = offsets.len() as f32;
    let at = |i: isize| -> usize {
        if i < 0 || i as usize >= bins {
            0
        } else {
            count[i as usize]
        }
    };
    let mut out = Vec::new();
    for i in 0..bins as isize {
        let c = at(i);
        if c == 0 || c <= at(i - 1) || c < at(i + 1) {
            continue;
        }
        let range = (i - 1).max(0) as usize..=((i + 1) as usize).min(bins - 1);
        let n: usize = range.clone().map(|j| count[j]).sum();
        let share = n as f32 / total;
        if share >= cfg.min_plane_share {
            let s: f32 = range.map(|j| sum[j]).sum();
            out.push((s / n as f32, share));
        }
    }
    out
}

/// Rotations taking the two strongest live directions at a clear angle onto the
/// map's directions at the same angle (see the module text).
fn rotations(live: &[Direction], map: &[Direction], cfg: &ShapeConfig) -> Vec<Rotation3<f32>> {
    let tol = cfg.direction_tolerance_deg.to_radians();
    let min_angle = cfg.min_axis_angle_deg.to_radians();
    // Sign-free angle between two directions, in [0, 90°].
    let angle = |a: &Vector3<f32>, b: &Vector3<f32>| a.dot(b).abs().min(1.0).acos();
    let Some(a1) = live.first().map(|d| d.dir) else {
        return Vec::new();
    };
    let Some(a2) = live
        .iter()
        .skip(1)
        .map(|d| d.dir)
        .find(|d| angle(&a1, d) >= min_angle)
    else {
        return Vec::new();
    };
    let live_angle = angle(&a1, &a2);
    let mut out: Vec<Rotation3<f32>> = Vec::new();
    for (i, b1) in map.iter().enumerate() {
        for (j, b2) in map.iter().enumerate() {
            if i == j || (angle(&b1.dir, &b2.dir) - live_angle).abs() > tol {
                continue;
            }
            for s1 in [1.0f32, -1.0] {
                for s2 in [1.0f32, -1.0] {
                    let (m1, m2) = (b1.dir * s1, b2.dir * s2);
                    // The live pair's cosine sign must be the map pair's.
                    if (a1.dot(&a2) * m1.dot(&m2)) < 0.0 && a1.dot(&a2).abs() > 0.05 {
                        continue;
                    }
                    if let (Some(fa), Some(fb)) = (frame(&a1, &a2), frame(&m1, &m2)) {
                        let r = Rotation3::from_matrix_unchecked(fb * fa.transpose());
                        if !out.iter().any(|o| o.angle_to(&r) < 1e-3) {
                            out.push(r);
                        }
                    }
                }
            }
        }
    }
    out
}

/// Orthonormal frame (columns) with `a` first and `b` in the first two.
fn frame(a: &Vector3<f32>, b: &Vector3<f32>) -> Option<Matrix3<f32>> {
    let e1 = a.try_normalize(1e-6)?;
    let e2 = (b - e1 * e1.dot(b)).try_normalize(1e-6)?;
    let e3 = e1.cross(&e2);
    Some(Matrix3::from_columns(&[e1, e2, e3]))
}

/// Shifts along one axis that lay the live planes onto the map planes, best
/// first, each with the share of the live planes' points it lays there: the
/// best `shifts_per_axis`, and all that are as good as the best.
fn axis_shifts(live: &[(f32, f32)], map: &[(f32, f32)], cfg: &ShapeConfig) -> Vec<(f32, f32)> {
    let weight: f32 = live.iter().map(|l| l.1).sum();
    if weight <= 0.0 {
        return Vec::new();
    }
    let mut scored: Vec<(f32, f32)> = Vec::new();
    for l in live {
        for m in map {
            let shift = m.0 - l.0;
            let on: f32 = live
                .iter()
                .filter(|x| {
                    map.iter()
                        .any(|y| (x.0 + shift - y.0).abs() <= cfg.plane_match_m)
                })
                .map(|x| x.1)
                .sum();
            scored.push((shift, on / weight));
        }
    }
    scored.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.total_cmp(&b.0)));
    let best = scored.first().map_or(0.0, |s| s.1);
    let mut out: Vec<(f32, f32)> = Vec::new();
    for s in scored {
        // Every shift as good as the best is kept, however many: they are what
        // tells a distinctive view from one that fits in many places.
        if out.len() >= cfg.shifts_per_axis && s.1 < best - cfg.tie_margin {
            break;
        }
        if !out
            .iter()
            .any(|o| (o.0 - s.0).abs() <= 2.0 * cfg.plane_match_m)
        {
            out.push(s);
        }
    }
    out
}

/// A map's structure prepared for [`RoomShape::hypotheses`]: its dominant
/// directions, its planes along them and the cells near it.
#[derive(Debug, Clone)]
pub struct RoomShape {
    dirs: Vec<Direction>,
    planes: Vec<AxisPlanes>,
    near: NearCells,
}

impl RoomShape {
    /// Prepares the map structure `points` with unit `normals` (map frame) and
    /// their dominant directions `dirs` (as
    /// [`crate::localise::pairs::dominant_directions`] gives them).
    pub fn new(
        points: &[Point3<f32>],
        normals: &[Vector3<f32>],
        dirs: Vec<Direction>,
        cfg: &ShapeConfig,
    ) -> RoomShape {
        let axes: Vec<Vector3<f32>> = dirs.iter().map(|d| d.dir).collect();
        let map_cfg = ShapeConfig {
            min_plane_share: cfg.map_min_plane_share,
            ..cfg.clone()
        };
        RoomShape {
            planes: axis_planes(points, normals, &axes, &map_cfg),
            near: NearCells::new(points, cfg.cell_m, 1),
            dirs,
        }
    }

    /// Pose hypotheses from the room's shape (see the module text), best first.
    /// `live_*` are structure points and normals in the session frame with
    /// their dominant directions. Empty when the live structure does not fix all
    /// three axes, or fits the room in more than `max_hypotheses` equally good
    /// ways.
    pub fn hypotheses(
        &self,
        live_points: &[Point3<f32>],
        live_normals: &[Vector3<f32>],
        live_dirs: &[Direction],
        cfg: &ShapeConfig,
    ) -> Vec<ShapeHypothesis> {
        // Surfaces along fewer than three independent directions leave the
        // pose free along one of them.
        if !spans_space(&live_dirs.iter().map(|d| d.dir).collect::<Vec<_>>()) {
            return Vec::new();
        }
        let check = check_sample(live_points, cfg);
        if check.is_empty() {
            return Vec::new();
        }
        let mut out: Vec<ShapeHypothesis> = Vec::new();
        for r in rotations(live_dirs, &self.dirs, cfg) {
            let axes = self.axes_under(&r, live_points, live_normals, cfg);
            let dirs: Vec<Vector3<f32>> = axes.iter().map(|a| a.dir).collect();
            if !spans_space(&dirs) {
                continue;
            }
            let Some(placements) = placements(&axes, cfg) else {
                // So many equally placed planes fit nothing in particular.
                return Vec::new();
            };
            let rotation = UnitQuaternion::from_rotation_matrix(&r);
            for shifts in placements {
                let Some(t) = solve_translation(&dirs, &shifts) else {
                    continue;
                };
                out.extend(self.checked(
                    &check,
                    Pose::from_parts(Translation3::from(t), rotation),
                    cfg,
                ));
            }
        }
        out.sort_by(|a, b| b.score.total_cmp(&a.score));
        let ties = out
            .iter()
            .take_while(|h| h.score >= out[0].score - cfg.tie_margin)
            .count();
        if ties > cfg.max_hypotheses {
            log::trace!("room shape: {ties} equally good poses, none taken");
            return Vec::new();
        }
        out.truncate(cfg.max_hypotheses);
        out
    }

    /// Pose hypotheses from a view whose structure fixes the pose but for one
    /// direction (the floor and walls along one direction: nothing fixes the
    /// position along them), each placed along that direction by an object
    /// correspondence of `anchors`: the rotation and the other two axes come
    /// from the planes as in [`RoomShape::hypotheses`], the shift along the
    /// free direction from the correspondence's centroids, which must agree
    /// across it within `pin_max_offset_m` plus the correspondence's slack.
    /// Best first by the structure check, at most `max_pinned`; empty when the
    /// live structure fixes all three axes (or fewer than two). The structure
    /// cannot tell these poses apart: which object is where decides, so the
    /// caller checks the objects before refining any.
    pub fn pinned_hypotheses(
        &self,
        live_points: &[Point3<f32>],
        live_normals: &[Vector3<f32>],
        live_dirs: &[Direction],
        anchors: &[Correspondence],
        cfg: &ShapeConfig,
    ) -> Vec<ShapeHypothesis> {
        let live_axes: Vec<Vector3<f32>> = live_dirs.iter().map(|d| d.dir).collect();
        if anchors.is_empty() || spans_space(&live_axes) {
            return Vec::new();
        }
        let check = check_sample(live_points, cfg);
        if check.is_empty() {
            return Vec::new();
        }
        let mut out: Vec<ShapeHypothesis> = Vec::new();
        for r in rotations(live_dirs, &self.dirs, cfg) {
            let axes = self.axes_under(&r, live_points, live_normals, cfg);
            let mut dirs: Vec<Vector3<f32>> = axes.iter().map(|a| a.dir).collect();
            let Some(free) = free_direction(&dirs) else {
                continue;
            };
            let Some(placements) = placements(&axes, cfg) else {
                continue;
            };
            dirs.push(free);
            let rotation = UnitQuaternion::from_rotation_matrix(&r);
            for mut shifts in placements {
                // Nothing along the free direction yet: the anchor sets it.
                shifts.push(0.0);
                let Some(t0) = solve_translation(&dirs, &shifts) else {
                    continue;
                };
                for a in anchors {
                    let delta = a.p_map.coords - (r * a.p_session.coords + t0);
                    let along = free.dot(&delta);
                    let across = (delta - free * along).norm();
                    if !across.is_finite() || across > cfg.pin_max_offset_m + a.slack.max(0.0) {
                        continue;
                    }
                    let t = t0 + free * along;
                    if out.iter().any(|h| {
                        (h.T_map_session.translation.vector - t).norm() <= cfg.plane_match_m
                            && h.T_map_session.rotation.angle_to(&rotation) < 1e-3
                    }) {
                        continue;
                    }
                    out.extend(self.checked(
                        &check,
                        Pose::from_parts(Translation3::from(t), rotation),
                        cfg,
                    ));
                }
            }
        }
        out.sort_by(|a, b| b.score.total_cmp(&a.score));
        out.truncate(cfg.max_pinned);
        out
    }

    /// The map axes with the shifts that lay the live planes onto the map's
    /// under rotation `r` (axes without any left out). The live plane offsets
    /// along a map axis `d` are those along `rᵀ d` in the session frame:
    /// d·(r p) = (rᵀ d)·p, so the shift along `d` is read off directly.
    fn axes_under(
        &self,
        r: &Rotation3<f32>,
        live_points: &[Point3<f32>],
        live_normals: &[Vector3<f32>],
        cfg: &ShapeConfig,
    ) -> Vec<Axis> {
        let back: Vec<Vector3<f32>> = self.planes.iter().map(|a| r.inverse() * a.dir).collect();
        let live_planes = axis_planes(live_points, live_normals, &back, cfg);
        self.planes
            .iter()
            .zip(&live_planes)
            .map(|(m, l)| Axis {
                dir: m.dir,
                points: l.points as f32,
                shifts: axis_shifts(&l.planes, &m.planes, cfg),
            })
            .filter(|a| !a.shifts.is_empty())
            .collect()
    }

    /// `pose` as a hypothesis when it puts at least `min_score` of `check`
    /// (session frame) near the map's structure (the 3-D check).
    fn checked(
        &self,
        check: &[Point3<f32>],
        pose: Pose,
        cfg: &ShapeConfig,
    ) -> Option<ShapeHypothesis> {
        let near = check
            .iter()
            .filter(|p| self.near.contains(&(pose * *p)))
            .count();
        let score = near as f32 / check.len().max(1) as f32;
        (score >= cfg.min_score).then_some(ShapeHypothesis {
            T_map_session: pose,
            score,
        })
    }
}

/// One map axis under a rotation: its direction, the live points along it and
/// the best shifts `(metres, share of the live plane points laid onto map
/// planes)`.
struct Axis {
    dir: Vector3<f32>,
    points: f32,
    shifts: Vec<(f32, f32)>,
}

/// The live structure points the 3-D check uses: every few, at most
/// `check_points`.
fn check_sample(live_points: &[Point3<f32>], cfg: &ShapeConfig) -> Vec<Point3<f32>> {
    let stride = live_points.len().div_ceil(cfg.check_points.max(1)).max(1);
    live_points.iter().step_by(stride).copied().collect()
}

/// The shifts (one per axis, in the order of `axes`) of every combination of
/// the axes' best shifts that lays at least `min_plane_score` of the live
/// plane points onto map planes; `None` when there are more than
/// `max_combinations` combinations (so many equally placed planes fit nothing
/// in particular).
fn placements(axes: &[Axis], cfg: &ShapeConfig) -> Option<Vec<Vec<f32>>> {
    let total: f32 = axes.iter().map(|a| a.points).sum::<f32>().max(1.0);
    let choices: Vec<usize> = axes.iter().map(|a| a.shifts.len()).collect();
    if choices.iter().product::<usize>() > cfg.max_combinations {
        log::trace!("room shape: {choices:?} shifts per axis, none taken");
        return None;
    }
    let mut out = Vec::new();
    for c in combinations(&choices) {
        let plane_score = axes
            .iter()
            .zip(&c)
            .map(|(a, &k)| a.points * a.shifts[k].1)
            .sum::<f32>()
            / total;
        if plane_score >= cfg.min_plane_score {
            out.push(axes.iter().zip(&c).map(|(a, &k)| a.shifts[k].0).collect());
        }
    }
    Some(out)
}

/// The one direction that `dirs` leave free: the normal of the plane they
/// span, when they span a plane with a clear margin but not 3-D space.
fn free_direction(dirs: &[Vector3<f32>]) -> Option<Vector3<f32>> {
    let m = dirs
        .iter()
        .fold(Matrix3::zeros(), |m, d| m + d * d.transpose());
    let eig = m.symmetric_eigen();
    let mut order = [0usize, 1, 2];
    order.sort_by(|&a, &b| eig.eigenvalues[a].total_cmp(&eig.eigenvalues[b]));
    let (least, middle) = (eig.eigenvalues[order[0]], eig.eigenvalues[order[1]]);
    if least > 0.2 || middle <= 0.2 {
        return None;
    }
    eig.eigenvectors.column(order[0]).try_normalize(1e-6)
}

/// Every choice of one index per axis, for axes with `counts` options each.
fn combinations(counts: &[usize]) -> Vec<Vec<usize>> {
    let mut combos: Vec<Vec<usize>> = vec![Vec::new()];
    for &n in counts {
        combos = combos
            .into_iter()
            .flat_map(|c| {
                (0..n).map(move |k| {
                    let mut c = c.clone();
                    c.push(k);
                    c
                })
            })
            .collect();
    }
    combos
}

/// Whether the directions span 3-D space with a clear margin.
fn spans_space(dirs: &[Vector3<f32>]) -> bool {
    let m = dirs
        .iter()
        .fold(Matrix3::zeros(), |m, d| m + d * d.transpose());
    m.symmetric_eigenvalues().min() > 0.2
}

/// The translation `t` with `dᵢ · t ≈ sᵢ` for every axis (least squares).
fn solve_translation(dirs: &[Vector3<f32>], shifts: &[f32]) -> Option<Vector3<f32>> {
    let mut ata = Matrix3::zeros();
    let mut atb = Vector3::zeros();
    for (d, s) in dirs.iter().zip(shifts) {
        ata += d * d.transpose();
        atb += d * *s;
    }
    ata.try_inverse().map(|inv| inv * atb)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::localise::pairs::dominant_directions;

    fn prepared(p: &[Point3<f32>], n: &[Vector3<f32>], cfg: &ShapeConfig) -> RoomShape {
        RoomShape::new(p, n, dirs(n), cfg)
    }

    /// An L-shaped room's structure: floor, ceiling and six walls, sampled every
    /// 10 cm, with normals; `keep` filters what the live view sees.
    fn l_room(keep: impl Fn(&Point3<f32>) -> bool) -> (Vec<Point3<f32>>, Vec<Vector3<f32>>) {
        let (mut p, mut n) = (Vec::new(), Vec::new());
        let mut push = |q: Point3<f32>, m: Vector3<f32>| {
            if keep(&q) {
                p.push(q);
                n.push(m);
            }
        };
        let inside = |x: f32, y: f32| {
            (0.0..=6.0).contains(&x) && (0.0..=4.0).contains(&y) && !(x > 3.5 && y > 2.0)
        };
        for i in 0..=60 {
            for j in 0..=40 {
                let (x, y) = (i as f32 * 0.1, j as f32 * 0.1);
                if inside(x, y) {
                    push(Point3::new(x, y, 0.0), Vector3::z());
                    push(Point3::new(x, y, 2.6), -Vector3::z());
                }
            }
        }
        for k in 0..=26 {
            let z = k as f32 * 0.1;
            for i in 0..=60 {
                let x = i as f32 * 0.1;
                push(Point3::new(x, 0.0, z), Vector3::y());
                if x <= 3.5 {
                    push(Point3::new(x, 4.0, z), -Vector3::y());
                } else {
                    push(Point3::new(x, 2.0, z), -Vector3::y());
                }
            }
            for j in 0..=40 {
                let y = j as f32 * 0.1;
                push(Point3::new(0.0, y, z), Vector3::x());
                if y <= 2.0 {
                    push(Point3::new(6.0, y, z), -Vector3::x());
                } else {
                    push(Point3::new(3.5, y, z), -Vector3::x());
                }
            }
        }
        (p, n)
    }

    fn dirs(n: &[Vector3<f32>]) -> Vec<Direction> {
        dominant_directions(n, 10.0, 0.05, 4)
    }

    #[test]
    fn a_corner_with_its_neighbouring_walls_gives_the_true_pose_first() {
        let cfg = ShapeConfig::default();
        let (mp, mn) = l_room(|_| true);
        let room = prepared(&mp, &mn, &cfg);
        // The live view: the inner corner of the L and the walls beside it.
        let (lp, ln) = l_room(|q| q.x > 2.5 && q.y > 1.2 && q.z < 2.0);
        let truth = Pose::from_parts(
            Translation3::new(1.0, -7.0, 0.4),
            UnitQuaternion::from_euler_angles(0.3, -0.5, 2.0),
        );
        let session = truth.inverse();
        let sp: Vec<Point3<f32>> = lp.iter().map(|p| session * p).collect();
        let sn: Vec<Vector3<f32>> = ln.iter().map(|n| session.rotation * n).collect();
        let hyps = room.hypotheses(&sp, &sn, &dirs(&sn), &cfg);
        assert!(!hyps.is_empty());
        let best = &hyps[0];
        let d = best.T_map_session * truth.inverse();
        assert!(d.translation.vector.norm() < 0.05, "{:?}", best);
        assert!(d.rotation.angle() < 0.01, "{:?}", best);
        assert!(best.score > 0.95);
    }

    #[test]
    fn a_floor_and_one_wall_fix_no_pose() {
        let cfg = ShapeConfig::default();
        let (mp, mn) = l_room(|_| true);
        let room = prepared(&mp, &mn, &cfg);
        // Floor and the long wall only: nothing fixes the position along it.
        let (lp, ln) = l_room(|q| q.y < 1.5 && q.x > 1.0 && q.x < 5.0 && q.z < 2.0);
        let hyps = room.hypotheses(&lp, &ln, &dirs(&ln), &cfg);
        assert!(hyps.is_empty(), "{hyps:?}");
    }

    /// A correspondence of one object: seen at `seen` (session frame), matched
    /// to a database object at `mapped`.
    fn anchor(seen: Point3<f32>, mapped: Point3<f32>) -> Correspondence {
        Correspondence {
            live: 1,
            db: 7,
            p_session: seen,
            p_map: mapped,
            weight: 0.9,
            slack: 0.0,
        }
    }

    #[test]
    fn a_floor_and_one_wall_with_an_object_give_the_pose_along_the_wall() {
        let cfg = ShapeConfig::default();
        let (mp, mn) = l_room(|_| true);
        let room = prepared(&mp, &mn, &cfg);
        let (lp, ln) = l_room(|q| q.y < 1.5 && q.x > 1.0 && q.x < 5.0 && q.z < 2.0);
        let truth = Pose::from_parts(
            Translation3::new(1.0, -7.0, 0.4),
            UnitQuaternion::from_euler_angles(0.3, -0.5, 2.0),
        );
        let session = truth.inverse();
        let sp: Vec<Point3<f32>> = lp.iter().map(|p| session * p).collect();
        let sn: Vec<Vector3<f32>> = ln.iter().map(|n| session.rotation * n).collect();
        let sd = dirs(&sn);
        // An object by the wall, in the map frame, and where the device sees it.
        let object = Point3::new(3.2, 0.6, 0.4);
        let seen = session * object;
        // The structure alone leaves the position along the wall free.
        assert!(room.hypotheses(&sp, &sn, &sd, &cfg).is_empty());
        assert!(room.pinned_hypotheses(&sp, &sn, &sd, &[], &cfg).is_empty());
        // The offset of each hypothesis from the truth.
        let offset = |h: &ShapeHypothesis| h.T_map_session * truth.inverse();
        let at = |h: &ShapeHypothesis, shift: Vector3<f32>| {
            let d = offset(h);
            (d.translation.vector - shift).norm() < 0.05 && d.rotation.angle() < 0.01
        };
        let hyps = room.pinned_hypotheses(&sp, &sn, &sd, &[anchor(seen, object)], &cfg);
        assert!(hyps.iter().any(|h| at(h, Vector3::zeros())), "{hyps:?}");
        assert!(hyps.len() <= cfg.max_pinned);
        // Matched to an object a metre further along the wall, the pose moves
        // along with it.
        let along = Vector3::new(1.0, 0.0, 0.0);
        let moved = room.pinned_hypotheses(&sp, &sn, &sd, &[anchor(seen, object + along)], &cfg);
        assert!(moved.iter().any(|h| at(h, along)), "{moved:?}");
        assert!(!moved.iter().any(|h| at(h, Vector3::zeros())));
        // Matched to an object a metre out from the wall: the planes fix that
        // axis, so at the true rotation no pose agrees with it.
        let out = Vector3::new(0.0, 1.0, 0.0);
        let across = room.pinned_hypotheses(&sp, &sn, &sd, &[anchor(seen, object + out)], &cfg);
        assert!(
            !across.iter().any(|h| offset(h).rotation.angle() < 0.01),
            "{across:?}"
        );
        // ... unless the correspondence's slack (a partial view) allows it.
        let mut loose = anchor(seen, object + out);
        loose.slack = 0.8;
        let slack = room.pinned_hypotheses(&sp, &sn, &sd, &[loose], &cfg);
        assert!(slack.iter().any(|h| at(h, Vector3::zeros())), "{slack:?}");
    }

    #[test]
    fn a_view_that_fixes_every_axis_gives_no_pinned_hypothesis() {
        let cfg = ShapeConfig::default();
        let (mp, mn) = l_room(|_| true);
        let room = prepared(&mp, &mn, &cfg);
        let (lp, ln) = l_room(|q| q.x > 2.5 && q.y > 1.2 && q.z < 2.0);
        let object = Point3::new(3.0, 1.5, 0.4);
        let pinned = room.pinned_hypotheses(&lp, &ln, &dirs(&ln), &[anchor(object, object)], &cfg);
        assert!(pinned.is_empty(), "{pinned:?}");
        // The full hypotheses are what such a view gives.
        assert!(!room.hypotheses(&lp, &ln, &dirs(&ln), &cfg).is_empty());
    }

    #[test]
    fn the_free_direction_is_the_one_the_planes_leave() {
        let free = free_direction(&[Vector3::z(), Vector3::y()]).expect("two axes");
        assert!(free.x.abs() > 0.999, "{free:?}");
        assert!(free_direction(&[Vector3::z(), Vector3::y(), Vector3::x()]).is_none());
        assert!(free_direction(&[Vector3::z()]).is_none());
    }

    /// A 6 m x 4 m room with a doorway in its wall at x = 6 (y from 1.0 to
    /// 1.9, 2.1 m high) onto a passage 1 m deep: the passage's two sides and
    /// the wall at its end, seen through the doorway. Floor, walls and ceiling sampled every 10 cm;
    /// `keep` filters what the live view sees by point and normal.
    fn doorway_room(
        keep: impl Fn(&Point3<f32>, &Vector3<f32>) -> bool,
    ) -> (Vec<Point3<f32>>, Vec<Vector3<f32>>) {
        let (mut p, mut n) = (Vec::new(), Vec::new());
        let mut push = |q: Point3<f32>, m: Vector3<f32>| {
            if keep(&q, &m) {
                p.push(q);
                n.push(m);
            }
        };
        let in_door = |y: f32, z: f32| (1.0..=1.9).contains(&y) && z <= 2.1;
        for i in 0..=60 {
            for j in 0..=40 {
                let (x, y) = (i as f32 * 0.1, j as f32 * 0.1);
                push(Point3::new(x, y, 0.0), Vector3::z());
                push(Point3::new(x, y, 2.6), -Vector3::z());
            }
        }
        for k in 0..=26 {
            let z = k as f32 * 0.1;
            for i in 0..=60 {
                let x = i as f32 * 0.1;
                push(Point3::new(x, 0.0, z), Vector3::y());
                push(Point3::new(x, 4.0, z), -Vector3::y());
            }
            for j in 0..=40 {
                let y = j as f32 * 0.1;
                push(Point3::new(0.0, y, z), Vector3::x());
                if !in_door(y, z) {
                    push(Point3::new(6.0, y, z), -Vector3::x());
                } else {
                    push(Point3::new(7.0, y, z), -Vector3::x());
                }
            }
            if z <= 2.1 {
                for i in 1..10 {
                    let x = 6.0 + i as f32 * 0.1;
                    push(Point3::new(x, 1.0, z), Vector3::y());
                    push(Point3::new(x, 1.9, z), -Vector3::y());
                }
            }
        }
        (p, n)
    }

    #[test]
    fn a_doorway_side_places_the_pose_along_the_wall() {
        let cfg = ShapeConfig::default();
        let (mp, mn) = doorway_room(|_, _| true);
        // The view: the floor and the wall by the door, the door's near side
        // and the wall behind it; no other wall along y.
        let (lp, ln) = doorway_room(|q, m| {
            q.x > 4.0 && q.y > 0.3 && q.y < 3.0 && q.z < 2.0 && (m.y.abs() < 0.5 || q.y < 1.5)
        });
        let truth = Pose::from_parts(
            Translation3::new(-2.0, 3.0, 0.7),
            UnitQuaternion::from_euler_angles(0.1, 0.2, -1.1),
        );
        let session = truth.inverse();
        let sp: Vec<Point3<f32>> = lp.iter().map(|p| session * p).collect();
        let sn: Vec<Vector3<f32>> = ln.iter().map(|n| session.rotation * n).collect();
        let near_truth = |hyps: &[ShapeHypothesis]| {
            hyps.iter().any(|h| {
                let d = h.T_map_session * truth.inverse();
                d.translation.vector.norm() < 0.05 && d.rotation.angle() < 0.01
            })
        };
        // The door's sides are a few per cent of the map's points along y:
        // counted as map planes only at the map's own, lower share.
        let room = prepared(&mp, &mn, &cfg);
        let hyps = room.hypotheses(&sp, &sn, &dirs(&sn), &cfg);
        assert!(near_truth(&hyps[..1]), "{hyps:?}");
        let as_live = ShapeConfig {
            map_min_plane_share: cfg.min_plane_share,
            ..cfg.clone()
        };
        let room = prepared(&mp, &mn, &as_live);
        let hyps = room.hypotheses(&sp, &sn, &dirs(&sn), &as_live);
        assert!(!near_truth(&hyps), "{hyps:?}");
    }

    #[test]
    fn a_bare_corner_fits_too_many_places_to_give_any() {
        let cfg = ShapeConfig::default();
        let (mp, mn) = l_room(|_| true);
        let room = prepared(&mp, &mn, &cfg);
        // An outer corner: the floor and two walls, as at five corners of the L
        // (and upside down at the ceiling).
        let (lp, ln) = l_room(|q| q.x < 1.5 && q.y < 1.5 && q.z < 2.0);
        assert_eq!(room.hypotheses(&lp, &ln, &dirs(&ln), &cfg), Vec::new());
        // With no tie limit it does find poses: the limit is what refuses.
        let loose = ShapeConfig {
            max_hypotheses: 1000,
            ..cfg
        };
        assert!(room.hypotheses(&lp, &ln, &dirs(&ln), &loose).len() > 6);
    }

    #[test]
    fn peaks_find_the_planes_and_their_shares() {
        let cfg = ShapeConfig::default();
        let mut offsets = vec![1.0f32; 60];
        offsets.extend(vec![3.02f32; 30]);
        offsets.extend([2.0, 2.3]);
        let p = peaks(&offsets, &cfg);
        assert_eq!(p.len(), 2, "{p:?}");
        assert!((p[0].0 - 1.0).abs() < 1e-4 && (p[0].1 - 60.0 / 92.0).abs() < 1e-4);
        assert!((p[1].0 - 3.02).abs() < 1e-4);
        assert!(peaks(&[], &cfg).is_empty());
    }
}
