//! The room-shape part of a relocalisation round: pose hypotheses from the live
//! structure alone ([`crate::localise::room_shape`]), or from the structure and
//! one object where the structure leaves the pose free along one direction,
//! checked against the objects in view and verified like every other.

use std::sync::Arc;

use super::{COARSE, LiveSurface, Relocaliser, thin};
use crate::frame::Pose;
use crate::localise::correspondence::Correspondence;
use crate::localise::inliers_of;
use crate::localise::pairs::Direction;
use crate::localise::room_shape::RoomShape;
use crate::localise::state::VerifiedHypothesis;
use crate::localise::verify::{LiveSample, VerificationTarget, agreement};

impl Relocaliser {
    /// Verifies up to `shape_hypotheses_per_scene` (and at most `budget`)
    /// room-shape hypotheses of `scene`: those that some object correspondence
    /// agrees with and whose unrefined pose already lays the objects in view and
    /// the whole surface onto the map about as well as the state machine's
    /// gates ask of a refined one. Refinement costs far more than these looks,
    /// and in a room that is not the right one the shape alone fits often.
    /// Each verified hypothesis counts as inliers the correspondences its
    /// refined pose agrees with. Returns how many were verified.
    pub(super) fn shape_round(
        &mut self,
        scene: usize,
        corr: &[Correspondence],
        live: &LiveSurface,
        live_dirs: &[Direction],
        budget: usize,
        verified: &mut Vec<VerifiedHypothesis>,
    ) -> usize {
        let usable = self.cfg.shape_hypotheses_per_scene > 0
            && live.structure.points.len() >= self.cfg.structure_verify_min_points
            && live.structure.normals.len() == live.structure.points.len()
            && live_dirs.len() >= 2;
        if budget == 0 || corr.is_empty() || !usable {
            return 0;
        }
        let (Some(shape), Some(target)) = (self.room_shape(scene), self.target(scene)) else {
            return 0;
        };
        let mut hyps = shape.hypotheses(
            &live.structure.points,
            &live.structure.normals,
            live_dirs,
            &self.cfg.shape,
        );
        let pinned = hyps.is_empty() && self.cfg.pinned_shape_hypotheses;
        if pinned {
            // Walls along one direction only: an object in view places the
            // pose along them.
            hyps = shape.pinned_hypotheses(
                &live.structure.points,
                &live.structure.normals,
                live_dirs,
                corr,
                &self.cfg.shape,
            );
        }
        log::trace!(
            "scene {scene}: {} room-shape hypotheses, scores {:?}",
            hyps.len(),
            hyps.iter().map(|h| h.score).collect::<Vec<_>>()
        );
        let look = self.cfg.shape.check_points;
        let objects = LiveSample {
            points: thin(&live.objects.points, look),
            normals: thin(&live.objects.normals, look),
            colors: thin(&live.objects.colors, look),
        };
        let mut used = 0;
        for h in hyps.iter().take(self.cfg.shape_hypotheses_per_scene) {
            if used >= budget {
                break;
            }
            let agreeing = inliers_of(&h.T_map_session, corr, &self.cfg.ransac).len();
            if agreeing == 0 || !self.worth_refining(&target, &objects, live, &h.T_map_session) {
                continue;
            }
            used += 1;
            if let Some(mut v) = self.verify_hypothesis(scene, &h.T_map_session, agreeing, live) {
                // Walls along one direction fit almost any room somewhere:
                // along them, the objects are all the evidence there is.
                if pinned && v.object_fitness < self.cfg.pinned_min_object_fitness {
                    log::trace!(
                        "pinned hypothesis of scene {scene}: object fitness {:.2}, dropped",
                        v.object_fitness
                    );
                    continue;
                }
                v.inliers = inliers_of(&v.T_map_session, corr, &self.cfg.ransac).len();
                log::trace!(
                    "room-shape hypothesis of scene {scene} (score {:.2}) verified: {v:?}",
                    h.score
                );
                verified.push(v);
            }
        }
        used
    }

    /// Whether an unrefined room-shape pose lays the live objects (a sample,
    /// coarse tolerances, colours compared) and the coarse live surface
    /// (verification tolerances) onto the map as well as the state machine's
    /// object and surface fitness gates ask of a refined pose.
    fn worth_refining(
        &self,
        target: &VerificationTarget,
        objects: &LiveSample,
        live: &LiveSurface,
        pose: &Pose,
    ) -> bool {
        let gates = &self.cfg.state;
        let on_objects = target.objects.as_ref().map_or(0.0, |o| {
            agreement(o, &target.object_colors, objects, pose, &COARSE)
        });
        on_objects >= gates.min_object_fitness
            && agreement(&target.coarse, &[], &live.coarse, pose, &self.cfg.agreement)
                >= gates.min_fitness
    }

    /// The prepared structure of `scene` (cached), with the same dominant
    /// directions as the pair hypotheses and the live side use.
    fn room_shape(&mut self, scene: usize) -> Option<Arc<RoomShape>> {
        if let Some(s) = self.shapes.get(&scene) {
            return Some(s.clone());
        }
        let dirs = self.map_directions(scene)?;
        let s = self.db.scenes.get(scene)?;
        let shape = Arc::new(RoomShape::new(
            &s.structure_points,
            &s.structure_normals,
            dirs,
            &self.cfg.shape,
        ));
        self.shapes.insert(scene, shape.clone());
        Some(shape)
    }
}
