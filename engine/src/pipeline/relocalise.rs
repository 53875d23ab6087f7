//! One relocalisation round, apart from the per-frame work: re-verification of the
//! current fix, or candidates → scene ranking → RANSAC → coarse check → ICP →
//! ambiguity gate. [`Relocaliser`] owns everything a round needs (descriptor index,
//! verification targets, the scene round-robin) and nothing of the live map, so a
//! round can run on its own thread from a [`RoundInput`] taken at the frame it
//! belongs to. Rounds are deterministic given their inputs and their order.

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;

use nalgebra::{Point3, Vector3};

use super::EngineConfig;
use super::hypothesis_checks::{
    distinct, dominated, exclusive_shares, rivalry, split_at_final_radius,
};
use crate::db::{EmbeddingIndex, Scene, SceneDatabase};
use crate::frame::{Pose, centroid};
use crate::fuse::voxel::VoxelKey;
use crate::localise::correspondence::Correspondence;
use crate::localise::pairs::{Direction, dominant_directions, pair_hypotheses};
use crate::localise::room_shape::RoomShape;
use crate::localise::state::{Rivalry, VerifiedHypothesis};
use crate::localise::verify::{
    Agreement, LiveSample, VerificationTarget, agreement, agreement_mask,
};
use crate::localise::{IcpResult, IcpTarget, find_hypotheses, inliers_of, outside_inliers};
use crate::matching::{LiveQuery, find_candidates, rank_scenes, scene_search_correspondences};

#[path = "shape_round.rs"]
mod shape_round;
#[path = "symmetry.rs"]
mod symmetry;
use symmetry::SceneSymmetry;
#[cfg(test)]
#[path = "relocalise_tests.rs"]
mod tests;

/// Every `stride`-th point so that at most `max` remain.
pub(crate) fn thin<T: Copy>(items: &[T], max: usize) -> Vec<T> {
    let stride = items.len().div_ceil(max.max(1)).max(1);
    items.iter().step_by(stride).copied().collect()
}

/// Tolerances of the coarse look at an unrefined pose (RANSAC on centroids is
/// off by up to a few decimetres).
pub(crate) const COARSE: Agreement = Agreement {
    search_radius: 0.4,
    plane_distance: 0.2,
    min_cos: 0.5,
};

/// Reach of the coarse target's closest-point table: the coarse stage's widest
/// radius (ICP starts at 0.5 m; the coarse look searches 0.4 m).
const COARSE_REACH_M: f32 = 0.5;

/// Largest closest-point table of one scene (four bytes a cell): a room with a
/// metre of margin at 5 cm cells is one to two million.
const COARSE_MAX_CELLS: usize = 1 << 24;

/// What a hypothesis is verified with: live points in the session frame.
pub(crate) struct LiveSurface {
    /// A few hundred points of `surface`, for the coarse look before ICP.
    pub(crate) coarse: LiveSample,
    /// Instances and structure, thinned, for ICP and the surface fitness.
    pub(crate) surface: LiveSample,
    /// Instance points only, thinned, with colours (object fitness).
    pub(crate) objects: LiveSample,
    /// Structure points only, thinned (structure fitness: the room's shape; the
    /// dominant directions of their normals, worked out only in rounds that try
    /// pair hypotheses).
    pub(crate) structure: LiveSample,
}
/// The first point (and its normal) of each cubic cell of `cell` metres, in
/// the order of the points.
pub(crate) fn one_per_cell(
    points: &[Point3<f32>],
    normals: &[Vector3<f32>],
    cell: f32,
) -> (Vec<Point3<f32>>, Vec<Vector3<f32>>) {
    let mut seen = HashSet::new();
    let (mut pts, mut ns) = (Vec::new(), Vec::new());
    for (p, n) in points.iter().zip(normals) {
        let key = VoxelKey::of(p, cell);
        if key.is_some_and(|k| seen.insert(k)) {
            pts.push(*p);
            ns.push(*n);
        }
    }
    (pts, ns)
}

/// The verification target of a database scene: structure and object points with
/// normals, the same thinned to one point per `coarse_cell` metres, and the
/// object points alone with their colours (points without a normal are left
/// out). `None` when the scene has no usable point.
fn verification_target(s: &Scene, coarse_cell: f32) -> Option<VerificationTarget> {
    let mut pts = Vec::new();
    let mut normals = Vec::new();
    for (p, n) in s.structure_points.iter().zip(&s.structure_normals) {
        if n.norm() > 1e-6 {
            pts.push(*p);
            normals.push(*n);
        }
    }
    let structure = IcpTarget::new(pts.clone(), normals.clone()).ok();
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
    let (cpts, cnormals) = one_per_cell(&pts, &normals, coarse_cell);
    let targets = IcpTarget::new(pts, normals).and_then(|surface| {
        let coarse = IcpTarget::new(cpts, cnormals)?.with_lookup(
            coarse_cell,
            COARSE_REACH_M,
            COARSE_MAX_CELLS,
        );
        Ok((surface, coarse))
    });
    let (surface, coarse) = match targets {
        Ok(t) => t,
        Err(e) => {
            log::warn!("scene {}: no ICP target: {e}", s.name);
            return None;
        }
    };
    Some(VerificationTarget {
        surface,
        coarse,
        objects: IcpTarget::new(opts, onormals).ok(),
        object_colors: ocolors,
        structure,
    })
}

/// What a relocalisation round works on, taken from the live map at one frame.
pub(crate) struct RoundInput {
    /// Described stable live instances.
    pub(crate) queries: Vec<LiveQuery>,
    /// Live points to verify hypotheses with.
    pub(crate) surface: LiveSurface,
}

/// The outcome of a round: the best verified hypothesis (if any) and whether the
/// current fix still verified (`None` when there was none to check).
pub(crate) type RoundOutcome = (Option<VerifiedHypothesis>, Option<bool>);

/// Runs relocalisation rounds against one database.
pub(crate) struct Relocaliser {
    cfg: EngineConfig,
    db: Arc<SceneDatabase>,
    index: EmbeddingIndex,
    /// Verification targets of recently tried scenes, with the round counter of
    /// their last use (at most `max_cached_targets`; the least recently used
    /// goes first).
    targets: BTreeMap<usize, (Arc<VerificationTarget>, u64)>,
    /// Counts target look-ups (the recency clock of `targets`).
    uses: u64,
    /// Dominant structure directions per scene (pair hypotheses).
    directions: BTreeMap<usize, Vec<Direction>>,
    /// Prepared structure per scene (room-shape hypotheses).
    shapes: BTreeMap<usize, Arc<RoomShape>>,
    /// Half-turn symmetry per scene (`None`: not worked out, no seen space).
    symmetry: BTreeMap<usize, Option<Arc<SceneSymmetry>>>,
    /// Next scene of the round-robin in [`Relocaliser::scenes_to_try`].
    next_scene: usize,
    /// Whether the last persisting candidate was refused for a rival (see
    /// [`Relocaliser::take_refused_persisting`]).
    refused_persisting: bool,
}

impl Relocaliser {
    /// A relocaliser for `db`, searching `index`.
    pub(crate) fn new(cfg: EngineConfig, db: Arc<SceneDatabase>, index: EmbeddingIndex) -> Self {
        Relocaliser {
            cfg,
            db,
            index,
            targets: BTreeMap::new(),
            uses: 0,
            directions: BTreeMap::new(),
            shapes: BTreeMap::new(),
            symmetry: BTreeMap::new(),
            next_scene: 0,
            refused_persisting: false,
        }
    }

    /// Whether a round since the last call refused a persisting candidate for
    /// a rival: evidence against the pose, not just a round without it (the
    /// count of a persisting hypothesis starts again).
    pub(crate) fn take_refused_persisting(&mut self) -> bool {
        std::mem::take(&mut self.refused_persisting)
    }

    /// One round: re-verifies `fix` when there is one and relocalises when there is
    /// none or it no longer verifies. `pending` are the scenes of the hypotheses
    /// being counted towards a fix (always tried).
    pub(crate) fn round(
        &mut self,
        fix: Option<&VerifiedHypothesis>,
        pending: &[usize],
        input: &RoundInput,
    ) -> RoundOutcome {
        let source = &input.surface;
        match fix {
            Some(fix) => {
                let refined = self.verify(fix.scene, &fix.T_map_session, fix.inliers, source);
                let ok = refined.as_ref().is_some_and(|r| {
                    r.fitness >= self.cfg.track_min_fitness
                        && r.structure_fitness
                            .is_none_or(|f| f >= self.cfg.track_min_structure)
                });
                if ok {
                    (refined, Some(true))
                } else {
                    (
                        self.relocalise(&input.queries, source, pending),
                        Some(false),
                    )
                }
            }
            None => (self.relocalise(&input.queries, source, pending), None),
        }
    }

    /// The verification target of `scene`, built on first use and cached; the
    /// cache keeps the `max_cached_targets` most recently used.
    fn target(&mut self, scene: usize) -> Option<Arc<VerificationTarget>> {
        self.uses += 1;
        if let Some((t, used)) = self.targets.get_mut(&scene) {
            *used = self.uses;
            return Some(t.clone());
        }
        let s = self.db.scenes.get(scene)?;
        let started = std::time::Instant::now();
        let t = Arc::new(verification_target(s, self.cfg.coarse_target_cell_m)?);
        log::debug!(
            "scene {scene}: verification target built in {:.1} ms",
            started.elapsed().as_secs_f64() * 1e3
        );
        while self.targets.len() >= self.cfg.max_cached_targets.max(1) {
            let Some(oldest) = self
                .targets
                .iter()
                .min_by_key(|(_, (_, used))| *used)
                .map(|(k, _)| *k)
            else {
                break;
            };
            self.targets.remove(&oldest);
        }
        self.targets.insert(scene, (t.clone(), self.uses));
        Some(t)
    }

    /// Builds the verification target of the first scene without one while the
    /// cache has room (idle work: a later round finds it ready). Returns whether
    /// it built one.
    pub(crate) fn warm_one(&mut self) -> bool {
        if self.targets.len() >= self.cfg.max_cached_targets.max(1) {
            return false;
        }
        let Some(scene) = (0..self.db.scenes.len()).find(|s| !self.targets.contains_key(s)) else {
            return false;
        };
        if self.target(scene).is_none() {
            // A scene without a usable target is not tried again here.
            return false;
        }
        true
    }

    /// Number of cached verification targets.
    #[cfg(test)]
    pub(crate) fn cached_targets(&self) -> usize {
        self.targets.len()
    }

    /// Verifies one pose (ICP from `init`, then agreement); see
    /// [`super::Tracker::verify_pose`].
    pub(crate) fn verify(
        &mut self,
        scene: usize,
        init: &Pose,
        inliers: usize,
        live: &LiveSurface,
    ) -> Option<VerifiedHypothesis> {
        self.verify_gated(scene, init, inliers, live, 0.0)
    }

    /// A relocalisation hypothesis's verification: [`Relocaliser::verify`],
    /// except that a pose the coarse stage leaves with less than
    /// `min_polish_agreement` agreement is not polished. Such poses end far
    /// below a score that could fix or rival a fix (on the seed-606 rescans,
    /// none of the 17 % of polishes this drops scored above 0.22; a rival needs
    /// 85 % of a fixable score, ≥ 0.34), and the polish on all live points is
    /// what costs.
    fn verify_hypothesis(
        &mut self,
        scene: usize,
        init: &Pose,
        inliers: usize,
        live: &LiveSurface,
    ) -> Option<VerifiedHypothesis> {
        let gate = self.cfg.min_polish_agreement;
        self.verify_gated(scene, init, inliers, live, gate)
    }

    fn verify_gated(
        &mut self,
        scene: usize,
        init: &Pose,
        inliers: usize,
        live: &LiveSurface,
        min_polish_agreement: f32,
    ) -> Option<VerifiedHypothesis> {
        let target = self.target(scene)?;
        // A cheap look before ICP: most RANSAC poses of wrong matches put almost
        // nothing near the map surface, and refining them is what costs.
        let coarse = agreement(&target.coarse, &[], &live.coarse, init, &COARSE);
        if coarse < self.cfg.coarse_min_agreement {
            log::trace!("scene {scene}: coarse agreement {coarse:.2}, not refined");
            return None;
        }
        // The coarse stage only has to bring the pose within the polish stage's
        // reach: a third of the points does that (it is most of the iterations),
        // and the polish stage settles the pose on all of them.
        // Neither stage's own fitness is used: the agreement below judges the pose.
        let coarse_source = thin(&live.surface.points, self.cfg.icp_coarse_points);
        // The coarse stage runs in two parts: until its radius has shrunk to the
        // final one, then on at that radius. A pose that the first part leaves
        // far from the surface does not recover: it goes no further.
        let parts = split_at_final_radius(&self.cfg.icp);
        let mut first: Option<IcpResult> = None;
        for (part, cfg) in parts.iter().enumerate() {
            let from = first.as_ref().map_or(*init, |f| f.T_map_session);
            let r = match target.coarse.refine_unscored(&coarse_source, &from, cfg) {
                Ok(r) => r,
                Err(e) => {
                    log::trace!("verification failed: {e}");
                    return None;
                }
            };
            let (T, done) = (r.T_map_session, r.converged);
            let iterations = r.iterations + first.as_ref().map_or(0, |f| f.iterations);
            first = Some(IcpResult { iterations, ..r });
            if part + 1 < parts.len() {
                let early = agreement(&target.coarse, &[], &live.coarse, &T, &self.cfg.agreement);
                if early < self.cfg.min_coarse_stage_agreement {
                    log::trace!(
                        "scene {scene}: agreement {early:.3} as the coarse stage's radius settles: dropped"
                    );
                    return None;
                }
            }
            if done {
                break;
            }
        }
        let first = first?;
        if min_polish_agreement > 0.0 {
            let settled = agreement(
                &target.coarse,
                &[],
                &live.coarse,
                &first.T_map_session,
                &self.cfg.agreement,
            );
            if settled < min_polish_agreement {
                log::trace!(
                    "scene {scene}: agreement {settled:.3} after the coarse stage: not polished"
                );
                return None;
            }
        }
        let staged = target
            .surface
            .refine_unscored(
                &live.surface.points,
                &first.T_map_session,
                &self.cfg.icp_polish,
            )
            .map(|mut second| {
                second.iterations += first.iterations;
                second
            });
        match staged {
            Ok(r) => {
                let tol = self.cfg.agreement;
                let T = r.T_map_session;
                let fitness = agreement(&target.surface, &[], &live.surface, &T, &tol);
                let object_fitness = target.objects.as_ref().map_or(0.0, |o| {
                    agreement(o, &target.object_colors, &live.objects, &T, &tol)
                });
                let structure_fitness = target
                    .structure
                    .as_ref()
                    .filter(|_| live.structure.points.len() >= self.cfg.structure_verify_min_points)
                    .map(|st| {
                        agreement(st, &[], &live.structure, &T, &self.cfg.structure_agreement)
                    });
                Some(VerifiedHypothesis {
                    scene,
                    T_map_session: T,
                    inliers,
                    fitness,
                    object_fitness,
                    structure_fitness,
                    anchor: centroid(&live.surface.points),
                    rivalry: Rivalry::Clear,
                })
            }
            Err(e) => {
                log::trace!("verification failed: {e}");
                None
            }
        }
    }

    /// The scenes one relocalisation round tries: the best by descriptor
    /// evidence, the scenes of pending, persisting or current hypotheses, and a few more in
    /// turn, so that in a small database every scene is tried every few rounds
    /// even when partial live views point elsewhere.
    fn scenes_to_try(&mut self, ranked: &[usize], pending: &[usize]) -> Vec<usize> {
        let mut scenes: Vec<usize> = ranked
            .iter()
            .copied()
            .take(self.cfg.scenes_per_reloc)
            .collect();
        for &s in pending {
            if !scenes.contains(&s) {
                scenes.push(s);
            }
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

    /// Verifies up to `pair_hypotheses_per_scene` pair hypotheses of `scene`;
    /// each verified one counts as inliers the correspondences its refined pose
    /// agrees with (one per live instance).
    fn pair_round(
        &mut self,
        scene: usize,
        corr: &[Correspondence],
        live: &LiveSurface,
        live_dirs: &[Direction],
        verified: &mut Vec<VerifiedHypothesis>,
    ) {
        if live_dirs.is_empty() {
            return;
        }
        let Some(map_dirs) = self.map_directions(scene) else {
            return;
        };
        let hyps = pair_hypotheses(corr, live_dirs, &map_dirs, &self.cfg.pairs);
        for h in hyps.iter().take(self.cfg.pair_hypotheses_per_scene) {
            if let Some(mut v) = self.verify_hypothesis(scene, &h.T_map_session, 2, live) {
                v.inliers = inliers_of(&v.T_map_session, corr, &self.cfg.ransac).len();
                log::trace!(
                    "pair hypothesis {:?} of scene {scene} verified: {v:?}",
                    h.pair
                );
                verified.push(v);
            }
        }
    }

    /// The dominant surface directions of the live structure.
    fn live_directions(&self, live: &LiveSurface) -> Vec<Direction> {
        dominant_directions(
            &live.structure.normals,
            self.cfg.pairs.direction_tolerance_deg,
            0.05,
            4,
        )
    }

    /// The dominant surface directions of a scene's structure (cached).
    fn map_directions(&mut self, scene: usize) -> Option<Vec<Direction>> {
        if let Some(d) = self.directions.get(&scene) {
            return Some(d.clone());
        }
        let s = self.db.scenes.get(scene)?;
        let d = dominant_directions(
            &s.structure_normals,
            self.cfg.pairs.direction_tolerance_deg,
            0.05,
            4,
        );
        self.directions.insert(scene, d.clone());
        Some(d)
    }

    /// A pose of the same scene that explains the live data about as well as
    /// `best` does, found by turning `best` half a turn about each of the room's
    /// dominant surface directions through the centre of its structure: in a room
    /// that looks the same turned round (identical furniture in a symmetric
    /// layout), the turned pose is the other, equally good answer, and the
    /// correspondences may never propose it.
    fn turned_rival(
        &mut self,
        best: &VerifiedHypothesis,
        live: &LiveSurface,
    ) -> Option<VerifiedHypothesis> {
        let dirs = self.map_directions(best.scene)?;
        let (lo, hi) = symmetry::structure_bounds(self.db.scenes.get(best.scene)?)?;
        let centre = (lo + hi) / 2.0;
        let mut rival: Option<VerifiedHypothesis> = None;
        for d in dirs.iter().take(self.cfg.symmetry_axes) {
            let Some(about_centre) = symmetry::half_turn(d.dir, centre) else {
                continue;
            };
            let init = about_centre * best.T_map_session;
            if let Some(v) = self.verify_hypothesis(best.scene, &init, best.inliers, live) {
                let distinct = distinct(&v, best);
                log::trace!(
                    "turned about {:?}: score {:.2} vs {:.2}, distinct {distinct}",
                    d.dir.as_slice(),
                    v.score(),
                    best.score()
                );
                if distinct && rival.as_ref().is_none_or(|r| v.score() > r.score()) {
                    rival = Some(v);
                }
            }
        }
        rival
    }

    /// Global relocalisation: candidates, scene ranking, RANSAC (or, with fewer
    /// than `min_live_instances` objects in view, the room's shape alone), ICP
    /// verification. Returns the best verified hypothesis when it is
    /// unambiguous.
    fn relocalise(
        &mut self,
        queries: &[LiveQuery],
        live: &LiveSurface,
        pending: &[usize],
    ) -> Option<VerifiedHypothesis> {
        // Too few objects in view for RANSAC: the room's shape alone, each of
        // its poses placed or checked by the objects there are.
        let few = queries.len() < self.cfg.min_live_instances;
        if queries.is_empty() || (few && queries.len() < self.cfg.shape_min_live_instances) {
            return None;
        }
        let candidates = find_candidates(&self.index, queries, &self.cfg.matching);
        let ranked: Vec<usize> = rank_scenes(&candidates, &self.cfg.matching)
            .iter()
            .map(|s| s.scene)
            .collect();
        let mut verified: Vec<VerifiedHypothesis> = Vec::new();
        let mut shape_budget = self.cfg.shape_hypotheses_per_round;
        let mut live_dirs: Option<Vec<Direction>> = None;
        for scene in self.scenes_to_try(&ranked, pending) {
            let corr = scene_search_correspondences(
                &self.index,
                &self.db,
                scene,
                queries,
                self.cfg.scene_k,
                self.cfg.scene_min_similarity,
            );
            let before = verified.len();
            if few {
                let dirs = live_dirs.get_or_insert_with(|| self.live_directions(live));
                shape_budget -=
                    self.shape_round(scene, &corr, live, dirs, shape_budget, &mut verified);
                continue;
            }
            let outcome = match find_hypotheses(&corr, &self.cfg.ransac) {
                Ok(o) => o,
                Err(e) => {
                    log::warn!("ransac: {e}");
                    continue;
                }
            };
            for h in outcome.hypotheses.iter().take(self.cfg.verify_per_scene) {
                if let Some(v) =
                    self.verify_hypothesis(scene, &h.T_map_session, h.inliers.len(), live)
                {
                    verified.push(v);
                }
            }
            // Nothing from three-correspondence sets: try pairs with the room's
            // surface directions (two recognisable objects in view).
            if verified.len() == before && self.cfg.pair_hypotheses_per_scene > 0 {
                let dirs = live_dirs.get_or_insert_with(|| self.live_directions(live));
                self.pair_round(scene, &corr, live, dirs, &mut verified);
            }
            // Symmetry check: the best pose explained without its own inliers. In a
            // symmetric room the mirrored matches (the other one of each identical
            // pair) give the mirrored pose; if it explains the surface about as
            // well, the ambiguity gate below refuses to fix.
            if let Some(best) = outcome.best() {
                let rest = outside_inliers(&corr, &best.inliers);
                if let Ok(alt) = find_hypotheses(&rest, &self.cfg.ransac) {
                    for h in alt.hypotheses.iter().take(2) {
                        if let Some(v) =
                            self.verify_hypothesis(scene, &h.T_map_session, h.inliers.len(), live)
                        {
                            verified.push(v);
                        }
                    }
                }
            }
            // Nothing the state machine would take from the objects: the room's
            // shape (bare walls in view, or only furniture that has moved).
            if !verified[before..].iter().any(|v| self.cfg.state.admits(v)) {
                let dirs = live_dirs.get_or_insert_with(|| self.live_directions(live));
                shape_budget -=
                    self.shape_round(scene, &corr, live, dirs, shape_budget, &mut verified);
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
                    v.structure_fitness.map(|f| (f * 100.0).round() / 100.0),
                    (v.T_map_session.translation.vector.norm() * 100.0).round() / 100.0,
                    (v.T_map_session.rotation.angle().to_degrees()).round()
                ))
                .collect::<Vec<_>>()
        );
        let mut best = verified.first()?.clone();
        // A best hypothesis the state machine would not count needs no
        // ambiguity check of its own: the round offers at most a hypothesis
        // that may become the fix by persisting (with its own rival check).
        if !self.cfg.state.admits(&best) {
            log::trace!("best hypothesis below the state machine's gates: a persisting one?");
            return self.persisting_candidate(&verified, live);
        }
        // Ambiguity gate: a different pose that explains the surface almost as well,
        // from the correspondences or, when they offer none, the room turned round.
        let bar = self.cfg.ambiguity_ratio * best.score();
        let rival = match verified.iter().skip(1).find(|v| distinct(v, &best)) {
            Some(r) if r.score() >= bar => Some(r.clone()),
            other if self.cfg.symmetry_axes > 0 => {
                self.turned_rival(&best, live).or_else(|| other.cloned())
            }
            other => other.cloned(),
        };
        if let Some(r) = rival.as_ref().filter(|r| r.score() >= bar) {
            let (only_best, only_rival) = self.exclusive_shares(&best, r, live);
            let dominated = dominated(only_best, only_rival, &self.cfg);
            log::debug!(
                "ambiguous: score {:.2} (scene {}) vs {:.2} (scene {}); explained by one only {only_best:.3} vs {only_rival:.3}: dominated {dominated}",
                best.score(),
                best.scene,
                r.score(),
                r.scene
            );
            best.rivalry = rivalry(&best, r, (only_best, only_rival), &self.cfg)?;
        }
        // The rival, close or not, is the turned twin the symmetric-room check
        // needs when it is the turned pose (not verified a second time).
        if self.symmetric_undecided(&best, rival.as_ref(), live) {
            return None;
        }
        Some(best)
    }

    /// The half-turn symmetry of `scene`, worked out on first use.
    fn scene_symmetry(&mut self, scene: usize) -> Option<Arc<SceneSymmetry>> {
        if let Some(s) = self.symmetry.get(&scene) {
            return s.clone();
        }
        let target = self.target(scene)?;
        let dirs = self.map_directions(scene)?;
        let db = self.db.clone();
        let s = db.scenes.get(scene)?;
        let sym = SceneSymmetry::of(s, &target, &dirs, &self.cfg.agreement).map(Arc::new);
        if let Some(y) = &sym {
            log::debug!(
                "scene {scene}: half-turn self-similarity {:.2}",
                y.similarity
            );
        }
        self.symmetry.insert(scene, sym.clone());
        sym
    }

    /// Whether `best`, a pose in a room that looks the same turned half round
    /// (self-similarity at least `symmetric_room_similarity`), lacks the
    /// evidence that tells it from its turned twin: at least
    /// `symmetric_min_evidence` live object points on the map's asymmetric
    /// surface, and `symmetric_evidence_ratio` times as many as the twin has.
    /// The twin is `rival` when that is the turned pose, else the turned pose
    /// refined.
    fn symmetric_undecided(
        &mut self,
        best: &VerifiedHypothesis,
        rival: Option<&VerifiedHypothesis>,
        live: &LiveSurface,
    ) -> bool {
        if self.cfg.symmetric_room_similarity > 1.0 {
            return false;
        }
        let Some(sym) = self.scene_symmetry(best.scene) else {
            return false;
        };
        if sym.similarity < self.cfg.symmetric_room_similarity {
            return false;
        }
        let Some(target) = self.target(best.scene) else {
            return false;
        };
        let turned = VerifiedHypothesis {
            T_map_session: sym.turn * best.T_map_session,
            ..best.clone()
        };
        let near_turned = |v: &VerifiedHypothesis| {
            let d = v.difference(&turned);
            v.scene == best.scene && d.translation_m <= 0.3 && d.rotation_deg <= 10.0
        };
        let twin = match rival.filter(|r| near_turned(r)) {
            Some(r) => r.T_map_session,
            None => self
                .turned_rival(best, live)
                .filter(near_turned)
                .map_or(turned.T_map_session, |r| r.T_map_session),
        };
        let tol = self.cfg.agreement;
        let own = sym.evidence(&target, &live.objects, &best.T_map_session, &tol);
        let twins = sym.evidence(&target, &live.objects, &twin, &tol);
        let undecided = own < self.cfg.symmetric_min_evidence
            || (own as f32) < self.cfg.symmetric_evidence_ratio * twins as f32;
        log::debug!(
            "symmetric scene {} (self-similarity {:.2}): asymmetric evidence {own} vs the turned twin's {twins}: {}",
            best.scene,
            sym.similarity,
            if undecided { "undecided" } else { "decided" }
        );
        undecided
    }

    /// Of the verified hypotheses of a round whose best the state machine does
    /// not admit, the one with the best surface fitness that may become the fix by
    /// persisting ([`crate::localise::state::StateConfig::admits_persistent`]),
    /// when no distinct pose (another one verified, or the room turned round)
    /// fits the surface within `ambiguity_ratio` of it: with the objects'
    /// evidence weak, the surface alone must single it out.
    fn persisting_candidate(
        &mut self,
        verified: &[VerifiedHypothesis],
        live: &LiveSurface,
    ) -> Option<VerifiedHypothesis> {
        let cand = verified
            .iter()
            .filter(|v| self.cfg.state.admits_persistent(v))
            .max_by(|a, b| a.fitness.total_cmp(&b.fitness))?
            .clone();
        let bar = self.cfg.ambiguity_ratio * cand.fitness;
        let rival = verified
            .iter()
            .find(|v| distinct(v, &cand) && v.fitness >= bar)
            .cloned()
            .or_else(|| {
                (self.cfg.symmetry_axes > 0)
                    .then(|| self.turned_rival(&cand, live))
                    .flatten()
                    .filter(|r| r.fitness >= bar)
            });
        log::debug!(
            "persisting candidate: scene {}, {} inliers, fitness {:.2}, object fitness {:.2}, structure {:?}; rival {:?}",
            cand.scene,
            cand.inliers,
            cand.fitness,
            cand.object_fitness,
            cand.structure_fitness,
            rival.as_ref().map(|r| (r.scene, r.fitness))
        );
        self.refused_persisting |= rival.is_some();
        rival.is_none().then_some(cand)
    }

    /// Shares of the live surface points that only `a` explains and that only
    /// `b` explains (each at its own pose and scene, agreement tolerances).
    fn exclusive_shares(
        &mut self,
        a: &VerifiedHypothesis,
        b: &VerifiedHypothesis,
        live: &LiveSurface,
    ) -> (f32, f32) {
        let tol = self.cfg.agreement;
        let (Some(ta), Some(tb)) = (self.target(a.scene), self.target(b.scene)) else {
            return (0.0, 0.0);
        };
        let ma = agreement_mask(&ta.surface, &[], &live.surface, &a.T_map_session, &tol);
        let mb = agreement_mask(&tb.surface, &[], &live.surface, &b.T_map_session, &tol);
        exclusive_shares(&ma, &mb)
    }
}
