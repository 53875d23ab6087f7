//! Live-to-database matching: instance candidates by descriptor similarity and
//! scene retrieval (which room) scored by matched-instance evidence.
//!
//! Candidates: for every live instance, its `per_live_k` most similar database
//! instances above `min_similarity` (several per live instance, because identical
//! objects — three equal chairs — must all stay candidates; geometric consistency
//! decides later). Each candidate is flagged *mutual* when the live instance is also
//! the database instance's most similar live instance, and *distinctive* when it
//! passes the ratio test against the best match in another scene or a different
//! object. Scene scores sum the best similarity of each live instance within the
//! scene, with mutual and distinctive matches weighted up. Results are sorted.

use std::collections::BTreeMap;

mod consistency;
pub use consistency::{ConsistencyConfig, ConsistentScene, rerank_by_consistency};

use nalgebra::Point3;

use crate::db::{EmbeddingIndex, SceneDatabase, SceneIdx};
use crate::localise::Correspondence;

/// Tuning of the matcher.
#[derive(Debug, Clone, PartialEq)]
pub struct MatchConfig {
    /// Database candidates kept per live instance (over all scenes).
    pub per_live_k: usize,
    /// Minimum cosine similarity for a candidate.
    pub min_similarity: f32,
    /// Ratio test: a match is distinctive when the best similarity of a *different
    /// kind* of object is at most `ratio ×` its own (here: 1 − ratio of dissimilarity).
    pub ratio: f32,
    /// Scenes returned by retrieval.
    pub top_scenes: usize,
}

impl Default for MatchConfig {
    fn default() -> Self {
        MatchConfig {
            per_live_k: 24,
            min_similarity: 0.75,
            ratio: 0.9,
            top_scenes: 3,
        }
    }
}

/// A live instance ready for matching.
#[derive(Debug, Clone, PartialEq)]
pub struct LiveQuery {
    /// Live instance id.
    pub id: u32,
    /// Centroid in the session frame.
    pub centroid_session: Point3<f32>,
    /// Unit descriptor.
    pub descriptor: Vec<f32>,
    /// Largest extent of its oriented box, metres (how much of an object it shows).
    pub extent: f32,
}

/// Largest centroid offset allowed for partial views, metres.
pub const MAX_SLACK_M: f32 = 0.8;

/// How far a live centroid may lie from its database instance's centroid when
/// the live instance (largest extent `live_extent`) shows only part of the
/// database instance (`db_extent`): half the missing length, at most
/// [`MAX_SLACK_M`].
pub fn partial_view_slack(live_extent: f32, db_extent: f32) -> f32 {
    let s = 0.5 * (db_extent - live_extent);
    if s.is_finite() {
        s.clamp(0.0, MAX_SLACK_M)
    } else {
        0.0
    }
}

/// One live-to-database candidate.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Candidate {
    /// Live instance id.
    pub live: u32,
    /// Scene index.
    pub scene: SceneIdx,
    /// Instance index within the scene.
    pub instance: usize,
    /// Cosine similarity.
    pub similarity: f32,
    /// The live instance is also this database instance's best live match.
    pub mutual: bool,
}

/// A retrieved scene with its evidence.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SceneScore {
    /// Scene index.
    pub scene: SceneIdx,
    /// Evidence score (larger is better).
    pub score: f32,
    /// Live instances with at least one candidate in the scene.
    pub matched_live: usize,
}

/// Candidates of every live instance, sorted by (live, similarity desc, scene, instance).
pub fn find_candidates(
    index: &EmbeddingIndex,
    lives: &[LiveQuery],
    cfg: &MatchConfig,
) -> Vec<Candidate> {
    let queries: Vec<Vec<f32>> = lives.iter().map(|l| l.descriptor.clone()).collect();
    let hits = index.top_k_batch(&queries, cfg.per_live_k.max(1));
    let mut out: Vec<Candidate> = Vec::new();
    for (live, hits) in lives.iter().zip(hits) {
        for (sim, scene, instance) in hits {
            if sim >= cfg.min_similarity {
                out.push(Candidate {
                    live: live.id,
                    scene,
                    instance,
                    similarity: sim,
                    mutual: false,
                });
            }
        }
    }
    // Mutual: the database instance's best live instance.
    let mut best_live: BTreeMap<(SceneIdx, usize), (f32, u32)> = BTreeMap::new();
    for c in &out {
        let e = best_live
            .entry((c.scene, c.instance))
            .or_insert((f32::MIN, c.live));
        if c.similarity > e.0 || (c.similarity == e.0 && c.live < e.1) {
            *e = (c.similarity, c.live);
        }
    }
    for c in &mut out {
        c.mutual = best_live
            .get(&(c.scene, c.instance))
            .is_some_and(|b| b.1 == c.live);
    }
    out.sort_by(|a, b| {
        a.live
            .cmp(&b.live)
            .then(b.similarity.total_cmp(&a.similarity))
            .then(a.scene.cmp(&b.scene))
            .then(a.instance.cmp(&b.instance))
    });
    out
}

/// Scores scenes by matched-instance evidence; best first, at most `cfg.top_scenes`.
pub fn rank_scenes(candidates: &[Candidate], cfg: &MatchConfig) -> Vec<SceneScore> {
    // Per (scene, live): best similarity and whether any candidate there is mutual.
    let mut per: BTreeMap<(SceneIdx, u32), (f32, bool)> = BTreeMap::new();
    for c in candidates {
        let e = per.entry((c.scene, c.live)).or_insert((0.0, false));
        e.0 = e.0.max(c.similarity);
        e.1 |= c.mutual;
    }
    let mut scores: BTreeMap<SceneIdx, (f32, usize)> = BTreeMap::new();
    for ((scene, _), (sim, mutual)) in per {
        let e = scores.entry(scene).or_insert((0.0, 0));
        // Similarities near the threshold say little: weight by the margin above it.
        let margin = ((sim - cfg.min_similarity) / (1.0 - cfg.min_similarity).max(1e-3)).max(0.0);
        e.0 += margin * if mutual { 1.5 } else { 1.0 };
        e.1 += 1;
    }
    let mut ranked: Vec<SceneScore> = scores
        .into_iter()
        .map(|(scene, (score, matched_live))| SceneScore {
            scene,
            score,
            matched_live,
        })
        .collect();
    ranked.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.scene.cmp(&b.scene)));
    ranked.truncate(cfg.top_scenes.max(1));
    ranked
}

/// The RANSAC correspondences of one scene: live centroids (session frame) against
/// database centroids (map frame), weighted by similarity (mutual matches up).
pub fn scene_correspondences(
    db: &SceneDatabase,
    scene: SceneIdx,
    lives: &[LiveQuery],
    candidates: &[Candidate],
) -> Vec<Correspondence> {
    let Some(s) = db.scenes.get(scene) else {
        return Vec::new();
    };
    let by_id: BTreeMap<u32, &LiveQuery> = lives.iter().map(|l| (l.id, l)).collect();
    candidates
        .iter()
        .filter(|c| c.scene == scene)
        .filter_map(|c| {
            let live = by_id.get(&c.live)?;
            let inst = s.instances.get(c.instance)?;
            Some(Correspondence {
                live: c.live,
                db: c.instance as u32,
                p_session: live.centroid_session,
                p_map: inst.centroid,
                weight: c.similarity * if c.mutual { 1.0 } else { 0.8 },
                slack: partial_view_slack(live.extent, inst.bbox.half_extents.max() * 2.0),
            })
        })
        .collect()
}

/// The RANSAC correspondences of one scene from a search restricted to it: each
/// live instance's `k` most similar instances of `scene` with similarity at least
/// `min_similarity`. Restricting the search keeps the right instance among the
/// candidates even when a partial live view resembles objects of other rooms
/// more than its own complete database instance. Mutual matches (the database
/// instance's most similar live instance in this search) weigh 1, others 0.8.
pub fn scene_search_correspondences(
    index: &EmbeddingIndex,
    db: &SceneDatabase,
    scene: SceneIdx,
    lives: &[LiveQuery],
    k: usize,
    min_similarity: f32,
) -> Vec<Correspondence> {
    let Some(s) = db.scenes.get(scene) else {
        return Vec::new();
    };
    let queries: Vec<Vec<f32>> = lives.iter().map(|l| l.descriptor.clone()).collect();
    let hits = index.top_k_batch_in(&queries, k.max(1), Some(&[scene]));
    let mut found: Vec<(usize, usize, f32)> = Vec::new();
    for (li, hits) in hits.iter().enumerate() {
        for &(sim, sc, inst) in hits {
            if sc == scene && sim >= min_similarity {
                found.push((li, inst, sim));
            }
        }
    }
    let mut best_live: BTreeMap<usize, (f32, usize)> = BTreeMap::new();
    for &(li, inst, sim) in &found {
        let e = best_live.entry(inst).or_insert((f32::MIN, li));
        if sim > e.0 || (sim == e.0 && li < e.1) {
            *e = (sim, li);
        }
    }
    found
        .iter()
        .filter_map(|&(li, inst, sim)| {
            let live = lives.get(li)?;
            let d = s.instances.get(inst)?;
            let mutual = best_live.get(&inst).is_some_and(|b| b.1 == li);
            Some(Correspondence {
                live: live.id,
                db: inst as u32,
                p_session: live.centroid_session,
                p_map: d.centroid,
                weight: sim * if mutual { 1.0 } else { 0.8 },
                slack: partial_view_slack(live.extent, d.bbox.half_extents.max() * 2.0),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests;
