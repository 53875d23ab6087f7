//! Seeded RANSAC over minimal sets of three instance correspondences, producing
//! ranked, distinct `T_map_session` hypotheses.
//!
//! Pipeline: draw (or, for short candidate lists, enumerate) triples; reject the
//! ones failing the cheap congruence/shape test ([`TripleCheck`]); estimate a pose
//! from each survivor with Umeyama; score it against ALL candidates with one-to-one
//! MSAC consensus (see [`consensus`](super::consensus)); keep a pool of the best
//! mutually distinct poses; refit each on its inliers (weighted least squares,
//! iterated until the inlier set is stable); return them sorted by score.
//!
//! Guarantees:
//! - Deterministic: the same candidates and config (seed included) give the same
//!   result, bit for bit, on every platform.
//! - Every returned hypothesis has at least `min_inliers` one-to-one inliers, each
//!   with residual below `inlier_threshold` plus its slack (metres), and returned hypotheses differ
//!   pairwise by more than `distinct_translation_m` or `distinct_rotation_deg`
//!   (translation measured at the centroid of the session points).
//! - `best_score` and `second_score` are the two best distinct scores found, the
//!   second counting hypotheses below `min_inliers` too, so a caller can gate on
//!   their ratio: with repeated objects or a symmetric room the runner-up is close
//!   and the fix should be refused, since a wrong fix is worse than none.
//! - "No transform" is an empty hypothesis list, not an error.
//!
//! Random sampling draws each triple with probability proportional to the
//! product of the candidates' effective weights (similarity clamped at 0 plus
//! `weight_floor`) and stops adaptively once, with probability `confidence`, a
//! clean triple would have been drawn from any consensus set at least half as
//! large as the best one (or as large as the runner-up, if larger).

use nalgebra::Point3;
use serde::{Deserialize, Serialize};

use super::compare::pose_difference;
use super::consensus::{self, Consensus, Scratch};
use super::correspondence::{Correspondence, TripleCheck, enumerate_consistent_triples};
use super::error::RegistrationError;
use super::umeyama::{fit_weighted, to_f64};
use crate::frame::Pose;
use crate::rng::Rng;

/// A suggested bound for [`RansacOutcome::unambiguous_best`]. On random
/// candidate sets (100–300 candidates in 4–8 m rooms) the runner-up scored at
/// least 0.78 of the best in every trial measured, while correct fixes on synthetic
/// and real (ScanNet) scenes scored 0.16–0.5.
pub const SUGGESTED_MAX_SCORE_RATIO: f32 = 0.7;

/// How minimal sets are chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum SamplingStrategy {
    /// Enumerate when there are at most `exhaustive_max_candidates` usable
    /// candidates, sample otherwise.
    Auto,
    /// Try every consistent triple (up to `max_exhaustive_triples`).
    Exhaustive,
    /// Weighted random sampling with adaptive termination.
    Random,
}

/// RANSAC settings (lengths in metres).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct RansacConfig {
    /// Enumerate, sample, or pick by candidate count.
    pub strategy: SamplingStrategy,
    /// Largest candidate count that [`SamplingStrategy::Auto`] enumerates.
    pub exhaustive_max_candidates: usize,
    /// Cap on the number of triples enumerated.
    pub max_exhaustive_triples: usize,
    /// Most triples drawn when sampling (rejected draws included).
    pub max_iterations: usize,
    /// Fewest triples drawn before adaptive termination may stop.
    pub min_iterations: usize,
    /// Probability for adaptive termination, in `(0, 1)`.
    pub confidence: f64,
    /// A candidate is an inlier when `|T·p_session − p_map|` is below this.
    pub inlier_threshold: f32,
    /// Fewest one-to-one inliers of a returned hypothesis (at least 3).
    pub min_inliers: usize,
    /// The minimal-set acceptance test.
    pub triple: TripleCheck,
    /// Added to each (non-negative) similarity to form the effective weight.
    pub weight_floor: f32,
    /// Most hypotheses returned.
    pub max_hypotheses: usize,
    /// Poses closer than this (at the session centroid) and than
    /// `distinct_rotation_deg` count as the same hypothesis.
    pub distinct_translation_m: f32,
    /// See `distinct_translation_m`; degrees.
    pub distinct_rotation_deg: f32,
    /// Most refit-and-rescore rounds per hypothesis.
    pub refit_iterations: usize,
    /// Seed of the sampler.
    pub seed: u64,
}

impl Default for RansacConfig {
    fn default() -> Self {
        RansacConfig {
            strategy: SamplingStrategy::Auto,
            exhaustive_max_candidates: 40,
            max_exhaustive_triples: 50_000,
            max_iterations: 20_000,
            min_iterations: 200,
            confidence: 0.999,
            inlier_threshold: 0.3,
            min_inliers: 4,
            triple: TripleCheck::default(),
            weight_floor: 0.05,
            max_hypotheses: 5,
            distinct_translation_m: 0.5,
            distinct_rotation_deg: 10.0,
            refit_iterations: 10,
            seed: 0x5EED,
        }
    }
}

impl RansacConfig {
    /// Checks every value's range.
    pub fn validate(&self) -> Result<(), RegistrationError> {
        let positive = |v: f32| v.is_finite() && v > 0.0;
        let non_negative = |v: f32| v.is_finite() && v >= 0.0;
        if !positive(self.inlier_threshold) {
            return Err(RegistrationError::config(format!(
                "inlier_threshold must be positive, got {}",
                self.inlier_threshold
            )));
        }
        if !(self.confidence > 0.0 && self.confidence < 1.0) {
            return Err(RegistrationError::config(format!(
                "confidence must be in (0, 1), got {}",
                self.confidence
            )));
        }
        if self.min_inliers < 3 {
            return Err(RegistrationError::config("min_inliers must be at least 3"));
        }
        if self.max_hypotheses == 0 {
            return Err(RegistrationError::config(
                "max_hypotheses must be at least 1",
            ));
        }
        if !positive(self.distinct_translation_m) || !positive(self.distinct_rotation_deg) {
            return Err(RegistrationError::config(
                "distinct_translation_m and distinct_rotation_deg must be positive",
            ));
        }
        if !non_negative(self.weight_floor)
            || !non_negative(self.triple.distance_tolerance)
            || !non_negative(self.triple.min_side)
            || !non_negative(self.triple.min_altitude)
        {
            return Err(RegistrationError::config(
                "weight_floor and the triple check's lengths must be finite and non-negative",
            ));
        }
        Ok(())
    }
}

/// Which sampling mode a run used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SamplingMode {
    /// Every consistent triple was tried.
    Exhaustive,
    /// Triples were drawn at random.
    Random,
}

/// One pose hypothesis with its support.
#[derive(Debug, Clone, PartialEq)]
pub struct Hypothesis {
    /// Maps session points into the map frame.
    pub T_map_session: Pose,
    /// Indices into the caller's candidate slice of the one-to-one inliers, ascending.
    pub inliers: Vec<usize>,
    /// MSAC score: `Σ weight·(1 − r²/threshold²)` over the inliers.
    pub score: f32,
    /// Root mean square inlier residual, metres.
    pub inlier_rmse: f32,
}

/// The result of [`find_hypotheses`].
#[derive(Debug, Clone, PartialEq)]
pub struct RansacOutcome {
    /// Distinct hypotheses with at least `min_inliers` inliers, best first
    /// (at most `max_hypotheses`).
    pub hypotheses: Vec<Hypothesis>,
    /// Score of the best hypothesis found (0 when none).
    pub best_score: f32,
    /// Score of the best hypothesis distinct from the best one, whatever its
    /// inlier count (0 when none).
    pub second_score: f32,
    /// The mode used.
    pub mode: SamplingMode,
    /// Triples drawn (random) or enumerated (exhaustive).
    pub iterations: usize,
    /// Triples that passed the check and were scored.
    pub triples_scored: usize,
    /// Candidates with finite points and weight.
    pub usable_candidates: usize,
}

impl RansacOutcome {
    /// The best hypothesis, if any reached `min_inliers`.
    pub fn best(&self) -> Option<&Hypothesis> {
        self.hypotheses.first()
    }

    /// `second_score / best_score` in `[0, 1]`; 1 (fully ambiguous) when nothing
    /// was found.
    pub fn score_ratio(&self) -> f32 {
        if self.best_score > 0.0 {
            (self.second_score / self.best_score).clamp(0.0, 1.0)
        } else {
            1.0
        }
    }

    /// The best hypothesis when it exists and the runner-up scores at most
    /// `max_ratio` of it (e.g. 0.7); `None` for an ambiguous or empty result.
    pub fn unambiguous_best(&self, max_ratio: f32) -> Option<&Hypothesis> {
        self.best().filter(|_| self.score_ratio() <= max_ratio)
    }
}

/// A pooled hypothesis.
#[derive(Debug, Clone)]
struct Entry {
    pose: Pose,
    cons: Consensus,
}

/// Search state shared by both sampling modes.
struct Search<'a> {
    cands: &'a [Correspondence],
    weights: &'a [f64],
    cfg: &'a RansacConfig,
    centroid: Point3<f32>,
    pool: Vec<Entry>,
    pool_cap: usize,
    scratch: Scratch,
    scored: usize,
}

impl Search<'_> {
    fn same(&self, a: &Pose, b: &Pose) -> bool {
        pose_difference(a, b, &self.centroid).within(
            self.cfg.distinct_translation_m,
            self.cfg.distinct_rotation_deg.to_radians(),
        )
    }

    fn evaluate(&mut self, pose: &Pose) -> Consensus {
        consensus::evaluate(
            pose,
            self.cands,
            self.weights,
            self.cfg.inlier_threshold,
            &mut self.scratch,
        )
    }

    /// Estimates and scores the pose of triple `t`, adding it to the pool.
    fn try_triple(&mut self, t: [usize; 3]) {
        let pts = t.map(|i| self.cands.get(i));
        let [Some(a), Some(b), Some(c)] = pts else {
            return;
        };
        let pairs = [a, b, c].map(|c| (to_f64(&c.p_session), to_f64(&c.p_map), 1.0));
        let Ok(pose) = fit_weighted(pairs.into_iter()) else {
            return;
        };
        self.scored += 1;
        let cons = self.evaluate(&pose);
        self.insert(Entry { pose, cons });
    }

    fn insert(&mut self, e: Entry) {
        if let Some(pos) = self.pool.iter().position(|p| self.same(&p.pose, &e.pose)) {
            if let Some(p) = self.pool.get_mut(pos)
                && e.cons.score > p.cons.score
            {
                *p = e;
            }
            return;
        }
        self.pool.push(e);
        if self.pool.len() > self.pool_cap {
            sort_entries(&mut self.pool);
            self.pool.truncate(self.pool_cap);
        }
    }

    /// Weight share of the consensus set that adaptive termination must be able
    /// to find.
    fn rival_share(&self, total_weight: f64) -> f64 {
        let mut counts: Vec<(usize, f64)> = self
            .pool
            .iter()
            .map(|e| {
                let w: f64 = e
                    .cons
                    .inliers
                    .iter()
                    .map(|&i| self.weights.get(i).copied().unwrap_or(0.0))
                    .sum();
                (e.cons.inliers.len(), w)
            })
            .collect();
        counts.sort_by(|a, b| b.0.cmp(&a.0).then(b.1.total_cmp(&a.1)));
        let Some(&(best_n, best_w)) = counts.first() else {
            return 0.0;
        };
        let half = (best_n.div_ceil(2), best_w * 0.5);
        let rival = match counts.get(1) {
            Some(&(n, w)) if n >= half.0 => (n, w),
            _ => half,
        };
        if total_weight > 0.0 {
            rival.1 / total_weight
        } else {
            0.0
        }
    }

    /// Refits `e` on its inliers until its inlier set is stable.
    fn refine(&mut self, mut e: Entry) -> Entry {
        for _ in 0..self.cfg.refit_iterations {
            let pairs = e.cons.inliers.iter().filter_map(|&i| {
                let c = self.cands.get(i)?;
                Some((
                    to_f64(&c.p_session),
                    to_f64(&c.p_map),
                    self.weights.get(i).copied().unwrap_or(0.0),
                ))
            });
            let Ok(pose) = fit_weighted(pairs) else {
                break;
            };
            let cons = self.evaluate(&pose);
            if cons.score < e.cons.score - 1e-9 {
                break;
            }
            let stable = cons.inliers == e.cons.inliers;
            e = Entry { pose, cons };
            if stable {
                break;
            }
        }
        e
    }
}

/// Sorts entries best first: score, then inlier count, then inlier indices.
fn sort_entries(v: &mut [Entry]) {
    v.sort_by(|a, b| {
        b.cons
            .score
            .total_cmp(&a.cons.score)
            .then(b.cons.inliers.len().cmp(&a.cons.inliers.len()))
            .then(a.cons.inliers.cmp(&b.cons.inliers))
    });
}

/// Number of draws needed to get, with probability `confidence`, one triple
/// drawn entirely from a set of weight share `share`.
fn required_iterations(share: f64, confidence: f64) -> f64 {
    let p3 = share.clamp(0.0, 1.0).powi(3);
    if p3 <= 1e-12 {
        return f64::INFINITY;
    }
    if p3 >= 1.0 - 1e-12 {
        return 1.0;
    }
    (1.0 - confidence).ln() / (1.0 - p3).ln()
}

/// Draws an index with probability proportional to its weight (`cumulative` is
/// the running sum), or uniformly when all weights are zero.
fn draw(rng: &mut Rng, cumulative: &[f64]) -> usize {
    let n = cumulative.len();
    let total = cumulative.last().copied().unwrap_or(0.0);
    if total > 0.0 {
        let u = rng.f64() * total;
        cumulative
            .partition_point(|&c| c <= u)
            .min(n.saturating_sub(1))
    } else {
        rng.below(n)
    }
}

/// The one-to-one inliers of `T_map_session` among `candidates`, scored as
/// [`find_hypotheses`] scores its own hypotheses (threshold plus each
/// correspondence's slack, each live and database instance counted once).
/// For poses that did not come from RANSAC (pair hypotheses, refined poses).
pub fn inliers_of(
    T_map_session: &Pose,
    candidates: &[Correspondence],
    cfg: &RansacConfig,
) -> Vec<usize> {
    let weights: Vec<f64> = candidates
        .iter()
        .map(|c| consensus::effective_weight(c, cfg.weight_floor))
        .collect();
    consensus::evaluate(
        T_map_session,
        candidates,
        &weights,
        cfg.inlier_threshold,
        &mut Scratch::default(),
    )
    .inliers
}

/// The candidates that are not among `inliers` (ascending indices): what is
/// left to explain once a hypothesis is taken out, e.g. the mirrored matches of
/// a symmetric room.
pub fn outside_inliers(candidates: &[Correspondence], inliers: &[usize]) -> Vec<Correspondence> {
    candidates
        .iter()
        .enumerate()
        .filter(|(i, _)| inliers.binary_search(i).is_err())
        .map(|(_, c)| *c)
        .collect()
}

/// Finds ranked, distinct `T_map_session` hypotheses from candidate instance
/// correspondences (see the module docs).
///
/// Candidates with a non-finite point or weight are skipped (logged). Fewer than
/// three usable candidates give an empty outcome.
///
/// # Errors
/// [`RegistrationError::InvalidConfig`] when `cfg` is out of range.
pub fn find_hypotheses(
    candidates: &[Correspondence],
    cfg: &RansacConfig,
) -> Result<RansacOutcome, RegistrationError> {
    cfg.validate()?;
    let usable: Vec<usize> = (0..candidates.len())
        .filter(|&i| candidates.get(i).is_some_and(Correspondence::is_finite))
        .collect();
    if usable.len() < candidates.len() {
        log::warn!(
            "ransac: skipped {} candidates with non-finite values",
            candidates.len() - usable.len()
        );
    }
    let cands: Vec<Correspondence> = usable
        .iter()
        .filter_map(|&i| candidates.get(i).copied())
        .collect();
    let n = cands.len();
    let weights: Vec<f64> = cands
        .iter()
        .map(|c| consensus::effective_weight(c, cfg.weight_floor))
        .collect();
    let mode = match cfg.strategy {
        SamplingStrategy::Exhaustive => SamplingMode::Exhaustive,
        SamplingStrategy::Random => SamplingMode::Random,
        SamplingStrategy::Auto if n <= cfg.exhaustive_max_candidates => SamplingMode::Exhaustive,
        SamplingStrategy::Auto => SamplingMode::Random,
    };
    let mut outcome = RansacOutcome {
        hypotheses: Vec::new(),
        best_score: 0.0,
        second_score: 0.0,
        mode,
        iterations: 0,
        triples_scored: 0,
        usable_candidates: n,
    };
    if n < 3 {
        return Ok(outcome);
    }
    let centroid = Point3::from(
        cands
            .iter()
            .map(|c| c.p_session.coords)
            .sum::<nalgebra::Vector3<f32>>()
            / n as f32,
    );
    let mut search = Search {
        cands: &cands,
        weights: &weights,
        cfg,
        centroid,
        pool: Vec::new(),
        pool_cap: (4 * cfg.max_hypotheses).max(16),
        scratch: Scratch::default(),
        scored: 0,
    };

    match mode {
        SamplingMode::Exhaustive => {
            let triples =
                enumerate_consistent_triples(&cands, &cfg.triple, cfg.max_exhaustive_triples);
            outcome.iterations = triples.len();
            for t in triples {
                search.try_triple(t);
            }
        }
        SamplingMode::Random => {
            let mut rng = Rng::new(cfg.seed);
            let total: f64 = weights.iter().sum();
            let cumulative: Vec<f64> = weights
                .iter()
                .scan(0.0, |acc, w| {
                    *acc += w;
                    Some(*acc)
                })
                .collect();
            let mut required = f64::INFINITY;
            let mut last_scored = 0;
            let mut iter = 0;
            while iter < cfg.max_iterations {
                if iter >= cfg.min_iterations && (iter as f64) >= required {
                    break;
                }
                iter += 1;
                let t = [
                    draw(&mut rng, &cumulative),
                    draw(&mut rng, &cumulative),
                    draw(&mut rng, &cumulative),
                ];
                if t[0] == t[1] || t[0] == t[2] || t[1] == t[2] {
                    continue;
                }
                let [Some(a), Some(b), Some(c)] = t.map(|i| cands.get(i)) else {
                    continue;
                };
                if cfg.triple.check(a, b, c).is_err() {
                    continue;
                }
                search.try_triple(t);
                if search.scored != last_scored {
                    last_scored = search.scored;
                    required = required_iterations(search.rival_share(total), cfg.confidence);
                }
            }
            outcome.iterations = iter;
        }
    }
    outcome.triples_scored = search.scored;

    // Refit every pooled hypothesis, then keep the distinct ones.
    let mut pool = std::mem::take(&mut search.pool);
    sort_entries(&mut pool);
    let mut refined: Vec<Entry> = pool.into_iter().map(|e| search.refine(e)).collect();
    sort_entries(&mut refined);
    let mut kept: Vec<Entry> = Vec::new();
    for e in refined {
        if e.cons.inliers.is_empty() || kept.iter().any(|k| search.same(&k.pose, &e.pose)) {
            continue;
        }
        kept.push(e);
    }
    outcome.best_score = kept.first().map_or(0.0, |e| e.cons.score as f32);
    outcome.second_score = kept.get(1).map_or(0.0, |e| e.cons.score as f32);
    outcome.hypotheses = kept
        .into_iter()
        .filter(|e| e.cons.inliers.len() >= cfg.min_inliers)
        .take(cfg.max_hypotheses)
        .map(|e| Hypothesis {
            T_map_session: e.pose,
            inliers: e
                .cons
                .inliers
                .iter()
                .filter_map(|&i| usable.get(i).copied())
                .collect(),
            score: e.cons.score as f32,
            inlier_rmse: e.cons.rmse as f32,
        })
        .collect();
    log::debug!(
        "ransac: {n} candidates, {:?}, {} triples ({} scored), best {:.3} second {:.3}, {} hypotheses",
        outcome.mode,
        outcome.iterations,
        outcome.triples_scored,
        outcome.best_score,
        outcome.second_score,
        outcome.hypotheses.len()
    );
    Ok(outcome)
}
