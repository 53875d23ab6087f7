//! Tests of candidate search and scene retrieval on a hand-made database.

use nalgebra::{Point3, UnitQuaternion, Vector3};

use super::*;
use crate::db::{DbInstance, Descriptor, OrientedBox, Scene, SceneDatabase};
use crate::encode::Modality;

fn unit(v: &[f32]) -> Vec<f32> {
    let n = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    v.iter().map(|x| x / n).collect()
}

fn inst(id: u32, at: [f32; 3], d: &[f32]) -> DbInstance {
    let c = Point3::new(at[0], at[1], at[2]);
    DbInstance {
        id,
        label: String::new(),
        centroid: c,
        bbox: OrientedBox {
            center: c,
            half_extents: Vector3::new(0.2, 0.2, 0.2),
            rotation: UnitQuaternion::identity(),
        },
        descriptors: vec![Descriptor {
            modality: Modality::Point,
            values: unit(d),
        }],
        points: vec![c],
        normals: vec![Vector3::z()],
        colors: Vec::new(),
        observations: 1,
    }
}

fn database() -> SceneDatabase {
    let mut db = SceneDatabase::new();
    let mut a = Scene::new("kitchen", "test");
    a.instances = vec![
        inst(1, [0.0, 0.0, 0.0], &[1.0, 0.0, 0.0, 0.0]),
        inst(2, [1.0, 0.0, 0.0], &[0.0, 1.0, 0.0, 0.0]),
        inst(3, [0.0, 2.0, 0.0], &[0.0, 0.0, 1.0, 0.0]),
    ];
    let mut b = Scene::new("office", "test");
    b.instances = vec![
        inst(1, [0.0, 0.0, 0.0], &[0.0, 0.0, 0.0, 1.0]),
        inst(2, [3.0, 0.0, 0.0], &[1.0, 0.0, 0.0, 0.1]),
    ];
    db.add_scene(a).unwrap();
    db.add_scene(b).unwrap();
    db
}

fn live(id: u32, d: &[f32]) -> LiveQuery {
    LiveQuery {
        id,
        centroid_session: Point3::new(id as f32, 0.0, 0.0),
        descriptor: unit(d),
        extent: 0.5,
    }
}

#[test]
fn candidates_are_thresholded_sorted_and_mutual() {
    let db = database();
    let index = EmbeddingIndex::build(&db, Modality::Point).unwrap();
    let lives = vec![
        live(7, &[1.0, 0.05, 0.0, 0.0]),
        live(8, &[0.0, 1.0, 0.1, 0.0]),
    ];
    let c = find_candidates(&index, &lives, &MatchConfig::default());
    // Live 7 matches kitchen #0 and office #1 (both "type 1"), live 8 kitchen #1.
    assert_eq!(c.iter().filter(|c| c.live == 7).count(), 2);
    assert_eq!(c[0].live, 7);
    assert!(c[0].similarity >= c[1].similarity);
    assert!(c.iter().all(|c| c.similarity >= 0.75));
    let k8: Vec<_> = c.iter().filter(|c| c.live == 8).collect();
    assert_eq!(k8.len(), 1);
    assert_eq!((k8[0].scene, k8[0].instance), (0, 1));
    assert!(k8[0].mutual);
}

#[test]
fn scene_with_more_matched_instances_ranks_first() {
    let db = database();
    let index = EmbeddingIndex::build(&db, Modality::Point).unwrap();
    let lives = vec![
        live(1, &[1.0, 0.0, 0.0, 0.0]),
        live(2, &[0.0, 1.0, 0.0, 0.0]),
        live(3, &[0.0, 0.0, 1.0, 0.0]),
    ];
    let cfg = MatchConfig::default();
    let c = find_candidates(&index, &lives, &cfg);
    let ranked = rank_scenes(&c, &cfg);
    assert_eq!(ranked[0].scene, 0);
    assert_eq!(ranked[0].matched_live, 3);
    assert!(ranked.len() == 2 && ranked[0].score > ranked[1].score);
    let corr = scene_correspondences(&db, 0, &lives, &c);
    assert_eq!(corr.len(), 3);
    assert!(
        corr.iter()
            .all(|k| k.p_map == db.scenes[0].instances[k.db as usize].centroid)
    );
}

#[test]
fn nothing_similar_gives_nothing() {
    let db = database();
    let index = EmbeddingIndex::build(&db, Modality::Point).unwrap();
    let lives = vec![live(1, &[-1.0, -1.0, -1.0, -1.0])];
    let cfg = MatchConfig::default();
    assert!(find_candidates(&index, &lives, &cfg).is_empty());
    assert!(rank_scenes(&[], &cfg).is_empty());
}

#[test]
fn scene_search_keeps_the_own_scene_match_even_when_others_are_closer() {
    let db = database();
    let index = EmbeddingIndex::build(&db, Modality::Point).unwrap();
    // Most like the office's instance 2 (index 1 of scene 1), but the kitchen's
    // instance 1 (index 0 of scene 0) is still a candidate within the kitchen.
    let q = live(7, &[1.0, 0.0, 0.0, 0.12]);
    let kitchen = scene_search_correspondences(&index, &db, 0, std::slice::from_ref(&q), 2, 0.5);
    assert_eq!(kitchen.len(), 1, "{kitchen:?}");
    assert_eq!((kitchen[0].live, kitchen[0].db), (7, 0));
    assert!(
        kitchen[0].weight > 0.95,
        "mutual and similar: {}",
        kitchen[0].weight
    );
    let office = scene_search_correspondences(&index, &db, 1, &[q], 2, 0.5);
    assert_eq!(office.len(), 1);
    assert_eq!(office[0].db, 1);
    assert_eq!(office[0].p_map, Point3::new(3.0, 0.0, 0.0));
    // No scene: nothing.
    assert!(
        scene_search_correspondences(&index, &db, 9, &[live(1, &[1.0, 0.0, 0.0, 0.0])], 2, 0.5)
            .is_empty()
    );
}

#[test]
fn partial_views_get_slack() {
    // A 0.6 m piece of a 2 m bed: its centroid may be 0.7 m off.
    assert!((partial_view_slack(0.6, 2.0) - 0.7).abs() < 1e-6);
    // Whole or larger live views: none. Huge objects: capped.
    assert_eq!(partial_view_slack(0.4, 0.4), 0.0);
    assert_eq!(partial_view_slack(1.0, 0.4), 0.0);
    assert_eq!(partial_view_slack(0.1, 9.0), MAX_SLACK_M);
    assert_eq!(partial_view_slack(f32::NAN, 1.0), 0.0);
    // Database boxes are 0.4 m: a 0.2 m live piece gets 0.1 m.
    let db = database();
    let index = EmbeddingIndex::build(&db, Modality::Point).unwrap();
    let mut q = live(1, &[0.0, 1.0, 0.0, 0.0]);
    q.extent = 0.2;
    let c = scene_search_correspondences(&index, &db, 0, &[q], 1, 0.5);
    assert!((c[0].slack - 0.1).abs() < 1e-5, "{:?}", c[0]);
}

/// Two rooms furnished with the same four objects: `same` where the live
/// objects stand, `other` with three of them there and the fourth elsewhere.
/// The live view sees all four.
fn like_rooms() -> (SceneDatabase, Vec<LiveQuery>) {
    let d = [
        [1.0, 0.0, 0.0, 0.0],
        [0.0, 1.0, 0.0, 0.0],
        [0.0, 0.0, 1.0, 0.0],
        [0.0, 0.0, 0.0, 1.0],
    ];
    let at = [
        [0.0, 0.0, 0.0],
        [2.0, 0.0, 0.0],
        [0.0, 3.0, 0.0],
        [2.5, 2.0, 0.5],
    ];
    let shuffled = [
        [0.0, 0.0, 0.0],
        [0.0, 2.6, 0.0],
        [3.5, 1.0, 0.0],
        [1.0, 1.0, 0.8],
    ];
    let mut db = SceneDatabase::new();
    // The other room first: equal descriptor evidence keeps it ahead.
    for (name, places) in [("other", shuffled), ("same", at)] {
        let mut s = Scene::new(name, "test");
        s.instances = (0..4)
            .map(|i| inst(i as u32 + 1, places[i], &d[i]))
            .collect();
        db.add_scene(s).unwrap();
    }
    // The live view, in a session frame shifted from the map.
    let queries = (0..4)
        .map(|i| LiveQuery {
            id: i as u32 + 1,
            centroid_session: Point3::new(at[i][0] + 5.0, at[i][1] - 1.0, at[i][2]),
            descriptor: unit(&d[i]),
            extent: 0.4,
        })
        .collect();
    (db, queries)
}

/// [`like_rooms`] with its index and the descriptor ranking of the live view.
fn like_rooms_ranked() -> (
    SceneDatabase,
    EmbeddingIndex,
    Vec<LiveQuery>,
    Vec<SceneScore>,
) {
    let (db, queries) = like_rooms();
    let index = EmbeddingIndex::build(&db, Modality::Point).unwrap();
    let cfg = MatchConfig::default();
    let ranked = rank_scenes(&find_candidates(&index, &queries, &cfg), &cfg);
    (db, index, queries, ranked)
}

fn consistency() -> ConsistencyConfig {
    ConsistencyConfig {
        top: 5,
        margin: 1.2,
        k: 3,
        min_similarity: 0.5,
        ransac: crate::pipeline::EngineConfig::default().ransac,
    }
}

#[test]
fn the_room_whose_arrangement_matches_moves_to_the_front() {
    let (db, index, queries, ranked) = like_rooms_ranked();
    assert_eq!(ranked.len(), 2);
    assert_eq!(ranked[0].scene, 0, "descriptor evidence alone: {ranked:?}");
    let re = rerank_by_consistency(&index, &db, &queries, &ranked, &consistency());
    assert_eq!(re[0].evidence.scene, 1, "{re:?}");
    assert!(
        re[0].consistent.unwrap() > 1.2 * re[1].consistent.unwrap(),
        "{re:?}"
    );
    // Only the first `top` are re-ranked.
    let none = ConsistencyConfig {
        top: 0,
        ..consistency()
    };
    let re = rerank_by_consistency(&index, &db, &queries, &ranked, &none);
    assert_eq!(re[0].evidence.scene, 0);
    assert_eq!(re[0].consistent, None);
}

#[test]
fn without_a_clear_lead_the_descriptor_order_stands() {
    let (db, index, queries, ranked) = like_rooms_ranked();
    // Two of the four live objects: no three to check an arrangement with.
    let re = rerank_by_consistency(&index, &db, &queries[..2], &ranked, &consistency());
    assert_eq!(re[0].evidence.scene, ranked[0].scene, "{re:?}");
    // All four, but a lead smaller than the margin asks for.
    let strict = ConsistencyConfig {
        margin: 100.0,
        ..consistency()
    };
    let re = rerank_by_consistency(&index, &db, &queries, &ranked, &strict);
    assert_eq!(re[0].evidence.scene, ranked[0].scene, "{re:?}");
    assert!(re[1].consistent.unwrap() > 0.0, "{re:?}");
}
