//! An annotated scan as one relocalisation query.
//!
//! The query is a labelled point cloud (ScanNet NumPy or PLY with instance labels)
//! already in the SESSION frame (the caller moves it there, e.g. by a hidden
//! simulated `T_session_scan`). It goes through the same encode path as database
//! scans ([`scene_from_scan`]: one instance per label, walls/floor/ceiling as
//! structure, the engine's descriptor), so query and database descriptors compare.
//! Then, as in the live tracker: descriptor candidates against every scene,
//! scene ranking, RANSAC over instance-centroid correspondences per scene (with the
//! tracker's symmetry re-run without the best hypothesis' inliers), point-to-plane
//! ICP of the query surface (instances and structure) against each scene's surface,
//! and the tracker's acceptance gates: minimum inliers, minimum fitness, and no
//! rival (another scene, or a clearly different pose) whose fitness reaches
//! `ambiguity_ratio` of the best. Hypotheses whose coarse surface overlap at the
//! RANSAC pose is below `ambiguity_ratio × min_fitness` skip ICP. A scan is one
//! observation, so there is no
//! multi-frame confirmation; a wrong fix is worse than none, and every gate that
//! fails gives no fix with the reason.
//!
//! Errors are only for unusable input (empty scan, no instance labels, attribute
//! lengths that differ, non-finite points, a database whose descriptors do not fit
//! the encoder); "no fix" is a normal outcome.

use std::collections::HashSet;
use std::time::Instant;

use nalgebra::{Point3, Vector3};

use super::EngineConfig;
use crate::db::build::{BuildConfig, BuildError, scene_from_scan};
use crate::db::{EmbeddingIndex, Scene, SceneDatabase, SceneIdx};
use crate::encode::{GeometricColorEncoder, InstanceEncoder, Modality};
use crate::frame::Pose;
use crate::io::scan::Scan;
use crate::localise::{
    IcpTarget, RegistrationError, find_hypotheses, outside_inliers, pose_difference,
};
use crate::matching::{LiveQuery, find_candidates, rank_scenes, scene_correspondences};

/// Why a scan cannot be used as a query.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ScanQueryError {
    /// The scan has no points.
    #[error("scan {0}: no points")]
    Empty(String),
    /// The scan has no instance labels at all.
    #[error("scan {0}: no instance labels (a query scan needs per-point instance ids)")]
    NoInstanceLabels(String),
    /// An attribute does not have one entry per point.
    #[error("scan {scan}: {what} has {found} entries for {points} points")]
    Inconsistent {
        /// The scan's name.
        scan: String,
        /// Which attribute.
        what: &'static str,
        /// Entries found.
        found: usize,
        /// Points in the scan.
        points: usize,
    },
    /// A point is NaN or infinite.
    #[error("scan {scan}: point {index} is not finite")]
    NonFinite {
        /// The scan's name.
        scan: String,
        /// Index of the point.
        index: usize,
    },
    /// The database cannot be searched with the engine's descriptor.
    #[error("database: {0}")]
    Database(String),
    /// A configuration value is unusable.
    #[error("invalid scan-query configuration: {0}")]
    Config(String),
    /// Building the query instances failed.
    #[error(transparent)]
    Build(#[from] BuildError),
    /// RANSAC or ICP rejected its configuration.
    #[error(transparent)]
    Registration(#[from] RegistrationError),
}

/// Settings of a scan query.
#[derive(Debug, Clone)]
pub struct ScanQueryConfig {
    /// How query instances are made: the same settings as database scans (its
    /// `engine` also supplies matching, RANSAC, ICP and the acceptance gates:
    /// `state.min_inliers`, `state.min_fitness`, `ambiguity_ratio`,
    /// `verify_per_scene`).
    pub build: BuildConfig,
    /// Query surface points used for ICP.
    pub icp_source_points: usize,
    /// Hypotheses of the symmetry re-run verified per scene.
    pub verify_alternatives: usize,
    /// Two verified hypotheses of one scene are rivals when they differ by more
    /// than this translation (metres, at the query's centroid)…
    pub distinct_translation_m: f32,
    /// …or this rotation (degrees).
    pub distinct_rotation_deg: f32,
}

impl Default for ScanQueryConfig {
    fn default() -> Self {
        ScanQueryConfig {
            build: BuildConfig::default(),
            icp_source_points: 6000,
            verify_alternatives: 2,
            distinct_translation_m: 0.3,
            distinct_rotation_deg: 10.0,
        }
    }
}

impl ScanQueryConfig {
    fn engine(&self) -> &EngineConfig {
        &self.build.engine
    }
}

/// A hypothesis that went through ICP.
#[derive(Debug, Clone, PartialEq)]
pub struct VerifiedScanHypothesis {
    /// Database scene.
    pub scene: SceneIdx,
    /// Session-to-map transform after ICP.
    pub T_map_session: Pose,
    /// Instance correspondences consistent with the RANSAC pose.
    pub inliers: usize,
    /// Share of query surface points within the ICP's final distance of the
    /// scene's surface.
    pub fitness: f32,
    /// RMS point-to-plane residual of those points, metres.
    pub inlier_rmse: f32,
}

/// An accepted fix.
#[derive(Debug, Clone, PartialEq)]
pub struct ScanFix {
    /// Database scene.
    pub scene: SceneIdx,
    /// The scene's name.
    pub scene_name: String,
    /// Session-to-map transform.
    pub T_map_session: Pose,
    /// Confidence in `[0, 1]`.
    pub confidence: f32,
    /// Instance inliers.
    pub inliers: usize,
    /// Surface fitness.
    pub fitness: f32,
    /// RMS point-to-plane residual, metres.
    pub inlier_rmse: f32,
}

/// Why a scan query gave no fix.
#[derive(Debug, Clone, PartialEq)]
pub enum NoFix {
    /// Fewer query instances than the engine needs.
    TooFewInstances {
        /// Instances built from the scan.
        found: usize,
        /// Instances needed (`min_live_instances`).
        needed: usize,
    },
    /// No hypothesis survived RANSAC and ICP.
    NoHypothesis,
    /// The best hypothesis failed the inlier or fitness gate.
    BelowGate {
        /// Its instance inliers.
        inliers: usize,
        /// Its fitness.
        fitness: f32,
    },
    /// A rival explains the surface almost as well.
    Ambiguous {
        /// Fitness of the best hypothesis.
        best: f32,
        /// Fitness of the rival.
        rival: f32,
        /// Scene of the rival.
        rival_scene: SceneIdx,
    },
}

impl std::fmt::Display for NoFix {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            NoFix::TooFewInstances { found, needed } => {
                write!(f, "{found} query instances, {needed} needed")
            }
            NoFix::NoHypothesis => write!(f, "no hypothesis survived RANSAC and ICP"),
            NoFix::BelowGate { inliers, fitness } => write!(
                f,
                "best hypothesis below the gates ({inliers} inliers, fitness {fitness:.3})"
            ),
            NoFix::Ambiguous {
                best,
                rival,
                rival_scene,
            } => write!(
                f,
                "ambiguous: fitness {best:.3} vs {rival:.3} (scene {rival_scene})"
            ),
        }
    }
}

/// The answer to a scan query.
#[derive(Debug, Clone, PartialEq)]
pub struct ScanQueryOutcome {
    /// The fix, when every gate passed.
    pub fix: Option<ScanFix>,
    /// Why there is no fix (`None` exactly when there is one).
    pub no_fix: Option<NoFix>,
    /// Instances built from the query.
    pub query_instances: usize,
    /// Descriptor candidates over all scenes.
    pub candidates: usize,
    /// Scenes tried, best-ranked first.
    pub scenes_tried: Vec<SceneIdx>,
    /// Every verified hypothesis, best fitness first.
    pub verified: Vec<VerifiedScanHypothesis>,
    /// Seconds spent, instance building included.
    pub seconds: f64,
}

/// Checks that a scan can be a query.
pub fn validate_query_scan(scan: &Scan) -> Result<(), ScanQueryError> {
    let c = &scan.cloud;
    let n = c.points.len();
    if n == 0 {
        return Err(ScanQueryError::Empty(scan.name.clone()));
    }
    let Some(ids) = &c.instance_ids else {
        return Err(ScanQueryError::NoInstanceLabels(scan.name.clone()));
    };
    let lengths = [
        ("instance ids", Some(ids.len())),
        ("colours", c.colors.as_ref().map(Vec::len)),
        ("normals", c.normals.as_ref().map(Vec::len)),
        ("semantic ids", c.semantic_ids.as_ref().map(Vec::len)),
    ];
    for (what, len) in lengths {
        if let Some(found) = len
            && found != n
        {
            return Err(ScanQueryError::Inconsistent {
                scan: scan.name.clone(),
                what,
                found,
                points: n,
            });
        }
    }
    if let Some(index) = c
        .points
        .iter()
        .position(|p| !p.coords.iter().all(|v| v.is_finite()))
    {
        return Err(ScanQueryError::NonFinite {
            scan: scan.name.clone(),
            index,
        });
    }
    if ids.iter().all(|&i| i == 0) {
        return Err(ScanQueryError::NoInstanceLabels(scan.name.clone()));
    }
    Ok(())
}

/// Surface samples with normals of a scene (structure and instances), the ICP
/// target; points without a usable normal are left out.
pub fn scene_surface(scene: &Scene) -> (Vec<Point3<f32>>, Vec<Vector3<f32>>) {
    let mut pts = Vec::new();
    let mut normals = Vec::new();
    let mut add = |p: &[Point3<f32>], n: &[Vector3<f32>]| {
        if p.len() != n.len() {
            return;
        }
        for (p, n) in p.iter().zip(n) {
            if n.norm() > 1e-6 && p.coords.iter().all(|v| v.is_finite()) {
                pts.push(*p);
                normals.push(*n);
            }
        }
    };
    add(&scene.structure_points, &scene.structure_normals);
    for inst in &scene.instances {
        add(&inst.points, &inst.normals);
    }
    (pts, normals)
}

/// Coarse occupancy of a surface: which cubes of side `cell` hold a point. Used to
/// skip ICP on hypotheses that cannot reach the gates: a source point near the
/// surface (within `cell`) always finds an occupied cube among its own and the 26
/// around it, so the share it reports bounds the share within `cell` from above.
struct Occupancy {
    cell: f32,
    cells: HashSet<(i32, i32, i32)>,
}

impl Occupancy {
    fn new(points: &[Point3<f32>], cell: f32) -> Occupancy {
        let mut o = Occupancy {
            cell,
            cells: HashSet::new(),
        };
        for p in points {
            let k = o.key(p);
            o.cells.insert(k);
        }
        o
    }

    fn key(&self, p: &Point3<f32>) -> (i32, i32, i32) {
        (
            (p.x / self.cell).floor() as i32,
            (p.y / self.cell).floor() as i32,
            (p.z / self.cell).floor() as i32,
        )
    }

    /// Upper bound of the share of `source` (moved by `T`) within `cell` of the surface.
    fn share_near(&self, source: &[Point3<f32>], T: &Pose) -> f32 {
        if source.is_empty() {
            return 0.0;
        }
        let near = source
            .iter()
            .filter(|p| {
                let (x, y, z) = self.key(&(T * *p));
                (-1..=1).any(|dx| {
                    (-1..=1)
                        .any(|dy| (-1..=1).any(|dz| self.cells.contains(&(x + dx, y + dy, z + dz))))
                })
            })
            .count();
        near as f32 / source.len() as f32
    }
}

/// Every `stride`-th point so that at most `max` remain.
fn thinned(points: &[Point3<f32>], max: usize) -> Vec<Point3<f32>> {
    let stride = points.len().div_ceil(max.max(1)).max(1);
    points.iter().step_by(stride).copied().collect()
}

/// Localises a query scan (in the session frame) against every scene of `db`.
///
/// # Errors
/// See [`ScanQueryError`]; no fix is not an error.
pub fn localise_scan(
    db: &SceneDatabase,
    scan_session: &Scan,
    cfg: &ScanQueryConfig,
) -> Result<ScanQueryOutcome, ScanQueryError> {
    let start = Instant::now();
    validate_query_scan(scan_session)?;
    let ecfg = cfg.engine();
    let encoder = GeometricColorEncoder::new(ecfg.encoder.clone())
        .map_err(|e| ScanQueryError::Config(e.to_string()))?;
    let index = EmbeddingIndex::build(db, Modality::Point)
        .map_err(|e| ScanQueryError::Database(e.to_string()))?;
    if !index.is_empty() && index.dim() != encoder.dim() {
        return Err(ScanQueryError::Database(format!(
            "database descriptors have {} dimensions, the encoder makes {}",
            index.dim(),
            encoder.dim()
        )));
    }

    let mut outcome = ScanQueryOutcome {
        fix: None,
        no_fix: None,
        query_instances: 0,
        candidates: 0,
        scenes_tried: Vec::new(),
        verified: Vec::new(),
        seconds: 0.0,
    };
    // The same path as database scans. A scan whose instances are all too small
    // builds nothing: that is a query with too few instances, not an error.
    let query = match scene_from_scan(scan_session, &cfg.build) {
        Ok(s) => s,
        Err(BuildError::Empty(_)) => Scene::new(&scan_session.name, "query"),
        Err(e) => return Err(e.into()),
    };
    let lives: Vec<LiveQuery> = query
        .instances
        .iter()
        .filter_map(|i| {
            Some(LiveQuery {
                id: i.id,
                centroid_session: i.centroid,
                descriptor: i.descriptor(Modality::Point)?.to_vec(),
                extent: i.bbox.half_extents.max() * 2.0,
            })
        })
        .collect();
    outcome.query_instances = lives.len();
    let needed = ecfg.min_live_instances.max(3);
    if lives.len() < needed {
        outcome.no_fix = Some(NoFix::TooFewInstances {
            found: lives.len(),
            needed,
        });
        outcome.seconds = start.elapsed().as_secs_f64();
        return Ok(outcome);
    }

    let mut surface: Vec<Point3<f32>> = query.structure_points.clone();
    for inst in &query.instances {
        surface.extend_from_slice(&inst.points);
    }
    let source = thinned(&surface, cfg.icp_source_points);
    let centre = Point3::from(
        source.iter().map(|p| p.coords).sum::<Vector3<f32>>() / source.len().max(1) as f32,
    );

    // Screen before ICP (ICP's nearest-neighbour queries are slow for a surface
    // placed far off): a hypothesis whose overlap at its RANSAC pose (an upper
    // bound of the share within ICP's first distance) is below what even a rival
    // of a just-accepted fix needs is not refined and not counted.
    let screen = thinned(&source, 1000);
    let screen_min = ecfg.ambiguity_ratio * ecfg.state.min_fitness;
    let mut matching = ecfg.matching.clone();
    matching.top_scenes = db.scenes.len().max(1);
    let candidates = find_candidates(&index, &lives, &matching);
    outcome.candidates = candidates.len();
    let scenes = rank_scenes(&candidates, &matching);
    let mut verified: Vec<VerifiedScanHypothesis> = Vec::new();
    for s in &scenes {
        outcome.scenes_tried.push(s.scene);
        let Some(scene) = db.scenes.get(s.scene) else {
            continue;
        };
        let (tp, tn) = scene_surface(scene);
        let occupancy = Occupancy::new(&tp, ecfg.icp.initial_max_distance);
        let target = match IcpTarget::new(tp, tn) {
            Ok(t) => t,
            Err(e) => {
                log::warn!("scene {}: no ICP target: {e}", scene.name);
                continue;
            }
        };
        let corr = scene_correspondences(db, s.scene, &lives, &candidates);
        let main = find_hypotheses(&corr, &ecfg.ransac)?;
        let mut poses: Vec<(Pose, usize)> = main
            .hypotheses
            .iter()
            .take(ecfg.verify_per_scene)
            .map(|h| (h.T_map_session, h.inliers.len()))
            .collect();
        // Symmetry check (as in the tracker): the best pose explained without its
        // own inliers, so a mirrored room shows up as a rival.
        if let Some(best) = main.best() {
            let rest = outside_inliers(&corr, &best.inliers);
            let alt = find_hypotheses(&rest, &ecfg.ransac)?;
            poses.extend(
                alt.hypotheses
                    .iter()
                    .take(cfg.verify_alternatives)
                    .map(|h| (h.T_map_session, h.inliers.len())),
            );
        }
        for (init, inliers) in poses {
            let near = occupancy.share_near(&screen, &init);
            if near < screen_min {
                log::trace!("scan query: hypothesis skipped, {near:.3} of the surface near");
                continue;
            }
            match target.refine_staged(&source, &init, &ecfg.icp, &ecfg.icp_polish) {
                Ok(r) => verified.push(VerifiedScanHypothesis {
                    scene: s.scene,
                    T_map_session: r.T_map_session,
                    inliers,
                    fitness: r.fitness,
                    inlier_rmse: r.inlier_rmse,
                }),
                Err(e) => log::debug!("scan query: verification failed: {e}"),
            }
        }
    }
    verified.sort_by(|a, b| {
        b.fitness
            .total_cmp(&a.fitness)
            .then(b.inliers.cmp(&a.inliers))
            .then(a.scene.cmp(&b.scene))
    });
    log::debug!(
        "scan query {}: {} instances, {} candidates, verified {:?}",
        scan_session.name,
        lives.len(),
        candidates.len(),
        verified
            .iter()
            .map(|v| (v.scene, v.inliers, (v.fitness * 1000.0).round() / 1000.0))
            .collect::<Vec<_>>()
    );
    outcome.verified = verified;
    outcome.no_fix = decide(&outcome.verified, &centre, cfg).err();
    if outcome.no_fix.is_none()
        && let Some(best) = outcome.verified.first()
    {
        let rival = rival_of(&outcome.verified, &centre, cfg).map_or(0.0, |r| r.fitness);
        let support = 1.0 - (-(best.inliers as f32) / 6.0).exp();
        let margin = 1.0 - 0.5 * (rival / best.fitness.max(1e-6)).clamp(0.0, 1.0);
        outcome.fix = Some(ScanFix {
            scene: best.scene,
            scene_name: db
                .scenes
                .get(best.scene)
                .map(|s| s.name.clone())
                .unwrap_or_default(),
            T_map_session: best.T_map_session,
            confidence: (best.fitness.clamp(0.0, 1.0) * support * margin).clamp(0.0, 1.0),
            inliers: best.inliers,
            fitness: best.fitness,
            inlier_rmse: best.inlier_rmse,
        });
    }
    outcome.seconds = start.elapsed().as_secs_f64();
    Ok(outcome)
}

/// The best rival of the first (best) hypothesis: another scene, or a pose of the
/// same scene that differs clearly (measured at the query's centre).
fn rival_of<'a>(
    verified: &'a [VerifiedScanHypothesis],
    centre: &Point3<f32>,
    cfg: &ScanQueryConfig,
) -> Option<&'a VerifiedScanHypothesis> {
    let best = verified.first()?;
    verified.iter().skip(1).find(|v| {
        v.scene != best.scene
            || !pose_difference(&v.T_map_session, &best.T_map_session, centre).within(
                cfg.distinct_translation_m,
                cfg.distinct_rotation_deg.to_radians(),
            )
    })
}

/// The tracker's gates on the best verified hypothesis.
fn decide(
    verified: &[VerifiedScanHypothesis],
    centre: &Point3<f32>,
    cfg: &ScanQueryConfig,
) -> Result<(), NoFix> {
    let ecfg = cfg.engine();
    let best = verified.first().ok_or(NoFix::NoHypothesis)?;
    if best.inliers < ecfg.state.min_inliers || best.fitness < ecfg.state.min_fitness {
        return Err(NoFix::BelowGate {
            inliers: best.inliers,
            fitness: best.fitness,
        });
    }
    if let Some(r) = rival_of(verified, centre, cfg)
        && r.fitness >= ecfg.ambiguity_ratio * best.fitness
    {
        return Err(NoFix::Ambiguous {
            best: best.fitness,
            rival: r.fitness,
            rival_scene: r.scene,
        });
    }
    Ok(())
}

#[cfg(test)]
#[path = "scan_query_tests.rs"]
mod tests;
