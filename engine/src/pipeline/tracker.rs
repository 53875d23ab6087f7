//! The deterministic per-frame core of the engine: segment → fuse → encode → match →
//! localise → detect changes. [`Tracker`] runs the stages in order on one thread;
//! [`super::Engine`] runs the same stages on a pipeline of threads.
//!
//! Frames: live instances are in the SESSION frame (the device's tracking frame,
//! from `T_session_camera`), database instances in the MAP frame; the fix is
//! `T_map_session`.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

use nalgebra::{Point3, Vector3};

use super::{EngineConfig, EngineEvent, FrameResult, PipelineError, StageTimes};
use crate::change::{ChangeDetector, LiveObject};
use crate::db::{EmbeddingIndex, SceneDatabase};
use crate::encode::{GeometricColorEncoder, InstanceEncoder, Modality};
use crate::frame::{Pose, RgbdFrame};
use crate::fuse::LiveMap;
use crate::localise::state::{Localiser, StateEvent, TrackingState, VerifiedHypothesis};
use crate::localise::{IcpTarget, find_hypotheses};
use crate::matching::{LiveQuery, find_candidates, rank_scenes, scene_correspondences};
use crate::segment::{STRUCTURE_BASE, Segmentation, segment_frame};

/// Points of a segmentation's structural planes (camera frame) with the plane normals.
pub fn structure_points(
    frame: &RgbdFrame,
    seg: &Segmentation,
) -> (Vec<Point3<f32>>, Vec<Vector3<f32>>) {
    let mut pts = Vec::new();
    let mut normals = Vec::new();
    let step = seg.step.max(1);
    for gy in 0..seg.height {
        for gx in 0..seg.width {
            let Some(&label) = seg
                .labels
                .get(gy as usize * seg.width as usize + gx as usize)
            else {
                continue;
            };
            if label < STRUCTURE_BASE {
                continue;
            }
            let Some(plane) = seg.planes.iter().find(|p| p.label == label) else {
                continue;
            };
            let (u, v) = (gx * step, gy * step);
            if let Some(z) = frame.depth.metres_at(u, v) {
                pts.push(frame.intrinsics.unproject(u as f32, v as f32, z));
                normals.push(plane.normal);
            }
        }
    }
    (pts, normals)
}

/// Every `stride`-th point so that at most `max` remain.
pub(crate) fn thin<T: Copy>(items: &[T], max: usize) -> Vec<T> {
    let stride = items.len().div_ceil(max.max(1)).max(1);
    items.iter().step_by(stride).copied().collect()
}

/// Relocalises and tracks one session against a database, frame by frame.
pub struct Tracker {
    cfg: EngineConfig,
    db: Arc<SceneDatabase>,
    index: EmbeddingIndex,
    encoder: GeometricColorEncoder,
    targets: BTreeMap<usize, Arc<IcpTarget>>,
    live: LiveMap,
    descriptors: BTreeMap<u32, (u32, Vec<f32>)>,
    localiser: Localiser,
    changes: Option<(usize, ChangeDetector)>,
    processed: u64,
}

impl std::fmt::Debug for Tracker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tracker")
            .field("processed", &self.processed)
            .field("state", &self.localiser.state())
            .finish_non_exhaustive()
    }
}

impl Tracker {
    /// A tracker in the Lost state.
    pub fn new(cfg: EngineConfig, db: Arc<SceneDatabase>) -> Result<Tracker, PipelineError> {
        let index = EmbeddingIndex::build(&db, Modality::Point)
            .map_err(|e| PipelineError::Database(e.to_string()))?;
        let encoder = GeometricColorEncoder::new(cfg.encoder.clone())
            .map_err(|e| PipelineError::Config(e.to_string()))?;
        if !index.is_empty() && index.dim() != encoder.dim() {
            return Err(PipelineError::Database(format!(
                "database descriptors have {} dimensions, the encoder makes {}",
                index.dim(),
                encoder.dim()
            )));
        }
        let live =
            LiveMap::new(cfg.fuse.clone()).map_err(|e| PipelineError::Config(e.to_string()))?;
        let localiser = Localiser::new(cfg.state.clone());
        Ok(Tracker {
            cfg,
            db,
            index,
            encoder,
            targets: BTreeMap::new(),
            live,
            descriptors: BTreeMap::new(),
            localiser,
            changes: None,
            processed: 0,
        })
    }

    /// Current state.
    pub fn state(&self) -> TrackingState {
        self.localiser.state()
    }

    /// The live instance map (session frame).
    pub fn live_map(&self) -> &LiveMap {
        &self.live
    }

    /// The database.
    pub fn database(&self) -> &SceneDatabase {
        &self.db
    }

    /// Segments and processes one frame.
    pub fn process(&mut self, frame: &RgbdFrame) -> Result<FrameResult, PipelineError> {
        let t = Instant::now();
        let seg = segment_frame(frame, &self.cfg.segment).map_err(|e| PipelineError::Frame {
            index: frame.index,
            message: e.to_string(),
        })?;
        let seg_ms = t.elapsed().as_secs_f64() * 1e3;
        let mut r = self.process_segmented(frame, &seg)?;
        r.times.segment_ms = seg_ms;
        Ok(r)
    }

    fn target(&mut self, scene: usize) -> Option<Arc<IcpTarget>> {
        if let Some(t) = self.targets.get(&scene) {
            return Some(t.clone());
        }
        let s = self.db.scenes.get(scene)?;
        let mut pts = s.structure_points.clone();
        let mut normals = s.structure_normals.clone();
        for inst in &s.instances {
            if inst.normals.len() == inst.points.len() {
                pts.extend_from_slice(&inst.points);
                normals.extend_from_slice(&inst.normals);
            }
        }
        let keep: Vec<usize> = (0..pts.len())
            .filter(|&i| normals.get(i).is_some_and(|n| n.norm() > 1e-6))
            .collect();
        let pts: Vec<Point3<f32>> = keep.iter().filter_map(|&i| pts.get(i).copied()).collect();
        let normals: Vec<Vector3<f32>> = keep
            .iter()
            .filter_map(|&i| normals.get(i).copied())
            .collect();
        match IcpTarget::new(pts, normals) {
            Ok(t) => {
                let t = Arc::new(t);
                self.targets.insert(scene, t.clone());
                Some(t)
            }
            Err(e) => {
                log::warn!("scene {scene}: no ICP target: {e}");
                None
            }
        }
    }

    /// Live surface points (instances and structure), session frame, for ICP.
    fn live_surface(&self) -> Vec<Point3<f32>> {
        let mut pts: Vec<Point3<f32>> = Vec::new();
        for inst in self.live.stable() {
            pts.extend_from_slice(inst.points());
        }
        pts.extend_from_slice(self.live.structure_points());
        thin(&pts, self.cfg.icp_source_points)
    }

    fn verify(
        &mut self,
        scene: usize,
        init: &Pose,
        inliers: usize,
        source: &[Point3<f32>],
    ) -> Option<VerifiedHypothesis> {
        let target = self.target(scene)?;
        match target.refine(source, init, &self.cfg.icp) {
            Ok(r) => Some(VerifiedHypothesis {
                scene,
                T_map_session: r.T_map_session,
                inliers,
                fitness: r.fitness,
            }),
            Err(e) => {
                log::trace!("verification failed: {e}");
                None
            }
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
            let fresh = self.descriptors.get(&id).is_some_and(|(o, _)| *o == obs);
            if !fresh {
                match self.encoder.encode(&cloud) {
                    Ok(d) => {
                        self.descriptors.insert(id, (obs, d));
                    }
                    Err(e) => {
                        log::trace!("live instance {id}: {e}");
                        continue;
                    }
                }
            }
            if let Some((_, d)) = self.descriptors.get(&id) {
                queries.push(LiveQuery {
                    id,
                    centroid_session: centroid,
                    descriptor: d.clone(),
                });
            }
        }
        queries
    }

    /// Global relocalisation: candidates, scene ranking, RANSAC, ICP verification.
    /// Returns the best verified hypothesis when it is unambiguous.
    fn relocalise(
        &mut self,
        queries: &[LiveQuery],
        source: &[Point3<f32>],
    ) -> Option<VerifiedHypothesis> {
        if queries.len() < self.cfg.min_live_instances {
            return None;
        }
        let candidates = find_candidates(&self.index, queries, &self.cfg.matching);
        let scenes = rank_scenes(&candidates, &self.cfg.matching);
        let mut verified: Vec<VerifiedHypothesis> = Vec::new();
        for s in scenes {
            let corr = scene_correspondences(&self.db, s.scene, queries, &candidates);
            let outcome = match find_hypotheses(&corr, &self.cfg.ransac) {
                Ok(o) => o,
                Err(e) => {
                    log::warn!("ransac: {e}");
                    continue;
                }
            };
            for h in outcome.hypotheses.iter().take(self.cfg.verify_per_scene) {
                if let Some(v) = self.verify(s.scene, &h.T_map_session, h.inliers.len(), source) {
                    verified.push(v);
                }
            }
            // Symmetry check: the best pose explained without its own inliers. In a
            // symmetric room the mirrored matches (the other one of each identical
            // pair) give the mirrored pose; if it explains the surface about as
            // well, the ambiguity gate below refuses to fix.
            if let Some(best) = outcome.best() {
                let rest: Vec<_> = corr
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| best.inliers.binary_search(i).is_err())
                    .map(|(_, c)| *c)
                    .collect();
                if let Ok(alt) = find_hypotheses(&rest, &self.cfg.ransac) {
                    for h in alt.hypotheses.iter().take(2) {
                        if let Some(v) =
                            self.verify(s.scene, &h.T_map_session, h.inliers.len(), source)
                        {
                            verified.push(v);
                        }
                    }
                }
            }
        }
        verified.sort_by(|a, b| {
            b.fitness
                .total_cmp(&a.fitness)
                .then(b.inliers.cmp(&a.inliers))
                .then(a.scene.cmp(&b.scene))
        });
        log::debug!(
            "reloc: {} live, {} candidates, verified {:?}",
            queries.len(),
            candidates.len(),
            verified
                .iter()
                .map(|v| (v.scene, v.inliers, (v.fitness * 100.0).round() / 100.0))
                .collect::<Vec<_>>()
        );
        let best = verified.first()?.clone();
        // Ambiguity gate: a different pose that explains the surface almost as well.
        let rival = verified.iter().skip(1).find(|v| {
            v.scene != best.scene
                || !crate::eval::pose_error(&v.T_map_session, &best.T_map_session).within(0.3, 10.0)
        });
        if let Some(r) = rival
            && r.fitness >= self.cfg.ambiguity_ratio * best.fitness
        {
            log::debug!(
                "ambiguous: fitness {:.2} (scene {}) vs {:.2} (scene {})",
                best.fitness,
                best.scene,
                r.fitness,
                r.scene
            );
            return None;
        }
        Some(best)
    }

    /// Processes a frame that has been segmented already.
    pub fn process_segmented(
        &mut self,
        frame: &RgbdFrame,
        seg: &Segmentation,
    ) -> Result<FrameResult, PipelineError> {
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

        let mut events = Vec::new();
        let evaluate = self
            .processed
            .is_multiple_of(self.cfg.reloc_every.max(1) as u64);
        if evaluate {
            let t = Instant::now();
            let queries = self.refresh_descriptors();
            times.encode_ms = t.elapsed().as_secs_f64() * 1e3;
            let t = Instant::now();
            let source = self.live_surface();
            let (best, current_ok) = match self.localiser.fix().cloned() {
                Some(fix) => {
                    let refined = self.verify(fix.scene, &fix.T_map_session, fix.inliers, &source);
                    let ok = refined
                        .as_ref()
                        .is_some_and(|r| r.fitness >= self.cfg.state.min_fitness);
                    if ok {
                        (refined, Some(true))
                    } else {
                        (self.relocalise(&queries, &source), Some(false))
                    }
                }
                None => (self.relocalise(&queries, &source), None),
            };
            times.localise_ms = t.elapsed().as_secs_f64() * 1e3;
            for e in self.localiser.update(best, current_ok) {
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
                        if self.changes.as_ref().is_none_or(|(s, _)| *s != scene)
                            && let Some(sc) = self.db.scenes.get(scene)
                        {
                            self.changes =
                                Some((scene, ChangeDetector::new(self.cfg.change.clone(), sc)));
                        }
                    }
                    StateEvent::Lost => events.push(EngineEvent::Lost { frame: frame.index }),
                }
            }
        }

        // Change detection while localised.
        let t = Instant::now();
        if let (Some(fix), Some((scene_idx, det))) =
            (self.localiser.fix().cloned(), self.changes.as_mut())
            && fix.scene == *scene_idx
            && let Some(scene) = self.db.scenes.get(fix.scene)
        {
            let T_map_camera = fix.T_map_session * T_session_camera;
            det.observe_frame(scene, &T_map_camera, &frame.intrinsics, &frame.depth);
            if evaluate {
                let lives: Vec<LiveObject> = self
                    .live
                    .stable()
                    .filter_map(|i| {
                        let (_, d) = self.descriptors.get(&i.id)?;
                        Some(LiveObject {
                            id: i.id,
                            points_map: thin(i.points(), 300)
                                .iter()
                                .map(|p| fix.T_map_session * p)
                                .collect(),
                            descriptor: d.clone(),
                            observations: i.observations,
                        })
                    })
                    .collect();
                for c in det.update(frame.index, scene, &lives) {
                    events.push(EngineEvent::Change(c));
                }
            }
        }
        times.change_ms = t.elapsed().as_secs_f64() * 1e3;

        let fix = self.localiser.fix();
        Ok(FrameResult {
            index: frame.index,
            timestamp: frame.timestamp,
            state: self.localiser.state(),
            scene: fix
                .and_then(|f| self.db.scenes.get(f.scene))
                .map(|s| s.name.clone()),
            T_map_session: fix.map(|f| f.T_map_session),
            confidence: self.localiser.confidence(),
            events,
            times,
        })
    }

    /// Changes currently standing (fired and not retracted).
    pub fn active_changes(&self) -> Vec<crate::change::ChangeEvent> {
        self.changes
            .as_ref()
            .map(|(_, d)| d.active_events())
            .unwrap_or_default()
    }
}
