//! Scene retrieval for a whole query sequence: fuse its instances (in its own pose
//! frame; retrieval does not need the map frame), describe them, rank the
//! database scenes by matched-instance evidence, and re-rank the first five by
//! geometric consistency ([`crate::matching::rerank_by_consistency`]).

use crate::db::{EmbeddingIndex, SceneDatabase};
use crate::encode::{GeometricColorEncoder, InstanceEncoder, Modality};
use crate::frame::RgbdFrame;
use crate::fuse::LiveMap;
use crate::io::IoError;
use crate::matching::{
    ConsistencyConfig, LiveQuery, MatchConfig, find_candidates, rank_scenes, rerank_by_consistency,
};
use crate::pipeline::{EngineConfig, PipelineError};
use crate::segment::segment_frame;

/// Scenes re-ranked by geometric consistency.
pub const RERANKED_SCENES: usize = 5;

/// Every scene with evidence, best first, as `(name, score)`: for the first
/// [`RERANKED_SCENES`] of the descriptor ranking, the consistent evidence (the
/// MSAC score of the best rigid pose over the scene's correspondences; the one
/// clearly ahead on it comes first), for the rest the descriptor evidence.
pub fn rank_scenes_for_sequence(
    cfg: &EngineConfig,
    db: &SceneDatabase,
    frames: impl Iterator<Item = Result<RgbdFrame, IoError>>,
) -> Result<Vec<(String, f32)>, PipelineError> {
    let mut live =
        LiveMap::new(cfg.fuse.clone()).map_err(|e| PipelineError::Config(e.to_string()))?;
    for f in frames {
        let f = match f {
            Ok(f) => f,
            Err(e) => {
                log::warn!("skipping a frame: {e}");
                continue;
            }
        };
        let Some(T) = f.T_session_camera else {
            continue;
        };
        match segment_frame(&f, &cfg.segment) {
            Ok(seg) => {
                live.integrate(f.index, &T, &seg.segments);
            }
            Err(e) => log::warn!("frame {}: {e}", f.index),
        }
    }
    let encoder = GeometricColorEncoder::new(cfg.encoder.clone())
        .map_err(|e| PipelineError::Config(e.to_string()))?;
    let queries: Vec<LiveQuery> = live
        .stable()
        .filter(|i| i.points().len() >= cfg.min_instance_points)
        .filter_map(|i| {
            let d = encoder.encode(&i.to_point_cloud()).ok()?;
            Some(LiveQuery {
                id: i.id,
                centroid_session: i.centroid,
                descriptor: d,
                extent: crate::db::build::oriented_box(i.points())
                    .half_extents
                    .max()
                    * 2.0,
            })
        })
        .collect();
    let index = EmbeddingIndex::build(db, Modality::Point)
        .map_err(|e| PipelineError::Database(e.to_string()))?;
    let mc = MatchConfig {
        top_scenes: db.scenes.len().max(1),
        ..cfg.matching.clone()
    };
    let cands = find_candidates(&index, &queries, &mc);
    let ranked = rank_scenes(&cands, &mc);
    let cc = ConsistencyConfig {
        top: RERANKED_SCENES,
        margin: 1.2,
        k: cfg.scene_k,
        min_similarity: cfg.scene_min_similarity,
        ransac: cfg.ransac.clone(),
    };
    Ok(rerank_by_consistency(&index, db, &queries, &ranked, &cc)
        .into_iter()
        .filter_map(|s| {
            let score = s.consistent.unwrap_or(s.evidence.score);
            db.scenes
                .get(s.evidence.scene)
                .map(|sc| (sc.name.clone(), score))
        })
        .collect())
}
