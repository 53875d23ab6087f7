//! Pose-error metrics and relocalisation / change-detection scores.
//!
//! Rotation error is the angle of `R_est⁻¹ · R_true` in degrees; translation error is
//! the Euclidean distance between the transforms' translations in metres. Both are
//! computed on the session-to-map transform, so they do not depend on which frame
//! the query camera is in.

use serde::Serialize;

use crate::frame::Pose;

/// The error of an estimated rigid transform against the truth.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct PoseError {
    /// Translation error, metres.
    pub translation_m: f32,
    /// Rotation error, degrees.
    pub rotation_deg: f32,
}

impl PoseError {
    /// True when both errors are within the bounds.
    pub fn within(&self, translation_m: f32, rotation_deg: f32) -> bool {
        self.translation_m <= translation_m && self.rotation_deg <= rotation_deg
    }
}

/// Error of `estimate` against `truth`.
pub fn pose_error(estimate: &Pose, truth: &Pose) -> PoseError {
    let dr = estimate.rotation.inverse() * truth.rotation;
    PoseError {
        translation_m: (estimate.translation.vector - truth.translation.vector).norm(),
        rotation_deg: dr.angle().to_degrees(),
    }
}

/// The `q`-th percentile (0–100) by linear interpolation; `None` for no values.
pub fn percentile(values: &[f64], q: f64) -> Option<f64> {
    let mut v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
    if v.is_empty() {
        return None;
    }
    v.sort_by(|a, b| a.total_cmp(b));
    let pos = (q.clamp(0.0, 100.0) / 100.0) * (v.len() - 1) as f64;
    let lo = pos.floor() as usize;
    let hi = pos.ceil() as usize;
    let (a, b) = (v.get(lo)?, v.get(hi)?);
    Some(a + (b - a) * (pos - lo as f64))
}

/// What the evaluation knows of one query frame.
#[derive(Debug, Clone, PartialEq)]
pub struct RelocFrame {
    /// Frame index.
    pub index: u64,
    /// Whether the frame views the mapped area (the localisability rule).
    pub localisable: bool,
    /// Whether the engine reported the Localised state on this frame.
    pub localised: bool,
    /// The engine's current `T_map_session` estimate, if any.
    pub estimate: Option<Pose>,
    /// The true camera pose in the map frame, when known: errors are then
    /// measured on the camera pose the estimate implies (what a user of the fix
    /// sees), not at the session origin, which may lie metres away.
    pub T_map_camera: Option<Pose>,
}

/// Aggregate relocalisation scores (the keys of `eval reloc --json`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RelocSummary {
    /// Frames scored.
    pub frames: usize,
    /// Frames that view the mapped area.
    pub localisable_frames: usize,
    /// Share of localisable frames whose current estimate is within 5 cm and 5°.
    pub success_rate_5cm5deg: f64,
    /// Share of localisable frames whose current estimate is within 10 cm and 10°.
    pub success_rate_10cm10deg: f64,
    /// Frames reported Localised with error > 25 cm or > 10°, over all frames.
    pub false_fix_rate: f64,
    /// Number of such frames.
    pub false_fix_frames: usize,
    /// Index of the first frame reported Localised, if any.
    pub first_fix_frame: Option<u64>,
    /// Index of the first localisable frame, if any.
    pub first_localisable_frame: Option<u64>,
    /// Frames streamed from the first localisable frame up to and including the
    /// first fix (1: fixed on the first localisable frame; 0: fixed before it).
    pub frames_to_first_fix: Option<u64>,
    /// Share of localisable frames after the first fix that are within 5 cm and 5°.
    pub success_rate_after_first_fix: f64,
    /// Localisable frames from the first fix on (the denominator of
    /// `success_rate_after_first_fix`).
    pub frames_after_first_fix: usize,
    /// Median translation error over frames with an estimate, metres.
    pub median_translation_error_m: Option<f64>,
    /// Median rotation error over frames with an estimate, degrees.
    pub median_rotation_error_deg: Option<f64>,
}

/// Success after the first fix over several sequences, each counted from its own
/// first fix: the rate over all their localisable frames from the fix on, and
/// that frame count (a sequence never fixed adds no frame).
pub fn success_after_first_fix(summaries: &[RelocSummary]) -> (f64, usize) {
    let n: usize = summaries.iter().map(|s| s.frames_after_first_fix).sum();
    let ok: f64 = summaries
        .iter()
        .map(|s| s.success_rate_after_first_fix * s.frames_after_first_fix as f64)
        .sum();
    (if n == 0 { 0.0 } else { ok / n as f64 }, n)
}

/// Scores a sequence of frames against the true `T_map_session`.
pub fn summarise_reloc(frames: &[RelocFrame], T_map_session_true: &Pose) -> RelocSummary {
    let mut localisable = 0usize;
    let (mut ok5, mut ok10) = (0usize, 0usize);
    let mut false_fix = 0usize;
    let mut first_fix = None;
    let (mut first_fix_pos, mut first_loc_pos, mut first_loc) = (None, None, None);
    let (mut after_fix, mut after_fix_ok) = (0usize, 0usize);
    let (mut terr, mut rerr) = (Vec::new(), Vec::new());
    for (pos, f) in frames.iter().enumerate() {
        let err = f.estimate.map(|e| match f.T_map_camera {
            Some(T_map_camera) => {
                let T_session_camera = T_map_session_true.inverse() * T_map_camera;
                pose_error(&(e * T_session_camera), &T_map_camera)
            }
            None => pose_error(&e, T_map_session_true),
        });
        if f.localised && first_fix.is_none() {
            first_fix = Some(f.index);
            first_fix_pos = Some(pos as u64);
        }
        if f.localisable && first_loc.is_none() {
            first_loc = Some(f.index);
            first_loc_pos = Some(pos as u64);
        }
        if let Some(e) = err {
            terr.push(e.translation_m as f64);
            rerr.push(e.rotation_deg as f64);
            if f.localised && !e.within(0.25, 10.0) {
                false_fix += 1;
            }
        }
        if f.localisable {
            localisable += 1;
            let good5 = err.is_some_and(|e| e.within(0.05, 5.0));
            ok5 += usize::from(good5);
            ok10 += usize::from(err.is_some_and(|e| e.within(0.10, 10.0)));
            if first_fix.is_some() {
                after_fix += 1;
                after_fix_ok += usize::from(good5);
            }
        }
    }
    let ratio = |a: usize, b: usize| if b == 0 { 0.0 } else { a as f64 / b as f64 };
    RelocSummary {
        frames: frames.len(),
        localisable_frames: localisable,
        success_rate_5cm5deg: ratio(ok5, localisable),
        success_rate_10cm10deg: ratio(ok10, localisable),
        false_fix_rate: ratio(false_fix, frames.len()),
        false_fix_frames: false_fix,
        first_fix_frame: first_fix,
        first_localisable_frame: first_loc,
        frames_to_first_fix: match (first_fix_pos, first_loc_pos) {
            (Some(f), Some(l)) => Some((f + 1).saturating_sub(l)),
            _ => None,
        },
        success_rate_after_first_fix: ratio(after_fix_ok, after_fix),
        frames_after_first_fix: after_fix,
        median_translation_error_m: percentile(&terr, 50.0),
        median_rotation_error_deg: percentile(&rerr, 50.0),
    }
}

/// Precision, recall and F1 of one event type.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize)]
pub struct PrecisionRecall {
    /// True positives over reported events (1 when nothing was reported and nothing was expected).
    pub precision: f64,
    /// True positives over expected events (1 when nothing was expected).
    pub recall: f64,
    /// Harmonic mean of precision and recall.
    pub f1: f64,
    /// True positives.
    pub true_positives: usize,
    /// Reported events.
    pub reported: usize,
    /// Expected events.
    pub expected: usize,
}

impl PrecisionRecall {
    /// Scores from counts.
    pub fn from_counts(true_positives: usize, reported: usize, expected: usize) -> PrecisionRecall {
        let precision = if reported == 0 {
            if expected == 0 { 1.0 } else { 0.0 }
        } else {
            true_positives as f64 / reported as f64
        };
        let recall = if expected == 0 {
            1.0
        } else {
            true_positives as f64 / expected as f64
        };
        let f1 = if precision + recall > 0.0 {
            2.0 * precision * recall / (precision + recall)
        } else {
            0.0
        };
        PrecisionRecall {
            precision,
            recall,
            f1,
            true_positives,
            reported,
            expected,
        }
    }

    /// Sums counts of several evaluations and rescored.
    pub fn combine(parts: &[PrecisionRecall]) -> PrecisionRecall {
        let tp = parts.iter().map(|p| p.true_positives).sum();
        let rep = parts.iter().map(|p| p.reported).sum();
        let exp = parts.iter().map(|p| p.expected).sum();
        PrecisionRecall::from_counts(tp, rep, exp)
    }
}

/// Change-detection scores per event type (the keys of `eval changes --json`).
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize)]
pub struct ChangeScore {
    /// Objects moved.
    pub moved: PrecisionRecall,
    /// Objects added.
    pub added: PrecisionRecall,
    /// Objects removed.
    pub removed: PrecisionRecall,
}

#[cfg(test)]
mod tests {
    use super::*;
    use nalgebra::Vector3;

    #[test]
    fn pose_error_measures_translation_and_angle() {
        let a = Pose::new(Vector3::new(1.0, 0.0, 0.0), Vector3::zeros());
        let b = Pose::new(
            Vector3::new(1.0, 0.03, 0.04),
            Vector3::z() * 10f32.to_radians(),
        );
        let e = pose_error(&a, &b);
        assert!((e.translation_m - 0.05).abs() < 1e-5);
        assert!((e.rotation_deg - 10.0).abs() < 1e-3);
        assert!(e.within(0.05, 10.0) && !e.within(0.04, 10.0));
    }

    #[test]
    fn percentile_interpolates() {
        assert_eq!(percentile(&[3.0, 1.0, 2.0], 50.0), Some(2.0));
        assert_eq!(percentile(&[1.0, 2.0], 50.0), Some(1.5));
        assert_eq!(percentile(&[], 50.0), None);
        assert_eq!(percentile(&[0.0, 10.0], 99.0), Some(9.9));
    }

    #[test]
    fn reloc_summary_counts_success_and_false_fixes() {
        let truth = Pose::identity();
        let bad = Pose::new(Vector3::new(1.0, 0.0, 0.0), Vector3::zeros());
        let frames = vec![
            RelocFrame {
                index: 0,
                localisable: false,
                localised: false,
                estimate: None,
                T_map_camera: None,
            },
            RelocFrame {
                index: 1,
                localisable: true,
                localised: false,
                estimate: None,
                T_map_camera: None,
            },
            RelocFrame {
                index: 2,
                localisable: true,
                localised: true,
                estimate: Some(truth),
                T_map_camera: None,
            },
            RelocFrame {
                index: 3,
                localisable: true,
                localised: true,
                estimate: Some(bad),
                T_map_camera: None,
            },
        ];
        let s = summarise_reloc(&frames, &truth);
        assert_eq!(s.frames, 4);
        assert_eq!(s.localisable_frames, 3);
        assert!((s.success_rate_5cm5deg - 1.0 / 3.0).abs() < 1e-9);
        assert_eq!(s.false_fix_frames, 1);
        assert!((s.false_fix_rate - 0.25).abs() < 1e-9);
        assert_eq!(s.first_fix_frame, Some(2));
        assert!((s.success_rate_after_first_fix - 0.5).abs() < 1e-9);
        assert_eq!(s.frames_after_first_fix, 2);
    }

    #[test]
    fn success_after_each_sequences_own_fix() {
        let with = |rate: f64, n: usize, fixed: bool| RelocSummary {
            success_rate_after_first_fix: rate,
            frames_after_first_fix: n,
            first_fix_frame: fixed.then_some(3),
            ..summarise_reloc(&[], &Pose::identity())
        };
        // 10 frames at 100 %, 30 at 50 %, one sequence never fixed.
        let (rate, n) = success_after_first_fix(&[
            with(1.0, 10, true),
            with(0.5, 30, true),
            with(0.0, 0, false),
        ]);
        assert_eq!(n, 40);
        assert!((rate - 25.0 / 40.0).abs() < 1e-9, "{rate}");
        assert_eq!(success_after_first_fix(&[with(0.0, 0, false)]), (0.0, 0));
    }

    #[test]
    fn errors_are_measured_at_the_camera_when_its_pose_is_known() {
        // The session origin is 10 m from the room; the estimate is turned 0.5°
        // about the camera's position (a small, harmless error for the user).
        let T_map_session = Pose::new(Vector3::new(10.0, 0.0, 0.0), Vector3::zeros());
        let T_map_camera = Pose::new(Vector3::new(0.0, 1.0, 1.5), Vector3::zeros());
        let turn = Pose::new(Vector3::zeros(), Vector3::z() * 0.5f32.to_radians());
        let about_camera = T_map_camera * turn * T_map_camera.inverse();
        let estimate = about_camera * T_map_session;
        let frame = |T_map_camera| RelocFrame {
            index: 0,
            localisable: true,
            localised: true,
            estimate: Some(estimate),
            T_map_camera,
        };
        let at_camera = summarise_reloc(&[frame(Some(T_map_camera))], &T_map_session);
        assert!((at_camera.success_rate_5cm5deg - 1.0).abs() < 1e-9);
        assert!(at_camera.median_translation_error_m.unwrap() < 1e-4);
        // Measured at the session origin the same estimate is 9 cm off.
        let at_origin = summarise_reloc(&[frame(None)], &T_map_session);
        assert_eq!(at_origin.success_rate_5cm5deg, 0.0);
        assert!(at_origin.median_translation_error_m.unwrap() > 0.08);
    }

    #[test]
    fn precision_recall_edge_cases() {
        let p = PrecisionRecall::from_counts(2, 4, 2);
        assert!((p.precision - 0.5).abs() < 1e-9 && (p.recall - 1.0).abs() < 1e-9);
        assert!((p.f1 - 2.0 / 3.0).abs() < 1e-9);
        let none = PrecisionRecall::from_counts(0, 0, 0);
        assert_eq!((none.precision, none.recall, none.f1), (1.0, 1.0, 1.0));
        let missed = PrecisionRecall::from_counts(0, 0, 3);
        assert_eq!(missed.f1, 0.0);
        let c = PrecisionRecall::combine(&[p, missed]);
        assert_eq!((c.true_positives, c.reported, c.expected), (2, 4, 5));
    }
}
