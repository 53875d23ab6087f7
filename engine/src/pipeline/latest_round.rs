//! Relocalisation rounds on a thread of their own, always on the newest round
//! input ([`super::RoundSchedule::Latest`]).
//!
//! The fix is `T_map_session`, the transform from the device's tracking frame to
//! the map: it does not depend on the frame it was found at, so a round that
//! finishes some frames after its input was taken still gives a fix that is
//! right for every frame after it. The worker runs one round at a time; a
//! round input that arrives while it works waits in a one-place mailbox, and a
//! newer one replaces it (counted as skipped). Frames meanwhile pass on at once
//! with the state the last finished round left, and the state changes of a
//! round are handed on with the first frame after it finished. When no input
//! waits, the worker builds the scenes' verification targets ahead of the
//! rounds that will need them.

use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;

use super::PipelineError;
use super::relocalise::RoundInput;
use super::stages::LocaliseStage;
use crate::frame::Pose;
use crate::localise::state::{StateEvent, TrackingState};

/// A one-place mailbox: the newest round input not yet taken.
pub(crate) struct Mailbox<T> {
    waiting: Option<T>,
    closed: bool,
    replaced: u64,
}

impl<T> Mailbox<T> {
    /// An empty, open mailbox.
    pub(crate) fn new() -> Self {
        Mailbox {
            waiting: None,
            closed: false,
            replaced: 0,
        }
    }

    /// Puts `item` in, replacing (and counting) one still waiting.
    pub(crate) fn put(&mut self, item: T) {
        if self.waiting.replace(item).is_some() {
            self.replaced += 1;
        }
    }

    /// Takes the waiting item, if any.
    pub(crate) fn take(&mut self) -> Option<T> {
        self.waiting.take()
    }

    /// Items replaced before they were taken.
    pub(crate) fn replaced(&self) -> u64 {
        self.replaced
    }
}

/// What the worker publishes after each round.
struct Published {
    state: TrackingState,
    fix: Option<(usize, Pose)>,
    confidence: f32,
    /// State changes not yet handed on.
    events: Vec<StateEvent>,
    /// Milliseconds of the rounds finished and not yet handed on.
    round_ms: f64,
}

struct Shared {
    mailbox: Mutex<Mailbox<RoundInput>>,
    wake: Condvar,
    published: Mutex<Published>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A poisoned lock means the worker panicked mid-round; its data is still the
    // last consistent publication (each is written whole under the lock).
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// The state as of the last finished round, with what happened since the
/// previous look.
pub(crate) struct RoundNews {
    /// Tracking state.
    pub(crate) state: TrackingState,
    /// Scene and fix (only when Localised).
    pub(crate) fix: Option<(usize, Pose)>,
    /// Confidence of the fix.
    pub(crate) confidence: f32,
    /// State changes since the previous look.
    pub(crate) events: Vec<StateEvent>,
    /// Milliseconds of the rounds finished since the previous look.
    pub(crate) round_ms: f64,
}

/// The relocalisation worker: a thread that owns the localise stage.
pub(crate) struct RoundWorker {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

impl RoundWorker {
    /// Starts the worker with `stage` (its state is the first publication).
    pub(crate) fn start(mut stage: LocaliseStage) -> Result<RoundWorker, PipelineError> {
        let (state, fix, confidence) = stage.snapshot();
        let shared = Arc::new(Shared {
            mailbox: Mutex::new(Mailbox::new()),
            wake: Condvar::new(),
            published: Mutex::new(Published {
                state,
                fix,
                confidence,
                events: Vec::new(),
                round_ms: 0.0,
            }),
        });
        let sh = shared.clone();
        let thread = std::thread::Builder::new()
            .name("crossloc-reloc".into())
            .spawn(move || {
                // While no input waits, the worker builds the verification
                // targets of the scenes one by one (the first rounds then find
                // them ready), then sleeps until one arrives.
                let mut warm = true;
                loop {
                    let input = {
                        let mut mb = lock(&sh.mailbox);
                        loop {
                            if let Some(i) = mb.take() {
                                break Some(i);
                            }
                            if mb.closed {
                                break None;
                            }
                            if warm {
                                drop(mb);
                                warm = stage.warm_one();
                                mb = lock(&sh.mailbox);
                                continue;
                            }
                            mb = sh.wake.wait(mb).unwrap_or_else(|p| p.into_inner());
                        }
                    };
                    let Some(input) = input else { break };
                    let (events, ms) = stage.round(&input);
                    let (state, fix, confidence) = stage.snapshot();
                    let mut p = lock(&sh.published);
                    p.state = state;
                    p.fix = fix;
                    p.confidence = confidence;
                    p.events.extend(events);
                    p.round_ms += ms;
                }
            })
            .map_err(|e| PipelineError::Config(format!("cannot start a thread: {e}")))?;
        Ok(RoundWorker {
            shared,
            thread: Some(thread),
        })
    }

    /// Hands a round input to the worker (replacing one still waiting); returns
    /// the round inputs skipped so far.
    pub(crate) fn submit(&self, input: RoundInput) -> u64 {
        let skipped = {
            let mut mb = lock(&self.shared.mailbox);
            mb.put(input);
            mb.replaced()
        };
        self.shared.wake.notify_one();
        skipped
    }

    /// The state as of the last finished round and what happened since the
    /// previous call.
    pub(crate) fn news(&self) -> RoundNews {
        let mut p = lock(&self.shared.published);
        RoundNews {
            state: p.state,
            fix: p.fix,
            confidence: p.confidence,
            events: std::mem::take(&mut p.events),
            round_ms: std::mem::take(&mut p.round_ms),
        }
    }

    /// Lets the worker finish its round, drops a waiting input (counted as
    /// skipped) and joins the thread; returns the round inputs skipped.
    pub(crate) fn stop(mut self) -> u64 {
        self.close();
        lock(&self.shared.mailbox).replaced()
    }

    fn close(&mut self) {
        {
            let mut mb = lock(&self.shared.mailbox);
            if mb.take().is_some() {
                mb.replaced += 1;
            }
            mb.closed = true;
        }
        self.shared.wake.notify_all();
        if let Some(t) = self.thread.take()
            && t.join().is_err()
        {
            log::error!("the relocalisation thread panicked");
        }
    }
}

impl Drop for RoundWorker {
    fn drop(&mut self) {
        self.close();
    }
}

#[cfg(test)]
mod tests {
    use super::Mailbox;

    #[test]
    fn a_newer_item_replaces_the_waiting_one_and_is_counted() {
        let mut mb = Mailbox::new();
        assert_eq!(mb.take(), None::<u32>);
        mb.put(1);
        mb.put(2);
        mb.put(3);
        assert_eq!(mb.replaced(), 2);
        assert_eq!(mb.take(), Some(3));
        assert_eq!(mb.take(), None);
        mb.put(4);
        assert_eq!(mb.take(), Some(4));
        assert_eq!(mb.replaced(), 2);
    }
}
