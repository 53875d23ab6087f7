//! `crossloc localise`: replay a sequence as a headset would and write the engine's
//! answers (RESULT.json, optional TUM trajectory of the estimated camera path).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, Result};
use clap::Args;
use crossloc::change::ChangeKind;
use crossloc::db::{SceneDatabase, read_database};
use crossloc::eval::{Replay, random_session_transform, replay_paced};
use crossloc::frame::Pose;
use crossloc::io::detect::open_sequence;
use crossloc::io::{FrameSelection, trajectory};
use crossloc::pipeline::{EngineConfig, EngineEvent, RoundSchedule};
use serde_json::{Value, json};

use crate::progress;

/// Arguments shared by `localise` and `eval reloc`.
#[derive(Debug, Args, Clone)]
pub struct LocaliseArgs {
    /// Scene database file.
    #[arg(long)]
    pub db: PathBuf,
    /// Query: a posed sequence (or, for `eval`, a synthetic dataset), or an
    /// annotated scan (a ScanNet folder with `--scan`, or a PLY with instance labels).
    #[arg(long)]
    pub input: PathBuf,
    /// Query scan inside a ScanNet folder: the scan, moved by the session
    /// transform, is localised as one observation.
    #[arg(long)]
    pub scan: Option<String>,
    /// Frame range (`A..B`, by the index in the file names).
    #[arg(long)]
    pub frames: Option<FrameSelection>,
    /// Seed of the hidden session transform.
    #[arg(long, default_value_t = 1)]
    pub session_seed: u64,
    /// Output RESULT.json.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Output TUM trajectory of the estimated camera path (map frame).
    #[arg(long)]
    pub trajectory: Option<PathBuf>,
    /// How relocalisation rounds run: `every` (each round frame's round, in
    /// order; reproducible) or `latest` (on their own thread, on the newest
    /// input; frames never wait for a round, results depend on timing).
    #[arg(long, value_enum, default_value_t = Rounds::Every)]
    pub rounds: Rounds,
    /// Push frames no faster than this many per second, as a camera would
    /// (default: as fast as the engine takes them).
    #[arg(long)]
    pub pace: Option<f64>,
}

/// `--rounds`: the engine's [`RoundSchedule`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Rounds {
    /// Every round, in order (reproducible).
    Every,
    /// The newest input's round, on a thread of its own.
    Latest,
}

/// How a sequence is played to the engine.
#[derive(Debug, Clone, Copy, Default)]
pub struct Playback {
    /// Round schedule.
    pub rounds: RoundSchedule,
    /// Frames per second to push at, if paced.
    pub pace_fps: Option<f64>,
}

impl LocaliseArgs {
    /// The playback these arguments ask for.
    pub fn playback(&self) -> Playback {
        Playback {
            rounds: match self.rounds {
                Rounds::Every => RoundSchedule::EveryRound,
                Rounds::Latest => RoundSchedule::Latest,
            },
            pace_fps: self.pace,
        }
    }
}

/// 4×4 row-major nested arrays.
pub fn matrix(T: &Pose) -> Value {
    let m = T.to_homogeneous();
    json!(
        (0..4)
            .map(|r| (0..4).map(|c| m[(r, c)]).collect::<Vec<f32>>())
            .collect::<Vec<_>>()
    )
}

/// Loads a database with a readable error.
pub fn load_db(path: &Path) -> Result<Arc<SceneDatabase>> {
    let db = read_database(path)
        .with_context(|| format!("cannot load the database {}", path.display()))?;
    Ok(Arc::new(db))
}

/// Replays one sequence against a database.
pub fn run_sequence(
    db: Arc<SceneDatabase>,
    input: &Path,
    selection: FrameSelection,
    seed: u64,
    playback: Playback,
) -> Result<Replay> {
    let source = open_sequence(input, selection)?;
    let pb = progress::bar(source.frame_count() as u64, "localising");
    let T_session_map = random_session_transform(seed, 10.0);
    let cfg = EngineConfig {
        rounds: playback.rounds,
        ..EngineConfig::default()
    };
    let r = replay_paced(
        cfg,
        db,
        source,
        T_session_map,
        playback.pace_fps,
        &mut |_| pb.inc(1),
    )?;
    pb.finish_and_clear();
    Ok(r)
}

fn kind_name(k: ChangeKind) -> &'static str {
    match k {
        ChangeKind::Moved => "moved",
        ChangeKind::Added => "added",
        ChangeKind::Removed => "removed",
    }
}

/// The events of a replay as JSON objects.
pub fn events_json(r: &Replay) -> Vec<Value> {
    r.events
        .iter()
        .map(|e| match e {
            EngineEvent::Localised {
                frame,
                scene,
                T_map_session,
                confidence,
            } => json!({
                "frame": frame, "kind": "localised", "instance": null, "scene": scene,
                "T_map_session": matrix(T_map_session), "confidence": confidence
            }),
            EngineEvent::Lost { frame } => {
                json!({"frame": frame, "kind": "lost", "instance": null})
            }
            EngineEvent::Change(c) => json!({
                "frame": c.frame, "kind": kind_name(c.kind), "id": c.id,
                "instance": c.db_instance.or(c.live_instance),
                "db_instance": c.db_instance, "live_instance": c.live_instance,
                "position": c.position, "translation_m": c.translation_m,
                "rotation_deg": c.rotation_deg, "confidence": c.confidence, "retracted": c.retracted
            }),
        })
        .collect()
}

/// RESULT.json of a replay.
pub fn result_json(r: &Replay) -> Value {
    let frames: Vec<Value> = r
        .frames
        .iter()
        .map(|f| {
            json!({
                "index": f.index, "timestamp": f.timestamp, "state": f.state.name(),
                "T_map_session": f.T_map_session.as_ref().map(matrix),
                "confidence": f.confidence
            })
        })
        .collect();
    json!({
        "simulation": {"T_session_map": matrix(&r.T_session_map)},
        "frames": frames,
        "events": events_json(r),
        "stats": {"frames_in": r.stats.pushed, "frames_out": r.stats.processed,
                  "dropped": r.stats.dropped, "bad_frames": r.bad_frames,
                  "rounds": r.stats.rounds, "rounds_skipped": r.stats.rounds_skipped,
                  "fps": r.fps()},
    })
}

/// Writes RESULT.json and the trajectory when asked.
pub fn write_outputs(args: &LocaliseArgs, r: &Replay) -> Result<()> {
    if let Some(out) = &args.out {
        std::fs::write(out, serde_json::to_string_pretty(&result_json(r))?)
            .with_context(|| format!("cannot write {}", out.display()))?;
    }
    if let Some(path) = &args.trajectory {
        let poses: Vec<(f64, Pose)> = r
            .frames
            .iter()
            .filter_map(|f| {
                let T_map_session = f.T_map_session?;
                let T_session_camera = r.T_session_map * f.T_map_camera?;
                Some((f.timestamp, T_map_session * T_session_camera))
            })
            .collect();
        trajectory::write_tum_trajectory(path, &poses)?;
    }
    Ok(())
}

/// Runs `crossloc localise`.
pub fn run(args: &LocaliseArgs) -> Result<()> {
    if let Some(source) = crate::scan_query::query_source(args)? {
        return crate::scan_query::run_localise(args, &source);
    }
    let db = load_db(&args.db)?;
    let r = run_sequence(
        db,
        &args.input,
        args.frames.unwrap_or_default(),
        args.session_seed,
        args.playback(),
    )?;
    write_outputs(args, &r)?;
    let fixed = r
        .frames
        .iter()
        .filter(|f| f.T_map_session.is_some())
        .count();
    println!(
        "{} frames ({} unreadable), localised on {}, {} events, {:.1} frames/s, {} rounds ({} skipped)",
        r.frames.len(),
        r.bad_frames,
        fixed,
        r.events.len(),
        r.fps(),
        r.stats.rounds,
        r.stats.rounds_skipped
    );
    Ok(())
}
