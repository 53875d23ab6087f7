//! How a database object, moved, fits a live object (or residual pieces): the
//! measures the decision for a live object and the test of residual pieces
//! share.

use nalgebra::Point3;

use super::{
    ChangeDetector, LiveObject, Pose, centroid, larger_than, object_motion, sorted_half_extents,
    volume_ratio,
};
use crate::change::neighbors::PointGrid;
use crate::db::DbInstance;
use crate::eval::PoseError;

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
