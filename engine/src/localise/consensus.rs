//! Scoring a candidate `T_map_session` against every correspondence.
//!
//! A correspondence is an inlier when `|T·p_session − p_map| < threshold + slack`
//! (its own slack, see [`Correspondence::slack`]).
//! Inliers are then made one-to-one: each live and each database instance is
//! counted once, keeping its best match (highest effective weight, then lowest
//! residual, then lowest index, so the result is deterministic). The score is the
//! truncated-quadratic (MSAC) consensus `Σ wᵢ·(1 − rᵢ²/tᵢ²)` over the kept
//! inliers, where `wᵢ` is the effective weight and `tᵢ` the candidate's threshold.

use super::correspondence::Correspondence;
use crate::frame::Pose;

/// The consensus of one hypothesis.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Consensus {
    /// Indices of the one-to-one inliers, ascending.
    pub inliers: Vec<usize>,
    /// MSAC score (larger is better).
    pub score: f64,
    /// Root mean square residual of the inliers, metres.
    pub rmse: f64,
}

/// Reusable buffers for [`evaluate`].
#[derive(Debug, Default)]
pub(crate) struct Scratch {
    hits: Vec<(usize, f64)>,
    used_live: Vec<u32>,
    used_db: Vec<u32>,
}

/// Effective weight of a candidate: its similarity clamped at 0, plus a floor so
/// that a zero similarity still counts a little.
pub(crate) fn effective_weight(c: &Correspondence, floor: f32) -> f64 {
    (c.weight.max(0.0) + floor.max(0.0)) as f64
}

/// Scores `T_map_session` against all `candidates` (see the module docs).
/// `weights` are the effective weights, one per candidate.
pub(crate) fn evaluate(
    T_map_session: &Pose,
    candidates: &[Correspondence],
    weights: &[f64],
    threshold: f32,
    scratch: &mut Scratch,
) -> Consensus {
    let thr2 = |c: &Correspondence| {
        let t = (threshold + c.slack_m()) as f64;
        t * t
    };
    scratch.hits.clear();
    for (i, c) in candidates.iter().enumerate() {
        let r2 = (T_map_session * c.p_session - c.p_map).norm_squared() as f64;
        if r2 < thr2(c) {
            scratch.hits.push((i, r2));
        }
    }
    let w = |i: usize| weights.get(i).copied().unwrap_or(0.0);
    scratch.hits.sort_by(|a, b| {
        w(b.0)
            .total_cmp(&w(a.0))
            .then(a.1.total_cmp(&b.1))
            .then(a.0.cmp(&b.0))
    });
    scratch.used_live.clear();
    scratch.used_db.clear();
    let mut out = Consensus::default();
    let mut sq = 0.0;
    for &(i, r2) in &scratch.hits {
        let Some(c) = candidates.get(i) else { continue };
        if scratch.used_live.contains(&c.live) || scratch.used_db.contains(&c.db) {
            continue;
        }
        scratch.used_live.push(c.live);
        scratch.used_db.push(c.db);
        out.inliers.push(i);
        out.score += w(i) * (1.0 - r2 / thr2(c));
        sq += r2;
    }
    if !out.inliers.is_empty() {
        out.rmse = (sq / out.inliers.len() as f64).sqrt();
    }
    out.inliers.sort_unstable();
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use nalgebra::Point3;

    fn c(live: u32, db: u32, s: f32, m: f32, weight: f32) -> Correspondence {
        Correspondence {
            live,
            db,
            p_session: Point3::new(s, 0.0, 0.0),
            p_map: Point3::new(m, 0.0, 0.0),
            weight,
            slack: 0.0,
        }
    }

    #[test]
    fn inliers_are_one_to_one_keeping_the_best_weight() {
        let cands = [
            c(0, 0, 0.0, 0.0, 0.5),
            c(0, 1, 0.0, 0.1, 0.9),  // same live, better weight: wins
            c(1, 1, 1.0, 0.05, 1.0), // residual 0.95: not an inlier
            c(2, 2, 2.0, 2.0, 0.7),
            c(3, 3, 3.0, 9.0, 1.0), // outlier
        ];
        let w: Vec<f64> = cands.iter().map(|c| effective_weight(c, 0.0)).collect();
        let mut s = Scratch::default();
        let cons = evaluate(&Pose::identity(), &cands, &w, 0.3, &mut s);
        // Candidate 2 is not an inlier (residual 0.95), so db 1 goes to candidate 1;
        // live 0 then rejects candidate 0.
        assert_eq!(cons.inliers, vec![1, 3]);
        let expected = 0.9 * (1.0 - 0.01 / 0.09) + 0.7;
        assert!((cons.score - expected).abs() < 1e-5, "{}", cons.score);
        assert!((cons.rmse - (0.01f64 / 2.0).sqrt()).abs() < 1e-5);
    }

    #[test]
    fn slack_widens_the_threshold_of_its_own_correspondence() {
        let mut far = c(0, 0, 0.0, 0.5, 1.0); // residual 0.5
        let w = [1.0f64];
        let mut s = Scratch::default();
        let none = evaluate(
            &Pose::identity(),
            std::slice::from_ref(&far),
            &w,
            0.3,
            &mut s,
        );
        assert!(none.inliers.is_empty());
        far.slack = 0.3; // threshold 0.6
        let one = evaluate(
            &Pose::identity(),
            std::slice::from_ref(&far),
            &w,
            0.3,
            &mut s,
        );
        assert_eq!(one.inliers, vec![0]);
        assert!(
            (one.score - (1.0 - 0.25 / 0.36)).abs() < 1e-6,
            "{}",
            one.score
        );
        // Negative slack counts as none.
        far.slack = -1.0;
        assert!(
            evaluate(&Pose::identity(), &[far], &w, 0.3, &mut s)
                .inliers
                .is_empty()
        );
    }
}
