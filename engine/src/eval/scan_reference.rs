//! The reference alignment of two scans of the same room from their static
//! structure alone (walls, floor, ceiling), independent of any instance matching:
//! the "truth" a scan query is scored against.
//!
//! ScanNet scans are each axis-aligned (z up) and centred, so two scans of one room
//! differ by a turn about z (often near a multiple of 90°, plus a small angle) and a
//! small shift. The alignment:
//! 1. takes each scan's structure points (semantic classes wall 1, floor 2, ceiling 22
//!    in ScanNet's NYU40 ids; for a scan without semantic labels, the points of
//!    instance 0, which synthetic scans use for structure), voxel-downsamples them
//!    and estimates normals;
//! 2. sweeps the yaw over the full turn; for each yaw the translation puts the
//!    centres of the two structure bounding boxes (robust 2–98 % percentiles)
//!    together, and the pose is scored by the share of query points within a coarse
//!    distance of the reference structure;
//! 3. refines the best distinct yaws (local maxima of the sweep) by point-to-plane
//!    ICP on the structure points and keeps the one with the highest fitness.
//!
//! The result carries its residual (fitness and RMS point-to-plane residual at the
//! final ICP distance) and the fitness of the best clearly different alignment, so a
//! caller can see whether the structure alone was unambiguous (a perfectly
//! rectangular, empty room is not: it looks the same turned by 180°).

use nalgebra::{Point3, Translation3, UnitQuaternion, Vector3};

use crate::db::build::{estimate_normals, voxel_downsample};
use crate::frame::{PointCloud, Pose};
use crate::io::scan::Scan;
use crate::localise::{IcpConfig, IcpTarget, RegistrationError, pose_difference};

/// ScanNet (NYU40) classes that are static structure: wall, floor, ceiling.
pub const SCANNET_STRUCTURE_CLASSES: [u32; 3] = [1, 2, 22];

/// Why a reference alignment could not be computed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum ReferenceError {
    /// A scan has too few structure points to align.
    #[error("scan {scan}: {found} structure points after downsampling, at least {needed} needed")]
    TooFewStructurePoints {
        /// The scan's name.
        scan: String,
        /// Points found.
        found: usize,
        /// Points needed.
        needed: usize,
    },
    /// The configuration is unusable.
    #[error("invalid reference configuration: {0}")]
    Config(String),
    /// The registration failed on its input.
    #[error(transparent)]
    Registration(#[from] RegistrationError),
}

/// Settings of [`align_scan_structure`] (lengths in metres).
#[derive(Debug, Clone, PartialEq)]
pub struct ScanReferenceConfig {
    /// Semantic classes taken as structure (when the scan has semantic labels).
    pub structure_classes: Vec<u32>,
    /// Voxel size of the structure points.
    pub voxel_m: f32,
    /// Radius of the normal estimation.
    pub normal_radius_m: f32,
    /// Fewest structure points a scan needs.
    pub min_points: usize,
    /// Query points scored per yaw in the sweep.
    pub sweep_points: usize,
    /// Yaw step of the sweep, degrees.
    pub yaw_step_deg: f32,
    /// Distance within which a query point counts in the sweep score.
    pub sweep_distance_m: f32,
    /// Distinct yaws (local maxima of the sweep) refined by ICP.
    pub refine_candidates: usize,
    /// Two alignments are "the same" within this translation (at the query's
    /// centre)…
    pub distinct_translation_m: f32,
    /// …and this rotation, degrees.
    pub distinct_rotation_deg: f32,
    /// Query structure points used by ICP.
    pub icp_points: usize,
    /// The ICP schedule; its `final_max_distance` is where fitness and residual
    /// are measured.
    pub icp: IcpConfig,
}

impl Default for ScanReferenceConfig {
    fn default() -> Self {
        ScanReferenceConfig {
            structure_classes: SCANNET_STRUCTURE_CLASSES.to_vec(),
            voxel_m: 0.04,
            normal_radius_m: 0.12,
            min_points: 200,
            sweep_points: 2000,
            yaw_step_deg: 1.0,
            sweep_distance_m: 0.2,
            refine_candidates: 6,
            distinct_translation_m: 0.3,
            distinct_rotation_deg: 10.0,
            icp_points: 6000,
            icp: IcpConfig {
                max_iterations: 60,
                initial_max_distance: 0.6,
                final_max_distance: 0.05,
                shrink: 0.8,
                ..IcpConfig::default()
            },
        }
    }
}

/// The structure alignment of a query scan to a reference scan.
#[derive(Debug, Clone, PartialEq)]
pub struct ScanReference {
    /// Maps query-scan points into the reference scan's frame.
    pub T_ref_query: Pose,
    /// Yaw of the winning sweep candidate, degrees in `[0, 360)`.
    pub sweep_yaw_deg: f32,
    /// Share of query structure points within the final ICP distance of the
    /// reference structure at `T_ref_query`.
    pub fitness: f32,
    /// RMS point-to-plane residual of those points, metres.
    pub rmse_m: f32,
    /// Whether the winning ICP converged.
    pub converged: bool,
    /// Fitness of the best refined alignment that differs clearly from the winner
    /// (0 when there is none): close to `fitness` means the structure alone is
    /// ambiguous.
    pub runner_up_fitness: f32,
    /// Structure points (after downsampling) of the reference and the query.
    pub structure_points: (usize, usize),
}

impl ScanReference {
    /// True when a clearly different alignment fits the structure almost as well
    /// (runner-up fitness at least 90 % of the winner's): the reference cannot be
    /// trusted, e.g. in a rectangular room without distinguishing structure.
    pub fn is_ambiguous(&self) -> bool {
        self.runner_up_fitness >= 0.9 * self.fitness
    }
}

/// The structure points of a scan: points of the structure classes when the scan
/// has semantic labels, else the points of instance 0 (synthetic convention).
pub fn structure_points(scan: &Scan, classes: &[u32]) -> Vec<Point3<f32>> {
    let c = &scan.cloud;
    match (&c.semantic_ids, &c.instance_ids) {
        (Some(sem), _) => c
            .points
            .iter()
            .zip(sem)
            .filter(|(_, s)| classes.contains(s))
            .map(|(p, _)| *p)
            .collect(),
        (None, Some(ids)) => c
            .points
            .iter()
            .zip(ids)
            .filter(|(_, i)| **i == 0)
            .map(|(p, _)| *p)
            .collect(),
        (None, None) => Vec::new(),
    }
}

/// Points with one normal each.
type SurfaceSamples = (Vec<Point3<f32>>, Vec<Vector3<f32>>);

/// Downsampled structure points with normals (points whose normal is undefined
/// are dropped).
fn prepared(scan: &Scan, cfg: &ScanReferenceConfig) -> Result<SurfaceSamples, ReferenceError> {
    let raw: Vec<Point3<f32>> = structure_points(scan, &cfg.structure_classes)
        .into_iter()
        .filter(|p| p.coords.iter().all(|v| v.is_finite()))
        .collect();
    let (pts, _) = voxel_downsample(&raw, None, cfg.voxel_m);
    let normals = estimate_normals(&pts, cfg.normal_radius_m);
    let (pts, normals): (Vec<_>, Vec<_>) = pts
        .into_iter()
        .zip(normals)
        .filter(|(_, n)| n.norm() > 0.5)
        .unzip();
    if pts.len() < cfg.min_points {
        return Err(ReferenceError::TooFewStructurePoints {
            scan: scan.name.clone(),
            found: pts.len(),
            needed: cfg.min_points,
        });
    }
    Ok((pts, normals))
}

/// Every `stride`-th point so that at most `max` remain.
fn thinned(points: &[Point3<f32>], max: usize) -> Vec<Point3<f32>> {
    let stride = points.len().div_ceil(max.max(1)).max(1);
    points.iter().step_by(stride).copied().collect()
}

/// Centre of the robust (2–98 % per axis) bounding box of points.
fn robust_centre(points: &[Point3<f32>]) -> Point3<f32> {
    let mut centre = Point3::origin();
    for k in 0..3 {
        let mut v: Vec<f32> = points.iter().map(|p| p[k]).collect();
        v.sort_by(|a, b| a.total_cmp(b));
        let at = |q: f32| {
            let i = ((v.len().saturating_sub(1)) as f32 * q).round() as usize;
            v.get(i).copied().unwrap_or(0.0)
        };
        centre[k] = 0.5 * (at(0.02) + at(0.98));
    }
    centre
}

/// A sweep candidate: the pose putting the robust box centres together after
/// turning the query by `yaw` about z.
fn sweep_pose(yaw: f32, query: &[Point3<f32>], ref_centre: &Point3<f32>) -> Pose {
    let rot = UnitQuaternion::from_axis_angle(&Vector3::z_axis(), yaw);
    let turned: Vec<Point3<f32>> = query.iter().map(|p| rot * p).collect();
    let t = ref_centre - robust_centre(&turned);
    Pose::from_parts(Translation3::from(t), rot)
}

/// Share of `points` within `dist` of the target at `T`.
fn share_within(target: &IcpTarget, points: &[Point3<f32>], T: &Pose, dist: f32) -> f32 {
    if points.is_empty() {
        return 0.0;
    }
    let hits = points
        .iter()
        .filter(|p| target.nearest(&(T * *p)).is_some_and(|(_, d)| d <= dist))
        .count();
    hits as f32 / points.len() as f32
}

/// Aligns `query`'s structure to `reference`'s (see the module documentation).
///
/// # Errors
/// Too few structure points in either scan, an invalid configuration, or a
/// registration failure on the input.
pub fn align_scan_structure(
    reference: &Scan,
    query: &Scan,
    cfg: &ScanReferenceConfig,
) -> Result<ScanReference, ReferenceError> {
    if !(cfg.yaw_step_deg.is_finite() && cfg.yaw_step_deg > 0.0) {
        return Err(ReferenceError::Config(format!(
            "yaw_step_deg must be positive, got {}",
            cfg.yaw_step_deg
        )));
    }
    cfg.icp.validate()?;
    let (ref_pts, ref_normals) = prepared(reference, cfg)?;
    let (q_pts, _) = prepared(query, cfg)?;
    let counts = (ref_pts.len(), q_pts.len());
    let ref_centre = robust_centre(&ref_pts);
    let target = IcpTarget::new(ref_pts, ref_normals)?;

    // 1. Yaw sweep.
    let sample = thinned(&q_pts, cfg.sweep_points);
    let centred = thinned(&q_pts, 4 * cfg.sweep_points);
    let steps = (360.0 / cfg.yaw_step_deg).round().max(1.0) as usize;
    let scores: Vec<(f32, Pose, f32)> = (0..steps)
        .map(|i| {
            let yaw = (i as f32 * cfg.yaw_step_deg).to_radians();
            let T = sweep_pose(yaw, &centred, &ref_centre);
            (
                yaw,
                T,
                share_within(&target, &sample, &T, cfg.sweep_distance_m),
            )
        })
        .collect();
    // Local maxima (circular), best first.
    let mut peaks: Vec<&(f32, Pose, f32)> = scores
        .iter()
        .enumerate()
        .filter(|(i, s)| {
            let prev = scores.get((i + steps - 1) % steps).map_or(0.0, |p| p.2);
            let next = scores.get((i + 1) % steps).map_or(0.0, |p| p.2);
            s.2 >= prev && s.2 >= next
        })
        .map(|(_, s)| s)
        .collect();
    peaks.sort_by(|a, b| b.2.total_cmp(&a.2).then(a.0.total_cmp(&b.0)));
    // Keep peaks that are distinct yaws (a plateau gives many adjacent maxima).
    let min_sep = cfg.distinct_rotation_deg.to_radians();
    let mut chosen: Vec<&(f32, Pose, f32)> = Vec::new();
    for p in peaks {
        let apart = |q: &&(f32, Pose, f32)| {
            let d = (p.0 - q.0).rem_euclid(std::f32::consts::TAU);
            d.min(std::f32::consts::TAU - d) >= min_sep
        };
        if chosen.iter().all(apart) {
            chosen.push(p);
        }
        if chosen.len() >= cfg.refine_candidates.max(1) {
            break;
        }
    }

    // 2. ICP on the best peaks.
    let source = thinned(&q_pts, cfg.icp_points);
    let centre = robust_centre(&q_pts);
    let mut refined: Vec<(f32, crate::localise::IcpResult)> = Vec::new();
    for (yaw, T, _) in chosen {
        let r = target.refine(&source, T, &cfg.icp)?;
        refined.push((*yaw, r));
    }
    refined.sort_by(|a, b| {
        b.1.fitness
            .total_cmp(&a.1.fitness)
            .then(a.1.inlier_rmse.total_cmp(&b.1.inlier_rmse))
    });
    let Some((yaw, best)) = refined.first().cloned() else {
        return Err(ReferenceError::Config(
            "the yaw sweep produced no candidate".into(),
        ));
    };
    let runner_up = refined
        .iter()
        .skip(1)
        .find(|(_, r)| {
            !pose_difference(&r.T_map_session, &best.T_map_session, &centre).within(
                cfg.distinct_translation_m,
                cfg.distinct_rotation_deg.to_radians(),
            )
        })
        .map_or(0.0, |(_, r)| r.fitness);
    log::debug!(
        "scan reference {} -> {}: yaw {:.1}°, fitness {:.3}, rmse {:.4} m, runner-up {:.3}",
        query.name,
        reference.name,
        yaw.to_degrees(),
        best.fitness,
        best.inlier_rmse,
        runner_up
    );
    Ok(ScanReference {
        T_ref_query: best.T_map_session,
        sweep_yaw_deg: yaw.to_degrees().rem_euclid(360.0),
        fitness: best.fitness,
        rmse_m: best.inlier_rmse,
        converged: best.converged,
        runner_up_fitness: runner_up,
        structure_points: counts,
    })
}

/// A copy of `scan` with its points and normals moved by `T_new_old` (boxes, which
/// are axis-aligned in the old frame, are dropped).
pub fn transformed_scan(scan: &Scan, T_new_old: &Pose) -> Scan {
    let mut cloud: PointCloud = scan.cloud.clone();
    cloud.transform(T_new_old);
    Scan {
        name: scan.name.clone(),
        cloud,
        boxes: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Rng;

    const WALL: u32 = 1;
    const FLOOR: u32 = 2;
    const CEILING: u32 = 22;
    const CHAIR: u32 = 5;

    /// A room with the given floor outline (counter-clockwise, metres), 2.5 m
    /// high, sampled on a `step` grid shifted by `offset`, with a clutter box
    /// (class "chair") that the alignment must ignore.
    fn room(outline: &[(f32, f32)], step: f32, offset: f32, rng: &mut Rng) -> Scan {
        let mut pts = Vec::new();
        let mut sem = Vec::new();
        let jitter = |rng: &mut Rng| rng.range(-0.004, 0.004);
        let inside = |x: f32, y: f32| {
            // Even-odd rule.
            let mut c = false;
            for i in 0..outline.len() {
                let (x0, y0) = outline[i];
                let (x1, y1) = outline[(i + 1) % outline.len()];
                if (y0 > y) != (y1 > y) && x < x0 + (y - y0) / (y1 - y0) * (x1 - x0) {
                    c = !c;
                }
            }
            c
        };
        let (mut lo, mut hi) = ((f32::MAX, f32::MAX), (f32::MIN, f32::MIN));
        for &(x, y) in outline {
            lo = (lo.0.min(x), lo.1.min(y));
            hi = (hi.0.max(x), hi.1.max(y));
        }
        let n = |len: f32| (len / step) as usize;
        for i in 0..n(hi.0 - lo.0) {
            for j in 0..n(hi.1 - lo.1) {
                let (x, y) = (
                    lo.0 + i as f32 * step + offset,
                    lo.1 + j as f32 * step + offset,
                );
                if inside(x, y) {
                    for (z, class) in [(0.0, FLOOR), (2.5, CEILING)] {
                        pts.push(Point3::new(x, y, z + jitter(rng)));
                        sem.push(class);
                    }
                }
            }
        }
        for i in 0..outline.len() {
            let (x0, y0) = outline[i];
            let (x1, y1) = outline[(i + 1) % outline.len()];
            let len = ((x1 - x0).powi(2) + (y1 - y0).powi(2)).sqrt();
            for a in 0..n(len) {
                let t = (a as f32 * step + offset) / len;
                for h in 0..n(2.5) {
                    let z = h as f32 * step + offset;
                    let w = jitter(rng);
                    pts.push(Point3::new(
                        x0 + t * (x1 - x0) + w,
                        y0 + t * (y1 - y0) - w,
                        z,
                    ));
                    sem.push(WALL);
                }
            }
        }
        for i in 0..20 {
            for j in 0..20 {
                pts.push(Point3::new(
                    1.0 + i as f32 * 0.025,
                    1.0 + j as f32 * 0.025,
                    0.45,
                ));
                sem.push(CHAIR);
            }
        }
        let ids = sem.iter().map(|&s| u32::from(s == CHAIR)).collect();
        Scan {
            name: "room".into(),
            cloud: PointCloud {
                points: pts,
                semantic_ids: Some(sem),
                instance_ids: Some(ids),
                ..Default::default()
            },
            boxes: Vec::new(),
        }
    }

    const L_SHAPE: [(f32, f32); 6] = [
        (-3.0, -2.5),
        (3.0, -2.5),
        (3.0, 0.5),
        (0.0, 0.5),
        (0.0, 2.5),
        (-3.0, 2.5),
    ];

    #[test]
    fn recovers_a_quarter_turn_and_shift_of_an_l_shaped_room() {
        let mut rng = Rng::new(5);
        let reference = room(&L_SHAPE, 0.06, 0.0, &mut rng);
        // The same room sampled afresh, in a frame turned by ~91.5° and shifted.
        let T_query_ref = Pose::new(
            Vector3::new(0.4, -0.3, 0.02),
            Vector3::new(0.002, -0.001, 91.5f32.to_radians()),
        );
        let query = transformed_scan(&room(&L_SHAPE, 0.06, 0.03, &mut rng), &T_query_ref);
        let r = align_scan_structure(&reference, &query, &ScanReferenceConfig::default())
            .expect("aligns");
        let e = crate::eval::pose_error(&r.T_ref_query, &T_query_ref.inverse());
        assert!(e.within(0.01, 0.2), "{e:?}");
        assert!(r.fitness > 0.95 && r.rmse_m < 0.01, "{r:?}");
        assert!(
            r.runner_up_fitness < 0.8 * r.fitness && !r.is_ambiguous(),
            "{r:?}"
        );
        assert!(r.converged);
    }

    #[test]
    fn a_rectangular_room_is_reported_ambiguous() {
        let mut rng = Rng::new(6);
        let rect = [(-3.0, -2.0), (3.0, -2.0), (3.0, 2.0), (-3.0, 2.0)];
        let reference = room(&rect, 0.06, 0.0, &mut rng);
        let query = transformed_scan(
            &room(&rect, 0.06, 0.03, &mut rng),
            &Pose::new(Vector3::new(0.1, 0.0, 0.0), Vector3::z() * 0.5),
        );
        let r = align_scan_structure(&reference, &query, &ScanReferenceConfig::default())
            .expect("aligns");
        // Turned by 180° the structure fits just as well.
        assert!(r.fitness > 0.9, "{r:?}");
        assert!(r.is_ambiguous(), "{r:?}");
    }

    #[test]
    fn structure_comes_from_semantics_else_instance_zero() {
        let mut rng = Rng::new(7);
        let mut scan = room(&L_SHAPE, 0.2, 0.0, &mut rng);
        let with_sem = structure_points(&scan, &SCANNET_STRUCTURE_CLASSES);
        assert_eq!(with_sem.len(), scan.cloud.points.len() - 400);
        scan.cloud.semantic_ids = None;
        assert_eq!(
            structure_points(&scan, &SCANNET_STRUCTURE_CLASSES),
            with_sem
        );
        scan.cloud.instance_ids = None;
        assert!(structure_points(&scan, &SCANNET_STRUCTURE_CLASSES).is_empty());
        let err = align_scan_structure(&scan, &scan, &ScanReferenceConfig::default());
        assert!(matches!(
            err,
            Err(ReferenceError::TooFewStructurePoints { found: 0, .. })
        ));
    }
}
