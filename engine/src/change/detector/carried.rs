//! Objects carried by a moved object: a mug or a monitor on a desk that was
//! moved goes with the desk. The live segmentation often fuses them with it,
//! and a small object alone is seldom recognised, so its old place, seen
//! empty, would read Removed.

use nalgebra::{Point3, Vector3};

use super::{ChangeDetector, Pose, Scene, object_motion, sample};
use crate::change::neighbors::PointGrid;
use crate::eval::PoseError;

/// A database object moved with the object it stood on.
pub(super) struct Carried {
    /// Database index of the object it stood on.
    pub by: usize,
    /// The carrier's pose (its points where they were onto where they are).
    pub pose: Pose,
    /// The live object standing as the carrier.
    pub live: u32,
    /// Share of its points so moved with a live point near.
    pub share: f32,
    /// Its own motion.
    pub motion: PoseError,
}

impl ChangeDetector {
    /// Whether database object `di` stood on database object `by`: at least
    /// `min_carried_contact` of its points lie within the carrier's tight box
    /// grown by `residual_link_m`, and its tight box is the smaller.
    fn stood_on(&self, scene: &Scene, di: usize, by: usize) -> bool {
        let (Some(inst), Some(b)) = (scene.instances.get(di), self.tight.get(by)) else {
            return false;
        };
        let Some(own) = self.tight.get(di) else {
            return false;
        };
        let volume = |h: &Vector3<f32>| h.x * h.y * h.z;
        if volume(&own.half_extents) >= volume(&b.half_extents) {
            return false;
        }
        let mut grown = *b;
        grown.half_extents += Vector3::repeat(self.cfg.residual_link_m);
        let pts = sample(&inst.points, 100);
        let inside = pts.iter().filter(|p| grown.contains(p)).count();
        !pts.is_empty() && inside as f32 >= self.cfg.min_carried_contact * pts.len() as f32
    }

    /// Database object `di` (its place seen empty) moved with an object it
    /// stood on: of `moved` (database index, pose and live id of each object
    /// standing as Moved), one it stood on ([`Self::stood_on`]) whose pose
    /// lays at least `min_carried_share` of its points near live points
    /// (`live`, within `explain_radius_m`), the best such.
    pub(super) fn carried(
        &self,
        scene: &Scene,
        di: usize,
        moved: &[(usize, Pose, u32)],
        live: &PointGrid,
    ) -> Option<Carried> {
        let inst = scene.instances.get(di)?;
        let pts = sample(&inst.points, 200);
        let mut best: Option<Carried> = None;
        for &(by, pose, id) in moved {
            if by == di || !self.stood_on(scene, di, by) {
                continue;
            }
            let there: Vec<Point3<f32>> = pts.iter().map(|p| pose * p).collect();
            let share = live.share_within(&there, self.cfg.explain_radius_m);
            log::trace!(
                "db {} on moved db {}: {share:.2} of it where the move takes it",
                inst.id,
                scene.instances.get(by).map_or(0, |i| i.id)
            );
            if share >= self.cfg.min_carried_share && best.as_ref().is_none_or(|b| share > b.share)
            {
                best = Some(Carried {
                    by,
                    pose,
                    live: id,
                    share,
                    motion: object_motion(&pose, &inst.centroid),
                });
            }
        }
        best
    }
}
