//! The three stages of the per-frame core, each with its own state, connected only
//! by the messages they hand on, so they can run in order on one thread
//! ([`super::Tracker`]) or as a pipeline of threads ([`super::Engine`]) with the
//! same results:
//!
//! 1. [`FuseStage`]: fuse the segmented frame into the live map; every
//!    `reloc_every` frames describe the live instances and take a [`RoundInput`]
//!    and the live objects for change detection.
//! 2. [`LocaliseStage`]: run the relocalisation round of a frame that has one and
//!    feed its outcome to the Lost / Candidate / Localised state machine.
//! 3. [`ChangeStage`]: while localised, accumulate visibility evidence every frame
//!    and associate the live objects on round frames.
//!
//! Nothing flows backwards: the live map never depends on the fix, and the
//! relocalisation round of a frame depends only on that frame's live map and on
//! the rounds before it.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

use nalgebra::Point3;

use super::relocalise::{LiveSurface, Relocaliser, RoundInput, thin};
use super::{EngineConfig, EngineEvent, FrameResult, PipelineError, StageTimes};
use crate::change::{ChangeDetector, ChangeEvent, LiveObject};
use crate::db::build::oriented_box;
use crate::db::{EmbeddingIndex, SceneDatabase};
use crate::encode::{GeometricColorEncoder, InstanceEncoder};
use crate::frame::{Pose, RgbdFrame};
use crate::fuse::LiveMap;
use crate::localise::state::{Localiser, StateEvent, TrackingState, VerifiedHypothesis};
use crate::localise::verify::LiveSample;
use crate::matching::LiveQuery;
use crate::segment::Segmentation;

use super::tracker::structure_points;

/// Most live structure points used for the structure fitness and the room's
/// surface directions.
const STRUCTURE_SAMPLE: usize = 2000;

/// A described live instance for change detection, still in the session frame.
pub(crate) struct SessionObject {
    id: u32,
    points_session: Vec<Point3<f32>>,
    descriptor: Vec<f32>,
    observations: u32,
}

/// What the fuse stage hands on for one frame.
pub(crate) struct Fused {
    /// The device pose of the frame.
    pub(crate) T_session_camera: Pose,
    /// Stage times so far (fuse, encode).
    pub(crate) times: StageTimes,
    /// On round frames: the relocalisation input (taken by the localise stage).
    pub(crate) round: Option<RoundInput>,
    /// On round frames: the live objects for change detection.
    pub(crate) objects: Option<Vec<SessionObject>>,
}

/// What the localise stage hands on for one frame.
pub(crate) struct Located {
    /// The fuse stage's output.
    pub(crate) fused: Fused,
    /// State after the frame.
    pub(crate) state: TrackingState,
    /// Scene of the fix, the fix and its confidence (only when Localised).
    pub(crate) fix: Option<(usize, Pose)>,
    /// Confidence of the fix.
    pub(crate) confidence: f32,
    /// State changes of this frame.
    pub(crate) events: Vec<StateEvent>,
}

/// Stage 1: the live map and the live instance descriptors.
pub(crate) struct FuseStage {
    cfg: EngineConfig,
    encoder: GeometricColorEncoder,
    live: LiveMap,
    /// Per live instance: observations when described, descriptor, largest extent.
    descriptors: BTreeMap<u32, (u32, Vec<f32>, f32)>,
    processed: u64,
}

impl FuseStage {
    /// A stage with an empty live map.
    pub(crate) fn new(
        cfg: EngineConfig,
        encoder: GeometricColorEncoder,
    ) -> Result<Self, PipelineError> {
        let live =
            LiveMap::new(cfg.fuse.clone()).map_err(|e| PipelineError::Config(e.to_string()))?;
        Ok(FuseStage {
            cfg,
            encoder,
            live,
            descriptors: BTreeMap::new(),
            processed: 0,
        })
    }

    /// The live instance map (session frame).
    pub(crate) fn live_map(&self) -> &LiveMap {
        &self.live
    }

    /// Fuses one segmented frame; on every `reloc_every`-th frame also takes the
    /// round input.
    pub(crate) fn run(
        &mut self,
        frame: &RgbdFrame,
        seg: &Segmentation,
    ) -> Result<Fused, PipelineError> {
        let mut times = StageTimes::default();
        let Some(T_session_camera) = frame.T_session_camera else {
            return Err(PipelineError::Frame {
                index: frame.index,
                message:
                    "frame has no T_session_camera (the engine needs the device's tracking pose)"
                        .into(),
            });
        };
        let t = Instant::now();
        self.live
            .integrate(frame.index, &T_session_camera, &seg.segments);
        let (sp, sn) = structure_points(frame, seg);
        self.live.integrate_structure(&T_session_camera, &sp, &sn);
        times.fuse_ms = t.elapsed().as_secs_f64() * 1e3;
        self.processed += 1;
        let (round, objects) = if self
            .processed
            .is_multiple_of(self.cfg.reloc_every.max(1) as u64)
        {
            let t = Instant::now();
            let queries = self.refresh_descriptors();
            let surface = self.live_surface();
            let objects = self.session_objects();
            times.encode_ms = t.elapsed().as_secs_f64() * 1e3;
            (Some(RoundInput { queries, surface }), Some(objects))
        } else {
            (None, None)
        };
        Ok(Fused {
            T_session_camera,
            times,
            round,
            objects,
        })
    }

    /// The described stable instances, thinned, for the change detector.
    fn session_objects(&self) -> Vec<SessionObject> {
        self.live
            .stable()
            .filter_map(|i| {
                let (_, d, _) = self.descriptors.get(&i.id)?;
                Some(SessionObject {
                    id: i.id,
                    points_session: thin(i.points(), self.cfg.change.max_live_points),
                    descriptor: d.clone(),
                    observations: i.observations,
                })
            })
            .collect()
    }

    /// The live surface used to verify hypotheses (session frame).
    ///
    /// Its structure sample holds at most [`STRUCTURE_SAMPLE`] points.
    pub(crate) fn live_surface(&self) -> LiveSurface {
        let mut all = LiveSample::default();
        let mut objects = LiveSample::default();
        for inst in self.live.stable() {
            if inst.normals().len() != inst.points().len() {
                continue;
            }
            objects.points.extend_from_slice(inst.points());
            objects.normals.extend_from_slice(inst.normals());
            if inst.colors().len() == inst.points().len() {
                objects.colors.extend_from_slice(inst.colors());
            }
        }
        if objects.colors.len() != objects.points.len() {
            objects.colors.clear();
        }
        all.points.extend_from_slice(&objects.points);
        all.normals.extend_from_slice(&objects.normals);
        let st = self.live.structure();
        if st.normals().len() == st.points().len() {
            all.points.extend_from_slice(st.points());
            all.normals.extend_from_slice(st.normals());
        }
        let thin_sample = |s: &LiveSample, max: usize| LiveSample {
            points: thin(&s.points, max),
            normals: thin(&s.normals, max),
            colors: thin(&s.colors, max),
        };
        LiveSurface {
            coarse: thin_sample(&all, 300),
            surface: thin_sample(&all, self.cfg.icp_source_points),
            objects: thin_sample(&objects, self.cfg.object_verify_points),
            structure: if st.normals().len() == st.points().len() {
                LiveSample {
                    points: thin(st.points(), STRUCTURE_SAMPLE),
                    normals: thin(st.normals(), STRUCTURE_SAMPLE),
                    colors: Vec::new(),
                }
            } else {
                LiveSample::default()
            },
        }
    }

    fn refresh_descriptors(&mut self) -> Vec<LiveQuery> {
        let min_pts = self.cfg.min_instance_points;
        let mut queries = Vec::new();
        let stable: Vec<(u32, u32, Point3<f32>, crate::frame::PointCloud)> = self
            .live
            .stable()
            .filter(|i| i.points().len() >= min_pts)
            .map(|i| (i.id, i.observations, i.centroid, i.to_point_cloud()))
            .collect();
        let alive: Vec<u32> = stable.iter().map(|s| s.0).collect();
        self.descriptors
            .retain(|id, _| alive.binary_search(id).is_ok());
        for (id, obs, centroid, cloud) in stable {
            let fresh = self.descriptors.get(&id).is_some_and(|(o, _, _)| *o == obs);
            if !fresh {
                match self.encoder.encode(&cloud) {
                    Ok(d) => {
                        let extent = oriented_box(&cloud.points).half_extents.max() * 2.0;
                        self.descriptors.insert(id, (obs, d, extent));
                    }
                    Err(e) => {
                        log::trace!("live instance {id}: {e}");
                        continue;
                    }
                }
            }
            if let Some((_, d, extent)) = self.descriptors.get(&id) {
                queries.push(LiveQuery {
                    id,
                    centroid_session: centroid,
                    descriptor: d.clone(),
                    extent: *extent,
                });
            }
        }
        queries
    }
}

/// Stage 2: relocalisation rounds and the tracking state machine.
pub(crate) struct LocaliseStage {
    relocaliser: Relocaliser,
    localiser: Localiser,
    /// Re-verify a fix every this many rounds while it keeps verifying.
    verify_every: u64,
    /// Rounds seen (with or without work).
    rounds: u64,
    /// Whether the last round re-verified the fix.
    last_ok: bool,
}

impl LocaliseStage {
    /// A stage in the Lost state.
    pub(crate) fn new(cfg: EngineConfig, db: Arc<SceneDatabase>, index: EmbeddingIndex) -> Self {
        let localiser = Localiser::new(cfg.state.clone());
        LocaliseStage {
            verify_every: u64::from(cfg.verify_every_rounds.max(1)),
            relocaliser: Relocaliser::new(cfg, db, index),
            localiser,
            rounds: 0,
            last_ok: false,
        }
    }

    /// Current state.
    pub(crate) fn state(&self) -> TrackingState {
        self.localiser.state()
    }

    /// Verifies one pose against `surface` (see [`super::Tracker::verify_pose`]).
    pub(crate) fn verify_pose(
        &mut self,
        scene: usize,
        T_map_session: &crate::frame::Pose,
        surface: &LiveSurface,
    ) -> Option<VerifiedHypothesis> {
        self.relocaliser.verify(scene, T_map_session, 0, surface)
    }

    /// Runs the frame's round (if it has one) and updates the state.
    pub(crate) fn run(&mut self, mut fused: Fused) -> Located {
        let mut events = Vec::new();
        if let Some(input) = fused.round.take() {
            let (e, ms) = self.round(&input);
            events = e;
            fused.times.localise_ms = ms;
        }
        let (state, fix, confidence) = self.snapshot();
        Located {
            fused,
            state,
            fix,
            confidence,
            events,
        }
    }

    /// Idle work between rounds: builds one more scene's verification target
    /// while the cache has room. Returns whether it did.
    pub(crate) fn warm_one(&mut self) -> bool {
        self.relocaliser.warm_one()
    }

    /// The state, the fix (scene and pose, only when Localised) and its
    /// confidence.
    pub(crate) fn snapshot(&self) -> (TrackingState, Option<(usize, Pose)>, f32) {
        (
            self.localiser.state(),
            self.localiser.fix().map(|f| (f.scene, f.T_map_session)),
            self.localiser.confidence(),
        )
    }

    /// One round on `input`: the fix re-verified or a relocalisation, fed to
    /// the state machine. Returns the state changes and the milliseconds the
    /// round worked (0 when a fix that keeps verifying rests this round).
    pub(crate) fn round(&mut self, input: &RoundInput) -> (Vec<StateEvent>, f64) {
        self.rounds += 1;
        // A fix that keeps verifying is re-checked every `verify_every` rounds
        // (the device's own tracking carries it in between); after a failed
        // check, and while not localised, every round works.
        let rest = self.localiser.state() == TrackingState::Localised
            && self.last_ok
            && !self.rounds.is_multiple_of(self.verify_every);
        if rest {
            return (Vec::new(), 0.0);
        }
        let t = Instant::now();
        let fix: Option<VerifiedHypothesis> = self.localiser.fix().cloned();
        let pending = self.localiser.pending_scenes();
        let (best, current_ok) = self.relocaliser.round(fix.as_ref(), &pending, input);
        if self.relocaliser.take_refused_persisting() {
            self.localiser.drop_persisting();
        }
        let ms = t.elapsed().as_secs_f64() * 1e3;
        self.last_ok = current_ok == Some(true);
        log::debug!(
            "round {}: best {:?}",
            self.rounds,
            best.as_ref().map(|b| (
                b.scene,
                b.inliers,
                b.fitness,
                b.object_fitness,
                b.structure_fitness
            ))
        );
        (self.localiser.update(best, current_ok), ms)
    }
}

/// Stage 3: change detection against the scene of the fix.
pub(crate) struct ChangeStage {
    cfg: EngineConfig,
    db: Arc<SceneDatabase>,
    /// The detector of the fixed scene, with the scene as it sees it
    /// ([`crate::db::Scene::change_view`]).
    changes: Option<(usize, ChangeDetector, Box<crate::db::Scene>)>,
}

impl ChangeStage {
    /// A stage with no detector yet (one starts with the first fix).
    pub(crate) fn new(cfg: EngineConfig, db: Arc<SceneDatabase>) -> Self {
        ChangeStage {
            cfg,
            db,
            changes: None,
        }
    }

    /// Changes currently standing (fired and not retracted).
    pub(crate) fn active_changes(&self) -> Vec<ChangeEvent> {
        self.changes
            .as_ref()
            .map(|(_, d, _)| d.active_events())
            .unwrap_or_default()
    }

    /// Updates the detector with one frame and completes its result.
    pub(crate) fn run(&mut self, frame: &RgbdFrame, located: Located) -> FrameResult {
        let Located {
            fused,
            state,
            fix,
            confidence,
            events: state_events,
        } = located;
        let mut times = fused.times;
        let mut events = Vec::new();
        for e in state_events {
            match e {
                StateEvent::Localised {
                    scene,
                    T_map_session,
                    confidence,
                }
                | StateEvent::Relocalised {
                    scene,
                    T_map_session,
                    confidence,
                } => {
                    let name = self
                        .db
                        .scenes
                        .get(scene)
                        .map(|s| s.name.clone())
                        .unwrap_or_default();
                    events.push(EngineEvent::Localised {
                        frame: frame.index,
                        scene: name,
                        T_map_session,
                        confidence,
                    });
                    if self.changes.as_ref().is_none_or(|(s, _, _)| *s != scene)
                        && let Some(sc) = self.db.scenes.get(scene)
                    {
                        let view = Box::new(sc.change_view());
                        let det = ChangeDetector::new(self.cfg.change.clone(), &view);
                        self.changes = Some((scene, det, view));
                    }
                }
                StateEvent::Lost => events.push(EngineEvent::Lost { frame: frame.index }),
            }
        }

        // Change detection while localised.
        let t = Instant::now();
        if let (Some((fix_scene, T_map_session)), Some((scene_idx, det, scene))) =
            (fix, self.changes.as_mut())
            && fix_scene == *scene_idx
        {
            let scene: &crate::db::Scene = scene;
            let T_map_camera = T_map_session * fused.T_session_camera;
            det.observe_frame(scene, &T_map_camera, &frame.intrinsics, &frame.depth);
            if let Some(objects) = &fused.objects {
                let lives: Vec<LiveObject> = objects
                    .iter()
                    .map(|o| LiveObject {
                        id: o.id,
                        points_map: o.points_session.iter().map(|p| T_map_session * p).collect(),
                        descriptor: o.descriptor.clone(),
                        observations: o.observations,
                    })
                    .collect();
                for c in det.update(frame.index, scene, &lives) {
                    events.push(EngineEvent::Change(c));
                }
            }
        }
        times.change_ms = t.elapsed().as_secs_f64() * 1e3;

        FrameResult {
            index: frame.index,
            timestamp: frame.timestamp,
            state,
            scene: fix
                .and_then(|(s, _)| self.db.scenes.get(s))
                .map(|s| s.name.clone()),
            T_map_session: fix.map(|(_, T)| T),
            confidence,
            events,
            times,
        }
    }
}
