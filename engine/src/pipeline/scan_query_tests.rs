//! Scan queries on synthetic annotated scans (surface samples of generated rooms
//! with instance labels; instance 0 is the structure).

use nalgebra::Point3;

use super::*;
use crate::eval::pose_error;
use crate::eval::scan_reference::transformed_scan;
use crate::eval::session::random_session_transform;
use crate::frame::PointCloud;
use crate::synth::surface::sample_room_surface;
use crate::synth::{Room, generate_room, make_rescan};

const SEED: u64 = 3;
const DENSITY: f32 = 600.0;

fn scan_of(room: &Room, scan_index: usize, name: &str) -> Scan {
    Scan {
        name: name.to_string(),
        cloud: sample_room_surface(room, SEED, scan_index, DENSITY),
        boxes: Vec::new(),
    }
}

/// Rooms 0..4 of the seed; the query room is the first one that is not built
/// symmetric and holds at least 12 objects.
fn rooms() -> (Vec<Room>, usize) {
    let rooms: Vec<Room> = (0..4).map(|i| generate_room(SEED, i)).collect();
    let q = rooms
        .iter()
        .position(|r| !r.symmetric && r.objects.len() >= 12)
        .expect("a non-symmetric room with 12 objects among four");
    (rooms, q)
}

fn database(rooms: &[Room], keep: impl Fn(usize) -> bool) -> SceneDatabase {
    let mut db = SceneDatabase::new();
    for (_, room) in rooms.iter().enumerate().filter(|(i, _)| keep(*i)) {
        let scan = scan_of(room, 0, &room.name);
        let scene = scene_from_scan(&scan, &BuildConfig::default()).expect("scene");
        db.add_scene(scene).expect("unique name");
    }
    db
}

#[test]
fn a_moved_rescan_is_localised_in_its_room() {
    let (rooms, q) = rooms();
    let db = database(&rooms, |_| true);
    // A rescan with three changes, sampled afresh, moved into a session frame.
    let (rescan, _) = make_rescan(&rooms[q], SEED, 1, Some(3));
    let query = scan_of(&rescan, 1, "query");
    for seed in [1, 2] {
        let T_session_map = random_session_transform(seed, 10.0);
        let moved = transformed_scan(&query, &T_session_map);
        let out = localise_scan(&db, &moved, &ScanQueryConfig::default()).expect("query runs");
        let fix = out
            .fix
            .as_ref()
            .unwrap_or_else(|| panic!("no fix: {:?}", out.no_fix));
        assert_eq!(fix.scene_name, rooms[q].name);
        assert!(out.no_fix.is_none());
        // The map frame is the rescan's frame: T_map_session should undo the move.
        let e = pose_error(&fix.T_map_session, &T_session_map.inverse());
        assert!(e.within(0.03, 1.0), "seed {seed}: {e:?}");
        assert!(fix.inliers >= 4 && fix.fitness >= 0.35, "{fix:?}");
        assert!(fix.confidence > 0.0 && fix.confidence <= 1.0);
    }
}

#[test]
fn a_room_that_is_not_in_the_database_gives_no_fix() {
    let (rooms, q) = rooms();
    let db = database(&rooms, |i| i != q);
    assert_eq!(db.scenes.len(), 3);
    let query = scan_of(&rooms[q], 1, "elsewhere");
    for seed in [1, 2, 3] {
        let moved = transformed_scan(&query, &random_session_transform(seed, 10.0));
        let out = localise_scan(&db, &moved, &ScanQueryConfig::default()).expect("query runs");
        assert!(out.fix.is_none(), "seed {seed}: wrong fix {:?}", out.fix);
        assert!(out.no_fix.is_some());
        assert!(out.query_instances >= 4, "{}", out.query_instances);
    }
}

fn labelled(points: Vec<Point3<f32>>, ids: Vec<u32>) -> Scan {
    Scan {
        name: "bad".into(),
        cloud: PointCloud {
            points,
            instance_ids: Some(ids),
            ..Default::default()
        },
        boxes: Vec::new(),
    }
}

#[test]
fn unusable_scans_are_typed_errors() {
    let db = SceneDatabase::new();
    let cfg = ScanQueryConfig::default();
    let p = Point3::new(1.0, 2.0, 3.0);
    let empty = labelled(Vec::new(), Vec::new());
    assert!(matches!(
        localise_scan(&db, &empty, &cfg),
        Err(ScanQueryError::Empty(_))
    ));
    let mut unlabelled = labelled(vec![p; 10], Vec::new());
    unlabelled.cloud.instance_ids = None;
    assert!(matches!(
        localise_scan(&db, &unlabelled, &cfg),
        Err(ScanQueryError::NoInstanceLabels(_))
    ));
    let structure_only = labelled(vec![p; 10], vec![0; 10]);
    assert!(matches!(
        localise_scan(&db, &structure_only, &cfg),
        Err(ScanQueryError::NoInstanceLabels(_))
    ));
    let short = labelled(vec![p; 10], vec![1; 9]);
    assert!(matches!(
        localise_scan(&db, &short, &cfg),
        Err(ScanQueryError::Inconsistent {
            what: "instance ids",
            found: 9,
            points: 10,
            ..
        })
    ));
    let mut nan = labelled(vec![p; 10], vec![1; 10]);
    nan.cloud.points[4] = Point3::new(f32::NAN, 0.0, 0.0);
    assert!(matches!(
        localise_scan(&db, &nan, &cfg),
        Err(ScanQueryError::NonFinite { index: 4, .. })
    ));
    let mut colours = labelled(vec![p; 10], vec![1; 10]);
    colours.cloud.colors = Some(vec![[0, 0, 0]; 3]);
    assert!(matches!(
        localise_scan(&db, &colours, &cfg),
        Err(ScanQueryError::Inconsistent {
            what: "colours",
            ..
        })
    ));
}

#[test]
fn a_scan_with_too_few_instances_gives_no_fix_not_an_error() {
    let (rooms, q) = rooms();
    let db = database(&rooms, |i| i == q);
    // Two small cubes' worth of points: labelled, but too small to build instances.
    let mut points = Vec::new();
    let mut ids = Vec::new();
    for (id, x) in [(1u32, 0.0f32), (2, 1.0)] {
        for k in 0..5 {
            points.push(Point3::new(x + k as f32 * 0.01, 0.0, 0.0));
            ids.push(id);
        }
    }
    let scan = labelled(points, ids);
    let cfg = ScanQueryConfig::default();
    let out = localise_scan(&db, &scan, &cfg).expect("runs");
    assert!(out.fix.is_none());
    assert_eq!(
        out.no_fix,
        Some(NoFix::TooFewInstances {
            found: 0,
            needed: cfg.build.engine.min_live_instances.max(3)
        })
    );
}
