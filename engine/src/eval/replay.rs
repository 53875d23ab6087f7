//! Replaying a recorded sequence as a headset would: the engine receives
//! `T_session_camera = T_session_map · T_map_camera`, with `T_session_map` drawn
//! from a seed and never shown to the engine. Frames are pushed through the
//! threaded [`Engine`] with blocking back-pressure, so every frame is processed;
//! frames are read and decoded on a reader thread ahead of the engine.

use std::sync::Arc;
use std::time::Instant;

use serde::Serialize;

use super::metrics::percentile;
use crate::db::SceneDatabase;
use crate::frame::{Pose, RgbdFrame};
use crate::io::IoError;
use crate::localise::state::TrackingState;
use crate::pipeline::{
    Engine, EngineConfig, EngineEvent, EngineStats, FrameResult, PipelineError, StageTimes,
};

/// One replayed frame: what the engine said and the truth.
#[derive(Debug, Clone, PartialEq)]
pub struct ReplayFrame {
    /// Frame index.
    pub index: u64,
    /// Timestamp, seconds.
    pub timestamp: f64,
    /// The engine's state after the frame.
    pub state: TrackingState,
    /// The engine's fix, if Localised.
    pub T_map_session: Option<Pose>,
    /// Confidence of the fix.
    pub confidence: f32,
    /// True camera pose in the map frame (from the dataset), when known.
    pub T_map_camera: Option<Pose>,
    /// Stage times.
    pub times: StageTimes,
}

/// p50 and p99 of one stage, milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize)]
pub struct Latency {
    /// Median.
    pub p50: f64,
    /// 99th percentile.
    pub p99: f64,
}

/// Per-stage latency summary (the `stage_latency_ms` key).
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize)]
pub struct StageLatency {
    /// Segmentation.
    pub segment: Latency,
    /// Fusion.
    pub fuse: Latency,
    /// Descriptors.
    pub encode: Latency,
    /// Matching, RANSAC, ICP.
    pub localise: Latency,
    /// Change detection.
    pub change: Latency,
    /// Sum of the stages.
    pub total: Latency,
}

/// The outcome of a replay.
#[derive(Debug, Clone)]
pub struct Replay {
    /// The hidden session transform.
    pub T_session_map: Pose,
    /// Frames in order.
    pub frames: Vec<ReplayFrame>,
    /// Every event, in order.
    pub events: Vec<EngineEvent>,
    /// Frames that could not be read or processed.
    pub bad_frames: usize,
    /// Frames in, processed, dropped.
    pub stats: EngineStats,
    /// Wall-clock seconds from the first push to the last result.
    pub seconds: f64,
    /// CPU seconds (user + system, all threads of the process) over the same span;
    /// NaN where the platform does not say.
    pub cpu_seconds: f64,
}

impl Replay {
    /// Frames processed per second, end to end (reading and decoding included).
    pub fn fps(&self) -> f64 {
        self.frames.len() as f64 / self.seconds.max(1e-9)
    }

    /// CPU milliseconds per frame (all threads), NaN when unknown.
    pub fn cpu_ms_per_frame(&self) -> f64 {
        self.cpu_seconds * 1e3 / self.frames.len().max(1) as f64
    }

    /// Per-stage latency percentiles.
    pub fn stage_latency(&self) -> StageLatency {
        stage_latency(&self.frames)
    }
}

/// Per-stage latency percentiles over `frames` (e.g. the frames of several replays).
pub fn stage_latency<'a>(frames: impl IntoIterator<Item = &'a ReplayFrame>) -> StageLatency {
    let times: Vec<StageTimes> = frames.into_iter().map(|f| f.times).collect();
    let lat = |f: &dyn Fn(&StageTimes) -> f64| {
        let v: Vec<f64> = times.iter().map(f).collect();
        Latency {
            p50: percentile(&v, 50.0).unwrap_or(0.0),
            p99: percentile(&v, 99.0).unwrap_or(0.0),
        }
    };
    StageLatency {
        segment: lat(&|t| t.segment_ms),
        fuse: lat(&|t| t.fuse_ms),
        encode: lat(&|t| t.encode_ms),
        localise: lat(&|t| t.localise_ms),
        change: lat(&|t| t.change_ms),
        total: lat(&|t| t.segment_ms + t.fuse_ms + t.encode_ms + t.localise_ms + t.change_ms),
    }
}

/// Frames read and decoded ahead of the engine by the replay's reader thread.
const READ_AHEAD: usize = 4;

/// Replays `frames` (poses in the map frame) through an engine for `db`, moving the
/// poses into the session frame given by `T_session_map`. `frames` is iterated
/// (read and decoded) on a thread of its own, a few frames ahead, and pushed as
/// fast as the engine takes them. `progress` is called once per frame read.
pub fn replay(
    cfg: EngineConfig,
    db: Arc<SceneDatabase>,
    frames: impl Iterator<Item = Result<RgbdFrame, IoError>> + Send,
    T_session_map: Pose,
    progress: &mut dyn FnMut(u64),
) -> Result<Replay, PipelineError> {
    replay_paced(cfg, db, frames, T_session_map, None, progress)
}

/// [`replay`], with the frames pushed no faster than `pace_fps` frames per
/// second when given (the `k`-th frame not before `k / pace_fps` seconds after
/// the first), as a camera delivers them; a frame the engine is late to take
/// is pushed as soon as it can be.
pub fn replay_paced(
    cfg: EngineConfig,
    db: Arc<SceneDatabase>,
    frames: impl Iterator<Item = Result<RgbdFrame, IoError>> + Send,
    T_session_map: Pose,
    pace_fps: Option<f64>,
    progress: &mut dyn FnMut(u64),
) -> Result<Replay, PipelineError> {
    if let Some(fps) = pace_fps
        && !(fps.is_finite() && fps > 0.0)
    {
        return Err(PipelineError::Config(format!(
            "the replay pace must be a positive number of frames per second, not {fps}"
        )));
    }
    let mut engine = Engine::new(cfg, db)?;
    let mut pushed = 0u64;
    let mut truth: std::collections::BTreeMap<u64, Option<Pose>> =
        std::collections::BTreeMap::new();
    let mut results: Vec<FrameResult> = Vec::new();
    let mut bad = 0usize;
    let start = Instant::now();
    let cpu_start = process_cpu_seconds();
    let collect = |engine: &mut Engine, results: &mut Vec<FrameResult>, bad: &mut usize| {
        for r in engine.poll_results() {
            match r {
                Ok(r) => results.push(r),
                Err(_) => *bad += 1,
            }
        }
    };
    // Frames are read and decoded on their own thread, a few ahead of the engine.
    std::thread::scope(|scope| -> Result<(), PipelineError> {
        let (tx, rx) = crossbeam::channel::bounded(READ_AHEAD);
        let reader = move || {
            for frame in frames {
                if tx.send(frame).is_err() {
                    break;
                }
            }
        };
        std::thread::Builder::new()
            .name("crossloc-reader".into())
            .spawn_scoped(scope, reader)
            .map_err(|e| PipelineError::Config(format!("cannot start the reader: {e}")))?;
        for frame in rx.iter() {
            let mut frame = match frame {
                Ok(f) => f,
                Err(e) => {
                    log::warn!("skipping a frame: {e}");
                    bad += 1;
                    continue;
                }
            };
            progress(frame.index);
            let T_map_camera = frame.T_session_camera;
            let Some(T) = T_map_camera else {
                log::warn!("frame {}: no pose, skipped", frame.index);
                bad += 1;
                continue;
            };
            truth.insert(frame.index, T_map_camera);
            frame.T_session_camera = Some(T_session_map * T);
            if let Some(fps) = pace_fps {
                let due = start + std::time::Duration::from_secs_f64(pushed as f64 / fps);
                if let Some(wait) = due.checked_duration_since(Instant::now()) {
                    std::thread::sleep(wait);
                }
            }
            engine.push_frame(frame)?;
            pushed += 1;
            collect(&mut engine, &mut results, &mut bad);
        }
        Ok(())
    })?;
    let (rest, stats) = engine.finish();
    for r in rest {
        match r {
            Ok(r) => results.push(r),
            Err(_) => bad += 1,
        }
    }
    let seconds = start.elapsed().as_secs_f64();
    let cpu_seconds = process_cpu_seconds() - cpu_start;
    let mut events = Vec::new();
    let frames = results
        .into_iter()
        .map(|r| {
            events.extend(r.events.iter().cloned());
            ReplayFrame {
                index: r.index,
                timestamp: r.timestamp,
                state: r.state,
                T_map_session: r.T_map_session,
                confidence: r.confidence,
                T_map_camera: truth.get(&r.index).copied().flatten(),
                times: r.times,
            }
        })
        .collect();
    Ok(Replay {
        T_session_map,
        frames,
        events,
        bad_frames: bad,
        stats,
        seconds,
        cpu_seconds,
    })
}

/// User + system CPU seconds this process has used so far, all threads (Linux's
/// `/proc/self/stat`, 10 ms resolution); NaN elsewhere.
pub fn process_cpu_seconds() -> f64 {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return f64::NAN;
    };
    // The fields after the command name (in parentheses, which may hold spaces):
    // utime and stime are the 12th and 13th of them, in clock ticks of 1/100 s.
    let Some(rest) = stat.rsplit(')').next() else {
        return f64::NAN;
    };
    let f: Vec<&str> = rest.split_whitespace().collect();
    let tick = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok());
    match (tick(11), tick(12)) {
        (Some(u), Some(s)) => (u + s) / 100.0,
        _ => f64::NAN,
    }
}
