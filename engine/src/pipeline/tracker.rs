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
use crate::db::build::oriented_box;
use crate::db::{EmbeddingIndex, Scene, SceneDatabase};
use crate::encode::{GeometricColorEncoder, InstanceEncoder, Modality};
use crate::frame::{Pose, RgbdFrame};
use crate::fuse::LiveMap;
use crate::localise::state::{Localiser, StateEvent, TrackingState, VerifiedHypothesis};
use crate::localise::verify::{Agreement, LiveSample, VerificationTarget, agreement};
use crate::localise::{IcpTarget, find_hypotheses};
use crate::matching::{LiveQuery, find_candidates, rank_scenes, scene_search_correspondences};
use crate::segment::{STRUCTURE_BASE, Segmentation, segment_frame};

/// Points of a segmentation's structural planes (camera frame), each moved along
/// the normal onto its fitted plane, with the plane normals.
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
                // Snapped onto the plane fitted to all its cells: depth noise grows
                // with the square of the distance (±7 cm at 5 m), and averaging the
                // raw points per voxel leaves ghost layers in front of and behind
                // far walls; the plane's own fit is good to millimetres.
                let p = frame.intrinsics.unproject(u as f32, v as f32, z);
                let off = plane.normal.dot(&p.coords) + plane.offset;
                pts.push(p - plane.normal * off);
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

/// Tolerances of the coarse look at an unrefined pose (RANSAC on centroids is
/// off by up to a few decimetres).
const COARSE: Agreement = Agreement {
    search_radius: 0.4,
    plane_distance: 0.2,
    min_cos: 0.5,
};

/// What a hypothesis is verified with: live points in the session frame.
struct LiveSurface {
    /// A few hundred points of `surface`, for the coarse look before ICP.
    coarse: LiveSample,
    /// Instances and structure, thinned, for ICP and the surface fitness.
    surface: LiveSample,
    /// Instance points only, thinned, with colours (object fitness).
    objects: LiveSample,
}
/// The verification target of a database scene: structure and object points with
/// normals, and the object points alone with their colours (points without a
/// normal are left out). `None` when the scene has no usable point.
fn verification_target(s: &Scene) -> Option<VerificationTarget> {
    let mut pts = Vec::new();
    let mut normals = Vec::new();
    for (p, n) in s.structure_points.iter().zip(&s.structure_normals) {
        if n.norm() > 1e-6 {
            pts.push(*p);
            normals.push(*n);
        }
    }
    let (mut opts, mut onormals, mut ocolors) = (Vec::new(), Vec::new(), Vec::new());
    let mut all_coloured = true;
    for inst in &s.instances {
        if inst.normals.len() != inst.points.len() {
            continue;
        }
        let coloured = inst.colors.len() == inst.points.len();
        all_coloured &= coloured;
        for (i, (p, n)) in inst.points.iter().zip(&inst.normals).enumerate() {
            if n.norm() > 1e-6 {
                opts.push(*p);
                onormals.push(*n);
                ocolors.push(inst.colors.get(i).copied().unwrap_or([0, 0, 0]));
            }
        }
    }
    pts.extend_from_slice(&opts);
    normals.extend_from_slice(&onormals);
    if !all_coloured {
        ocolors.clear();
    }
    let surface = match IcpTarget::new(pts, normals) {
        Ok(t) => t,
        Err(e) => {
            log::warn!("scene {}: no ICP target: {e}", s.name);
            return None;
        }
    };
    Some(VerificationTarget {
        surface,
        objects: IcpTarget::new(opts, onormals).ok(),
        object_colors: ocolors,
    })
}

/// Relocalises and tracks one session against a database, frame by frame.
pub struct Tracker {
    cfg: EngineConfig,
    db: Arc<SceneDatabase>,
    index: EmbeddingIndex,
    encoder: GeometricColorEncoder,
    targets: BTreeMap<usize, Arc<VerificationTarget>>,
    live: LiveMap,
    /// Per live instance: observations when described, descriptor, largest extent.
    descriptors: BTreeMap<u32, (u32, Vec<f32>, f32)>,
    localiser: Localiser,
    changes: Option<(usize, ChangeDetector)>,
    processed: u64,
    /// Next scene of the round-robin in [`Tracker::scenes_to_try`].
    next_scene: usize,
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
            next_scene: 0,
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

    fn target(&mut self, scene: usize) -> Option<Arc<VerificationTarget>> {
        if let Some(t) = self.targets.get(&scene) {
            return Some(t.clone());
        }
        let s = self.db.scenes.get(scene)?;
        let t = Arc::new(verification_target(s)?);
        self.targets.insert(scene, t.clone());
        Some(t)
    }

    /// The live surface used to verify hypotheses (session frame).
    fn live_surface(&self) -> LiveSurface {
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
        }
    }

    fn verify(
        &mut self,
        scene: usize,
        init: &Pose,
        inliers: usize,
        live: &LiveSurface,
    ) -> Option<VerifiedHypothesis> {
        let target = self.target(scene)?;
        // A cheap look before ICP: most RANSAC poses of wrong matches put almost
        // nothing near the map surface, and refining them is what costs.
        let coarse = agreement(&target.surface, &[], &live.coarse, init, &COARSE);
        if coarse < self.cfg.coarse_min_agreement {
            log::trace!("scene {scene}: coarse agreement {coarse:.2}, not refined");
            return None;
        }
        match target.surface.refine_staged(
            &live.surface.points,
            init,
            &self.cfg.icp,
            &self.cfg.icp_polish,
        ) {
            Ok(r) => {
                let tol = self.cfg.agreement;
                let T = r.T_map_session;
                let fitness = agreement(&target.surface, &[], &live.surface, &T, &tol);
                let object_fitness = target.objects.as_ref().map_or(0.0, |o| {
                    agreement(o, &target.object_colors, &live.objects, &T, &tol)
                });
                Some(VerifiedHypothesis {
                    scene,
                    T_map_session: T,
                    inliers,
                    fitness,
                    object_fitness,
                })
            }
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

    /// The scenes one relocalisation round tries: the best by descriptor
    /// evidence, the scene of a pending or current hypothesis, and a few more in
    /// turn, so that in a small database every scene is tried every few rounds
    /// even when partial live views point elsewhere.
    fn scenes_to_try(&mut self, ranked: &[usize]) -> Vec<usize> {
        let mut scenes: Vec<usize> = ranked
            .iter()
            .copied()
            .take(self.cfg.scenes_per_reloc)
            .collect();
        if let Some(s) = self.localiser.pending_scene()
            && !scenes.contains(&s)
        {
            scenes.push(s);
        }
        let n = self.db.scenes.len();
        let mut extra = 0;
        for _ in 0..n {
            if extra >= self.cfg.extra_scenes_per_reloc {
                break;
            }
            let s = self.next_scene % n.max(1);
            self.next_scene = (self.next_scene + 1) % n.max(1);
            if !scenes.contains(&s) {
                scenes.push(s);
                extra += 1;
            }
        }
        scenes
    }

    /// Global relocalisation: candidates, scene ranking, RANSAC, ICP verification.
    /// Returns the best verified hypothesis when it is unambiguous.
    fn relocalise(
        &mut self,
        queries: &[LiveQuery],
        live: &LiveSurface,
    ) -> Option<VerifiedHypothesis> {
        if queries.len() < self.cfg.min_live_instances {
            return None;
        }
        let candidates = find_candidates(&self.index, queries, &self.cfg.matching);
        let ranked: Vec<usize> = rank_scenes(&candidates, &self.cfg.matching)
            .iter()
            .map(|s| s.scene)
            .collect();
        let mut verified: Vec<VerifiedHypothesis> = Vec::new();
        for scene in self.scenes_to_try(&ranked) {
            let corr = scene_search_correspondences(
                &self.index,
                &self.db,
                scene,
                queries,
                self.cfg.scene_k,
                self.cfg.scene_min_similarity,
            );
            let outcome = match find_hypotheses(&corr, &self.cfg.ransac) {
                Ok(o) => o,
                Err(e) => {
                    log::warn!("ransac: {e}");
                    continue;
                }
            };
            for h in outcome.hypotheses.iter().take(self.cfg.verify_per_scene) {
                if let Some(v) = self.verify(scene, &h.T_map_session, h.inliers.len(), live) {
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
                        if let Some(v) = self.verify(scene, &h.T_map_session, h.inliers.len(), live)
                        {
                            verified.push(v);
                        }
                    }
                }
            }
        }
        verified.sort_by(|a, b| {
            b.score()
                .total_cmp(&a.score())
                .then(b.inliers.cmp(&a.inliers))
                .then(a.scene.cmp(&b.scene))
        });
        log::debug!(
            "reloc: {} live, {} candidates, verified {:?}",
            queries.len(),
            candidates.len(),
            verified
                .iter()
                .map(|v| (
                    v.scene,
                    v.inliers,
                    (v.fitness * 100.0).round() / 100.0,
                    (v.object_fitness * 100.0).round() / 100.0,
                    (v.T_map_session.translation.vector.norm() * 100.0).round() / 100.0,
                    (v.T_map_session.rotation.angle().to_degrees()).round()
                ))
                .collect::<Vec<_>>()
        );
        let best = verified.first()?.clone();
        // Ambiguity gate: a different pose that explains the surface almost as well.
        let rival = verified.iter().skip(1).find(|v| {
            v.scene != best.scene
                || !crate::eval::pose_error(&v.T_map_session, &best.T_map_session).within(0.3, 10.0)
        });
        if let Some(r) = rival
            && r.score() >= self.cfg.ambiguity_ratio * best.score()
        {
            log::debug!(
                "ambiguous: score {:.2} (scene {}) vs {:.2} (scene {})",
                best.score(),
                best.scene,
                r.score(),
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
            log::debug!(
                "frame {}: {} live instances described, state {:?}",
                frame.index,
                queries.len(),
                self.localiser.state()
            );
            times.encode_ms = t.elapsed().as_secs_f64() * 1e3;
            let t = Instant::now();
            let source = self.live_surface();
            let (best, current_ok) = match self.localiser.fix().cloned() {
                Some(fix) => {
                    let refined = self.verify(fix.scene, &fix.T_map_session, fix.inliers, &source);

                    let ok = refined
                        .as_ref()
                        .is_some_and(|r| r.fitness >= self.cfg.track_min_fitness);
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
                        let (_, d, _) = self.descriptors.get(&i.id)?;
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

    /// Verifies a pose of the session in `scene` against the current live map the
    /// way relocalisation verifies its hypotheses: ICP refinement from
    /// `T_map_session`, then surface and object agreement. `None` when the scene
    /// does not exist, the pose puts too little of the live surface near the map
    /// for refinement, or ICP fails. For a caller with a pose prior (a robot that
    /// knows roughly where it is) and for diagnostics.
    pub fn verify_pose(
        &mut self,
        scene: usize,
        T_map_session: &Pose,
    ) -> Option<VerifiedHypothesis> {
        let live = self.live_surface();
        self.verify(scene, T_map_session, 0, &live)
    }

    /// Changes currently standing (fired and not retracted).
    pub fn active_changes(&self) -> Vec<crate::change::ChangeEvent> {
        self.changes
            .as_ref()
            .map(|(_, d)| d.active_events())
            .unwrap_or_default()
    }
}
