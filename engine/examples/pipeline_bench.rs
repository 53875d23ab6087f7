//! End-to-end throughput of the per-frame core at 640×480: every rescan of a
//! synthetic dataset is played (a) through the sequential [`Tracker`] on one thread
//! (read + decode + segment + fuse + localise + changes, in order) and (b) through
//! the threaded [`Engine`] as shipped ([`crossloc::eval::replay`]: a reader thread
//! decoding ahead, then the segment, fuse, localise and change threads) and (c)
//! through the same engine with relocalisation rounds on a thread of their own
//! on the newest input ([`RoundSchedule::Latest`]), the frames pushed at 30 per
//! second as a camera delivers them (unpaced, such an engine would skip almost
//! every round), in the same run. Prints
//! frames in and out, wall seconds, frames per second, process CPU seconds,
//! per-stage p50 / p99, the speed-up over (a), whether (a) and (b) gave the same
//! per-frame results, and per mode the frames localised, the rounds run and
//! skipped and the first fix of each rescan (frames in).
//!
//! Run: `cargo run --release -p crossloc --example pipeline_bench [-- DATASET DB]`
//!
//! Without arguments it generates 2 synthetic rooms (a 300-frame mapping pass and a
//! 150-frame rescan each, 640×480) in a temporary folder and builds the database
//! from the mapping passes; with `DATASET DB` it plays `room_*/scan_01` of a dataset
//! written by `crossloc synth` against a database written by `crossloc build-db`.

use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use crossloc::db::build::{BuildConfig, scene_from_frames};
use crossloc::db::{SceneDatabase, read_database};
use crossloc::eval::{percentile, process_cpu_seconds, random_session_transform, replay_paced};
use crossloc::frame::{CameraIntrinsics, Pose};
use crossloc::io::FrameSelection;
use crossloc::io::detect::open_sequence;
use crossloc::localise::state::TrackingState;
use crossloc::pipeline::{EngineConfig, RoundSchedule, StageTimes, Tracker};
use crossloc::synth::{SynthConfig, SynthDataset, generate_dataset, load_dataset};

type BoxError = Box<dyn std::error::Error>;

/// What one mode produced for one frame: index, state, fix.
type Outcome = (u64, TrackingState, Option<Pose>);

#[derive(Default)]
struct Run {
    frames_in: u64,
    frames_out: u64,
    wall_s: f64,
    cpu_s: f64,
    times: Vec<StageTimes>,
    outcomes: Vec<Outcome>,
    rounds: u64,
    rounds_skipped: u64,
    /// Per rescan: frames in before the first Localised frame.
    first_fix: Vec<Option<usize>>,
}

fn first_fix(outcomes: &[Outcome]) -> Option<usize> {
    outcomes
        .iter()
        .position(|o| o.1 == TrackingState::Localised)
}

fn generated(dir: &Path) -> Result<SynthDataset, BoxError> {
    let cfg = SynthConfig {
        seed: 7,
        rooms: 2,
        rescans: 1,
        frames: 150,
        reference_frames: Some(300),
        intrinsics: CameraIntrinsics::TUM_DEFAULT,
        changes: Some(2),
        noise: true,
    };
    generate_dataset(&cfg, dir, &mut |_| {})?;
    Ok(load_dataset(dir)?)
}

fn built_database(ds: &SynthDataset) -> Result<SceneDatabase, BoxError> {
    let mut db = SceneDatabase::new();
    for (r, name) in ds.rooms.iter().enumerate() {
        let frames = open_sequence(&ds.scan_dir(r, 0), FrameSelection::ALL)?;
        let scene = scene_from_frames(name, "bench", frames, &BuildConfig::default(), &mut |_| {})?;
        db.add_scene(scene)?;
    }
    Ok(db)
}

fn sequential(db: &Arc<SceneDatabase>, scan: &Path, seed: u64) -> Result<Run, BoxError> {
    let T_session_map = random_session_transform(seed, 10.0);
    let (cpu0, t0) = (process_cpu_seconds(), Instant::now());
    let mut tracker = Tracker::new(EngineConfig::default(), db.clone())?;
    let mut run = Run::default();
    for frame in open_sequence(scan, FrameSelection::ALL)? {
        let mut frame = frame?;
        run.frames_in += 1;
        frame.T_session_camera = frame.T_session_camera.map(|T| T_session_map * T);
        let r = tracker.process(&frame)?;
        run.frames_out += 1;
        run.times.push(r.times);
        run.outcomes.push((r.index, r.state, r.T_map_session));
    }
    run.wall_s = t0.elapsed().as_secs_f64();
    run.cpu_s = process_cpu_seconds() - cpu0;
    run.rounds = run.times.len() as u64 / u64::from(EngineConfig::default().reloc_every);
    run.first_fix = vec![first_fix(&run.outcomes)];
    Ok(run)
}

fn threaded(
    db: &Arc<SceneDatabase>,
    scan: &Path,
    seed: u64,
    rounds: RoundSchedule,
    pace_fps: Option<f64>,
) -> Result<Run, BoxError> {
    let T_session_map = random_session_transform(seed, 10.0);
    let (cpu0, t0) = (process_cpu_seconds(), Instant::now());
    let frames = open_sequence(scan, FrameSelection::ALL)?;
    let cfg = EngineConfig {
        rounds,
        ..EngineConfig::default()
    };
    let r = replay_paced(
        cfg,
        db.clone(),
        frames,
        T_session_map,
        pace_fps,
        &mut |_| {},
    )?;
    Ok(Run {
        frames_in: r.stats.pushed,
        frames_out: r.stats.processed,
        wall_s: t0.elapsed().as_secs_f64(),
        cpu_s: process_cpu_seconds() - cpu0,
        times: r.frames.iter().map(|f| f.times).collect(),
        outcomes: r
            .frames
            .iter()
            .map(|f| (f.index, f.state, f.T_map_session))
            .collect(),
        rounds: r.stats.rounds,
        rounds_skipped: r.stats.rounds_skipped,
        first_fix: vec![
            r.frames
                .iter()
                .position(|f| f.state == TrackingState::Localised),
        ],
    })
}

fn merge(into: &mut Run, r: Run) {
    into.frames_in += r.frames_in;
    into.frames_out += r.frames_out;
    into.wall_s += r.wall_s;
    into.cpu_s += r.cpu_s;
    into.times.extend(r.times);
    into.outcomes.extend(r.outcomes);
    into.rounds += r.rounds;
    into.rounds_skipped += r.rounds_skipped;
    into.first_fix.extend(r.first_fix);
}

fn p(times: &[StageTimes], f: impl Fn(&StageTimes) -> f64) -> String {
    let v: Vec<f64> = times.iter().map(f).collect();
    format!(
        "{:.1}/{:.1}",
        percentile(&v, 50.0).unwrap_or(0.0),
        percentile(&v, 99.0).unwrap_or(0.0)
    )
}

fn row(name: &str, r: &Run, base_fps: f64) {
    let fps = r.frames_out as f64 / r.wall_s.max(1e-9);
    let t = &r.times;
    println!(
        "{name:<11} {:>5} {:>5} {:>7.2} {:>6.1} {:>7.2} {:>10} {:>10} {:>10} {:>11} {:>11} {:>11} {:>6.2}x",
        r.frames_in,
        r.frames_out,
        r.wall_s,
        fps,
        r.cpu_s,
        p(t, |t| t.segment_ms),
        p(t, |t| t.fuse_ms),
        p(t, |t| t.encode_ms),
        p(t, |t| t.localise_ms),
        p(t, |t| t.change_ms),
        p(t, |t| t.segment_ms
            + t.fuse_ms
            + t.encode_ms
            + t.localise_ms
            + t.change_ms),
        fps / base_fps.max(1e-9),
    );
}

fn main() -> Result<(), BoxError> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let tmp = tempfile::tempdir()?;
    let (ds, db) = match args.as_slice() {
        [dataset, db] => (
            load_dataset(Path::new(dataset))?,
            read_database(Path::new(db))?,
        ),
        [] => {
            eprintln!("generating 2 synthetic rooms (640x480) ...");
            let ds = generated(tmp.path())?;
            let db = built_database(&ds)?;
            (ds, db)
        }
        _ => return Err("usage: pipeline_bench [DATASET DB]".into()),
    };
    let db = Arc::new(db);
    let (mut seq, mut thr, mut latest) = (Run::default(), Run::default(), Run::default());
    for room in 0..ds.rooms.len() {
        let scan = ds.scan_dir(room, 1);
        if !scan.is_dir() {
            continue;
        }
        let seed = room as u64 + 3;
        merge(&mut seq, sequential(&db, &scan, seed)?);
        merge(
            &mut thr,
            threaded(&db, &scan, seed, RoundSchedule::EveryRound, None)?,
        );
        merge(
            &mut latest,
            threaded(&db, &scan, seed, RoundSchedule::Latest, Some(30.0))?,
        );
        eprintln!("{} done", scan.display());
    }
    let base = seq.frames_out as f64 / seq.wall_s.max(1e-9);
    println!(
        "{:<11} {:>5} {:>5} {:>7} {:>6} {:>7} {:>10} {:>10} {:>10} {:>11} {:>11} {:>11} {:>7}",
        "mode",
        "in",
        "out",
        "wall s",
        "fps",
        "cpu s",
        "segment",
        "fuse",
        "encode",
        "localise",
        "change",
        "total",
        "ratio"
    );
    println!("{:<11} (stage columns: p50/p99 ms per frame)", "");
    row("sequential", &seq, base);
    row("engine", &thr, base);
    row("latest@30", &latest, base);
    let same = seq.outcomes == thr.outcomes;
    println!(
        "per-frame results (state, fix) identical in sequential and engine: {}",
        if same { "yes" } else { "NO" }
    );
    for (name, r) in [
        ("sequential", &seq),
        ("engine", &thr),
        ("latest@30", &latest),
    ] {
        let localised = r
            .outcomes
            .iter()
            .filter(|o| o.1 == TrackingState::Localised)
            .count();
        let fixes: Vec<String> = r
            .first_fix
            .iter()
            .map(|f| f.map_or("-".into(), |f| f.to_string()))
            .collect();
        println!(
            "{name:<11} localised {localised}/{} frames, rounds {} run / {} skipped, first fix per rescan {}",
            r.frames_out,
            r.rounds - r.rounds_skipped,
            r.rounds_skipped,
            fixes.join(", ")
        );
    }
    Ok(())
}
