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
