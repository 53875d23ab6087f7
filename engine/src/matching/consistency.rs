//! Scene retrieval re-ranked by geometric consistency: of the scenes the
//! descriptor evidence ranks first, the one whose matched instances also sit
//! where the live ones do (one rigid pose explains them) comes first.
//!
//! Descriptor evidence counts every similar object; rooms furnished from the
//! same models (bedrooms with the same bed and nightstands) score alike. The
//! arrangement tells them apart: RANSAC over the scene's correspondences finds
//! the best rigid pose, and its MSAC score (the weighted, residual-discounted
//! count of correspondences it explains) is the scene's consistent evidence.
//! Only a scene clearly ahead on it moves to the front: where the objects in
//! view have moved, or too few are in view, chance arrangements in other rooms
//! score about as well as the true one, and the descriptor order stands.

use super::{LiveQuery, SceneScore, scene_search_correspondences};
use crate::db::{EmbeddingIndex, SceneDatabase};
use crate::localise::ransac::{RansacConfig, find_hypotheses};

/// A scene of a re-ranked list.
#[derive(Debug, Clone, PartialEq)]
pub struct ConsistentScene {
    /// The descriptor-evidence ranking's entry.
    pub evidence: SceneScore,
    /// MSAC score of the best rigid pose over the scene's correspondences
    /// (`None` for scenes past the re-ranked ones, 0 when no pose was found).
    pub consistent: Option<f32>,
}

/// Where correspondences come from and how they are checked.
#[derive(Debug, Clone, PartialEq)]
pub struct ConsistencyConfig {
    /// Scenes re-ranked (the first of the descriptor ranking).
    pub top: usize,
    /// The scene with the most consistent evidence moves to the front only
    /// when it has at least this many times the next one's.
    pub margin: f32,
    /// Candidates per live instance within a scene.
    pub k: usize,
    /// Least descriptor similarity of a candidate within a scene.
    pub min_similarity: f32,
    /// The pose search.
    pub ransac: RansacConfig,
}

/// `ranked` (descriptor evidence, best first), with the scene of the most
/// consistent evidence among the first `cfg.top` moved to the front when it is
/// clearly ahead (`cfg.margin`); the order is otherwise unchanged. A scene whose
/// pose search fails counts as 0.
pub fn rerank_by_consistency(
    index: &EmbeddingIndex,
    db: &SceneDatabase,
    queries: &[LiveQuery],
    ranked: &[SceneScore],
    cfg: &ConsistencyConfig,
) -> Vec<ConsistentScene> {
    let split = cfg.top.min(ranked.len());
    let mut head: Vec<ConsistentScene> = ranked[..split]
        .iter()
        .map(|s| {
            let corr = scene_search_correspondences(
                index,
                db,
                s.scene,
                queries,
                cfg.k,
                cfg.min_similarity,
            );
            let score = find_hypotheses(&corr, &cfg.ransac)
                .map(|o| o.best().map_or(0.0, |h| h.score))
                .unwrap_or_else(|e| {
                    log::warn!("retrieval: pose search in scene {}: {e}", s.scene);
                    0.0
                });
            ConsistentScene {
                evidence: *s,
                consistent: Some(score),
            }
        })
        .collect();
    let score = |c: &ConsistentScene| c.consistent.unwrap_or(0.0);
    let best = (0..head.len())
        .max_by(|&a, &b| score(&head[a]).total_cmp(&score(&head[b])).then(b.cmp(&a)));
    if let Some(b) = best {
        let next = (0..head.len())
            .filter(|&i| i != b)
            .map(|i| score(&head[i]))
            .fold(0.0f32, f32::max);
        if score(&head[b]) > 0.0 && score(&head[b]) >= cfg.margin * next {
            let first = head.remove(b);
            head.insert(0, first);
        }
    }
    head.extend(ranked[split..].iter().map(|s| ConsistentScene {
        evidence: *s,
        consistent: None,
    }));
    head
}
