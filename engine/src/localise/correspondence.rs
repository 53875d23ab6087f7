//! Candidate instance correspondences between the live session and the map, and
//! the cheap geometric checks RANSAC applies to minimal sets of three of them.
//!
//! A rigid transform preserves distances, so three correct correspondences must
//! form congruent triangles in the session and map frames. The checks compare the
//! three pairwise distances (tolerance in metres) and reject triangles that are
//! too small or nearly collinear (their rotation is poorly determined), in both
//! frames. A triple that reuses a live or a database instance is rejected too
//! (one-to-one matching).

use nalgebra::Point3;
use serde::{Deserialize, Serialize};

/// One candidate match between a live instance and a database instance.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Correspondence {
    /// Live instance id (session side).
    pub live: u32,
    /// Database instance id (map side).
    pub db: u32,
    /// The live instance's centroid in the SESSION frame, metres.
    pub p_session: Point3<f32>,
    /// The database instance's centroid in the MAP frame, metres.
    pub p_map: Point3<f32>,
    /// Descriptor similarity (larger is better; negative values count as 0).
    pub weight: f32,
    /// How far (metres, ≥ 0) the live centroid may lie from the database centroid
    /// of the same object because the live instance shows only part of it (a
    /// half-seen bed has its centroid half a metre off). Added to the pairwise
    /// distance tolerance and to the inlier threshold for this correspondence.
    pub slack: f32,
}

impl Correspondence {
    /// True when both points and the weight are finite.
    pub fn is_finite(&self) -> bool {
        self.p_session.coords.iter().all(|v| v.is_finite())
            && self.p_map.coords.iter().all(|v| v.is_finite())
            && self.weight.is_finite()
            && self.slack.is_finite()
    }

    /// The slack clamped to be non-negative.
    pub fn slack_m(&self) -> f32 {
        self.slack.max(0.0)
    }

    /// True when the two correspondences share a live or a database instance.
    pub fn conflicts_with(&self, other: &Correspondence) -> bool {
        self.live == other.live || self.db == other.db
    }
}

/// Why a pair or triple of correspondences cannot be a minimal sample.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TripleRejection {
    /// Two correspondences share a live or a database instance.
    SharedInstance,
    /// A pairwise distance differs between the session and the map frame.
    DistanceMismatch,
    /// A side is shorter than the minimum.
    TooSmall,
    /// The triangle is (nearly) collinear: its smallest altitude is too low.
    Collinear,
}

/// Geometric acceptance test for minimal samples (all lengths in metres).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct TripleCheck {
    /// Largest accepted difference between a session-frame and the corresponding
    /// map-frame pairwise distance.
    pub distance_tolerance: f32,
    /// Smallest accepted side length (in both frames).
    pub min_side: f32,
    /// Smallest accepted triangle altitude (twice the area over the longest
    /// side, in both frames): rejects nearly collinear triples.
    pub min_altitude: f32,
}

impl Default for TripleCheck {
    fn default() -> Self {
        TripleCheck {
            distance_tolerance: 0.3,
            min_side: 0.3,
            min_altitude: 0.15,
        }
    }
}

impl TripleCheck {
    /// Checks a pair: distinct instances, consistent distance, long enough side.
    pub fn check_pair(
        &self,
        a: &Correspondence,
        b: &Correspondence,
    ) -> Result<(), TripleRejection> {
        if a.conflicts_with(b) {
            return Err(TripleRejection::SharedInstance);
        }
        let ds = (a.p_session - b.p_session).norm();
        let dm = (a.p_map - b.p_map).norm();
        if ds.min(dm) < self.min_side {
            return Err(TripleRejection::TooSmall);
        }
        if (ds - dm).abs() > self.distance_tolerance + a.slack_m() + b.slack_m() {
            return Err(TripleRejection::DistanceMismatch);
        }
        Ok(())
    }

    /// Checks the triangle shape of a triple whose pairs already passed
    /// [`TripleCheck::check_pair`].
    pub fn check_shape(
        &self,
        a: &Correspondence,
        b: &Correspondence,
        c: &Correspondence,
    ) -> Result<(), TripleRejection> {
        let s = min_altitude(&a.p_session, &b.p_session, &c.p_session);
        let m = min_altitude(&a.p_map, &b.p_map, &c.p_map);
        if s.min(m) < self.min_altitude {
            return Err(TripleRejection::Collinear);
        }
        Ok(())
    }

    /// Full check of a triple: its three pairs, then its shape.
    pub fn check(
        &self,
        a: &Correspondence,
        b: &Correspondence,
        c: &Correspondence,
    ) -> Result<(), TripleRejection> {
        self.check_pair(a, b)?;
        self.check_pair(a, c)?;
        self.check_pair(b, c)?;
        self.check_shape(a, b, c)
    }
}

/// Smallest altitude of triangle `abc`: twice its area over its longest side
/// (0 for a degenerate triangle).
fn min_altitude(a: &Point3<f32>, b: &Point3<f32>, c: &Point3<f32>) -> f32 {
    let ab = b - a;
    let ac = c - a;
    let bc = c - b;
    let longest = ab.norm().max(ac.norm()).max(bc.norm());
    if longest <= 0.0 {
        return 0.0;
    }
    ab.cross(&ac).norm() / longest
}

/// Every triple `[i, j, k]` (`i < j < k`, lexicographic order) of `candidates`
/// that passes `check`, stopping after `limit` triples.
///
/// Pairs are tested once (an `n × n` table), so the cost is `O(n²)` plus the
/// number of triples whose three pairs are all consistent. Meant for small
/// candidate lists (up to a few dozen), where trying every triple is cheaper and
/// more robust than sampling.
pub fn enumerate_consistent_triples(
    candidates: &[Correspondence],
    check: &TripleCheck,
    limit: usize,
) -> Vec<[usize; 3]> {
    let n = candidates.len();
    let mut ok = vec![false; n * n];
    for (i, a) in candidates.iter().enumerate() {
        for (j, b) in candidates.iter().enumerate().skip(i + 1) {
            let pass = check.check_pair(a, b).is_ok();
            if let Some(v) = ok.get_mut(i * n + j) {
                *v = pass;
            }
        }
    }
    let pair_ok = |i: usize, j: usize| ok.get(i * n + j).copied().unwrap_or(false);
    let mut out = Vec::new();
    for (i, a) in candidates.iter().enumerate() {
        for (j, b) in candidates.iter().enumerate().skip(i + 1) {
            if !pair_ok(i, j) {
                continue;
            }
            for (k, c) in candidates.iter().enumerate().skip(j + 1) {
                if pair_ok(i, k) && pair_ok(j, k) && check.check_shape(a, b, c).is_ok() {
                    if out.len() >= limit {
                        log::debug!("triple enumeration stopped at its limit of {limit}");
                        return out;
                    }
                    out.push([i, j, k]);
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(live: u32, db: u32, s: [f32; 3], m: [f32; 3]) -> Correspondence {
        Correspondence {
            live,
            db,
            p_session: Point3::from(s),
            p_map: Point3::from(m),
            weight: 1.0,
            slack: 0.0,
        }
    }

    #[test]
    fn checks_reject_each_failure_mode() {
        let chk = TripleCheck::default();
        let a = c(0, 0, [0.0, 0.0, 0.0], [5.0, 0.0, 0.0]);
        let b = c(1, 1, [2.0, 0.0, 0.0], [5.0, 2.0, 0.0]);
        let good = c(2, 2, [0.0, 1.0, 0.0], [4.0, 0.0, 0.0]);
        assert_eq!(chk.check(&a, &b, &good), Ok(()));
        let shared = c(0, 7, [0.0, 1.0, 0.0], [4.0, 0.0, 0.0]);
        assert_eq!(
            chk.check(&a, &b, &shared),
            Err(TripleRejection::SharedInstance)
        );
        let far = c(2, 2, [0.0, 3.0, 0.0], [4.0, 0.0, 0.0]);
        assert_eq!(
            chk.check(&a, &b, &far),
            Err(TripleRejection::DistanceMismatch)
        );
        let near = c(2, 2, [0.1, 0.0, 0.0], [5.0, 0.1, 0.0]);
        assert_eq!(chk.check(&a, &b, &near), Err(TripleRejection::TooSmall));
        let line = c(2, 2, [1.0, 0.05, 0.0], [4.95, 1.0, 0.0]);
        assert_eq!(chk.check(&a, &b, &line), Err(TripleRejection::Collinear));
    }

    #[test]
    fn enumeration_finds_exactly_the_consistent_triples() {
        let pts = [
            [0.0, 0.0, 0.0],
            [2.0, 0.0, 0.0],
            [0.0, 1.5, 0.0],
            [1.0, 1.0, 1.0],
        ];
        let mut cands: Vec<Correspondence> = pts
            .iter()
            .enumerate()
            .map(|(i, p)| c(i as u32, i as u32, *p, [p[0] + 3.0, p[1], p[2]]))
            .collect();
        // An outlier whose distances to everything disagree.
        cands.push(c(9, 9, [0.0, 0.0, 2.0], [40.0, 0.0, 0.0]));
        let triples = enumerate_consistent_triples(&cands, &TripleCheck::default(), 100);
        assert_eq!(triples, vec![[0, 1, 2], [0, 1, 3], [0, 2, 3], [1, 2, 3]]);
        assert_eq!(
            enumerate_consistent_triples(&cands, &TripleCheck::default(), 2).len(),
            2
        );
    }
}
