//! Exact embedding search over a [`SceneDatabase`]: instance descriptors of one
//! modality stacked in one contiguous row-major matrix, scored against queries by
//! a blocked matrix product, with partial top-k selection; and scene retrieval by
//! scene embedding.
//!
//! Guarantees:
//! - Exact (brute force): the score is the inner product of query and descriptor,
//!   which is the cosine similarity for the unit-length descriptors encoders
//!   produce. No approximation, no normalisation of the query.
//! - Deterministic: results are sorted by score descending, then scene index, then
//!   instance index; a query scores bit-identically alone ([`EmbeddingIndex::top_k`])
//!   and in a batch ([`EmbeddingIndex::top_k_batch`]).
//! - Rows whose score is NaN are never returned. A query of the wrong length gets
//!   no results (logged as a warning); check [`EmbeddingIndex::dim`].

use std::ops::Range;

use super::error::DbError;
use super::kernel::{TopK, dot};
use super::model::{InstanceIdx, SceneDatabase, SceneIdx};
use crate::encode::Modality;

/// Database rows scored together, so a block stays in cache across the queries of
/// a batch (64 KiB of 64-d or 256 KiB of 256-d descriptors).
const BLOCK_ROWS: usize = 256;

/// One search result: `(score, scene index, instance index)`.
pub type Hit = (f32, SceneIdx, InstanceIdx);

/// A dense row-major `f32` matrix with one id per row.
#[derive(Debug, Clone, Default)]
struct Matrix {
    dim: usize,
    data: Vec<f32>,
}

impl Matrix {
    fn row(&self, i: usize) -> Option<&[f32]> {
        self.data.get(i * self.dim..(i + 1) * self.dim)
    }

    /// Top `k` rows for each query over the row ranges, by blocks of rows; queries
    /// of the wrong length get empty results.
    fn top_k_many(
        &self,
        queries: &[&[f32]],
        k: usize,
        ranges: &[Range<usize>],
    ) -> Vec<Vec<(f32, usize)>> {
        let valid: Vec<usize> = (0..queries.len())
            .filter(|&i| queries.get(i).is_some_and(|q| q.len() == self.dim))
            .collect();
        let mut tops: Vec<TopK> = (0..queries.len()).map(|_| TopK::new(k)).collect();
        if k == 0 || self.dim == 0 {
            return tops.into_iter().map(TopK::into_sorted).collect();
        }
        let mut scores = vec![0f32; BLOCK_ROWS];
        for range in ranges {
            let mut start = range.start;
            while start < range.end {
                let end = (start + BLOCK_ROWS).min(range.end);
                let Some(block) = self.data.get(start * self.dim..end * self.dim) else {
                    break;
                };
                // The block stays in cache while every query is scored against it.
                for &qi in &valid {
                    let q = queries[qi];
                    for (s, row) in scores.iter_mut().zip(block.chunks_exact(self.dim)) {
                        *s = dot(q, row);
                    }
                    tops[qi].offer_block(start, &scores[..end - start]);
                }
                start = end;
            }
        }
        tops.into_iter().map(TopK::into_sorted).collect()
    }
}

/// Exact inner-product search over one modality's instance descriptors and over
/// scene embeddings.
#[derive(Debug, Clone)]
pub struct EmbeddingIndex {
    modality: Modality,
    matrix: Matrix,
    /// `(scene, instance)` of each row; rows are in scene, then instance order.
    ids: Vec<(SceneIdx, InstanceIdx)>,
    /// Rows of each scene of the database.
    scene_rows: Vec<Range<usize>>,
    /// Scene embeddings of the common length, one row per scene in `scene_ids`.
    scenes: Matrix,
    scene_ids: Vec<SceneIdx>,
}

impl EmbeddingIndex {
    /// Indexes the first descriptor of `modality` of every instance that has one.
    /// Fails with [`DbError::DimensionMismatch`] when their lengths differ.
    pub fn build(db: &SceneDatabase, modality: Modality) -> Result<EmbeddingIndex, DbError> {
        let dim = db
            .scenes
            .iter()
            .flat_map(|s| &s.instances)
            .find_map(|i| i.descriptor(modality))
            .map_or(0, <[f32]>::len);
        for (si, scene) in db.scenes.iter().enumerate() {
            for (ii, inst) in scene.instances.iter().enumerate() {
                if let Some(d) = inst.descriptor(modality)
                    && d.len() != dim
                {
                    return Err(DbError::DimensionMismatch {
                        scene: si,
                        instance: ii,
                        expected: dim,
                        found: d.len(),
                    });
                }
            }
        }
        Ok(Self::build_with_dim(db, modality, dim))
    }

    /// Indexes, for every instance, its first descriptor of `modality` whose length
    /// is `dim`; instances without one are left out.
    pub fn build_with_dim(db: &SceneDatabase, modality: Modality, dim: usize) -> EmbeddingIndex {
        let mut data = Vec::new();
        let mut ids = Vec::new();
        let mut scene_rows = Vec::with_capacity(db.scenes.len());
        for (si, scene) in db.scenes.iter().enumerate() {
            let first = ids.len();
            for (ii, inst) in scene.instances.iter().enumerate() {
                let found = inst
                    .descriptors
                    .iter()
                    .find(|d| d.modality == modality && d.values.len() == dim);
                if let Some(d) = found {
                    data.extend_from_slice(&d.values);
                    ids.push((si, ii));
                }
            }
            scene_rows.push(first..ids.len());
        }
        let (scenes, scene_ids) = scene_matrix(db);
        log::debug!(
            "embedding index: {} {} descriptors of dim {dim}, {} scene embeddings of dim {}",
            ids.len(),
            modality.name(),
            scene_ids.len(),
            scenes.dim
        );
        EmbeddingIndex {
            modality,
            matrix: Matrix { dim, data },
            ids,
            scene_rows,
            scenes,
            scene_ids,
        }
    }

    /// The indexed modality.
    pub fn modality(&self) -> Modality {
        self.modality
    }

    /// Descriptor length queries must have.
    pub fn dim(&self) -> usize {
        self.matrix.dim
    }

    /// Number of indexed descriptors (rows).
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    /// True when no descriptor is indexed.
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    /// Row `i` of the descriptor matrix.
    pub fn row(&self, i: usize) -> Option<&[f32]> {
        self.matrix.row(i)
    }

    /// `(scene, instance)` of row `i`.
    pub fn row_id(&self, i: usize) -> Option<(SceneIdx, InstanceIdx)> {
        self.ids.get(i).copied()
    }

    /// Length of the scene embeddings [`top_k_scenes`](Self::top_k_scenes) compares.
    pub fn scene_dim(&self) -> usize {
        self.scenes.dim
    }

    fn check(&self, query: &[f32]) -> bool {
        if query.len() != self.matrix.dim {
            log::warn!(
                "embedding query of length {} against an index of dimension {}: no results",
                query.len(),
                self.matrix.dim
            );
            return false;
        }
        true
    }

    fn ranges(&self, scenes: Option<&[SceneIdx]>) -> Vec<Range<usize>> {
        match scenes {
            None => std::iter::once(0..self.ids.len()).collect(),
            Some(list) => {
                let mut list = list.to_vec();
                list.sort_unstable();
                list.dedup();
                list.iter()
                    .filter_map(|&s| self.scene_rows.get(s).cloned())
                    .collect()
            }
        }
    }

    fn to_hits(&self, rows: Vec<(f32, usize)>) -> Vec<Hit> {
        rows.into_iter()
            .filter_map(|(s, r)| self.ids.get(r).map(|&(si, ii)| (s, si, ii)))
            .collect()
    }

    /// The `k` best instances for `query`, best first.
    pub fn top_k(&self, query: &[f32], k: usize) -> Vec<Hit> {
        self.top_k_in(query, k, None)
    }

    /// The `k` best instances for `query` among the scenes listed (`None`: all).
    pub fn top_k_in(&self, query: &[f32], k: usize, scenes: Option<&[SceneIdx]>) -> Vec<Hit> {
        if !self.check(query) {
            return Vec::new();
        }
        let ranges = self.ranges(scenes);
        let rows = self.matrix.top_k_many(&[query], k, &ranges);
        rows.into_iter()
            .next()
            .map(|r| self.to_hits(r))
            .unwrap_or_default()
    }

    /// [`top_k`](Self::top_k) for many queries at once (one result list per query,
    /// in order), by a blocked matrix product: each block of database rows is
    /// scored against every query while it is in cache.
    pub fn top_k_batch(&self, queries: &[Vec<f32>], k: usize) -> Vec<Vec<Hit>> {
        self.top_k_batch_in(queries, k, None)
    }

    /// [`top_k_batch`](Self::top_k_batch) restricted to the scenes listed (`None`: all).
    pub fn top_k_batch_in(
        &self,
        queries: &[Vec<f32>],
        k: usize,
        scenes: Option<&[SceneIdx]>,
    ) -> Vec<Vec<Hit>> {
        let refs: Vec<&[f32]> = queries.iter().map(Vec::as_slice).collect();
        refs.iter().for_each(|q| {
            self.check(q);
        });
        let ranges = self.ranges(scenes);
        self.matrix
            .top_k_many(&refs, k, &ranges)
            .into_iter()
            .map(|r| self.to_hits(r))
            .collect()
    }

    /// The `k` scenes whose embedding has the largest inner product with
    /// `embedding`, as `(score, scene index)`, best first (ties: lower index).
    /// Only scenes whose embedding has [`scene_dim`](Self::scene_dim) values take part.
    pub fn top_k_scenes(&self, embedding: &[f32], k: usize) -> Vec<(f32, SceneIdx)> {
        if embedding.len() != self.scenes.dim {
            log::warn!(
                "scene query of length {} against scene embeddings of length {}: no results",
                embedding.len(),
                self.scenes.dim
            );
            return Vec::new();
        }
        let all: Vec<Range<usize>> = std::iter::once(0..self.scene_ids.len()).collect();
        let rows = self.scenes.top_k_many(&[embedding], k, &all);
        rows.into_iter()
            .next()
            .unwrap_or_default()
            .into_iter()
            .filter_map(|(s, r)| self.scene_ids.get(r).map(|&si| (s, si)))
            .collect()
    }
}

/// Stacks the scene embeddings of the most common non-zero length (ties: the
/// longer length).
fn scene_matrix(db: &SceneDatabase) -> (Matrix, Vec<SceneIdx>) {
    let mut lengths: Vec<usize> = db
        .scenes
        .iter()
        .map(|s| s.embedding.len())
        .filter(|&l| l > 0)
        .collect();
    lengths.sort_unstable();
    let mut best = (0usize, 0usize); // (count, length)
    for run in lengths.chunk_by(|a, b| a == b) {
        let cand = (run.len(), run[0]);
        if cand > best {
            best = cand;
        }
    }
    let dim = best.1;
    let mut data = Vec::new();
    let mut ids = Vec::new();
    for (si, s) in db.scenes.iter().enumerate() {
        if dim > 0 && s.embedding.len() == dim {
            data.extend_from_slice(&s.embedding);
            ids.push(si);
        } else if !s.embedding.is_empty() {
            log::debug!(
                "scene {:?}: embedding of length {} left out of scene search (common length {dim})",
                s.name,
                s.embedding.len()
            );
        }
    }
    (Matrix { dim, data }, ids)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::model::{DbInstance, Descriptor, OrientedBox, Scene};
    use crate::rng::Rng;
    use nalgebra::{Point3, Vector3};

    fn unit(rng: &mut Rng, d: usize) -> Vec<f32> {
        let mut v: Vec<f32> = (0..d).map(|_| rng.normal()).collect();
        let n = v.iter().map(|x| x * x).sum::<f32>().sqrt();
        v.iter_mut().for_each(|x| *x /= n);
        v
    }

    fn instance(values: Vec<f32>) -> DbInstance {
        DbInstance {
            id: 0,
            label: String::new(),
            centroid: Point3::origin(),
            bbox: OrientedBox::axis_aligned(Point3::origin(), Vector3::repeat(0.1)),
            descriptors: vec![Descriptor {
                modality: Modality::Point,
                values,
            }],
            points: vec![],
            normals: vec![],
            colors: vec![],
            observations: 1,
        }
    }

    fn random_db(seed: u64, scenes: usize, per_scene: usize, d: usize) -> SceneDatabase {
        let mut rng = Rng::new(seed);
        let mut db = SceneDatabase::new();
        for s in 0..scenes {
            let mut scene = Scene::new(format!("s{s}"), "");
            for _ in 0..per_scene {
                scene.instances.push(instance(unit(&mut rng, d)));
            }
            scene.embedding = unit(&mut rng, 12);
            db.add_scene(scene).unwrap();
        }
        db
    }

    /// Reference: score every row with a sequential f64 sum, sort fully.
    fn naive(
        db: &SceneDatabase,
        q: &[f32],
        k: usize,
        scenes: Option<&[usize]>,
    ) -> Vec<(f64, usize, usize)> {
        let mut all = vec![];
        for (si, s) in db.scenes.iter().enumerate() {
            if scenes.is_some_and(|l| !l.contains(&si)) {
                continue;
            }
            for (ii, inst) in s.instances.iter().enumerate() {
                let d = inst.descriptor(Modality::Point).unwrap();
                let score: f64 = d.iter().zip(q).map(|(a, b)| *a as f64 * *b as f64).sum();
                all.push((score, si, ii));
            }
        }
        all.sort_by(|a, b| b.0.total_cmp(&a.0).then((a.1, a.2).cmp(&(b.1, b.2))));
        all.truncate(k);
        all
    }

    fn same(hits: &[Hit], reference: &[(f64, usize, usize)]) {
        assert_eq!(hits.len(), reference.len());
        for (h, r) in hits.iter().zip(reference) {
            assert_eq!((h.1, h.2), (r.1, r.2));
            assert!((h.0 as f64 - r.0).abs() < 1e-5);
        }
    }

    #[test]
    fn top_k_matches_naive_search() {
        for d in [3usize, 64, 100] {
            let db = random_db(d as u64, 7, 150, d);
            let index = EmbeddingIndex::build(&db, Modality::Point).unwrap();
            assert_eq!((index.len(), index.dim()), (7 * 150, d));
            let mut rng = Rng::new(99);
            for _ in 0..5 {
                let q = unit(&mut rng, d);
                for k in [1usize, 10, 2000] {
                    same(&index.top_k(&q, k), &naive(&db, &q, k, None));
                }
                let subset = [5usize, 1, 5, 40];
                same(
                    &index.top_k_in(&q, 10, Some(&subset)),
                    &naive(&db, &q, 10, Some(&[1, 5])),
                );
            }
            // A stored descriptor finds itself first.
            let (si, ii) = index.row_id(321).unwrap();
            let q = index.row(321).unwrap().to_vec();
            assert_eq!((index.top_k(&q, 1)[0].1, index.top_k(&q, 1)[0].2), (si, ii));
        }
    }

    #[test]
    fn batch_equals_single_queries_bitwise() {
        // 131-d leaves a tail after the 8-lane chunks.
        for d in [64usize, 131] {
            let db = random_db(5, 3, 700, d);
            let index = EmbeddingIndex::build(&db, Modality::Point).unwrap();
            let mut rng = Rng::new(7);
            let mut queries: Vec<Vec<f32>> = (0..11).map(|_| unit(&mut rng, d)).collect();
            queries.insert(4, vec![1.0; 5]); // wrong length: empty result
            let batch = index.top_k_batch(&queries, 10);
            assert_eq!(batch.len(), queries.len());
            assert!(batch[4].is_empty());
            for (q, b) in queries.iter().zip(&batch) {
                let single = index.top_k(q, 10);
                assert_eq!(single.len(), b.len());
                for (x, y) in single.iter().zip(b) {
                    assert_eq!((x.0.to_bits(), x.1, x.2), (y.0.to_bits(), y.1, y.2));
                }
                if q.len() == d {
                    same(&single, &naive(&db, q, 10, None));
                }
            }
            let restricted = index.top_k_batch_in(&queries, 3, Some(&[2]));
            assert!(restricted[0].iter().all(|h| h.1 == 2) && restricted[0].len() == 3);
        }
    }

    #[test]
    fn ties_sorted_by_ids_and_bad_queries_empty() {
        let mut db = SceneDatabase::new();
        for s in 0..3 {
            let mut scene = Scene::new(format!("s{s}"), "");
            scene.instances.push(instance(vec![1.0, 0.0]));
            scene.instances.push(instance(vec![0.0, 1.0]));
            db.add_scene(scene).unwrap();
        }
        let index = EmbeddingIndex::build(&db, Modality::Point).unwrap();
        let hits = index.top_k(&[1.0, 0.0], 4);
        assert_eq!(
            hits,
            vec![(1.0, 0, 0), (1.0, 1, 0), (1.0, 2, 0), (0.0, 0, 1)]
        );
        assert!(index.top_k(&[1.0, 0.0, 0.0], 4).is_empty());
        assert!(index.top_k(&[f32::NAN, 0.0], 4).is_empty());
        assert!(index.top_k(&[1.0, 0.0], 0).is_empty());
        // Mixed lengths: `build` refuses, `build_with_dim` selects.
        db.scenes[1].instances[1].descriptors[0].values = vec![1.0, 2.0, 3.0];
        assert!(matches!(
            EmbeddingIndex::build(&db, Modality::Point),
            Err(DbError::DimensionMismatch {
                scene: 1,
                instance: 1,
                expected: 2,
                found: 3
            })
        ));
        let idx3 = EmbeddingIndex::build_with_dim(&db, Modality::Point, 3);
        assert_eq!(idx3.top_k(&[0.0, 0.0, 1.0], 5), vec![(3.0, 1, 1)]);
        // No descriptor of that modality at all: an empty index.
        let text = EmbeddingIndex::build(&db, Modality::Text).unwrap();
        assert!(text.is_empty() && text.top_k(&[], 3).is_empty());
    }

    #[test]
    fn scenes_ranked_by_embedding() {
        let mut db = random_db(8, 6, 2, 4);
        db.scenes[3].embedding = vec![1.0; 5]; // odd length: left out
        let index = EmbeddingIndex::build(&db, Modality::Point).unwrap();
        assert_eq!(index.scene_dim(), 12);
        let q = db.scenes[4].embedding.clone();
        let top = index.top_k_scenes(&q, 10);
        assert_eq!(top.len(), 5);
        assert_eq!(top[0].1, 4);
        assert!((top[0].0 - 1.0).abs() < 1e-5);
        assert!(top.windows(2).all(|w| w[0].0 >= w[1].0));
        assert!(top.iter().all(|t| t.1 != 3));
        assert!(index.top_k_scenes(&[1.0], 3).is_empty());
    }
}
