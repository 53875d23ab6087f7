//! Pairing a Removed with a like Added object into one Moved object (for moves the
//! direct association misses: the object seen from another side, its descriptor
//! below the Moved threshold). Pairs further apart than `max_unseen_move_m` are
//! lookalikes, not one object.

use super::{
    ChangeDetector, ChangeEvent, ChangeKind, LiveObject, Modality, Scene, centroid, oriented_box,
};

impl ChangeDetector {
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
                let sim: f32 = d.iter().zip(&obj.descriptor).map(|(a, b)| a * b).sum();
                let h = oriented_box(&obj.points_map).half_extents;
                let mut live_half = [h.x, h.y, h.z];
                live_half.sort_by(f32::total_cmp);
                let alike = live_half.iter().zip(&db_half).all(|(a, b)| {
                    let (lo, hi) = if a < b { (*a, *b) } else { (*b, *a) };
                    hi <= self.cfg.pair_max_size_ratio * lo.max(0.02)
                });
                log::trace!(
                    "pair? db {db_id} (removed) with live {} (added): sim {sim:.2}, alike {alike} (half extents {db_half:.2?} and {live_half:.2?})",
                    obj.id
                );
                let far =
                    (centroid(&obj.points_map) - inst.centroid).norm() > self.cfg.max_unseen_move_m;
                if sim >= self.cfg.pair_min_similarity
                    && alike
                    && !far
                    && best.is_none_or(|(s, _)| sim > s)
                {
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
            self.paired.insert(db_id, obj.id);
        }
    }
}
