//! Scoring an annotated scan used as one relocalisation query.
//!
//! The query scan is moved into a simulated session frame by `T_session_scan`
//! (drawn from a seed as for sequences: any rotation, translation up to 10 m) and
//! localised against the database ([`crate::pipeline::scan_query`]). Its truth is
//! the structure alignment of the query scan to the scan the database scene was
//! built from ([`super::scan_reference`]), `T_map_scan`; the session transform is
//! undone before comparing, so the error is that of the estimated `T_map_scan =
//! T_map_session · T_session_scan` against the reference (translation measured at
//! the scan frame's origin, which ScanNet puts at the room's centre).
//!
//! The scan counts as *localisable* when at least 30 % of its points, moved by the
//! reference, lie within 5 cm of the reference scan's surface (the rule for scans).
//! A fix is *false* when the database holds no reference for the query (a room
//! that is not in it), when it names another scene than the reference, or when its
//! error exceeds 25 cm or 10°.

use nalgebra::Point3;
use serde::Serialize;

use super::localisable::{LOCALISABLE_SHARE, SurfaceCoverage};
use super::metrics::{PoseError, RelocSummary, pose_error};
use super::scan_reference::{ScanReference, transformed_scan};
use super::session::random_session_transform;
use crate::db::SceneDatabase;
use crate::frame::Pose;
use crate::io::scan::Scan;
use crate::pipeline::scan_query::{
    ScanQueryConfig, ScanQueryError, ScanQueryOutcome, localise_scan,
};

/// Largest translation of the simulated session transform, metres.
pub const SESSION_MAX_TRANSLATION_M: f32 = 10.0;

/// A scan query run in a simulated session.
#[derive(Debug, Clone)]
pub struct ScanRun {
    /// The hidden transform that moved the scan into the session frame.
    pub T_session_scan: Pose,
    /// What the engine answered.
    pub outcome: ScanQueryOutcome,
}

/// Moves `scan` by the session transform drawn from `seed` and localises it.
///
/// # Errors
/// The scan cannot be a query (see [`ScanQueryError`]).
pub fn run_scan_query(
    db: &SceneDatabase,
    scan: &Scan,
    seed: u64,
    cfg: &ScanQueryConfig,
) -> Result<ScanRun, ScanQueryError> {
    let T_session_scan = random_session_transform(seed, SESSION_MAX_TRANSLATION_M);
    let moved = transformed_scan(scan, &T_session_scan);
    let outcome = localise_scan(db, &moved, cfg)?;
    Ok(ScanRun {
        T_session_scan,
        outcome,
    })
}

/// The truth of a scan query: which database scene holds the query's room, and
/// where the query scan lies in it.
#[derive(Debug, Clone)]
pub struct ScanQueryTruth {
    /// Name of the database scene built from the reference scan.
    pub scene: String,
    /// The structure alignment, query scan → reference scan (= map).
    pub reference: ScanReference,
    /// Share of the query's points within 5 cm of the reference surface under it.
    pub explained_share: f32,
}

impl ScanQueryTruth {
    /// The truth of `query` against the `reference` scan that database scene
    /// `scene` was built from, given their structure alignment.
    pub fn new(scene: &str, reference_scan: &Scan, query: &Scan, alignment: ScanReference) -> Self {
        let coverage = SurfaceCoverage::new(&reference_scan.cloud.points);
        let stride = query.cloud.points.len().div_ceil(20_000).max(1);
        let moved: Vec<Point3<f32>> = query
            .cloud
            .points
            .iter()
            .step_by(stride)
            .map(|p| alignment.T_ref_query * p)
            .collect();
        ScanQueryTruth {
            scene: scene.to_string(),
            explained_share: coverage.explained_share_points(&moved),
            reference: alignment,
        }
    }

    /// True when the query views enough of the mapped surface.
    pub fn localisable(&self) -> bool {
        self.explained_share >= LOCALISABLE_SHARE
    }
}

/// How one scan query scored.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ScanScore {
    /// The engine reported a fix.
    pub fixed: bool,
    /// The fix names the reference's scene (`None` without a fix or a reference).
    pub correct_scene: Option<bool>,
    /// Error of the estimated `T_map_scan` against the reference (fix in the
    /// reference's scene only).
    pub error: Option<PoseError>,
    /// Within 5 cm and 5°.
    pub success_5cm5deg: bool,
    /// Within 10 cm and 10°.
    pub success_10cm10deg: bool,
    /// A fix that is wrong (see the module documentation).
    pub false_fix: bool,
    /// The query is localisable (false without a reference).
    pub localisable: bool,
}

/// Scores a run against its truth (`None`: the query's room is not in the database).
pub fn score_scan_run(run: &ScanRun, truth: Option<&ScanQueryTruth>) -> ScanScore {
    let fix = run.outcome.fix.as_ref();
    let correct_scene = match (fix, truth) {
        (Some(f), Some(t)) => Some(f.scene_name == t.scene),
        _ => None,
    };
    let error = match (fix, truth) {
        (Some(f), Some(t)) if f.scene_name == t.scene => Some(pose_error(
            &(f.T_map_session * run.T_session_scan),
            &t.reference.T_ref_query,
        )),
        _ => None,
    };
    let within = |m: f32, d: f32| error.is_some_and(|e| e.within(m, d));
    ScanScore {
        fixed: fix.is_some(),
        correct_scene,
        error,
        success_5cm5deg: within(0.05, 5.0),
        success_10cm10deg: within(0.10, 10.0),
        false_fix: fix.is_some() && !within(0.25, 10.0),
        localisable: truth.is_some_and(ScanQueryTruth::localisable),
    }
}

impl ScanScore {
    /// The score in the shape of a sequence's summary (one frame, index 0).
    pub fn summary(&self) -> RelocSummary {
        let rate = |ok: bool| if self.localisable && ok { 1.0 } else { 0.0 };
        RelocSummary {
            frames: 1,
            localisable_frames: usize::from(self.localisable),
            success_rate_5cm5deg: rate(self.success_5cm5deg),
            success_rate_10cm10deg: rate(self.success_10cm10deg),
            false_fix_rate: if self.false_fix { 1.0 } else { 0.0 },
            false_fix_frames: usize::from(self.false_fix),
            first_fix_frame: self.fixed.then_some(0),
            first_localisable_frame: self.localisable.then_some(0),
            frames_to_first_fix: (self.fixed && self.localisable).then_some(1),
            success_rate_after_first_fix: rate(self.fixed && self.success_5cm5deg),
            frames_after_first_fix: usize::from(self.fixed && self.localisable),
            median_translation_error_m: self.error.map(|e| e.translation_m as f64),
            median_rotation_error_deg: self.error.map(|e| e.rotation_deg as f64),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frame::PointCloud;
    use crate::pipeline::scan_query::ScanFix;
    use nalgebra::Vector3;

    fn run(fix: Option<(&str, Pose)>, T_session_scan: Pose) -> ScanRun {
        ScanRun {
            T_session_scan,
            outcome: ScanQueryOutcome {
                fix: fix.map(|(scene, T_map_session)| ScanFix {
                    scene: 0,
                    scene_name: scene.into(),
                    T_map_session,
                    confidence: 0.8,
                    inliers: 10,
                    fitness: 0.7,
                    inlier_rmse: 0.01,
                }),
                no_fix: None,
                query_instances: 10,
                candidates: 100,
                scenes_tried: vec![0],
                verified: Vec::new(),
                seconds: 0.5,
            },
        }
    }

    fn plane_scan(z: f32) -> Scan {
        let points = (0..50)
            .flat_map(|i| {
                (0..50).map(move |j| Point3::new(i as f32 * 0.04 - 1.0, j as f32 * 0.04 - 1.0, z))
            })
            .collect();
        Scan {
            name: "plane".into(),
            cloud: PointCloud {
                points,
                ..Default::default()
            },
            boxes: Vec::new(),
        }
    }

    fn truth(T_ref_query: Pose, query_z: f32) -> ScanQueryTruth {
        let alignment = ScanReference {
            T_ref_query,
            sweep_yaw_deg: 0.0,
            fitness: 0.8,
            rmse_m: 0.01,
            converged: true,
            runner_up_fitness: 0.3,
            structure_points: (100, 100),
        };
        ScanQueryTruth::new("room", &plane_scan(0.0), &plane_scan(query_z), alignment)
    }

    #[test]
    fn the_session_transform_is_undone_before_comparing() {
        let T_ref_query = Pose::new(Vector3::new(0.1, 0.2, 0.0), Vector3::z() * 1.5);
        let T_session_scan = Pose::new(Vector3::new(7.0, -3.0, 2.0), Vector3::new(0.3, 2.0, -1.0));
        let t = truth(T_ref_query, 0.0);
        // A 2 m square turned by 86° about its centre still mostly overlaps itself.
        assert!(
            t.localisable() && t.explained_share > 0.6,
            "{}",
            t.explained_share
        );
        // Exact: T_map_session = T_ref_query · T_session_scan⁻¹.
        let exact = T_ref_query * T_session_scan.inverse();
        let s = score_scan_run(&run(Some(("room", exact)), T_session_scan), Some(&t));
        let e = s.error.expect("an error");
        assert!(e.translation_m < 1e-4 && e.rotation_deg < 0.01, "{e:?}");
        assert!(s.success_5cm5deg && s.success_10cm10deg && !s.false_fix);
        assert_eq!(s.correct_scene, Some(true));
        let sum = s.summary();
        assert_eq!((sum.frames, sum.localisable_frames), (1, 1));
        assert_eq!(sum.first_fix_frame, Some(0));
        assert_eq!((sum.success_rate_5cm5deg, sum.false_fix_rate), (1.0, 0.0));

        // 8 cm off at the scan's origin: a 10 cm success, not a 5 cm one.
        let off = Pose::new(Vector3::new(0.08, 0.0, 0.0), Vector3::zeros()) * exact;
        let s = score_scan_run(&run(Some(("room", off)), T_session_scan), Some(&t));
        assert!(!s.success_5cm5deg && s.success_10cm10deg && !s.false_fix);
        assert!((s.error.expect("error").translation_m - 0.08).abs() < 1e-3);
        // 30 cm off: a false fix.
        let far = Pose::new(Vector3::new(0.3, 0.0, 0.0), Vector3::zeros()) * exact;
        let s = score_scan_run(&run(Some(("room", far)), T_session_scan), Some(&t));
        assert!(s.false_fix && !s.success_10cm10deg);
        assert_eq!(s.summary().false_fix_frames, 1);
    }

    #[test]
    fn fixes_in_another_scene_or_room_are_false() {
        let T = Pose::identity();
        let t = truth(T, 0.0);
        let other = score_scan_run(&run(Some(("kitchen", T)), T), Some(&t));
        assert!(other.false_fix && other.error.is_none());
        assert_eq!(other.correct_scene, Some(false));
        // The query's room is not in the database: any fix is false, none is right.
        let s = score_scan_run(&run(Some(("kitchen", T)), T), None);
        assert!(s.false_fix && !s.localisable && s.correct_scene.is_none());
        let none = score_scan_run(&run(None, T), None);
        assert!(!none.false_fix && !none.fixed);
        let sum = none.summary();
        assert_eq!((sum.localisable_frames, sum.false_fix_frames), (0, 0));
        assert_eq!(sum.first_fix_frame, None);
        assert_eq!(sum.median_translation_error_m, None);
    }

    #[test]
    fn a_query_off_the_mapped_surface_is_not_localisable() {
        // The query lies 20 cm above the reference surface under the alignment.
        let t = truth(Pose::identity(), 0.2);
        assert!(!t.localisable() && t.explained_share < 0.01);
    }
}
