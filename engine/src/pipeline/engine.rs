//! The threaded engine facade: `Engine::new(config, database)`, `push_frame`,
//! `poll_results` / `poll_events`, `state()`, clean shutdown.

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, AtomicU64, Ordering};
use std::thread::JoinHandle;

use crossbeam::channel::{Receiver, Sender, TrySendError, bounded, unbounded};

use super::latest_round::RoundWorker;
use super::stages::{Fused, Located};
use super::tracker::build_stages;
use super::{EngineConfig, EngineEvent, FrameResult, PipelineError, RoundSchedule};
use crate::db::SceneDatabase;
use crate::frame::RgbdFrame;
use crate::localise::state::TrackingState;
use crate::segment::{Segmentation, segment_frame};

/// What [`Engine::push_frame`] does when the input queue is full.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Backpressure {
    /// Wait until there is room (nothing is lost; the caller slows down).
    #[default]
    Block,
    /// Drop the oldest queued frame to make room (counted in [`EngineStats::dropped`]).
    DropOldest,
}

/// Counters of a running or finished engine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct EngineStats {
    /// Frames accepted by `push_frame`.
    pub pushed: u64,
    /// Frames dropped by the back-pressure policy.
    pub dropped: u64,
    /// Frames processed to a result.
    pub processed: u64,
    /// Frames that failed (reported and skipped).
    pub failed: u64,
    /// Round frames (every `reloc_every`-th fused frame) that reached the
    /// localise stage.
    pub rounds: u64,
    /// Of those, rounds skipped because a newer input replaced theirs
    /// ([`super::RoundSchedule::Latest`] only; 0 otherwise).
    pub rounds_skipped: u64,
}

type Segmented = (RgbdFrame, Result<Segmentation, PipelineError>, f64);
/// A frame with the outcome of a stage.
type Staged<T> = (RgbdFrame, Result<T, PipelineError>);
type Output = Result<FrameResult, PipelineError>;

/// The relocalisation engine running on a pipeline of threads.
pub struct Engine {
    input: Option<Sender<RgbdFrame>>,
    input_drain: Receiver<RgbdFrame>,
    output: Receiver<Output>,
    threads: Vec<JoinHandle<()>>,
    state: Arc<AtomicU8>,
    policy: Backpressure,
    pushed: u64,
    dropped: Arc<AtomicU64>,
    rounds: Arc<AtomicU64>,
    rounds_skipped: Arc<AtomicU64>,
    processed: u64,
    failed: u64,
    events: VecDeque<EngineEvent>,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("state", &self.state())
            .field("pushed", &self.pushed)
            .finish_non_exhaustive()
    }
}

fn encode_state(s: TrackingState) -> u8 {
    match s {
        TrackingState::Lost => 0,
        TrackingState::Candidate => 1,
        TrackingState::Localised => 2,
    }
}

impl Engine {
    /// Starts an engine for `database` with `config`.
    pub fn new(
        config: EngineConfig,
        database: Arc<SceneDatabase>,
    ) -> Result<Engine, PipelineError> {
        config
            .segment
            .validate()
            .map_err(|e| PipelineError::Config(e.to_string()))?;
        let cap = config.queue_capacity.max(1);
        let policy = config.backpressure;
        let schedule = config.rounds;
        let seg_cfg = config.segment.clone();
        let (mut fuse, mut localise, mut change) = build_stages(config, database)?;
        let (in_tx, in_rx) = bounded::<RgbdFrame>(cap);
        let (seg_tx, seg_rx) = bounded::<Segmented>(cap);
        let (fused_tx, fused_rx) = bounded::<Staged<Fused>>(cap);
        let (loc_tx, loc_rx) = bounded::<Staged<Located>>(cap);
        let (out_tx, out_rx) = unbounded::<Output>();
        let state = Arc::new(AtomicU8::new(0));
        let dropped = Arc::new(AtomicU64::new(0));
        let rounds = Arc::new(AtomicU64::new(0));
        let rounds_skipped = Arc::new(AtomicU64::new(0));

        let spawn = |name: &str, f: Box<dyn FnOnce() + Send>| {
            std::thread::Builder::new()
                .name(name.into())
                .spawn(f)
                .map_err(|e| PipelineError::Config(format!("cannot start a thread: {e}")))
        };
        let seg_in = in_rx.clone();
        let segmenter = spawn(
            "crossloc-segment",
            Box::new(move || {
                for frame in seg_in.iter() {
                    let t = std::time::Instant::now();
                    let seg = segment_frame(&frame, &seg_cfg).map_err(|e| PipelineError::Frame {
                        index: frame.index,
                        message: e.to_string(),
                    });
                    let ms = t.elapsed().as_secs_f64() * 1e3;
                    if seg_tx.send((frame, seg, ms)).is_err() {
                        break;
                    }
                }
            }),
        )?;
        let fuser = spawn(
            "crossloc-fuse",
            Box::new(move || {
                for (frame, seg, seg_ms) in seg_rx.iter() {
                    let out = seg.and_then(|s| fuse.run(&frame, &s)).map(|mut f| {
                        f.times.segment_ms = seg_ms;
                        f
                    });
                    if fused_tx.send((frame, out)).is_err() {
                        break;
                    }
                }
            }),
        )?;
        let st = state.clone();
        let counts = (rounds.clone(), rounds_skipped.clone());
        let localiser = match schedule {
            RoundSchedule::EveryRound => spawn(
                "crossloc-localise",
                Box::new(move || {
                    for (frame, fused) in fused_rx.iter() {
                        let out = fused.map(|f| {
                            if f.round.is_some() {
                                counts.0.fetch_add(1, Ordering::Relaxed);
                            }
                            localise.run(f)
                        });
                        st.store(encode_state(localise.state()), Ordering::Release);
                        if loc_tx.send((frame, out)).is_err() {
                            break;
                        }
                    }
                }),
            )?,
            RoundSchedule::Latest => {
                let worker = RoundWorker::start(localise)?;
                spawn(
                    "crossloc-localise",
                    Box::new(move || pass_on_latest(worker, fused_rx, loc_tx, st, counts)),
                )?
            }
        };
        let detector = spawn(
            "crossloc-change",
            Box::new(move || {
                for (frame, located) in loc_rx.iter() {
                    let out = located.map(|l| change.run(&frame, l));
                    if out_tx.send(out).is_err() {
                        break;
                    }
                }
            }),
        )?;
        Ok(Engine {
            input: Some(in_tx),
            input_drain: in_rx,
            output: out_rx,
            threads: vec![segmenter, fuser, localiser, detector],
            state,
            policy,
            pushed: 0,
            dropped,
            rounds,
            rounds_skipped,
            processed: 0,
            failed: 0,
            events: VecDeque::new(),
        })
    }

    /// Queues a frame. With [`Backpressure::Block`] this waits for room; with
    /// [`Backpressure::DropOldest`] it drops the oldest queued frame instead.
    pub fn push_frame(&mut self, frame: RgbdFrame) -> Result<(), PipelineError> {
        let Some(tx) = &self.input else {
            return Err(PipelineError::ShutDown);
        };
        match self.policy {
            Backpressure::Block => tx.send(frame).map_err(|_| PipelineError::ShutDown)?,
            Backpressure::DropOldest => {
                let mut frame = frame;
                loop {
                    match tx.try_send(frame) {
                        Ok(()) => break,
                        Err(TrySendError::Full(f)) => {
                            frame = f;
                            if self.input_drain.try_recv().is_ok() {
                                self.dropped.fetch_add(1, Ordering::Relaxed);
                            }
                        }
                        Err(TrySendError::Disconnected(_)) => return Err(PipelineError::ShutDown),
                    }
                }
            }
        }
        self.pushed += 1;
        Ok(())
    }

    fn take(&mut self, out: Output, into: &mut Vec<Output>) {
        match &out {
            Ok(r) => {
                self.processed += 1;
                self.events.extend(r.events.iter().cloned());
            }
            Err(e) => {
                self.failed += 1;
                log::warn!("{e}");
            }
        }
        into.push(out);
    }

    /// Results of the frames processed since the last call, in frame order (a frame
    /// that failed gives its error; the stream continues).
    pub fn poll_results(&mut self) -> Vec<Result<FrameResult, PipelineError>> {
        let mut v = Vec::new();
        while let Ok(o) = self.output.try_recv() {
            self.take(o, &mut v);
        }
        v
    }

    /// Events raised since the last call (collects pending results first; the
    /// results themselves stay available to [`Engine::poll_results`] only if it was
    /// called before).
    pub fn poll_events(&mut self) -> Vec<EngineEvent> {
        let _ = self.poll_results();
        self.events.drain(..).collect()
    }

    /// The latest processed frame's state.
    pub fn state(&self) -> TrackingState {
        match self.state.load(Ordering::Acquire) {
            2 => TrackingState::Localised,
            1 => TrackingState::Candidate,
            _ => TrackingState::Lost,
        }
    }

    /// Counters so far.
    pub fn stats(&self) -> EngineStats {
        EngineStats {
            pushed: self.pushed,
            dropped: self.dropped.load(Ordering::Relaxed),
            processed: self.processed,
            failed: self.failed,
            rounds: self.rounds.load(Ordering::Relaxed),
            rounds_skipped: self.rounds_skipped.load(Ordering::Relaxed),
        }
    }

    /// Stops accepting frames, processes what is queued, joins the threads and
    /// returns the remaining results with the final counters.
    pub fn finish(mut self) -> (Vec<Result<FrameResult, PipelineError>>, EngineStats) {
        self.input = None;
        let mut rest = Vec::new();
        for o in self.output.clone().iter() {
            self.take(o, &mut rest);
        }
        self.join();
        (rest, self.stats())
    }

    /// Stops at once: queued frames are discarded, threads joined.
    pub fn shutdown(mut self) -> EngineStats {
        self.input = None;
        while self.input_drain.try_recv().is_ok() {}
        self.join();
        self.stats()
    }

    fn join(&mut self) {
        self.input = None;
        while self.input_drain.try_recv().is_ok() {}
        // Keep draining outputs so the localise thread never blocks on a full queue.
        for t in self.threads.drain(..) {
            if t.join().is_err() {
                log::error!("an engine thread panicked");
            }
        }
    }
}

/// The localise thread of [`RoundSchedule::Latest`]: hands each round input to
/// the worker and passes every frame on at once with the worker's latest state.
fn pass_on_latest(
    worker: RoundWorker,
    fused_rx: Receiver<Staged<Fused>>,
    loc_tx: Sender<Staged<Located>>,
    st: Arc<AtomicU8>,
    (rounds, skipped): (Arc<AtomicU64>, Arc<AtomicU64>),
) {
    for (frame, fused) in fused_rx.iter() {
        let out = fused.map(|mut f| {
            if let Some(input) = f.round.take() {
                rounds.fetch_add(1, Ordering::Relaxed);
                skipped.store(worker.submit(input), Ordering::Relaxed);
            }
            let news = worker.news();
            f.times.localise_ms = news.round_ms;
            st.store(encode_state(news.state), Ordering::Release);
            Located {
                fused: f,
                state: news.state,
                fix: news.fix,
                confidence: news.confidence,
                events: news.events,
            }
        });
        if loc_tx.send((frame, out)).is_err() {
            break;
        }
    }
    skipped.store(worker.stop(), Ordering::Relaxed);
}

impl Drop for Engine {
    fn drop(&mut self) {
        self.join();
    }
}
