//! Pairing a Removed with a like Added object into one Moved object (for moves the
//! direct association misses: the object seen from another side, its descriptor
//! below the Moved threshold). Pairs further apart than `max_unseen_move_m` are
//! lookalikes, not one object.

use crate::change::extent::volume_ratio;
use nalgebra::Point3;

use super::{
    ChangeDetector, ChangeEvent, ChangeKind, LiveObject, Modality, PointGrid, Pose, Scene, align,
    centroid, oriented_box, sample,
};

impl ChangeDetector {
    /// Share of a live object's points on the surface of database instance
    /// `inst` aligned onto it by ICP, the best of starts that put the
    /// instance's centre, or the middle of one of its box faces, on the live
    /// points' centroid (a partial view is often one side of the object).
    fn fragment_fits(&self, inst: &crate::db::DbInstance, obj: &LiveObject) -> f32 {
        let live = sample(&obj.points_map, 200);
        let db_pts = sample(&inst.points, 400);
        let c = centroid(&live);
        let r = self.cfg.overlap_radius_m;
        let mut anchors = vec![inst.centroid];
        for axis in 0..3 {
            let mut v = nalgebra::Vector3::zeros();
            v[axis] = inst.bbox.half_extents[axis];
            let v = inst.bbox.rotation * v;
            anchors.push(inst.bbox.center + v);
            anchors.push(inst.bbox.center - v);
        }
        let mut best = 0.0f32;
        for a in anchors {
            let init = Pose::translation(c.x - a.x, c.y - a.y, c.z - a.z);
            let (T, _) = align(&db_pts, &live, init, r);
            let moved: Vec<Point3<f32>> = db_pts.iter().map(|p| T * p).collect();
            best = best.max(PointGrid::new(&moved, r).share_within(&live, r));
        }
        best
    }

    /// An object reported Removed from its place and one reported Added elsewhere
    /// that looks like it (descriptor and size) are one object, Moved: both events
    /// are withdrawn for a Moved. A pairing is undone when the old place is seen
    /// occupied again.
    pub(super) fn pair_removed_with_added(
        &mut self,
        frame: u64,
        scene: &Scene,
        stable: &[&LiveObject],
        claimed: &[bool],
        out: &mut Vec<ChangeEvent>,
    ) {
        // Undo pairings whose old place is occupied again.
        let undo: Vec<(u32, u32)> = self
            .paired
            .iter()
            .filter(|(db, _)| {
                scene
                    .instances
                    .iter()
                    .position(|i| i.id == **db)
                    .is_some_and(|di| claimed.get(di).copied().unwrap_or(false))
            })
            .map(|(d, l)| (*d, *l))
            .collect();
        for (db, live) in undo {
            self.paired.remove(&db);
            self.retract(ChangeKind::Moved, db, frame, out);
            log::trace!("pairing of db {db} with live {live} undone");
        }
        let removed: Vec<u32> = self
            .active
            .keys()
            .filter(|(k, _)| *k == ChangeKind::Removed)
            .map(|(_, id)| *id)
            .collect();
        for db_id in removed {
            let Some(di) = scene.instances.iter().position(|i| i.id == db_id) else {
                continue;
            };
            let Some(inst) = scene.instances.get(di) else {
                continue;
            };
            let Some(d) = inst.descriptor(Modality::Point) else {
                continue;
            };
            let mut db_half = [
                inst.bbox.half_extents.x,
                inst.bbox.half_extents.y,
                inst.bbox.half_extents.z,
            ];
            db_half.sort_by(f32::total_cmp);
            let mut best: Option<(f32, &LiveObject)> = None;
            for obj in stable {
                if !self.active.contains_key(&(ChangeKind::Added, obj.id)) {
                    continue;
                }
                let h = oriented_box(&obj.points_map).half_extents;
                let mut live_half = [h.x, h.y, h.z];
                live_half.sort_by(f32::total_cmp);
                let same_size = live_half.iter().zip(&db_half).all(|(a, b)| {
                    let (lo, hi) = if a < b { (*a, *b) } else { (*b, *a) };
                    hi <= self.cfg.pair_max_size_ratio * lo.max(0.02)
                });
                // A partial view is smaller than the object, and lies on its
                // surface once aligned.
                let fragment_fit = (!same_size
                    && live_half
                        .iter()
                        .zip(&db_half)
                        .all(|(a, b)| *a <= self.cfg.pair_max_size_ratio * b.max(0.02)))
                .then(|| self.fragment_fits(inst, obj));
                // ... and holds no more than about the object's volume.
                let alike = (same_size
                    || fragment_fit.is_some_and(|f| f >= self.cfg.pair_min_fragment_fit))
                    && volume_ratio(&live_half, &db_half) <= self.cfg.pair_max_volume_ratio;
                // A residual piece has no descriptor: its shape must be the
                // object's (its size, or a part of it, on its surface once
                // aligned).
                let sim: f32 = if obj.descriptor.is_empty() {
                    // (a part spans most of the object's face: a mug's piece
                    // fits anywhere on a box's side)
                    let spans = live_half
                        .iter()
                        .zip(&db_half)
                        .skip(1)
                        .all(|(a, b)| *a >= self.cfg.pair_min_piece_span * b);
                    if same_size {
                        self.fragment_fits(inst, obj)
                    } else if spans {
                        fragment_fit.unwrap_or(0.0)
                    } else {
                        0.0
                    }
                } else {
                    d.iter().zip(&obj.descriptor).map(|(a, b)| a * b).sum()
                };
                let min_sim = if obj.descriptor.is_empty() {
                    self.cfg.pair_min_fragment_fit
                } else {
                    self.cfg.pair_min_similarity
                };
                log::trace!(
                    "pair? db {db_id} (removed) with live {} (added): sim {sim:.2}, alike {alike} (half extents {db_half:.2?} and {live_half:.2?}, fragment fit {fragment_fit:.2?})",
                    obj.id
                );
                let far =
                    (centroid(&obj.points_map) - inst.centroid).norm() > self.cfg.max_unseen_move_m;
                if sim >= min_sim && alike && !far && best.is_none_or(|(s, _)| sim > s) {
                    best = Some((sim, obj));
                }
            }
            let Some((sim, obj)) = best else { continue };
            let pos = centroid(&obj.points_map);
            let translation_m = (pos - inst.centroid).norm();
            self.retract(ChangeKind::Removed, db_id, frame, out);
            self.retract(ChangeKind::Added, obj.id, frame, out);
            let mut e = self.event(
                ChangeKind::Moved,
                frame,
                Some(db_id),
                Some(obj.id),
                pos,
                sim,
            );
            e.translation_m = translation_m;
            self.fire(e, out);
            self.moved_points
                .insert(db_id, sample(&obj.points_map, 200));
            self.paired.insert(db_id, obj.id);
        }
    }
}
