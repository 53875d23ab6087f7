//! End to end through the library: a synthetic dataset is generated, a database is
//! built from the reference scans, and the rescans are streamed through the
//! threaded engine as a headset would (poses in an unknown session frame).

use std::sync::Arc;

use crossloc::db::SceneDatabase;
use crossloc::db::build::{BuildConfig, scene_from_frames};
use crossloc::eval::{RelocFrame, random_session_transform, replay, summarise_reloc};
use crossloc::frame::CameraIntrinsics;
use crossloc::io::FrameSelection;
use crossloc::io::detect::open_sequence;
use crossloc::localise::state::TrackingState;
use crossloc::pipeline::{Backpressure, Engine, EngineConfig, EngineEvent, RoundSchedule, Tracker};
use crossloc::synth::{SynthConfig, generate_dataset, load_dataset};

fn dataset(dir: &std::path::Path, rooms: usize, frames: usize) -> crossloc::synth::SynthDataset {
    let cfg = SynthConfig {
        seed: 21,
        rooms,
        rescans: 1,
        frames,
        reference_frames: None,
        intrinsics: CameraIntrinsics::TUM_DEFAULT.scaled(0.5),
        changes: Some(2),
        noise: true,
    };
    generate_dataset(&cfg, dir, &mut |_| {}).unwrap();
    load_dataset(dir).unwrap()
}

fn database(ds: &crossloc::synth::SynthDataset, rooms: &[usize]) -> SceneDatabase {
    let mut db = SceneDatabase::new();
    for &r in rooms {
        let frames = open_sequence(&ds.scan_dir(r, 0), FrameSelection::ALL).unwrap();
        let scene = scene_from_frames(
            &ds.rooms[r],
            "test",
            frames,
            &BuildConfig::default(),
            &mut |_| {},
        )
        .unwrap();
        assert!(!scene.instances.is_empty());
        db.add_scene(scene).unwrap();
    }
    db
}

#[test]
fn streams_every_frame_and_never_fixes_wrongly() {
    let tmp = tempfile::tempdir().unwrap();
    let ds = dataset(tmp.path(), 2, 60);
    let db = Arc::new(database(&ds, &[0, 1]));
    for room in 0..2 {
        let T_session_map = random_session_transform(room as u64 + 3, 10.0);
        let frames = open_sequence(&ds.scan_dir(room, 1), FrameSelection::ALL).unwrap();
        let r = replay(
            EngineConfig::default(),
            db.clone(),
            frames,
            T_session_map,
            &mut |_| {},
        )
        .unwrap();
        assert_eq!(r.frames.len(), 60);
        assert_eq!(r.stats.pushed, 60);
        assert_eq!(r.stats.processed, 60);
        assert_eq!(r.stats.dropped, 0);
        let scored: Vec<RelocFrame> = r
            .frames
            .iter()
            .map(|f| RelocFrame {
                index: f.index,
                localisable: true,
                localised: f.state == TrackingState::Localised,
                estimate: f.T_map_session,
                T_map_camera: f.T_map_camera,
            })
            .collect();
        let s = summarise_reloc(&scored, &T_session_map.inverse());
        assert_eq!(s.false_fix_frames, 0, "room {room}: {s:?}");
        // Frames come back in order.
        assert!(r.frames.windows(2).all(|w| w[0].index < w[1].index));
    }
}

#[test]
fn a_room_that_is_not_in_the_database_stays_lost() {
    let tmp = tempfile::tempdir().unwrap();
    let ds = dataset(tmp.path(), 2, 60);
    let db = Arc::new(database(&ds, &[0]));
    let frames = open_sequence(&ds.scan_dir(1, 1), FrameSelection::ALL).unwrap();
    let r = replay(
        EngineConfig::default(),
        db,
        frames,
        random_session_transform(9, 10.0),
        &mut |_| {},
    )
    .unwrap();
    assert!(
        r.frames
            .iter()
            .all(|f| f.T_map_session.is_none() && f.state != TrackingState::Localised)
    );
}

#[test]
fn drop_oldest_backpressure_counts_drops_and_shutdown_is_clean() {
    let tmp = tempfile::tempdir().unwrap();
    let ds = dataset(tmp.path(), 1, 30);
    let db = Arc::new(database(&ds, &[0]));
    let cfg = EngineConfig {
        queue_capacity: 1,
        backpressure: Backpressure::DropOldest,
        ..EngineConfig::default()
    };
    let mut engine = Engine::new(cfg, db.clone()).unwrap();
    let frames: Vec<_> = open_sequence(&ds.scan_dir(0, 1), FrameSelection::ALL)
        .unwrap()
        .map(|f| f.unwrap())
        .collect();
    for f in &frames {
        engine.push_frame(f.clone()).unwrap();
    }
    let (rest, stats) = engine.finish();
    assert_eq!(stats.pushed, 30);
    assert_eq!(stats.processed + stats.dropped, 30, "{stats:?}");
    assert_eq!(rest.len() as u64, stats.processed);
    // Shutting down mid-stream returns promptly and reports what was accepted.
    let mut engine = Engine::new(EngineConfig::default(), db).unwrap();
    for f in frames.iter().take(5) {
        engine.push_frame(f.clone()).unwrap();
    }
    let stats = engine.shutdown();
    assert_eq!(stats.pushed, 5);
}

/// Per-frame results without the timings (which differ run to run).
fn untimed(r: crossloc::pipeline::FrameResult) -> crossloc::pipeline::FrameResult {
    crossloc::pipeline::FrameResult {
        times: Default::default(),
        ..r
    }
}

/// The frames of `scan` with their poses moved into the session frame, as a
/// headset would report them.
fn in_session_frame(
    scan: &std::path::Path,
    T_session_map: &crossloc::frame::Pose,
) -> Vec<crossloc::frame::RgbdFrame> {
    open_sequence(scan, FrameSelection::ALL)
        .unwrap()
        .map(|f| {
            let mut f = f.unwrap();
            f.T_session_camera = f.T_session_camera.map(|T| T_session_map * T);
            f
        })
        .collect()
}

#[test]
fn the_threaded_engine_gives_the_sequential_trackers_results_every_time() {
    let tmp = tempfile::tempdir().unwrap();
    // The mapping pass is the streamed scan itself (so that it surely localises and
    // change detection runs), the other room is a distractor.
    let (ds, db) = self_mapped(tmp.path());
    let T_session_map = random_session_transform(5, 10.0);
    let frames = in_session_frame(&ds.scan_dir(0, 1), &T_session_map);
    let mut tracker = Tracker::new(EngineConfig::default(), db.clone()).unwrap();
    let sequential: Vec<_> = frames
        .iter()
        .map(|f| untimed(tracker.process(f).unwrap()))
        .collect();
    // The comparison means something only if the run localises.
    assert!(
        sequential
            .iter()
            .any(|r| r.state == TrackingState::Localised && r.T_map_session.is_some()),
        "the sequential run never localised: {:?}",
        sequential.iter().map(|r| r.state).collect::<Vec<_>>()
    );
    assert!(sequential.iter().any(|r| !r.events.is_empty()));
    for run in 0..2 {
        // A small queue makes the stages wait on each other in varying ways.
        let cfg = EngineConfig {
            queue_capacity: 1 + run,
            ..EngineConfig::default()
        };
        let mut engine = Engine::new(cfg, db.clone()).unwrap();
        let mut threaded = Vec::new();
        for f in &frames {
            engine.push_frame(f.clone()).unwrap();
            threaded.extend(engine.poll_results());
        }
        let (rest, stats) = engine.finish();
        threaded.extend(rest);
        assert_eq!(stats.processed, frames.len() as u64);
        let threaded: Vec<_> = threaded.into_iter().map(|r| untimed(r.unwrap())).collect();
        assert_eq!(threaded.len(), sequential.len());
        for (a, b) in sequential.iter().zip(&threaded) {
            assert_eq!(a, b, "run {run}, frame {}", a.index);
        }
    }
    // A fix that keeps verifying is re-checked every `verify_every_rounds` rounds:
    // fewer localisation rounds do work after the fix than when every round checks.
    let worked_after_fix = |every: u32| {
        let cfg = EngineConfig {
            verify_every_rounds: every,
            ..EngineConfig::default()
        };
        let mut tracker = Tracker::new(cfg, db.clone()).unwrap();
        let results: Vec<_> = frames.iter().map(|f| tracker.process(f).unwrap()).collect();
        let first = results
            .iter()
            .position(|r| r.state == TrackingState::Localised)
            .expect("localises");
        results[first + 1..]
            .iter()
            .filter(|r| r.times.localise_ms > 0.0)
            .count()
    };
    let (every_round, default) = (worked_after_fix(1), worked_after_fix(3));
    assert!(every_round >= 3, "{every_round}");
    assert!(default < every_round, "{default} vs {every_round}");
}

#[test]
fn verify_pose_refines_a_nearby_prior_and_rejects_a_wrong_one() {
    use nalgebra::{Isometry3, Vector3};
    let tmp = tempfile::tempdir().unwrap();
    let cfg = SynthConfig {
        seed: 22,
        rooms: 1,
        rescans: 1,
        frames: 45,
        reference_frames: Some(180),
        intrinsics: CameraIntrinsics::TUM_DEFAULT.scaled(0.5),
        changes: Some(2),
        noise: true,
    };
    generate_dataset(&cfg, tmp.path(), &mut |_| {}).unwrap();
    let ds = load_dataset(tmp.path()).unwrap();
    let db = Arc::new(database(&ds, &[0]));
    let T_session_map = random_session_transform(5, 10.0);
    let mut tracker = Tracker::new(EngineConfig::default(), db).unwrap();
    for frame in open_sequence(&ds.scan_dir(0, 1), FrameSelection::ALL).unwrap() {
        let mut frame = frame.unwrap();
        frame.T_session_camera = frame.T_session_camera.map(|T| T_session_map * T);
        tracker.process(&frame).unwrap();
    }
    let truth = T_session_map.inverse();
    let centre = tracker
        .live_map()
        .stable()
        .map(|i| i.centroid.coords)
        .sum::<Vector3<f32>>()
        / tracker.live_map().stable().count().max(1) as f32;
    let about = Isometry3::translation(centre.x, centre.y, centre.z);
    let nudge = |metres: f32, degrees: f32| {
        let d = Isometry3::new(
            Vector3::new(metres, 0.0, 0.0),
            Vector3::new(0.2, 0.1, 1.0).normalize() * degrees.to_radians(),
        );
        truth * about * d * about.inverse()
    };
    let at_truth = tracker.verify_pose(0, &truth).unwrap();
    assert!(at_truth.fitness > 0.6, "{at_truth:?}");
    let near = tracker.verify_pose(0, &nudge(0.15, 8.0)).unwrap();
    let e = crossloc::eval::pose_error(&near.T_map_session, &truth);
    assert!(e.translation_m < 0.05 && e.rotation_deg < 2.0, "{e:?}");
    assert!(near.fitness > 0.6 && near.object_fitness > 0.4, "{near:?}");
    let far = tracker.verify_pose(0, &nudge(1.5, 90.0));
    assert!(
        far.as_ref().is_none_or(|v| v.fitness < 0.5),
        "a pose 90° off verified: {far:?}"
    );
    assert!(tracker.verify_pose(7, &truth).is_none());
}

/// Two rooms of 45 full-size frames; the database maps room 0 from the scan
/// that is streamed (so that it surely localises) and room 1 from its reference
/// scan (a distractor).
fn self_mapped(dir: &std::path::Path) -> (crossloc::synth::SynthDataset, Arc<SceneDatabase>) {
    let cfg = SynthConfig {
        seed: 21,
        rooms: 2,
        rescans: 1,
        frames: 45,
        reference_frames: None,
        intrinsics: CameraIntrinsics::TUM_DEFAULT,
        changes: Some(2),
        noise: true,
    };
    generate_dataset(&cfg, dir, &mut |_| {}).unwrap();
    let ds = load_dataset(dir).unwrap();
    let mut db = SceneDatabase::new();
    for (room, scan) in [(0, 1), (1, 0)] {
        let frames = open_sequence(&ds.scan_dir(room, scan), FrameSelection::ALL).unwrap();
        let scene = scene_from_frames(
            &ds.rooms[room],
            "test",
            frames,
            &BuildConfig::default(),
            &mut |_| {},
        )
        .unwrap();
        db.add_scene(scene).unwrap();
    }
    (ds, Arc::new(db))
}

#[test]
fn latest_rounds_pass_every_frame_on_and_still_localise() {
    let tmp = tempfile::tempdir().unwrap();
    let (ds, db) = self_mapped(tmp.path());
    let T_session_map = random_session_transform(3, 10.0);
    let frames = in_session_frame(&ds.scan_dir(0, 1), &T_session_map);
    // The same stream, every round in order: it localises.
    let mut tracker = Tracker::new(EngineConfig::default(), db.clone()).unwrap();
    let in_order: Vec<_> = frames.iter().map(|f| tracker.process(f).unwrap()).collect();
    assert!(in_order.iter().any(|r| r.state == TrackingState::Localised));

    let cfg = EngineConfig {
        rounds: RoundSchedule::Latest,
        ..EngineConfig::default()
    };
    let reloc_every = u64::from(cfg.reloc_every);
    let mut engine = Engine::new(cfg, db.clone()).unwrap();
    let mut results = Vec::new();
    for f in &frames {
        engine.push_frame(f.clone()).unwrap();
        results.extend(engine.poll_results());
    }
    // Rounds run behind the frames: keep the camera still on the last frame
    // until the fix arrives (a round takes well under a second here).
    let last = frames.last().unwrap();
    let started = std::time::Instant::now();
    let mut extra = 0u64;
    while !results.iter().any(|r| {
        r.as_ref()
            .is_ok_and(|r| r.state == TrackingState::Localised)
    }) && started.elapsed().as_secs() < 120
    {
        let mut f = last.clone();
        extra += 1;
        f.index = last.index + extra;
        engine.push_frame(f).unwrap();
        std::thread::sleep(std::time::Duration::from_millis(20));
        results.extend(engine.poll_results());
    }
    let (rest, stats) = engine.finish();
    results.extend(rest);
    let pushed = frames.len() as u64 + extra;
    assert_eq!(stats.pushed, pushed);
    assert_eq!(stats.processed, pushed, "{stats:?}");
    assert_eq!(stats.rounds, pushed / reloc_every, "{stats:?}");
    assert!(stats.rounds_skipped < stats.rounds, "{stats:?}");
    let results: Vec<_> = results.into_iter().map(|r| r.unwrap()).collect();
    assert!(results.windows(2).all(|w| w[0].index < w[1].index));
    let fixed: Vec<_> = results
        .iter()
        .filter(|r| r.state == TrackingState::Localised)
        .collect();
    assert!(!fixed.is_empty(), "never localised: {stats:?}");
    // Every fix is the true one (the session transform is what the map needs).
    for r in &fixed {
        let T = r.T_map_session.expect("a fix while localised");
        let err = T * T_session_map;
        assert!(
            err.translation.vector.norm() < 0.1 && err.rotation.angle() < 3f32.to_radians(),
            "frame {}: {err:?}",
            r.index
        );
    }
    // The fix is announced once, on the frame it arrived with.
    let announced: Vec<u64> = results
        .iter()
        .flat_map(|r| &r.events)
        .filter_map(|e| match e {
            EngineEvent::Localised { frame, .. } => Some(*frame),
            _ => None,
        })
        .collect();
    assert_eq!(announced.first(), Some(&fixed[0].index));
    // Shutting down mid-stream (the worker warming or in a round) returns and
    // reports what was accepted.
    let cfg = EngineConfig {
        rounds: RoundSchedule::Latest,
        ..EngineConfig::default()
    };
    let mut engine = Engine::new(cfg, db).unwrap();
    for f in frames.iter().take(7) {
        engine.push_frame(f.clone()).unwrap();
    }
    let stats = engine.shutdown();
    assert_eq!(stats.pushed, 7);
    assert!(stats.processed <= 7);
}
