//! How a database object, moved, fits a live object (or residual pieces): the
//! measures the decision for a live object and the test of residual pieces
//! share.

use nalgebra::Point3;

use super::{
    ChangeDetector, LiveObject, Pose, centroid, grid_radius, larger_than, object_motion,
    sorted_half_extents, volume_ratio,
};
use crate::change::neighbors::PointGrid;
use crate::db::DbInstance;
use crate::eval::PoseError;
use crate::localise::umeyama::rigid_from_correspondences;

/// ICP steps of [`ChangeDetector::polish`].
const POLISH_STEPS: usize = 8;

/// Database object `di` aligned onto live points.
pub(super) struct MovedFit {
    /// Where it is now: its points moved by this pose.
    pub pose: Pose,
    /// Share of the live points on it so moved (at least the alignment's own
    /// fitness): a partial live view covers part of the object only.
    pub fit_live: f32,
    /// Share of its points so moved that have a live point near: a small
    /// fragment fits somewhere on almost any object.
    pub coverage: f32,
    /// Its own motion.
    pub motion: PoseError,
}

impl ChangeDetector {
    /// How far a database object may have moved and still be searched as a
    /// near move: `near_move_factor` × its largest half extent, at least
    /// `near_move_m`.
    pub(super) fn near_reach(&self, inst: &DbInstance) -> f32 {
        (self.cfg.near_move_factor * inst.bbox.half_extents.max()).max(self.cfg.near_move_m)
    }

    /// Share of `live` points within `explain_radius_m` of database instance
    /// `di` where it stood.
    pub(super) fn share_on_old(&self, di: usize, live: &[Point3<f32>]) -> f32 {
        self.grids
            .get(di)
            .map_or(0.0, |g| g.share_within(live, self.cfg.explain_radius_m))
    }

    /// The sorted tight half extents of database instance `di`.
    pub(super) fn tight_half(&self, di: usize) -> [f32; 3] {
        self.tight.get(di).map_or([0.0; 3], sorted_half_extents)
    }

    /// Whether live tight half extents are clearly larger than a database
    /// object's (`pair_max_size_ratio` along a side or `pair_max_volume_ratio`
    /// in volume): a chair is no moved box, however alike; a partial view may
    /// be smaller.
    pub(super) fn too_large(&self, live_tight: &[f32; 3], db_tight: &[f32; 3]) -> bool {
        larger_than(live_tight, db_tight, self.cfg.pair_max_size_ratio)
            || volume_ratio(live_tight, db_tight) > self.cfg.pair_max_volume_ratio
    }

    /// Whether a motion exceeds the Moved thresholds.
    pub(super) fn moves(&self, e: &PoseError) -> bool {
        e.translation_m > self.cfg.moved_translation_m
            || e.rotation_deg > self.cfg.moved_rotation_deg
    }

    /// `pose` (database object `di` onto the live points) refined by
    /// point-to-point ICP of `live` onto all of the object's points (the
    /// alignment pairs two samples, and its pose lies off by their spacing
    /// for a large object), kept where more of `live` then lies on the object.
    fn polish(&self, di: usize, inst: &DbInstance, pose: Pose, live: &[Point3<f32>]) -> Pose {
        let Some(grid) = self.grids.get(di) else {
            return pose;
        };
        let gate = self.cfg.explain_radius_m.min(grid_radius(&self.cfg));
        let mut T = pose;
        for _ in 0..POLISH_STEPS {
            let inv = T.inverse();
            let (a, b): (Vec<Point3<f32>>, Vec<Point3<f32>>) = live
                .iter()
                .filter_map(|p| {
                    let (j, _) = grid.nearest_within(&(inv * p), gate)?;
                    Some((*inst.points.get(j)?, *p))
                })
                .unzip();
            if a.len() < 6 {
                break;
            }
            match rigid_from_correspondences(&a, &b, None) {
                Ok(next) => T = next,
                Err(_) => break,
            }
        }
        if self.share_on_moved(di, &T, live) > self.share_on_moved(di, &pose, live) {
            T
        } else {
            pose
        }
    }

    /// Database object `di` (`db_pts`, a sample of its points) aligned onto
    /// `live` (a sample of live object `obj`'s points, or of its residual
    /// pieces, all indexed by `live_grid`) from the move of its centroid onto
    /// theirs.
    pub(super) fn fit_moved(
        &self,
        obj: &LiveObject,
        di: usize,
        inst: &DbInstance,
        db_pts: &[Point3<f32>],
        live: &[Point3<f32>],
        live_grid: &PointGrid,
    ) -> MovedFit {
        let c = centroid(live);
        let init = Pose::translation(
            c.x - inst.centroid.x,
            c.y - inst.centroid.y,
            c.z - inst.centroid.z,
        );
        let (pose, fit) = self.align_pair(obj.id, obj.observations, di, inst, db_pts, live, init);
        let pose = self.polish(di, inst, pose, live);
        let fit_live = self.share_on_moved(di, &pose, live).max(fit);
        let moved_db: Vec<Point3<f32>> = db_pts.iter().map(|p| pose * p).collect();
        let coverage = live_grid.share_within(&moved_db, self.cfg.explain_radius_m);
        MovedFit {
            pose,
            fit_live,
            coverage,
            motion: object_motion(&pose, &inst.centroid),
        }
    }
}

#[cfg(test)]
mod tests {
    use nalgebra::{Point3, Translation3, UnitQuaternion, Vector3};

    use super::*;
    use crate::change::ChangeConfig;
    use crate::db::Scene;
    use crate::test_shapes::{box_instance, box_points};

    #[test]
    fn polishing_on_all_of_the_object_takes_a_rough_pose_towards_the_true_one() {
        // A bed-like object (2 x 1 x 0.4 m base, a headboard at one end).
        let mut inst = box_instance(
            1,
            Point3::new(0.0, 0.0, 0.5),
            Vector3::new(2.0, 1.0, 1.0),
            vec![1.0],
        );
        let base = box_points(Point3::new(0.0, 0.0, 0.2), Vector3::new(2.0, 1.0, 0.4));
        let head = box_points(Point3::new(-0.95, 0.0, 0.6), Vector3::new(0.1, 1.0, 0.8));
        inst.points = base.iter().chain(&head).copied().collect();
        inst.centroid = centroid(&inst.points);
        let mut s = Scene::new("test", "hand-made");
        s.instances = vec![inst.clone()];
        let det = ChangeDetector::new(ChangeConfig::default(), &s);
        // Moved 0.5 m and turned 100°; seen as a sparse sample; a pose 2° and
        // 4 cm off, as two samples paired by ICP leave it.
        let c = inst.centroid;
        let R = UnitQuaternion::from_axis_angle(&Vector3::z_axis(), 100f32.to_radians());
        let truth = Pose::from_parts(
            Translation3::from(c.coords - R * c.coords + Vector3::new(0.5, 0.0, 0.0)),
            R,
        );
        let live: Vec<Point3<f32>> = inst.points.iter().step_by(11).map(|p| truth * p).collect();
        let off = Pose::from_parts(
            Translation3::new(0.03, -0.025, 0.0),
            UnitQuaternion::from_axis_angle(&Vector3::z_axis(), 2f32.to_radians()),
        );
        let rough = off * truth;
        let polished = det.polish(0, &inst, rough, &live);
        let e0 = crate::eval::pose_error(&rough, &truth);
        let e = crate::eval::pose_error(&polished, &truth);
        assert!(
            e.rotation_deg < 0.7 * e0.rotation_deg && e.translation_m < 0.3 * e0.translation_m,
            "{e0:?} -> {e:?}"
        );
        assert!(det.share_on_moved(0, &polished, &live) > det.share_on_moved(0, &rough, &live));
        // A pose already right stays.
        let kept = det.polish(0, &inst, truth, &live);
        assert!(crate::eval::pose_error(&kept, &truth).rotation_deg < 0.3);
    }
}
