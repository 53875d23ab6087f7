//! Residual pieces that are a mapped object moved a short way: a chair pushed
//! against its neighbour is fused with it by the live segmentation, so the
//! live object stands (partly) in place as the neighbour and the chair is what
//! the neighbour does not explain. Pieces have no descriptor: the test is by
//! shape alone, so it is kept to the objects whose old place is within reach
//! of a short move.

use nalgebra::Point3;

use super::moved_fit::MovedFit;
use super::{ChangeDetector, Decision, LiveObject, Scene, centroid, sample, tight_half_extents};
use crate::change::neighbors::PointGrid;

impl ChangeDetector {
    /// The pieces (residual of one live object, standing partly as database
    /// instance `host`) taken together as a database instance moved: the one
    /// not `claimed` in place, whose old place lies within reach of a near move
    /// (`near_move_factor` × its largest half extent, at least `near_move_m`),
    /// that is no smaller than the pieces and that, aligned onto them, lies on
    /// at least `min_piece_moved_fit` of their points and has at least
    /// `min_moved_coverage` of its own covered, moved by more than the Moved
    /// thresholds. Of several, the best fitting (times coverage); `None`
    /// without one, or when a second fits within `lookalike_margin` of it.
    pub(super) fn pieces_moved(
        &self,
        scene: &Scene,
        parent: &LiveObject,
        host: Option<usize>,
        pieces: &[LiveObject],
        claimed: &[bool],
    ) -> Option<Decision> {
        let all: Vec<Point3<f32>> = pieces
            .iter()
            .flat_map(|p| p.points_map.iter().copied())
            .collect();
        if all.is_empty() {
            return None;
        }
        let live = sample(&all, 200);
        let c = centroid(&live);
        let live_tight = tight_half_extents(&live);
        let grid = PointGrid::new(&all, self.cfg.explain_radius_m);
        let whole = PointGrid::new(&parent.points_map, self.cfg.explain_radius_m);
        let mut found: Vec<(f32, Decision)> = Vec::new();
        for (di, inst) in scene.instances.iter().enumerate() {
            if Some(di) == host
                || claimed.get(di).copied().unwrap_or(true)
                || self.structural.get(di).copied().unwrap_or(true)
            {
                continue;
            }
            if (inst.centroid - c).norm() > self.near_reach(inst)
                || self.too_large(&live_tight, &self.tight_half(di))
            {
                continue;
            }
            let db_pts = sample(&inst.points, 400);
            // Still standing in place within the live object (a mapped mug fused
            // with its table and with a new mug beside it): not moved.
            let in_place = whole.share_within(&db_pts, self.cfg.overlap_radius_m);
            if in_place >= self.cfg.partial_host_coverage {
                log::trace!(
                    "live {}: db {} stands in place within it ({in_place:.2})",
                    parent.id,
                    inst.id
                );
                continue;
            }
            // Without a descriptor the old place must say it: seen empty, or
            // partly under the pieces (a short move or a turn where it stood).
            let on_old = self.share_on_old(di, &live);
            if !self.seen_vacated(di) && on_old < self.cfg.near_move_min_overlap {
                log::trace!(
                    "live {}: db {} old place neither seen empty nor under the residual ({on_old:.2})",
                    parent.id,
                    inst.id
                );
                continue;
            }
            let MovedFit {
                pose,
                fit_live,
                coverage,
                motion: e,
            } = self.fit_moved(parent, di, inst, &db_pts, &live, &grid);
            log::trace!(
                "live {}: residual at {:.2?} as db {} moved {:.2} m {:.0} deg: fit {fit_live:.2} cov {coverage:.2} on old {on_old:.2}",
                parent.id,
                c.coords.as_slice(),
                inst.id,
                e.translation_m,
                e.rotation_deg
            );
            if !self.moves(&e)
                || fit_live < self.cfg.min_piece_moved_fit
                || coverage < self.cfg.min_piece_moved_coverage
            {
                continue;
            }
            found.push((
                fit_live * coverage,
                Decision::Moved {
                    db: di,
                    translation_m: e.translation_m,
                    rotation_deg: e.rotation_deg,
                    fitness: fit_live,
                    pose,
                    coverage,
                },
            ));
        }
        found.sort_by(|a, b| b.0.total_cmp(&a.0));
        let (best, d) = *found.first()?;
        let second = found.get(1).map_or(0.0, |s| s.0);
        (second < self.cfg.lookalike_margin * best).then_some(d)
    }
}
