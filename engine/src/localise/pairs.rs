//! Pose hypotheses from TWO instance correspondences and the room's dominant
//! surface directions.
//!
//! Minimal-set RANSAC needs three consistent correspondences. Early in a session,
//! or in a room where most of what is in view has changed, only two mapped
//! objects may be recognisable. Two centroids fix the pose up to one rotation
//! about the line through them; the live structure (floor, walls) fixes that
//! rotation: the angle that brings the live dominant normal directions onto the
//! map's. The result is only a hypothesis: it goes through the same ICP and
//! agreement verification as every other one.

use nalgebra::{Point3, Translation3, Unit, UnitQuaternion, Vector3};

use super::correspondence::Correspondence;
use crate::frame::Pose;

/// Tuning of [`pair_hypotheses`].
#[derive(Debug, Clone, PartialEq)]
pub struct PairConfig {
    /// Least distance between the two live centroids (metres): closer pairs leave
    /// the axis too uncertain.
    pub min_separation_m: f32,
    /// Pair-distance tolerance (metres), plus both correspondences' slack.
    pub distance_tolerance_m: f32,
    /// Step of the sweep about the pair's axis, degrees.
    pub sweep_step_deg: f32,
    /// Live and map directions agree when within this angle, degrees.
    pub direction_tolerance_deg: f32,
    /// Least share of the live direction weight the best angle must explain.
    pub min_direction_share: f32,
    /// Most hypotheses returned.
    pub max_hypotheses: usize,
}

impl Default for PairConfig {
    fn default() -> Self {
        PairConfig {
            min_separation_m: 0.6,
            distance_tolerance_m: 0.25,
            sweep_step_deg: 3.0,
            direction_tolerance_deg: 8.0,
            min_direction_share: 0.6,
            max_hypotheses: 6,
        }
    }
}

/// A dominant surface direction (unit, sign-free) and its share of the points.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Direction {
    /// Unit direction; `d` and `-d` are the same direction.
    pub dir: Vector3<f32>,
    /// Share of the normals in this direction's cluster, `(0, 1]`.
    pub share: f32,
}

/// The dominant directions of a set of normals: greedy clusters of normals within
/// `tolerance_deg` of each other (sign-free), at most `max` of them, each holding
/// at least `min_share` of the normals, largest first. Zero and non-finite
/// normals are ignored.
pub fn dominant_directions(
    normals: &[Vector3<f32>],
    tolerance_deg: f32,
    min_share: f32,
    max: usize,
) -> Vec<Direction> {
    let cos_tol = tolerance_deg.to_radians().cos();
    let units: Vec<Vector3<f32>> = normals
        .iter()
        .filter(|n| n.iter().all(|v| v.is_finite()) && n.norm() > 1e-6)
        .map(|n| n.normalize())
        .collect();
    if units.is_empty() {
        return Vec::new();
    }
    // Seeds on a coarse sample; each cluster's direction is the sign-aligned mean.
    let stride = units.len().div_ceil(400).max(1);
    let mut found: Vec<Direction> = Vec::new();
    let mut taken = vec![false; units.len()];
    for _ in 0..max {
        let mut best: Option<(usize, usize)> = None;
        for (s, seed) in units.iter().enumerate().step_by(stride) {
            if taken[s] {
                continue;
            }
            let count = units
                .iter()
                .enumerate()
                .step_by(stride)
                .filter(|(i, u)| !taken[*i] && u.dot(seed).abs() >= cos_tol)
                .count();
            if best.is_none_or(|(_, c)| count > c) {
                best = Some((s, count));
            }
        }
        let Some((s, _)) = best else { break };
        let seed = units[s];
        let mut sum = Vector3::zeros();
        let mut count = 0usize;
        for (i, u) in units.iter().enumerate() {
            let c = u.dot(&seed);
            if !taken[i] && c.abs() >= cos_tol {
                sum += if c < 0.0 { -u } else { *u };
                taken[i] = true;
                count += 1;
            }
        }
        let share = count as f32 / units.len() as f32;
        if share < min_share || sum.norm() < 1e-6 {
            break;
        }
        found.push(Direction {
            dir: sum.normalize(),
            share,
        });
    }
    found
}

/// A hypothesis from two correspondences.
#[derive(Debug, Clone, PartialEq)]
pub struct PairHypothesis {
    /// Maps session points into the map frame.
    pub T_map_session: Pose,
    /// Indices of the two correspondences it was made from.
    pub pair: [usize; 2],
    /// Share of the live direction weight explained at the chosen angle.
    pub direction_share: f32,
    /// Sum of the two correspondences' weights.
    pub weight: f32,
}

/// Rotation taking unit `a` onto unit `b` (any of the valid ones when opposite).
fn rotation_between(a: &Vector3<f32>, b: &Vector3<f32>) -> UnitQuaternion<f32> {
    UnitQuaternion::rotation_between(a, b).unwrap_or_else(|| {
        // Opposite: half a turn about any axis perpendicular to `a`.
        let helper = if a.x.abs() < 0.9 {
            Vector3::x()
        } else {
            Vector3::y()
        };
        let axis = Unit::new_normalize(a.cross(&helper));
        UnitQuaternion::from_axis_angle(&axis, std::f32::consts::PI)
    })
}

/// Share of the live direction weight that lands within tolerance of a map
/// direction after rotating by `r`.
fn explained(r: &UnitQuaternion<f32>, live: &[Direction], map: &[Direction], cos_tol: f32) -> f32 {
    let total: f32 = live.iter().map(|d| d.share).sum();
    if total <= 0.0 {
        return 0.0;
    }
    let hit: f32 = live
        .iter()
        .filter(|l| {
            let v = r * l.dir;
            map.iter().any(|m| v.dot(&m.dir).abs() >= cos_tol)
        })
        .map(|l| l.share)
        .sum();
    hit / total
}

/// Share-weighted mean of each rotated live direction's best |cos| to a map
/// direction.
fn alignment(r: &UnitQuaternion<f32>, live: &[Direction], map: &[Direction]) -> f32 {
    live.iter()
        .map(|l| {
            let v = r * l.dir;
            l.share * map.iter().map(|m| v.dot(&m.dir).abs()).fold(0.0, f32::max)
        })
        .sum()
}

/// Pose hypotheses from pairs of `corr` (distinct live and database instances,
/// pair distances that agree, centroids far enough apart), each with the angle
/// about the pair's axis that brings the `live_dirs` (session frame) onto the
/// `map_dirs`. Best first (explained share, then weight); at most
/// `cfg.max_hypotheses`, and none when a side has no direction.
pub fn pair_hypotheses(
    corr: &[Correspondence],
    live_dirs: &[Direction],
    map_dirs: &[Direction],
    cfg: &PairConfig,
) -> Vec<PairHypothesis> {
    if live_dirs.is_empty() || map_dirs.is_empty() || cfg.sweep_step_deg <= 0.0 {
        return Vec::new();
    }
    let cos_tol = cfg.direction_tolerance_deg.to_radians().cos();
    let steps = (360.0 / cfg.sweep_step_deg).ceil().max(1.0) as usize;
    let mut out: Vec<PairHypothesis> = Vec::new();
    for i in 0..corr.len() {
        for j in i + 1..corr.len() {
            let (a, b) = (&corr[i], &corr[j]);
            if a.live == b.live || a.db == b.db || !a.is_finite() || !b.is_finite() {
                continue;
            }
            let dl = b.p_session - a.p_session;
            let dm = b.p_map - a.p_map;
            if dl.norm() < cfg.min_separation_m
                || (dl.norm() - dm.norm()).abs() > cfg.distance_tolerance_m + a.slack + b.slack
            {
                continue;
            }
            let (ul, um) = (dl.normalize(), dm.normalize());
            let r0 = rotation_between(&ul, &um);
            let axis = Unit::new_normalize(um);
            // The angle where the live directions line up best (a smooth score,
            // so the middle of the agreeing range wins, not its first edge).
            let at = |deg: f32| {
                let r = UnitQuaternion::from_axis_angle(&axis, deg.to_radians()) * r0;
                (alignment(&r, live_dirs, map_dirs), deg, r)
            };
            let mut best = at(0.0);
            for k in 1..steps {
                let c = at(k as f32 * cfg.sweep_step_deg);
                if c.0 > best.0 + 1e-6 {
                    best = c;
                }
            }
            // Finer, around the best step.
            let centre = best.1;
            for k in -8..=8 {
                let c = at(centre + k as f32 * cfg.sweep_step_deg / 8.0);
                if c.0 > best.0 + 1e-7 {
                    best = c;
                }
            }
            let r = best.2;
            let share = explained(&r, live_dirs, map_dirs, cos_tol);
            if share < cfg.min_direction_share {
                continue;
            }
            let mid_l = Point3::from((a.p_session.coords + b.p_session.coords) / 2.0);
            let mid_m = Point3::from((a.p_map.coords + b.p_map.coords) / 2.0);
            let t = mid_m.coords - r * mid_l.coords;
            out.push(PairHypothesis {
                T_map_session: Pose::from_parts(Translation3::from(t), r),
                pair: [i, j],
                direction_share: share,
                weight: a.weight.max(0.0) + b.weight.max(0.0),
            });
        }
    }
    out.sort_by(|x, y| {
        y.direction_share
            .total_cmp(&x.direction_share)
            .then(y.weight.total_cmp(&x.weight))
            .then(x.pair.cmp(&y.pair))
    });
    out.truncate(cfg.max_hypotheses);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::eval::pose_error;

    fn room_normals() -> Vec<Vector3<f32>> {
        // Floor (most), two wall directions, a little clutter.
        let mut v = Vec::new();
        v.extend(std::iter::repeat_n(Vector3::z(), 500));
        v.extend(std::iter::repeat_n(Vector3::x(), 250));
        v.extend(std::iter::repeat_n(-Vector3::y(), 200));
        v.extend(std::iter::repeat_n(Vector3::new(0.6, 0.0, 0.8), 20));
        v
    }

    #[test]
    fn dominant_directions_are_sign_free_clusters_largest_first() {
        let mut n = room_normals();
        n.extend(std::iter::repeat_n(-Vector3::z(), 100));
        n.push(Vector3::zeros());
        n.push(Vector3::new(f32::NAN, 0.0, 0.0));
        let d = dominant_directions(&n, 10.0, 0.05, 5);
        assert_eq!(d.len(), 3, "{d:?}");
        assert!(d[0].dir.z.abs() > 0.999 && (d[0].share - 600.0 / 1070.0).abs() < 1e-3);
        assert!(d[1].dir.x.abs() > 0.999);
        assert!(d[2].dir.y.abs() > 0.999);
        assert!(dominant_directions(&[], 10.0, 0.05, 5).is_empty());
    }

    #[test]
    fn two_correspondences_and_the_room_directions_recover_the_pose() {
        let truth = Pose::from_parts(
            Translation3::new(3.0, -1.0, 0.5),
            UnitQuaternion::from_euler_angles(0.3, -0.2, 2.0),
        );
        let session_of = |p: Point3<f32>| truth.inverse() * p;
        let maps = [Point3::new(1.0, 2.0, 0.4), Point3::new(-1.5, 0.5, 0.9)];
        let corr: Vec<Correspondence> = maps
            .iter()
            .enumerate()
            .map(|(i, m)| Correspondence {
                live: i as u32,
                db: 10 + i as u32,
                p_session: session_of(*m),
                p_map: *m,
                weight: 0.9,
                slack: 0.0,
            })
            .collect();
        let map_dirs = dominant_directions(&room_normals(), 10.0, 0.05, 4);
        let live_normals: Vec<Vector3<f32>> = room_normals()
            .iter()
            .map(|n| truth.rotation.inverse() * n)
            .collect();
        let live_dirs = dominant_directions(&live_normals, 10.0, 0.05, 4);
        let hyps = pair_hypotheses(&corr, &live_dirs, &map_dirs, &PairConfig::default());
        assert!(!hyps.is_empty());
        let e = pose_error(&hyps[0].T_map_session, &truth);
        assert!(e.within(0.05, 3.0), "{e:?} {hyps:?}");
        assert!(hyps[0].direction_share > 0.95);
        // A pair whose distances disagree gives nothing.
        let mut bad = corr.clone();
        bad[1].p_map = Point3::new(4.0, 4.0, 0.9);
        assert!(pair_hypotheses(&bad, &live_dirs, &map_dirs, &PairConfig::default()).is_empty());
        // Without directions there is no hypothesis.
        assert!(pair_hypotheses(&corr, &[], &map_dirs, &PairConfig::default()).is_empty());
    }
}
