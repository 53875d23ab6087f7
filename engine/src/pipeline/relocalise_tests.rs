//! Tests of the relocaliser's ambiguity checks (the turned room, and a whole
//! round refusing an ambiguous room).

use std::sync::Arc;

use nalgebra::{Point3, Vector3};

use super::*;
use crate::db::{DbInstance, Scene, SceneDatabase};
use crate::encode::Modality;
use crate::localise::state::{Rivalry, StateConfig};
use crate::localise::verify::LiveSample;
use crate::test_shapes::{box_instance, box_surface};

fn instance(id: u32, c: Point3<f32>, size: Vector3<f32>) -> DbInstance {
    box_instance(id, c, size, vec![1.0, 0.0])
}

/// A 6 x 4 m room (floor and walls, the inside of a box) with the given objects.
fn room(objects: &[(Point3<f32>, Vector3<f32>)]) -> Scene {
    room_of_size(Vector3::new(6.0, 4.0, 2.5), objects)
}

/// A room of the given size (floor and walls) with the given objects.
fn room_of_size(size: Vector3<f32>, objects: &[(Point3<f32>, Vector3<f32>)]) -> Scene {
    let mut s = Scene::new("room", "test");
    let (pts, normals) = box_surface(Point3::new(0.0, 0.0, size.z / 2.0), size);
    // Inward normals, floor and walls only (no ceiling).
    for (p, n) in pts.iter().zip(&normals) {
        if n.z > 0.5 {
            continue;
        }
        s.structure_points.push(*p);
        s.structure_normals.push(-n);
    }
    s.instances = objects
        .iter()
        .enumerate()
        .map(|(i, (c, size))| instance(i as u32 + 1, *c, *size))
        .collect();
    s
}

/// The live view of a scene when the session frame is the map frame.
fn live_of(s: &Scene) -> LiveSurface {
    let mut objects = LiveSample::default();
    for i in &s.instances {
        objects.points.extend_from_slice(&i.points);
        objects.normals.extend_from_slice(&i.normals);
        objects.colors.extend_from_slice(&i.colors);
    }
    let mut surface = LiveSample {
        points: objects.points.clone(),
        normals: objects.normals.clone(),
        colors: Vec::new(),
    };
    surface.points.extend_from_slice(&s.structure_points);
    surface.normals.extend_from_slice(&s.structure_normals);
    let thin_sample = |l: &LiveSample, max: usize| LiveSample {
        points: thin(&l.points, max),
        normals: thin(&l.normals, max),
        colors: thin(&l.colors, max),
    };
    LiveSurface {
        coarse: thin_sample(&surface, 300),
        surface: thin_sample(&surface, 3000),
        objects: thin_sample(&objects, 3000),
        structure: LiveSample {
            points: thin(&s.structure_points, 2000),
            normals: thin(&s.structure_normals, 2000),
            colors: Vec::new(),
        },
    }
}

fn relocaliser(s: Scene) -> Relocaliser {
    relocaliser_with(s, EngineConfig::default())
}

fn relocaliser_with(s: Scene, cfg: EngineConfig) -> Relocaliser {
    let mut db = SceneDatabase::new();
    db.add_scene(s).unwrap();
    let index = EmbeddingIndex::build(&db, Modality::Point).unwrap();
    Relocaliser::new(cfg, Arc::new(db), index)
}

/// One live query per object of the scene (session frame = map frame), with
/// the objects' shared descriptor.
fn queries_of(s: &Scene) -> Vec<LiveQuery> {
    s.instances
        .iter()
        .map(|i| LiveQuery {
            id: i.id,
            centroid_session: i.centroid,
            descriptor: i.descriptors[0].values.clone(),
            extent: i.bbox.half_extents.max() * 2.0,
        })
        .collect()
}

#[test]
fn a_round_in_a_room_that_looks_the_same_turned_round_gives_no_pose() {
    let size = Vector3::new(0.8, 0.5, 0.9);
    let small = Vector3::new(0.4, 0.4, 0.6);
    // Two pairs of identical objects, point-symmetric about the room's centre.
    let symmetric = [
        (Point3::new(-2.0, -1.2, 0.45), size),
        (Point3::new(2.0, 1.2, 0.45), size),
        (Point3::new(-1.0, 1.3, 0.3), small),
        (Point3::new(1.0, -1.3, 0.3), small),
    ];
    let s = room(&symmetric);
    let (live, queries) = (live_of(&s), queries_of(&s));
    // Without the ambiguity gate the round returns a pose ...
    let no_gate = EngineConfig {
        ambiguity_ratio: 2.0,
        ..EngineConfig::default()
    };
    assert!(
        relocaliser_with(s.clone(), no_gate)
            .relocalise(&queries, &live, &[])
            .is_some()
    );
    // ... with it, none: turned round, the room explains the data as well.
    assert_eq!(relocaliser(s).relocalise(&queries, &live, &[]), None);
    // A large odd object on one side tells the two apart: the round gives the
    // true pose (the identity: session frame = map frame).
    let mut odd = symmetric.to_vec();
    odd.push((Point3::new(-1.5, -0.2, 0.6), Vector3::new(1.6, 0.8, 1.2)));
    let s = room(&odd);
    let (live, queries) = (live_of(&s), queries_of(&s));
    let fix = relocaliser(s)
        .relocalise(&queries, &live, &[])
        .expect("a pose");
    let e = crate::eval::pose_error(&fix.T_map_session, &Pose::identity());
    assert!(e.within(0.05, 2.0), "{e:?}");
}

#[test]
fn a_room_that_looks_the_same_turned_round_has_a_turned_rival() {
    let size = Vector3::new(0.8, 0.5, 0.9);
    // Two identical cabinets, point-symmetric about the room's centre.
    let s = room(&[
        (Point3::new(-2.0, -1.2, 0.45), size),
        (Point3::new(2.0, 1.2, 0.45), size),
    ]);
    let live = live_of(&s);
    let mut r = relocaliser(s);
    let best = r.verify(0, &Pose::identity(), 3, &live).unwrap();
    assert!(best.score() > 0.8, "{best:?}");
    let rival = r.turned_rival(&best, &live).expect("a turned rival");
    let ratio = EngineConfig::default().ambiguity_ratio;
    assert!(
        rival.score() >= ratio * best.score(),
        "{rival:?} vs {best:?}"
    );
    let turn = rival.T_map_session.rotation.angle().to_degrees();
    assert!((turn - 180.0).abs() < 5.0, "{turn}");
}

#[test]
fn a_room_with_an_odd_object_out_has_no_close_turned_rival() {
    let size = Vector3::new(0.8, 0.5, 0.9);
    // The same room with a third, large object on one side only: turned round,
    // the objects no longer agree.
    let s = room(&[
        (Point3::new(-2.0, -1.2, 0.45), size),
        (Point3::new(2.0, 1.2, 0.45), size),
        (Point3::new(-1.5, 1.3, 0.6), Vector3::new(1.6, 0.8, 1.2)),
    ]);
    let live = live_of(&s);
    let mut r = relocaliser(s);
    let best = r.verify(0, &Pose::identity(), 3, &live).unwrap();
    assert!(best.score() > 0.8, "{best:?}");
    if let Some(rival) = r.turned_rival(&best, &live) {
        let ratio = EngineConfig::default().ambiguity_ratio;
        assert!(
            rival.score() < ratio * best.score(),
            "{rival:?} vs {best:?}"
        );
    }
}

/// The symmetric room of the tests above (two pairs of identical objects,
/// point-symmetric about the centre) with one more object, `extra`.
fn symmetric_with(extra: (Point3<f32>, Vector3<f32>)) -> Scene {
    let size = Vector3::new(0.8, 0.5, 0.9);
    let small = Vector3::new(0.4, 0.4, 0.6);
    room(&[
        (Point3::new(-2.0, -1.2, 0.45), size),
        (Point3::new(2.0, 1.2, 0.45), size),
        (Point3::new(-1.0, 1.3, 0.3), small),
        (Point3::new(1.0, -1.3, 0.3), small),
        extra,
    ])
}

/// A cube of side `side` standing on the floor on one side of the room only.
fn odd_cube(side: f32) -> (Point3<f32>, Vector3<f32>) {
    (Point3::new(-0.2, 1.6, side / 2.0), Vector3::repeat(side))
}

/// The pose one relocalisation round in `s` gives (session frame = map frame).
fn round_in(s: &Scene, cfg: EngineConfig) -> Option<VerifiedHypothesis> {
    relocaliser_with(s.clone(), cfg).relocalise(&queries_of(s), &live_of(s), &[])
}

/// `round_in`'s pose, which must be the true one (the identity).
fn true_pose_in(s: &Scene, cfg: EngineConfig) -> VerifiedHypothesis {
    let fix = round_in(s, cfg).expect("a pose");
    let e = crate::eval::pose_error(&fix.T_map_session, &Pose::identity());
    assert!(e.within(0.05, 2.0), "{e:?}");
    fix
}

#[test]
fn a_pose_its_turned_rival_loses_to_narrowly_is_contested() {
    // A 0.5 m odd cube: turned round, the room explains the data almost as
    // well (0.76 vs 0.89), and only what the true pose alone explains (the
    // cube, 2.7 % of the surface against 0.6 %) decides. Dominance is asked
    // for 2 % here.
    let s = symmetric_with(odd_cube(0.5));
    let cfg = EngineConfig {
        dominance_min_exclusive: 0.02,
        ..EngineConfig::default()
    };
    // A clear decision (the rival explains alone a quarter of what the best
    // does): not contested; a narrow one: contested.
    assert_eq!(true_pose_in(&s, cfg.clone()).rivalry, Rivalry::Clear);
    let narrow = EngineConfig {
        dominance_clear_ratio: 0.1,
        ..cfg
    };
    assert_eq!(true_pose_in(&s, narrow.clone()).rivalry, Rivalry::Narrow);
    // A large odd object leaves the turned pose no rival: not contested.
    let large = symmetric_with((Point3::new(-1.5, -0.2, 0.6), Vector3::new(1.6, 0.8, 1.2)));
    assert_eq!(true_pose_in(&large, narrow).rivalry, Rivalry::Clear);
}

#[test]
fn a_pose_that_leads_its_turned_twin_by_a_margin_is_returned_marked() {
    // An odd cube too small for dominance (what only the true pose explains
    // is under 5 % of the surface), but the turned pose scores 0.86 of the
    // true one with a 0.5 m cube, 0.93 with a 0.3 m one.
    let s = symmetric_with(odd_cube(0.5));
    assert_eq!(
        true_pose_in(&s, EngineConfig::default()).rivalry,
        Rivalry::Margin
    );
    // Without the margin rule: no pose from this round.
    let no_margin = EngineConfig {
        twin_margin_ratio: 0.0,
        ..EngineConfig::default()
    };
    assert_eq!(round_in(&s, no_margin), None);
    // A margin too small: no pose either.
    assert_eq!(
        round_in(&symmetric_with(odd_cube(0.3)), EngineConfig::default()),
        None
    );
}

/// `s` with a seen space in which the reference saw all of its room empty
/// (10 cm cells over the structure's bounds and a metre more).
fn seen_all_empty(mut s: Scene) -> Scene {
    let (lo, hi) = symmetry::structure_bounds(&s).unwrap();
    let origin = Point3::from(lo - Vector3::repeat(1.0));
    let dims = ((hi - lo + Vector3::repeat(2.0)) / 0.1).map(|v| v.ceil() as u32);
    let cells = dims.iter().map(|&d| d as usize).product::<usize>();
    let space =
        crate::db::SeenSpace::from_parts(origin, 0.1, dims.into(), vec![0xFF; cells.div_ceil(8)]);
    s.seen_space = Some(space.unwrap());
    s
}

#[test]
fn a_pose_in_a_symmetric_room_counts_only_with_evidence_its_twin_lacks() {
    // The symmetric room with a 0.5 m odd cube: its turned twin scores 0.86 of
    // the true pose and the round gives the true pose (led by a margin). The
    // cube's surface is the map's asymmetric surface (turned, it lands where
    // the reference saw nothing), and the live view has it at the true pose
    // only.
    let s = seen_all_empty(symmetric_with(odd_cube(0.5)));
    let cfg = EngineConfig::default();
    let mut r = relocaliser_with(s.clone(), cfg.clone());
    let sym = r.scene_symmetry(0).expect("a symmetry");
    assert!(
        sym.similarity >= cfg.symmetric_room_similarity,
        "{}",
        sym.similarity
    );
    let target = r.target(0).unwrap();
    let live = live_of(&s);
    let own = sym.evidence(&target, &live.objects, &Pose::identity(), &cfg.agreement);
    let twin = sym.evidence(&target, &live.objects, &sym.turn, &cfg.agreement);
    assert!(own >= cfg.symmetric_min_evidence, "{own}");
    assert!(
        own as f32 >= cfg.symmetric_evidence_ratio * twin as f32,
        "{own} vs {twin}"
    );
    true_pose_in(&s, cfg.clone());
    // Asking for more evidence than the cube gives: no pose from this round.
    let more = EngineConfig {
        symmetric_min_evidence: own + 1,
        ..cfg.clone()
    };
    assert_eq!(round_in(&s, more.clone()), None);
    // Not a symmetric room by this measure: the pose as before.
    let off = EngineConfig {
        symmetric_room_similarity: sym.similarity + 0.01,
        ..more
    };
    true_pose_in(&s, off);
    // Without a seen space nothing tells the asymmetric surface: no symmetry.
    let mut bare = s.clone();
    bare.seen_space = None;
    assert!(relocaliser_with(bare, cfg).scene_symmetry(0).is_none());
}

/// The two objects of the walls tests: a cabinet and a table.
fn two_objects() -> [(Point3<f32>, Vector3<f32>); 2] {
    [
        (Point3::new(-2.0, -1.2, 0.45), Vector3::new(0.8, 0.5, 0.9)),
        (Point3::new(1.5, 1.0, 0.6), Vector3::new(1.6, 0.8, 1.2)),
    ]
}

/// The default config, except that the coarse look before ICP lets every pose
/// through: in a room of another shape it may already refuse the pose (most
/// of its floor and walls are far from the map), and these tests ask what the
/// structure fitness says.
fn past_the_coarse_look() -> EngineConfig {
    EngineConfig {
        coarse_min_agreement: 0.0,
        ..EngineConfig::default()
    }
}

#[test]
fn the_walls_of_a_room_of_another_shape_do_not_agree() {
    let objects = two_objects();
    let map = room(&objects);
    let cfg = past_the_coarse_look();
    let mut r = relocaliser_with(map.clone(), cfg);
    // The mapped room itself: objects and walls agree.
    let same = r.verify(0, &Pose::identity(), 3, &live_of(&map)).unwrap();
    assert!(same.structure_fitness.unwrap() > 0.9, "{same:?}");
    // The same objects in a 9 x 7 m room: the objects agree, the walls do not.
    let other = live_of(&room_of_size(Vector3::new(9.0, 7.0, 2.5), &objects));
    let v = r.verify(0, &Pose::identity(), 3, &other).unwrap();
    assert!(v.object_fitness > 0.8, "{v:?}");
    let st = v.structure_fitness.unwrap();
    assert!(
        st < EngineConfig::default().state.min_structure_fitness,
        "{v:?}"
    );
    // Without enough live structure it is not judged.
    let bare = LiveSurface {
        structure: LiveSample::default(),
        ..other
    };
    assert_eq!(
        r.verify(0, &Pose::identity(), 3, &bare)
            .unwrap()
            .structure_fitness,
        None
    );
}

/// A relocaliser for three like rooms that keeps at most two verification
/// targets.
/// A relocaliser over `n` like rooms (one object each), named `room {i}`.
fn like_rooms(n: usize, cfg: EngineConfig) -> Relocaliser {
    let objects = [(Point3::new(-2.0, -1.2, 0.45), Vector3::new(0.8, 0.5, 0.9))];
    let mut db = SceneDatabase::new();
    for i in 0..n {
        let mut s = room(&objects);
        s.name = format!("room {i}");
        db.add_scene(s).unwrap();
    }
    let index = EmbeddingIndex::build(&db, Modality::Point).unwrap();
    Relocaliser::new(cfg, Arc::new(db), index)
}

fn three_rooms_two_cached() -> Relocaliser {
    let cfg = EngineConfig {
        max_cached_targets: 2,
        ..EngineConfig::default()
    };
    like_rooms(3, cfg)
}

#[test]
fn the_target_cache_keeps_the_most_recently_used_scenes() {
    let mut r = three_rooms_two_cached();
    let a = r.target(0).unwrap();
    let b0 = r.target(1).unwrap();
    // Scene 0 used again: scene 1 is now the least recently used.
    assert!(Arc::ptr_eq(&a, &r.target(0).unwrap()));
    r.target(2).unwrap();
    assert_eq!(r.cached_targets(), 2);
    // Scene 0 stayed; scene 1 was dropped and is rebuilt when needed.
    assert!(Arc::ptr_eq(&a, &r.target(0).unwrap()));
    let b = r.target(1).unwrap();
    assert_eq!(r.cached_targets(), 2);
    // Rebuilt: a new target (2 was the least recently used and went).
    assert!(!Arc::ptr_eq(&b, &b0));
    assert!(Arc::ptr_eq(&b, &r.target(1).unwrap()));
    assert!(r.target(3).is_none());
    // The coarse target is the surface thinned, with a closest-point table.
    assert!(b.coarse.len() < b.surface.len());
    assert!(b.coarse.lookup().is_some());
}

#[test]
fn idle_warming_builds_targets_until_the_cache_is_full() {
    let mut r = three_rooms_two_cached();
    assert!(r.warm_one());
    assert_eq!(r.cached_targets(), 1);
    let first = r.target(0).unwrap();
    assert!(r.warm_one());
    assert_eq!(r.cached_targets(), 2);
    // Full: no more work, and what was built stays.
    assert!(!r.warm_one());
    assert_eq!(r.cached_targets(), 2);
    assert!(Arc::ptr_eq(&first, &r.target(0).unwrap()));
}

#[test]
fn a_gap_in_a_mapped_wall_does_not_count_against_the_structure() {
    let objects = two_objects();
    let full = room(&objects);
    // The wall at y = -2 as the live structure (session frame = map frame).
    let wall: Vec<(Point3<f32>, Vector3<f32>)> = full
        .structure_points
        .iter()
        .zip(&full.structure_normals)
        .filter(|(p, _)| p.y < -1.99 && p.z > 0.05)
        .map(|(p, n)| (*p, *n))
        .collect();
    let live_with = |shift: f32| {
        let mut live = live_of(&full);
        live.structure = LiveSample {
            points: wall.iter().map(|(p, _)| p - Vector3::y() * shift).collect(),
            normals: wall.iter().map(|(_, n)| *n).collect(),
            colors: Vec::new(),
        };
        live
    };
    // The map has not seen a metre-wide stretch of that wall (a cupboard stood
    // there when it was scanned).
    let mut gap = full.clone();
    let keep: Vec<bool> = gap
        .structure_points
        .iter()
        .map(|p| !(p.y < -1.99 && p.x.abs() < 0.5))
        .collect();
    let mut k = keep.iter();
    gap.structure_points.retain(|_| *k.next().unwrap());
    let mut k = keep.iter();
    gap.structure_normals.retain(|_| *k.next().unwrap());
    let st = |cfg: EngineConfig, live: &LiveSurface| {
        relocaliser_with(gap.clone(), cfg)
            .verify(0, &Pose::identity(), 3, live)
            .and_then(|v| v.structure_fitness)
            .unwrap()
    };
    let wide = EngineConfig::default();
    let narrow = EngineConfig {
        structure_agreement: wide.agreement,
        ..wide.clone()
    };
    let (with_wide, with_narrow) = (
        st(wide.clone(), &live_with(0.0)),
        st(narrow, &live_with(0.0)),
    );
    // The gap is a sixth of the wall: the points in it lie on the plane of the
    // mapped wall around it and agree with the wider search.
    assert!(with_wide > 0.97, "{with_wide}");
    assert!(with_narrow < 0.93, "{with_narrow}");
    // A wall 30 cm further out (a room of another shape) is off that plane.
    let moved = st(wide, &live_with(0.3));
    assert!(moved < 0.1, "{moved}");
}

#[test]
fn a_hypothesis_the_coarse_stage_leaves_off_the_surface_is_not_polished() {
    let s = room(&[(Point3::new(-2.0, -1.2, 0.45), Vector3::new(0.8, 0.5, 0.9))]);
    let live = live_of(&s);
    // The true pose agrees almost everywhere: polished under the default gate.
    let mut r = relocaliser(s.clone());
    assert!(
        r.verify_hypothesis(0, &Pose::identity(), 3, &live)
            .is_some()
    );
    // A gate above what the coarse stage reaches: a relocalisation hypothesis
    // stops there, while the current fix's re-verification is still polished.
    let cfg = EngineConfig {
        min_polish_agreement: 1.01,
        ..EngineConfig::default()
    };
    let mut r = relocaliser_with(s, cfg);
    assert!(
        r.verify_hypothesis(0, &Pose::identity(), 3, &live)
            .is_none()
    );
    assert!(r.verify(0, &Pose::identity(), 3, &live).is_some());
}

/// The live view of `map` moved into a session frame by `T_session_map`, with
/// the objects `moved` (indices) shifted by `by`: points, normals and queries.
fn moved_view(
    map: &Scene,
    T_session_map: &Pose,
    moved: &[usize],
    by: Vector3<f32>,
) -> (LiveSurface, Vec<LiveQuery>) {
    let mut seen = map.clone();
    for &i in moved {
        let inst = &mut seen.instances[i];
        inst.centroid += by;
        inst.points.iter_mut().for_each(|p| *p += by);
    }
    for inst in &mut seen.instances {
        inst.centroid = T_session_map * inst.centroid;
        inst.points.iter_mut().for_each(|p| *p = T_session_map * *p);
        inst.normals
            .iter_mut()
            .for_each(|n| *n = T_session_map.rotation * *n);
    }
    let (sp, sn): (Vec<_>, Vec<_>) = seen
        .structure_points
        .iter()
        .zip(&seen.structure_normals)
        .map(|(p, n)| (T_session_map * *p, T_session_map.rotation * *n))
        .unzip();
    seen.structure_points = sp;
    seen.structure_normals = sn;
    (live_of(&seen), queries_of(&seen))
}

#[test]
fn the_rooms_shape_finds_the_pose_when_one_object_in_view_is_where_it_was() {
    // A 6 x 4 m room: a large cabinet in a corner and two small boxes that
    // have since been moved 1.2 m along the room. Only the cabinet is where
    // the map has it: no two or three correspondences agree on the pose.
    let map = room(&[
        (Point3::new(-2.2, -1.2, 0.7), Vector3::new(1.2, 1.0, 1.4)),
        (Point3::new(1.0, 1.2, 0.2), Vector3::new(0.4, 0.4, 0.4)),
        (Point3::new(2.0, -1.0, 0.2), Vector3::new(0.4, 0.4, 0.4)),
    ]);
    let truth = Pose::from_parts(
        nalgebra::Translation3::new(3.0, -1.0, 0.5),
        nalgebra::UnitQuaternion::from_euler_angles(0.4, -0.2, 1.1),
    );
    let (live, queries) = moved_view(
        &map,
        &truth.inverse(),
        &[1, 2],
        Vector3::new(-1.2, 0.0, 0.0),
    );
    let no_shape = EngineConfig {
        shape_hypotheses_per_scene: 0,
        ..EngineConfig::default()
    };
    assert_eq!(
        relocaliser_with(map.clone(), no_shape).relocalise(&queries, &live, &[]),
        None
    );
    let fix = relocaliser(map)
        .relocalise(&queries, &live, &[])
        .expect("a pose from the room's shape");
    let e = crate::eval::pose_error(&fix.T_map_session, &truth);
    assert!(e.within(0.05, 2.0), "{e:?} {fix:?}");
    assert!(fix.inliers >= 1, "{fix:?}");
}

#[test]
fn a_persisting_candidate_needs_the_surface_to_single_it_out() {
    // The objects in view mostly moved: a pose with three inliers whose
    // surface and walls fit, but whose objects' fitness is below the gate.
    let weak = |x: f32, fitness: f32| VerifiedHypothesis {
        scene: 0,
        T_map_session: Pose::translation(x, 0.0, 0.0),
        inliers: 3,
        fitness,
        object_fitness: 0.1,
        structure_fitness: Some(0.9),
        anchor: Point3::origin(),
        rivalry: Rivalry::Clear,
    };
    let odd = room(&[
        (Point3::new(-2.0, -1.2, 0.45), Vector3::new(0.8, 0.5, 0.9)),
        (Point3::new(-1.5, 1.3, 0.6), Vector3::new(1.6, 0.8, 1.2)),
    ]);
    let live = live_of(&odd);
    // The engine leaves persistence off (see `EngineConfig::default`); the
    // mechanism is tested with it on.
    let cfg = EngineConfig {
        state: StateConfig {
            persistent_rounds: 12,
            ..EngineConfig::default().state
        },
        ..EngineConfig::default()
    };
    assert!(
        !EngineConfig::default()
            .state
            .admits_persistent(&weak(0.0, 0.6))
    );
    let mut r = relocaliser_with(odd, cfg.clone());
    let best = weak(0.0, 0.6);
    assert!(cfg.state.admits_persistent(&best));
    assert_eq!(
        r.persisting_candidate(std::slice::from_ref(&best), &live),
        Some(best.clone())
    );
    // A distinct pose that fits the surface almost as well: no candidate; one
    // that fits clearly less is no rival.
    assert!(!r.take_refused_persisting());
    assert_eq!(
        r.persisting_candidate(&[best.clone(), weak(1.0, 0.55)], &live),
        None
    );
    // (a refusal is reported once: the count of that pose starts again)
    assert!(r.take_refused_persisting());
    assert!(!r.take_refused_persisting());
    assert_eq!(
        r.persisting_candidate(&[best.clone(), weak(1.0, 0.4)], &live),
        Some(best.clone())
    );
    assert!(!r.take_refused_persisting());
    // Two inliers: not a candidate.
    let two = VerifiedHypothesis {
        inliers: 2,
        ..best.clone()
    };
    assert_eq!(r.persisting_candidate(&[two], &live), None);
    // In a room that looks the same turned round, the turned pose is the rival.
    let symmetric = room(&[
        (Point3::new(-2.0, -1.2, 0.45), Vector3::new(0.8, 0.5, 0.9)),
        (Point3::new(2.0, 1.2, 0.45), Vector3::new(0.8, 0.5, 0.9)),
    ]);
    let live = live_of(&symmetric);
    let mut r = relocaliser_with(symmetric, cfg);
    assert_eq!(r.persisting_candidate(&[best], &live), None);
}

#[test]
fn every_pending_scene_is_tried_with_the_ranked_ones_and_those_in_turn() {
    let cfg = EngineConfig {
        scenes_per_reloc: 1,
        extra_scenes_per_reloc: 1,
        ..EngineConfig::default()
    };
    let mut r = like_rooms(8, cfg);
    // The best ranked, a candidate's scene and a persisting pose's scene,
    // then one in turn (scene 0, the first not tried yet).
    assert_eq!(r.scenes_to_try(&[5, 6], &[3, 7]), vec![5, 3, 7, 0]);
    // A pending scene that is also ranked first is tried once; the turn goes on.
    assert_eq!(r.scenes_to_try(&[3], &[3]), vec![3, 1]);
}

#[test]
fn two_objects_by_one_wall_place_the_room_shape_along_it() {
    // A 6 x 4 m room; the device sees a strip of floor along one long wall,
    // that wall, and the two objects standing by it: too few objects for
    // RANSAC, and a structure that leaves the position along the wall free.
    let map = room(&[
        (Point3::new(-1.5, -1.6, 0.4), Vector3::new(0.8, 0.6, 0.8)),
        (Point3::new(0.8, -1.7, 0.25), Vector3::new(0.5, 0.4, 0.5)),
        (Point3::new(1.5, 1.3, 0.5), Vector3::new(1.0, 0.8, 1.0)),
    ]);
    let truth = Pose::from_parts(
        nalgebra::Translation3::new(3.0, -1.0, 0.5),
        nalgebra::UnitQuaternion::from_euler_angles(0.4, -0.2, 1.1),
    );
    let mut seen = map.clone();
    seen.instances.truncate(2);
    let (sp, sn): (Vec<_>, Vec<_>) = map
        .structure_points
        .iter()
        .zip(&map.structure_normals)
        .filter(|(p, _)| p.y < -0.8 && p.x.abs() < 2.5)
        .map(|(p, n)| (*p, *n))
        .unzip();
    seen.structure_points = sp;
    seen.structure_normals = sn;
    let (live, queries) = moved_view(&seen, &truth.inverse(), &[], Vector3::zeros());
    assert_eq!(queries.len(), 2);
    let pose_with =
        |cfg: EngineConfig| relocaliser_with(map.clone(), cfg).relocalise(&queries, &live, &[]);
    // Such rounds try nothing when told so, and the full room-shape
    // hypotheses alone find nothing: the view fixes only two axes.
    assert_eq!(
        pose_with(EngineConfig {
            shape_min_live_instances: 3,
            ..EngineConfig::default()
        }),
        None
    );
    assert_eq!(
        pose_with(EngineConfig {
            pinned_shape_hypotheses: false,
            ..EngineConfig::default()
        }),
        None
    );
    // A pinned pose counts only with the objects' fitness at its gate.
    assert_eq!(
        pose_with(EngineConfig {
            pinned_min_object_fitness: 1.01,
            ..EngineConfig::default()
        }),
        None
    );
    let fix = relocaliser(map)
        .relocalise(&queries, &live, &[])
        .expect("a pose placed along the wall by the objects");
    assert!(fix.object_fitness >= EngineConfig::default().pinned_min_object_fitness);
    let e = crate::eval::pose_error(&fix.T_map_session, &truth);
    assert!(e.within(0.05, 2.0), "{e:?} {fix:?}");
    assert_eq!(fix.inliers, 2, "{fix:?}");
}

#[test]
fn a_fix_whose_walls_no_longer_agree_fails_its_re_verification() {
    let objects = two_objects();
    let map = room(&objects);
    let cfg = past_the_coarse_look();
    let mut r = relocaliser_with(map.clone(), cfg.clone());
    let fix = r.verify(0, &Pose::identity(), 3, &live_of(&map)).unwrap();
    let round = |r: &mut Relocaliser, surface: LiveSurface| {
        let input = RoundInput {
            queries: Vec::new(),
            surface,
        };
        r.round(Some(&fix), &[], &input).1
    };
    // The mapped room: the fix still verifies.
    assert_eq!(round(&mut r, live_of(&map)), Some(true));
    // The same objects in a room 4 m longer: the floor, the long walls and
    // the objects still agree well enough to keep the fix by the surface
    // alone, the end walls do not.
    let other = || live_of(&room_of_size(Vector3::new(10.0, 4.0, 2.5), &objects));
    let v = r.verify(0, &Pose::identity(), 3, &other()).unwrap();
    assert!(v.fitness >= cfg.track_min_fitness, "{v:?}");
    assert!(
        v.structure_fitness.unwrap() < cfg.track_min_structure,
        "{v:?}"
    );
    assert_eq!(round(&mut r, other()), Some(false));
    // With no structure gate it would still count as verified.
    let mut lax = relocaliser_with(
        map,
        EngineConfig {
            track_min_structure: 0.0,
            ..cfg
        },
    );
    assert_eq!(round(&mut lax, other()), Some(true));
}
